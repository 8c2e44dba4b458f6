# Shared by the bench scripts (source it; do not run it).
#
# Builds the release binaries, starts a server on a free loopback port and
# stops it again by its PID, reads single values from its /metrics.
# Needs curl and jq (installed here when missing, as root).

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${BENCH_BIN:-$TARGET_DIR/release}
RESULTS=$BENCH_DIR/results
SERVER_PID=
PORT=
SERVER_LOG=

# Installs what is missing (Debian's packages; needs root), or says what to install.
for tool in curl jq; do
    if ! command -v "$tool" >/dev/null; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            echo "bench: installing $tool" >&2
            apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
        fi
        command -v "$tool" >/dev/null || {
            echo "bench: needs $tool (apt-get install $tool)" >&2
            exit 1
        }
    fi
done

# Builds the server and the bots in release mode.
build_release() {
    echo "bench: building release binaries into $TARGET_DIR" >&2
    (cd "$ROOT" && cargo build --release -p tickwire-server -p tickwire-tests \
        --bin tickwire-server --bin bots)
}

# Raises the soft open-file limit to $1, or to the hard limit if that is lower.
raise_fd_limit() {
    local want=$1 hard
    hard=$(ulimit -Hn)
    if [[ $hard != unlimited && $want -gt $hard ]]; then
        want=$hard
    fi
    if [[ $(ulimit -Sn) != unlimited && $(ulimit -Sn) -lt $want ]]; then
        ulimit -n "$want"
    fi
    echo "bench: open-file limit $(ulimit -Sn)" >&2
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo "bench: no free port found" >&2
    return 1
}

# Starts a release server on a free loopback port with the given extra flags,
# and waits until it answers /healthz. Sets PORT, SERVER_PID, SERVER_LOG.
start_server() {
    PORT=$(free_port)
    SERVER_LOG=$(mktemp "${TMPDIR:-/tmp}/tickwire-bench-server.XXXXXX")
    "$BIN/tickwire-server" --bind "127.0.0.1:$PORT" --log warn "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            echo "bench: server $SERVER_PID on 127.0.0.1:$PORT ($*), log $SERVER_LOG" >&2
            return
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "bench: the server did not start:" >&2
            cat "$SERVER_LOG" >&2
            SERVER_PID=
            return 1
        fi
        sleep 0.1
    done
    echo "bench: the server does not answer /healthz" >&2
    return 1
}

# Stops the server started by start_server (by its PID) and waits for it.
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap stop_server EXIT

# The WebSocket URL of the running server.
ws_url() {
    echo "ws://127.0.0.1:$PORT/ws"
}

# One plain value from the server's /metrics, e.g. `metric tickwire_players_connected`.
metric() {
    # awk reads to the end (no early exit), so that curl never dies of SIGPIPE.
    curl -fs "http://127.0.0.1:$PORT/metrics" | awk -v name="$1" '$1 == name && !found { print $2; found = 1 }'
}

# A UTC time stamp for result file names.
stamp() {
    date -u +%Y%m%dT%H%M%SZ
}

# One line about this machine, for the results table.
machine() {
    local model mem
    model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
    echo "$(nproc) cores ($model), $mem RAM, $(uname -sr)"
}
