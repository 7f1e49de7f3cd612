"""pyepics vs caproto_rs, side by side in one run, against one C softIoc.

    .venv/bin/python crates/caproto-py/bench/bench.py [REPEATS]

(default 3 repeats; needs scripts/setup-peers.sh and the wheel installed:
`.venv/bin/pip install ./crates/caproto-py`).

Every measurement runs in a fresh Python process (so that connection
caches start empty) with the environment pointing at the IOC; the library
is imported and timed there. Rows:

1. `caget` of one scalar 1,000 times in a row (after a first, connecting
   call), with pyepics' default `use_monitor=True` (the value kept by the
   PV's monitor) and with `use_monitor=False` (one network read each);
2. `caget` of 1,000 different PVs, one after the other (each a search, a
   channel creation, the PV's monitor, and the value);
3. monitor callbacks per second on a fast PV: a writer process (the same
   for both libraries: caproto_rs puts without completion, as fast as it
   can, or in a second row the Rust client's `examples/fast_writer.rs`,
   about twice as fast) writes 1, 2, 3, ... to an `ao` record; the client
   under test has
   a PV with a callback on it and counts callbacks in a 3 s window after
   0.5 s of warm-up. Both libraries drop intermediate values when behind
   (libca's event queue, our coalescing queue): callbacks delivered is
   what is measured, and the writer's put rate is reported beside it;
4. `caget` of a 1,000,000-element DOUBLE waveform (as a numpy array), 10
   reads after a connecting one, time per read.

Medians of the repeats, and the ratio pyepics_time / our_time (for row 3,
our_rate / pyepics_rate): above 1 means caproto_rs is faster.
"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

N_PVS = 1000
WAVE = 1_000_000


def bench_db():
    lines = [f'record(ao, "bench:pv{i}") {{ field(VAL, "{i}") }}' for i in range(N_PVS)]
    lines.append('record(ao, "bench:x") { field(VAL, "1.5") field(PREC, "3") }')
    lines.append('record(ao, "bench:fast") { field(VAL, "0") }')
    lines.append(f'record(waveform, "bench:wave") {{ field(FTVL, "DOUBLE") field(NELM, "{WAVE}") }}')
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Worker side: one measurement in this process.

def worker(lib, row):
    epics = __import__(lib)
    if row == "caget_monitor" or row == "caget_read":
        use_monitor = row == "caget_monitor"
        assert epics.caget("bench:x", use_monitor=use_monitor) == 1.5
        t = time.perf_counter()
        for _ in range(1000):
            epics.caget("bench:x", use_monitor=use_monitor)
        return {"seconds": time.perf_counter() - t}
    if row == "caget_many_pvs":
        t = time.perf_counter()
        values = [epics.caget(f"bench:pv{i}") for i in range(N_PVS)]
        dt = time.perf_counter() - t
        assert values == [float(i) for i in range(N_PVS)], values[:5]
        return {"seconds": dt}
    if row == "monitor_rate":
        import threading
        count = [0]
        started = threading.Event()

        def cb(**kw):
            count[0] += 1
            started.set()

        pv = epics.PV("bench:fast", callback=cb)
        assert pv.wait_for_connection(timeout=5)
        assert started.wait(10)
        time.sleep(0.5)
        c0, t0 = count[0], time.perf_counter()
        time.sleep(3.0)
        c1, t1 = count[0], time.perf_counter()
        return {"rate": (c1 - c0) / (t1 - t0)}
    if row == "waveform":
        first = epics.caget("bench:wave", timeout=30)
        assert len(first) == WAVE, len(first)
        t = time.perf_counter()
        for _ in range(10):
            v = epics.caget("bench:wave", timeout=30)
        dt = (time.perf_counter() - t) / 10
        assert len(v) == WAVE and type(v).__name__ == "ndarray"
        return {"seconds": dt}
    raise SystemExit(f"unknown row {row}")


def fill():
    """Writes 0, 1, 2, ... into the 1M-element waveform (with completion)."""
    import numpy
    import caproto_rs as epics
    assert epics.caput("bench:wave", numpy.arange(WAVE, dtype=float), wait=True, timeout=60) == 1


def writer():
    """Writes 1, 2, 3, ... to bench:fast as fast as it can until killed."""
    import caproto_rs as epics
    pv = epics.PV("bench:fast")
    assert pv.wait_for_connection(timeout=5)
    i = 0
    t = time.perf_counter()
    while True:
        i += 1
        pv.put(i)
        if i % 20000 == 0:
            now = time.perf_counter()
            print(json.dumps({"puts_per_s": 20000 / (now - t)}), flush=True)
            t = now


# ---------------------------------------------------------------------------
# Orchestrator.

ROWS = [
    ("caget_monitor", "1,000 x caget of one scalar (use_monitor=True, the default)", "s"),
    ("caget_read", "1,000 x caget of one scalar (use_monitor=False)", "s"),
    ("caget_many_pvs", "caget of 1,000 different PVs", "s"),
    ("monitor_rate", "monitor callbacks/s on a fast PV (Python writer)", "rate"),
    ("monitor_rate_fast", "monitor callbacks/s on a fast PV (Rust writer)", "rate"),
    ("waveform", "caget of a 1M-element DOUBLE waveform (per read)", "s"),
]
LIBS = ["epics", "caproto_rs"]


def fast_writer():
    """Builds and returns the Rust writer (examples/fast_writer.rs)."""
    crate = os.path.join(HERE, "..")
    subprocess.run(["cargo", "build", "--quiet", "--release", "--example", "fast_writer",
                    "--manifest-path", os.path.join(crate, "Cargo.toml")], check=True)
    return os.path.join(crate, "target", "release", "examples", "fast_writer")


def run_worker(lib, row, env):
    p = subprocess.run([sys.executable, __file__, "worker", lib, row], env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode:
        raise RuntimeError(f"{lib} {row}: {p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(repeats):
    import iocs
    ioc = iocs.softioc(bench_db())
    env = dict(ioc.env)
    # libca (pyepics) starts caRepeater from PATH.
    env["PATH"] = os.path.dirname(iocs.epics_bin("caRepeater")) + os.pathsep + env.get("PATH", "")
    # A record's array holds no element until written: fill the waveform.
    subprocess.run([sys.executable, __file__, "fill"], env=env, check=True, timeout=120)
    rows = os.environ.get("BENCH_ROWS")
    selected = [r for r in ROWS if not rows or r[0] in rows.split(",")]
    results = {(lib, row): [] for lib in LIBS for row, _, _ in ROWS}
    writer_rates = {}
    try:
        for rep in range(repeats):
            for row, _, _ in selected:
                w = None
                if row == "monitor_rate":
                    w = subprocess.Popen([sys.executable, __file__, "writer"], env=env,
                                         stdout=subprocess.PIPE, text=True)
                elif row == "monitor_rate_fast":
                    w = subprocess.Popen([fast_writer(), "bench:fast"], env=env,
                                         stdout=subprocess.PIPE, text=True)
                try:
                    # Alternate which library goes first.
                    for lib in (LIBS if rep % 2 == 0 else LIBS[::-1]):
                        r = run_worker(lib, "monitor_rate" if row.startswith("monitor") else row, env)
                        results[(lib, row)].append(r.get("seconds", r.get("rate")))
                        print(f"rep {rep} {row:15s} {lib:11s} {r}", flush=True)
                finally:
                    if w is not None:
                        w.kill()
                        out, _ = w.communicate()
                        rates = [json.loads(x)["puts_per_s"] for x in out.splitlines() if x.strip()]
                        if rates:
                            writer_rates.setdefault(row, []).append(statistics.median(rates))
    finally:
        ioc.stop()

    print()
    print("| row | pyepics 3.5.10 | caproto_rs | ratio (>1: caproto_rs faster) |")
    print("|---|---|---|---|")
    for row, label, kind in selected:
        a = statistics.median(results[("epics", row)])
        b = statistics.median(results[("caproto_rs", row)])
        if kind == "rate":
            print(f"| {label} | {a:,.0f} /s | {b:,.0f} /s | {b / a:.2f} |")
        else:
            print(f"| {label} | {a * 1e3:,.2f} ms | {b * 1e3:,.2f} ms | {a / b:.2f} |")
    for row, rates in writer_rates.items():
        print(f"\n{row}: writer {statistics.median(rates):,.0f} puts/s (median)")
    print(f"medians of {repeats} runs; each measurement in a fresh process")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) > 1 and sys.argv[1] == "fill":
        fill()
    elif len(sys.argv) > 1 and sys.argv[1] == "writer":
        writer()
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
