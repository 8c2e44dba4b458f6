#!/usr/bin/env bash
# A stalled client must not hurt the others: 1,000 wander bots, first alone,
# then with 50 stalled bots (they connect, are welcomed, then stop reading).
# The server is restarted between the two runs. Prints the normal bots' ack
# p50/p99, the server's tick p99 and RSS for both runs, and their ratio.
#
# The arena is 8,500 px so that 1,000 players see about as many others as
# 2,000 do in the standard scenario's 12,000 px (about 36 in view).
# BOTS=, STALL=, RUN_SECONDS=, ARENA= change the sizes; SKIP_BUILD=1 skips the build.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BOTS=${BOTS:-1000}
STALL=${STALL:-50}
SECS=${RUN_SECONDS:-30}
ARENA=${ARENA:-8500}
[[ ${SKIP_BUILD:-0} == 1 ]] || build_release
raise_fd_limit $((BOTS + STALL + 1000))
mkdir -p "$RESULTS"
when=$(stamp)
echo "bench: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

run() { # name, extra bots flags...
    local name=$1
    shift
    start_server --arena-size "$ARENA" --tick-rate 60 --snapshot-rate 20 --max-players 10000
    "$BIN/bots" --url "$(ws_url)" --behavior wander --bots "$BOTS" --seconds "$SECS" \
        --json "$RESULTS/stall-$name-$when.json" "$@" >&2
    stop_server
}
run without
run with --stall "$STALL"

a=$RESULTS/stall-without-$when.json
b=$RESULTS/stall-with-$when.json
jq -nr --slurpfile a "$a" --slurpfile b "$b" --arg stall "$STALL" '
  def row(name; r): [name, r.ack_latency_ms.p50, r.ack_latency_ms.p99, r.tick_ms.p99,
                     (r.rss_bytes / 1048576 * 10 | round / 10), r.disconnected, r.desyncs];
  def ratio(x; y): if x == 0 then "n/a" else (y / x * 100 | round / 100) end;
  $a[0] as $a | $b[0] as $b |
  (["run", "ack p50 ms", "ack p99 ms", "tick p99 ms", "RSS MiB", "lost", "desyncs"],
   row("without stalled"; $a),
   row("with \($stall) stalled"; $b),
   ["ratio (with / without)", ratio($a.ack_latency_ms.p50; $b.ack_latency_ms.p50),
    ratio($a.ack_latency_ms.p99; $b.ack_latency_ms.p99), ratio($a.tick_ms.p99; $b.tick_ms.p99),
    ratio($a.rss_bytes; $b.rss_bytes), "", ""])
  | @tsv' | awk -F'\t' '{ printf "%-24s %11s %11s %12s %8s %5s %8s\n", $1, $2, $3, $4, $5, $6, $7 }'
jq -r '"stalled bots: \(.stalled.connected) of \(.stalled.bots) welcomed; server disconnects during the run: \(.server_disconnects)"' "$b"
echo "bench: reports in $a and $b"
