#!/usr/bin/env bash
# Builds the browser demo into target/web/: the static files of client-web/www/
# plus the client compiled to wasm32 (tickwire_client_web.wasm).
# The server serves that folder at / (its default --web-root).
#
# Needs only cargo and rustup: adds the wasm32 target when it is missing.
# Honours CARGO_TARGET_DIR for the cargo build; the page always goes to
# <workspace>/target/web, where the server looks by default.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target=wasm32-unknown-unknown

if ! rustup target list --installed | grep -qx "$target"; then
    echo "build-web: adding the $target target" >&2
    rustup target add "$target"
fi

# A small wasm: no debug info, one codegen unit with LTO. Set through the
# environment so the workspace's release profile (debug = 1, for the server's
# profiles) stays as it is.
CARGO_PROFILE_RELEASE_DEBUG=0 \
CARGO_PROFILE_RELEASE_STRIP=debuginfo \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    cargo build -p tickwire-client-web --target "$target" --release

cargo_target="${CARGO_TARGET_DIR:-$root/target}"
wasm="$cargo_target/$target/release/tickwire_client_web.wasm"
out="$root/target/web"

rm -rf "$out"
mkdir -p "$out"
cp -R client-web/www/. "$out/"
cp "$wasm" "$out/tickwire_client_web.wasm"
echo "build-web: $(du -k "$out/tickwire_client_web.wasm" | cut -f1) KiB wasm; page in $out" >&2
