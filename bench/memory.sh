#!/usr/bin/env bash
# Memory per connected idle player: server RSS growth per connection.
#
# Starts a release server, reads its RSS from /metrics, connects 5,000 idle
# bots (fewer if the open-file hard limit is lower), waits until they are all
# connected and the RSS is steady, reads it again, and prints the growth per
# bot in KiB. The target is at most 16 KiB per player.
# BOTS= changes the count; ARENA= the arena (12,000 px, the standard
# scenario's); SKIP_BUILD=1 skips the build.

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BOTS=${BOTS:-5000}
ARENA=${ARENA:-12000}
[[ ${SKIP_BUILD:-0} == 1 ]] || build_release
raise_fd_limit $((BOTS + 1000))
limit=$(ulimit -Sn)
if [[ $limit != unlimited && $((BOTS + 200)) -gt $limit ]]; then
    BOTS=$((limit - 200))
    echo "bench: open-file limit $limit: running $BOTS bots" >&2
fi
mkdir -p "$RESULTS"
when=$(stamp)
out=$RESULTS/memory-$when.json
bots_out=$RESULTS/memory-bots-$when.json
echo "bench: $(machine); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

start_server --arena-size "$ARENA" --tick-rate 60 --snapshot-rate 20 --max-players 10000
sleep 1
rss0=$(metric tickwire_process_resident_memory_bytes)

# The bots run long enough for the readings below, then stop by themselves.
"$BIN/bots" --url "$(ws_url)" --behavior idle --bots "$BOTS" --ramp-per-sec 500 \
    --seconds 30 --quiet --json "$bots_out" >/dev/null &
bots_pid=$!

deadline=$((SECONDS + 90))
while [[ $(metric tickwire_players_connected || echo 0) -lt $BOTS ]]; do
    if ((SECONDS > deadline)) || ! kill -0 "$bots_pid" 2>/dev/null; then
        echo "bench: only $(metric tickwire_players_connected) of $BOTS bots connected" >&2
        exit 1
    fi
    sleep 1
done
sleep 10
rss1=$(metric tickwire_process_resident_memory_bytes)
sleep 5
rss2=$(metric tickwire_process_resident_memory_bytes)
players=$(metric tickwire_players_connected)
wait "$bots_pid" || true
stop_server

jq -n --argjson r0 "$rss0" --argjson r1 "$rss1" --argjson r2 "$rss2" --argjson n "$players" \
    --argjson arena "$ARENA" '{arena_size: $arena, players: $n, rss_bytes_before: $r0,
    rss_bytes_after: $r1, rss_bytes_5s_later: $r2,
    kib_per_player: (($r1 - $r0) / $n / 1024 * 10 | round / 10),
    kib_per_player_5s_later: (($r2 - $r0) / $n / 1024 * 10 | round / 10)}' >"$out"
jq -r '"RSS before:           \(.rss_bytes_before / 1048576 * 10 | round / 10) MiB",
  "RSS with \(.players) idle players: \(.rss_bytes_after / 1048576 * 10 | round / 10) MiB (5 s later: \(.rss_bytes_5s_later / 1048576 * 10 | round / 10) MiB)",
  "growth per player:    \(.kib_per_player) KiB (5 s later: \(.kib_per_player_5s_later) KiB); target <= 16 KiB"' "$out"
echo "bench: figures in $out, bots report in $bots_out"
