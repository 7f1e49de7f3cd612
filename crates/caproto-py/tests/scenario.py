"""One script, run once with pyepics (`python scenario.py epics`) and once
with caproto_rs (`python scenario.py caproto_rs`) against the same C
softIoc (tests/iocs.py TEST_DB); it prints what it saw as JSON, with the
Python type of every value, and test_compare_pyepics.py compares the two.

Only what is deterministic is recorded: values of records nobody else
writes, metadata (timestamps only of records that were never processed),
and the keyword names and value types of callbacks.
"""

import importlib
import json
import sys
import threading


#: Separates the JSON from what the library printed.
MARK = "@@scenario-json@@"


def enc(v):
    """A JSON-able description of `v` that keeps its type."""
    t = type(v).__name__
    if "_Array_" in t:
        # pyepics gives ctypes arrays for as_numpy=False; caproto_rs lists.
        return {"t": "list", "v": [enc(x) for x in v]}
    if t == "ndarray":
        return {"t": t, "dtype": str(v.dtype), "v": v.tolist()}
    if isinstance(v, (list, tuple)):
        return {"t": t, "v": [enc(x) for x in v]}
    if isinstance(v, dict):
        return {"t": t, "v": {str(k): enc(x) for k, x in sorted(v.items())}}
    if isinstance(v, (int, float, str, bool)) or v is None:
        return {"t": t, "v": v}
    return {"t": t}


def kw_shape(kw):
    """Keyword names and the types of their values."""
    return {k: type(v).__name__ for k, v in sorted(kw.items())}


def simple(epics):
    """Against the `simple` example IOC (simple:A int, B double with units
    and precision, C int, D ten doubles)."""
    out = {}
    # Back to the IOC's initial values (the other run may have written).
    epics.caput("simple:C", 3, wait=True)
    epics.caput("simple:D", [float(i) for i in range(1, 11)], wait=True)
    for name in ("simple:A", "simple:B", "simple:C", "simple:D"):
        out[f"get {name}"] = enc(epics.caget(name, use_monitor=False))
        out[f"get str {name}"] = enc(epics.caget(name, as_string=True))
        pv = epics.PV(name)
        pv.wait_for_connection(timeout=5)
        timev = pv.get_timevars()
        out[f"pv {name}"] = {
            "ctrl": enc(pv.get_ctrlvars()),
            "time keys": sorted(timev),
            "time types": kw_shape(timev),
            "attrs": {a: enc(getattr(pv, a)) for a in (
                "count", "nelm", "type", "units", "precision", "enum_strs",
                "severity", "status", "write_access", "read_access", "access")},
        }
    got = []
    hit = threading.Event()

    def cb(**kw):
        got.append(kw)
        if kw["value"] == 5:
            hit.set()

    pv = epics.PV("simple:C", callback=cb)
    pv.wait_for_connection(timeout=5)
    out["put"] = epics.caput("simple:C", 5, wait=True)
    hit.wait(5)
    out["monitor kwargs"] = kw_shape(got[-1]) if got else None
    out["after put"] = enc(epics.caget("simple:C", use_monitor=False))
    out["put array"] = epics.caput("simple:D", [9.5] * 10, wait=True)
    out["after put array"] = enc(epics.caget("simple:D", use_monitor=False))
    return out


def main(modname, which="softioc"):
    epics = importlib.import_module(modname)
    if which == "simple":
        out = simple(epics)
    else:
        out = softioc(epics)
    sys.stdout.write("\n" + MARK + "\n")
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.flush()


def softioc(epics):
    out = {}
    static = ["py:ai", "py:ao", "py:bi", "py:mbbi", "py:long", "py:str",
              "py:wave", "py:chars", "py:shorts", "py:strings"]

    # Writes first (so that arrays have elements), all with completion.
    out["put"] = [
        epics.caput("py:wave", [1.5, 2.5, 3.5, 4.5], wait=True),
        epics.caput("py:chars", "hello world", wait=True),
        epics.caput("py:shorts", [1, -2, 3], wait=True),
        epics.caput("py:strings", ["a", "bb", "ccc"], wait=True),
        epics.caput("py:long", 7, wait=True),
        epics.caput("py:ao", 2.25, wait=True),
        epics.caput("py:bo", "Open", wait=True),
    ]

    for name in static + ["py:bo"]:
        out[f"get {name}"] = enc(epics.caget(name, use_monitor=False))
        out[f"get str {name}"] = enc(epics.caget(name, as_string=True, use_monitor=False))
        out[f"get list {name}"] = enc(epics.caget(name, as_numpy=False, use_monitor=False))
    out["get count"] = enc(epics.caget("py:wave", count=2, use_monitor=False))
    out["get missing"] = enc(epics.caget("py:missing", timeout=0.5, connection_timeout=0.5))

    for name in static:
        # Wait for the first monitor update, so that what depends on it
        # (count: the length of the last update) is settled in both.
        first = threading.Event()
        pv = epics.PV(name, callback=lambda **kw: first.set())
        pv.wait_for_connection(timeout=5)
        first.wait(5)
        pv.clear_callbacks()
        ctrl = pv.get_ctrlvars()
        timev = pv.get_timevars()
        rec = {
            # pyepics reads DBR_CTRL_STRING through the TIME_STRING
            # structure: its "timestamps" there are bytes of the string.
            "ctrl": enc({k: v for k, v in ctrl.items()
                         if "string" not in pv.type or k in ("status", "severity")}),
            "ctrl keys": sorted(ctrl),
            "time keys": sorted(timev),
            "time": enc({k: v for k, v in timev.items()
                         if name in ("py:ai",) or k not in ("timestamp", "posixseconds", "nanoseconds")}),
            "get": enc(pv.get(use_monitor=False)),
            "value": enc(pv.get(use_monitor=False, as_numpy=True)),
            "char_value": enc(pv.char_value),
        }
        for attr in ("count", "nelm", "type", "typefull", "units", "precision",
                     "enum_strs", "severity", "status", "write_access",
                     "read_access", "access", "upper_disp_limit",
                     "lower_ctrl_limit", "upper_alarm_limit", "connected"):
            rec[attr] = enc(getattr(pv, attr))
        md = pv.get_with_metadata(use_monitor=False, form="ctrl")
        rec["metadata ctrl keys"] = sorted(md)
        out[f"pv {name}"] = rec

    # PV.put with a completion callback.
    done = threading.Event()
    seen = {}

    def on_put(**kw):
        seen.update(kw)
        done.set()

    pv = epics.PV("py:long")
    pv.wait_for_connection(timeout=5)
    pv.put(11, callback=on_put, callback_data={"tag": 5})
    done.wait(5)
    out["put callback"] = enc(seen)
    out["after put"] = enc(epics.caget("py:long", use_monitor=False))

    # Monitor callbacks: write 1, 2, 3 and wait for the callback of 3.
    got = []
    last = threading.Event()

    def on_change(**kw):
        got.append(kw)
        if kw["value"] == 3:
            last.set()

    conns = []
    busy = epics.PV("py:busy", callback=on_change,
                    connection_callback=lambda **kw: conns.append(kw))
    busy.wait_for_connection(timeout=5)
    for v in (1, 2, 3):
        busy.put(v, wait=True)
    last.wait(5)
    out["monitor final"] = enc(got[-1]["value"] if got else None)
    out["monitor kwargs"] = kw_shape(got[-1]) if got else None
    out["monitor char_value"] = enc(got[-1]["char_value"] if got else None)
    out["monitor cb_info"] = enc(got[-1]["cb_info"][0] if got else None)
    out["connection kwargs"] = kw_shape(conns[0]) if conns else None
    out["connection conn"] = enc(conns[0]["conn"] if conns else None)

    # camonitor with a callback, then camonitor_clear.
    cam = []
    cam_done = threading.Event()

    def on_cam(**kw):
        cam.append(kw)
        if kw["value"] == 9:
            cam_done.set()

    epics.camonitor("py:busy", callback=on_cam)
    epics.caput("py:busy", 9, wait=True)
    cam_done.wait(5)
    epics.camonitor_clear("py:busy")
    out["camonitor kwargs"] = kw_shape(cam[-1]) if cam else None
    out["camonitor value"] = enc(cam[-1]["value"] if cam else None)

    info = epics.cainfo("py:ai", print_out=False)
    out["cainfo"] = [line for line in info.splitlines()
                     if "host" not in line and "PV is" not in line]

    return out


if __name__ == "__main__":
    main(*sys.argv[1:])
