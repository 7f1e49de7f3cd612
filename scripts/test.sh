#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit, property, golden, session
# and interop tests. Installs the reference peers (EPICS base tools, pyepics,
# caproto) into ./.venv first.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "reference peers (scripts/setup-peers.sh)"
scripts/setup-peers.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test"
cargo test --workspace --all-targets
cargo test --workspace --doc

step "Python bindings (scripts/test-python.sh)"
scripts/test-python.sh

# EPICS base's client acceptance test against our server: it creates
# millions of subscriptions, so it runs against a release build.
step "acctst against caproto-server (release)"
cargo test --release -p caproto-server --test acctst
