"""The libca side of `cargo run --release -p caproto-client --example bench`:
the same scenarios through pyepics (C libca). Prints `name value` lines.
Run by the bench example with the softIoc's CA environment."""
import sys
import time

import epics.ca as ca

n_gets, n_pvs, wf_reads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ca.initialize_libca()

chid = ca.create_channel("B:x", connect=True, auto_cb=False)
for _ in range(100):
    ca.get(chid)
t0 = time.perf_counter()
for _ in range(n_gets):
    ca.get(chid)
print("get_us", (time.perf_counter() - t0) / n_gets * 1e6, flush=True)

t0 = time.perf_counter()
chids = [ca.create_channel(f"B:pv{i}", connect=False, auto_cb=False) for i in range(n_pvs)]
for c in chids:
    if not ca.connect_channel(c, timeout=30):
        sys.exit("connect failed")
print("connect_s", time.perf_counter() - t0, flush=True)

wf = ca.create_channel("B:wf", connect=True, auto_cb=False)
ca.get(wf)
t0 = time.perf_counter()
for _ in range(wf_reads):
    v = ca.get(wf)
    assert len(v) == 1_000_000
print("wf_read_s", (time.perf_counter() - t0) / wf_reads, flush=True)
