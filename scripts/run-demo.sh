#!/usr/bin/env bash
# Builds the browser demo (Rust → wasm32) and the server, then serves both on
# one port: open http://127.0.0.1:8080/ in two windows and play.
# Extra arguments go to tickwire-server (see `--help`), e.g. --lag-ms 75 --jitter-ms 30.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-web.sh
exec cargo run --release -p tickwire-server -- --bind "${TICKWIRE_BIND:-127.0.0.1:8080}" --web-root target/web "$@"
