#!/usr/bin/env bash
# End-to-end browser tests of the tickwire demo, from a fresh Debian machine:
#   1. installs what is missing: Debian's Chromium (apt, as root) and
#      playwright-core (npm; never a browser download);
#   2. builds the page (scripts/build-web.sh) and the server (debug: quicker
#      to build, and ample for a few players);
#   3. starts a server on a free loopback port, runs the tests with node's
#      test runner, and stops the server by its PID.
# Screenshots and the server log go to client-web/e2e/artifacts/.
# Honours CARGO_TARGET_DIR. Pass test files as arguments to run only those.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
artifacts="$here/artifacts"
mkdir -p "$artifacts"

log() { echo "e2e: $*" >&2; }

# --- what the tests need ---------------------------------------------------
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "Chromium is missing and installing it needs root: apt-get install -y chromium"
        exit 1
    fi
    log "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    log "Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))"
    exit 1
fi

if [ ! -d "$here/node_modules/playwright-core" ] \
    || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    log "installing playwright-core"
    (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# --- builds ----------------------------------------------------------------
"$root/scripts/build-web.sh"
log "building the server"
(cd "$root" && cargo build -p tickwire-server)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
export TICKWIRE_SERVER_BIN="$target_dir/debug/tickwire-server"
export TICKWIRE_WEB_ROOT="$root/target/web"

# --- the shared server -------------------------------------------------------
port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
# A small arena whose area of interest covers it all, so the test players always
# see each other; fewer orbs to match.
"$TICKWIRE_SERVER_BIN" --bind "127.0.0.1:$port" --web-root "$TICKWIRE_WEB_ROOT" \
    --arena-size 1200 --view-width 2600 --view-height 2600 --orbs 40 \
    >"$artifacts/server.log" 2>&1 &
server_pid=$!
cleanup() {
    if kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

export TICKWIRE_URL="http://127.0.0.1:$port"
node -e '
const url = process.argv[1] + "/healthz";
const deadline = Date.now() + 20000;
(async () => {
  for (;;) {
    try { const r = await fetch(url); if (r.ok && (await r.text()).trim() === "ok") return; } catch {}
    if (Date.now() > deadline) { console.error("e2e: the server did not answer " + url); process.exit(1); }
    await new Promise((r) => setTimeout(r, 100));
  }
})();' "$TICKWIRE_URL"
log "server up at $TICKWIRE_URL (pid $server_pid)"

# --- the tests ---------------------------------------------------------------
cd "$here"
if [ "$#" -gt 0 ]; then
    tests=("$@")
else
    tests=(tests/*.test.js)
fi
status=0
node --test --test-concurrency=1 "${tests[@]}" || status=$?
exit "$status"
