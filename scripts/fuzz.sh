#!/usr/bin/env bash
# Fuzzes the protocol crate with cargo-fuzz (libFuzzer on nightly): each target
# in turn for SECONDS_PER_TARGET seconds (default 60), never in parallel.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Installs cargo-fuzz when it is missing (the nightly toolchain must be there).
# Each target starts from its committed seeds (fuzz/seeds/<target>/, written
# by `cargo run --manifest-path fuzz/Cargo.toml --example gen_seeds`) and
# grows a scratch corpus in fuzz/corpus/<target>/ that later runs reuse.
# Prints, per target, the executions run and whether it crashed; exits
# non-zero if any target crashed, leaked, timed out or ran out of memory.
# A crashing input is kept in fuzz/artifacts/<target>/ and printed in hex;
# replay it with `cargo +nightly fuzz run -s none <target> <file>`.
#
# Environment:
#   FUZZ_TARGETS    space-separated targets to run (default: all, from `cargo fuzz list`)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default: none, since the protocol crate is
#                   safe Rust and this doubles the executions; "address" for ASan)
# Builds keep debug assertions and overflow checks on (cargo-fuzz's default).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]   (a positive whole number, default 60)" >&2
    exit 2
fi
sanitizer="${FUZZ_SANITIZER:-none}"

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "error: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz (builds from crates.io; a few minutes)"
    cargo install cargo-fuzz --locked
fi

targets="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"

echo "==> building fuzz targets (sanitizer: $sanitizer)"
cargo +nightly fuzz build -s "$sanitizer"

logs=fuzz/artifacts/logs
mkdir -p "$logs"
summary=()
failed=0
for target in $targets; do
    corpus="fuzz/corpus/$target"
    seeds="fuzz/seeds/$target"
    log="$logs/$target.log"
    mkdir -p "$corpus" "$seeds"
    echo "==> $target: fuzzing for ${secs}s (log: $log)"
    # New inputs go to the first directory; the seeds directory is only read.
    set +e
    cargo +nightly fuzz run -s "$sanitizer" "$target" "$corpus" "$seeds" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e

    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [[ -z "$execs" ]]; then # no final stats: the last status line's count
        execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    fi
    execs="${execs:-0}"
    rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    corpus_size=$(find "$corpus" -type f | wc -l)
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)

    if [[ $rc -eq 0 ]] && grep -q '^Done [0-9]* runs' "$log"; then
        result="ok"
    else
        failed=1
        kind=$(grep -o -m 1 -E 'ERROR: libFuzzer: [a-z -]*[a-z]|ERROR: AddressSanitizer: [a-z-]+' "$log" || true)
        result="CRASH (${kind:-exit code $rc})"
        echo "---- $target: ${result}"
        grep -m 1 -A 3 "panicked at" "$log" || tail -n 30 "$log"
        if [[ -n "$artifact" && -f "$artifact" ]]; then
            echo "input ($(wc -c <"$artifact") bytes) in $artifact, hex:"
            od -An -v -tx1 "$artifact" | tr -d ' \n' | head -c 4096
            echo
            echo "replay: cargo +nightly fuzz run -s $sanitizer $target $artifact"
        fi
        echo "----"
    fi
    summary+=("$(printf '%-16s %12s %10s %8s  %s' "$target" "$execs" "${rate:-?}" "$corpus_size" "$result")")
done

echo
echo "==> results (${secs}s per target)"
printf '%-16s %12s %10s %8s  %s\n' target executions "execs/s" corpus result
printf '%s\n' "${summary[@]}"
exit "$failed"
