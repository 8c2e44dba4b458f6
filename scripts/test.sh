#!/usr/bin/env bash
# Runs every check and test: formatting, lints (native and wasm32), unit and
# integration tests, and the end-to-end browser tests in headless Chromium.
# Installs what it needs when missing (wasm32 target, Chromium, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32: protocol and browser client)"
cargo clippy -p tickwire-protocol -p tickwire-client-web --target wasm32-unknown-unknown --locked -- -D warnings

step "unit and integration tests"
cargo test --workspace --locked

step "browser end-to-end tests"
client-web/e2e/run.sh
