#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, property, golden and session
# tests. Installs nothing beyond the Rust toolchain for now; later peers
# (EPICS base tools, pyepics, caproto) are installed into ./.venv here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace --all-targets
cargo test --workspace --doc
