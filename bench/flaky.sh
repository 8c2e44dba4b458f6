#!/usr/bin/env bash
# Reconnection under churn: 1,000 flaky bots (wander, and drop their TCP
# connection without a close frame with 5% chance a second, then reconnect
# and resume their player with the token from their last Welcome).
# Prints reconnects, resumes accepted and refused, desyncs, latency and the
# server's tick p99. BOTS=, CHANCE=, RUN_SECONDS=, ARENA= change the sizes;
# SKIP_BUILD=1 skips the build.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BOTS=${BOTS:-1000}
CHANCE=${CHANCE:-0.05}
SECS=${RUN_SECONDS:-30}
ARENA=${ARENA:-8500}
[[ ${SKIP_BUILD:-0} == 1 ]] || build_release
raise_fd_limit $((BOTS * 2 + 1000))
mkdir -p "$RESULTS"
out=$RESULTS/flaky-$(stamp).json
echo "bench: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

start_server --arena-size "$ARENA" --tick-rate 60 --snapshot-rate 20 --max-players 10000
status=0
"$BIN/bots" --url "$(ws_url)" --behavior flaky --reconnect-chance "$CHANCE" \
    --bots "$BOTS" --seconds "$SECS" --json "$out" >&2 || status=$?
stop_server
jq -r '"reconnects \(.reconnects): \(.resumes_ok) resumed, \(.resumes_refused) refused; desyncs \(.desyncs); lost \(.disconnected); full snapshots \(.full_snapshots); ack p50 \(.ack_latency_ms.p50) ms p99 \(.ack_latency_ms.p99) ms; server tick p99 \(.tick_ms.p99) ms"' "$out"
echo "bench: report in $out"
exit "$status"
