#!/usr/bin/env bash
# The standard scenario: how many players one room holds on this machine.
#
# Builds release binaries, starts a server on a free loopback port (one room,
# 60 Hz tick, 20 Hz snapshots, a 12,000 px arena), runs `bots --find-max`
# with wander bots against it, saves the JSON report under bench/results/,
# and stops the server by its PID. START=, STEP=, MAX=, HOLD= (seconds) and
# ARENA= change the steps and the arena, e.g. `MAX=3000 HOLD=10 bench/run.sh`;
# SETTLE= seconds a step may wait after its ramp for the bots' ack p99 to
# settle before its hold (0, the default: the hold starts a second after the
# last bot connects; see bench/README.md); BOT_THREADS= the bots' threads (2: one per core, so acks are not queued
# behind one busy thread); SKIP_BUILD=1 skips the build; extra arguments go to
# `bots` (e.g. --seed 7); SERVER_ARGS= extra flags for the server (e.g.
# SERVER_ARGS='--phase-align landing').

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARENA=${ARENA:-12000}
START=${START:-250}
STEP=${STEP:-250}
MAX=${MAX:-6000}
HOLD=${HOLD:-20}
SETTLE=${SETTLE:-0}
BOT_THREADS=${BOT_THREADS:-2}
[[ ${SKIP_BUILD:-0} == 1 ]] || build_release
raise_fd_limit 20000
mkdir -p "$RESULTS"
out=$RESULTS/find-max-$(stamp).json

# --max-players above the largest step keeps every bot in one room.
# shellcheck disable=SC2086 # SERVER_ARGS is split into words on purpose
start_server --arena-size "$ARENA" --tick-rate 60 --snapshot-rate 20 --max-players 10000 ${SERVER_ARGS:-}
echo "bench: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
status=0
"$BIN/bots" --url "$(ws_url)" --find-max --behavior wander \
    --start "$START" --step "$STEP" --max "$MAX" --hold-seconds "$HOLD" \
    --settle-seconds "$SETTLE" \
    --threads "$BOT_THREADS" --json "$out" "$@" || status=$?
stop_server
[[ -f $out ]] || exit "$status"
echo "bench: report in $out"
jq -r '"players held: \(.players_held) (\(.stopped_because))"' "$out"
exit "$status"
