#!/usr/bin/env bash
# The Python bindings (crates/caproto-py): format and lint the crate, build
# the wheel and install it into ./.venv with pip exactly as the README says
# (`pip install ./crates/caproto-py`), then run its pytest suite against
# the C softIoc and the `simple` example IOC (tests on 127.0.0.1 only, each
# IOC on its own free ports). Repeat runs reuse the crate's cargo cache
# (crates/caproto-py/target).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
PY=crates/caproto-py
# pyo3's build script: configure for the virtualenv's interpreter.
export PYO3_PYTHON="$PWD/.venv/bin/python"

scripts/setup-peers.sh

step "cargo fmt --check ($PY)"
cargo fmt --manifest-path "$PY/Cargo.toml" -- --check

step "cargo clippy ($PY) -- -D warnings"
cargo clippy --manifest-path "$PY/Cargo.toml" --all-targets -- -D warnings

step "example IOC for the tests: cargo build --release -p caproto-server --example simple"
cargo build --release -p caproto-server --example simple

step "pip install ./$PY"
.venv/bin/pip install --disable-pip-version-check --quiet "./$PY"

step "pytest $PY/tests"
cd "$PY/tests"
exec ../../../.venv/bin/python -m pytest -p no:cacheprovider -q
