"""The same script (tests/scenario.py) run once with real pyepics and once
with caproto_rs, each in its own process with the environment pointing at
the IOC: values, value types, metadata dicts and callback keyword
arguments must be the same.

Known, deliberate differences are normalised in the script itself and
explained there (pyepics returns ctypes arrays for as_numpy=False where we
return lists; pyepics reads DBR_CTRL_STRING through the TIME_STRING
structure, so the "timestamps" it reports there are bytes of the string).
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)


def run_scenario(module, which, env):
    p = subprocess.run(
        [sys.executable, os.path.join(HERE, "scenario.py"), module, which],
        env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"{module}: {p.stderr[-4000:]}"
    from scenario import MARK
    return json.loads(p.stdout.split(MARK, 1)[1])


def differences(a, b, path=""):
    """Paths where `a` and `b` differ (NaN equal to NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'pyepics' if k in a else 'caproto_rs'}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    if json.dumps(a) != json.dumps(b):
        return [f"{path}: pyepics {json.dumps(a)[:200]} != caproto_rs {json.dumps(b)[:200]}"]
    return []


@pytest.mark.parametrize("which", ["softioc", "simple"])
def test_same_results_as_pyepics(which, softioc, simple):
    ioc = softioc if which == "softioc" else simple
    theirs = run_scenario("epics", which, ioc.env)
    ours = run_scenario("caproto_rs", which, ioc.env)
    assert differences(theirs, ours) == []
