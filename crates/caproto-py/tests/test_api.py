"""The pyepics-compatible API of caproto_rs against the C softIoc and the
`simple` example IOC. Every wait for an event uses a threading.Event with
a generous bound; no test depends on timing."""

import subprocess
import sys
import threading

import numpy
import pytest

WAIT = 10.0


def test_caget_scalars_have_pyepics_types(epics):
    assert epics.caget("py:ai") == 3.25
    assert isinstance(epics.caget("py:long", use_monitor=False), int)
    assert epics.caget("py:str") == "hello"
    assert epics.caget("py:mbbi") == 2
    assert epics.caget("py:mbbi", as_string=True) == "two"
    assert epics.caget("py:bi", as_string=True) == "On"
    assert epics.caget("py:ai", as_string=True) == "3.250"


def test_caget_of_unknown_pv_returns_none(epics):
    assert epics.caget("py:does-not-exist", connection_timeout=0.3) is None
    pv = epics.PV("py:also-missing")
    assert pv.wait_for_connection(timeout=0.2) is False
    assert pv.connected is False
    assert pv.get(timeout=0.2) is None


def test_caput_wait_then_caget_reads_it_back(epics):
    assert epics.caput("py:ao", -2.5, wait=True) == 1
    assert epics.caget("py:ao", use_monitor=False) == -2.5
    assert epics.caput("py:str", "written", wait=True) == 1
    assert epics.caget("py:str", use_monitor=False) == "written"


def test_caput_enum_by_name_and_index(epics):
    epics.caput("py:bo", "Open", wait=True)
    assert epics.caget("py:bo", use_monitor=False) == 1
    epics.caput("py:bo", 0, wait=True)
    assert epics.caget("py:bo", as_string=True, use_monitor=False) == "Closed"


def test_arrays_are_numpy_arrays_or_lists(epics):
    data = numpy.linspace(0.0, 1.0, 1000)
    assert epics.caput("py:wave", data, wait=True) == 1
    got = epics.caget("py:wave", use_monitor=False)
    assert isinstance(got, numpy.ndarray) and got.dtype == numpy.float64
    assert numpy.array_equal(got, data), (len(got), got[:4])
    got.setflags(write=True)  # a writable array of its own
    as_list = epics.caget("py:wave", as_numpy=False, use_monitor=False)
    assert isinstance(as_list, list) and as_list[:3] == data[:3].tolist()
    assert len(epics.caget("py:wave", count=10, use_monitor=False)) == 10
    epics.caput("py:shorts", [5, -6, 7], wait=True)
    shorts = epics.caget("py:shorts", use_monitor=False)
    assert shorts.dtype == numpy.int16 and shorts.tolist() == [5, -6, 7]
    epics.caput("py:strings", ["x", "yy"], wait=True)
    # pyepics makes a numpy array of str of it, so do we.
    assert list(epics.caget("py:strings", use_monitor=False)) == ["x", "yy"]


def test_char_waveform_as_string(epics):
    epics.caput("py:chars", "long text value", wait=True)
    assert epics.caget("py:chars", as_string=True, use_monitor=False) == "long text value"
    raw = epics.caget("py:chars", use_monitor=False)
    assert raw.dtype == numpy.uint8 and bytes(raw[:4]) == b"long"


def test_pv_metadata_properties(epics):
    pv = epics.PV("py:ai")
    assert pv.wait_for_connection(timeout=WAIT)
    assert pv.connected
    assert pv.units == "mm"
    assert pv.precision == 3
    assert pv.type == "time_double"
    assert pv.count == 1 and pv.nelm == 1
    assert pv.read_access is True and pv.write_access is True
    assert pv.severity == 0
    assert isinstance(pv.timestamp, float)
    ctrl = pv.get_ctrlvars()
    assert ctrl["upper_disp_limit"] == 100.0 and ctrl["lower_alarm_limit"] == -90.0
    assert set(pv.get_timevars()) == {"status", "severity", "timestamp",
                                      "posixseconds", "nanoseconds"}
    assert epics.PV("py:mbbi").enum_strs == ("zero", "one", "two")
    assert epics.PV("py:mbbi", form="ctrl").get() == 2


def test_value_callbacks_and_removal(epics):
    pv = epics.PV("py:busy")
    assert pv.wait_for_connection(timeout=WAIT)
    seen = []
    hit = threading.Event()

    def cb(pvname=None, value=None, **kw):
        seen.append((pvname, value, threading.current_thread() is threading.main_thread()))
        if value == 77:
            hit.set()

    index = pv.add_callback(cb)
    pv.put(77, wait=True)
    assert hit.wait(WAIT)
    assert seen[-1][:2] == ("py:busy", 77)
    assert not seen[-1][2], "callbacks run on the dispatcher thread"
    pv.remove_callback(index)
    assert index not in pv.callbacks


def test_connection_and_access_callbacks(epics):
    connected = threading.Event()
    access = threading.Event()
    got = {}

    def on_conn(pvname=None, conn=None, pv=None):
        got.update(pvname=pvname, conn=conn)
        if conn:
            connected.set()

    pv = epics.PV("py:long", connection_callback=on_conn,
                  access_callback=lambda r, w, pv=None: access.set())
    assert connected.wait(WAIT) and access.wait(WAIT)
    assert got == {"pvname": "py:long", "conn": True}
    assert pv.connected


def test_put_with_completion_callback(epics):
    done = threading.Event()
    got = {}

    def on_done(**kw):
        got.update(kw)
        done.set()

    pv = epics.PV("py:long")
    pv.put(12, callback=on_done, callback_data="tag")
    assert done.wait(WAIT)
    assert got == {"pvname": "py:long", "data": "tag"}
    assert pv.put(13, use_complete=True, wait=True) == 1
    assert pv.put_complete is True


def test_camonitor_and_clear(epics):
    got = []
    hit = threading.Event()

    def cb(**kw):
        got.append(kw["value"])
        if kw["value"] == 5:
            hit.set()

    epics.camonitor("py:busy", callback=cb)
    epics.caput("py:busy", 5, wait=True)
    assert hit.wait(WAIT)
    epics.camonitor_clear("py:busy")
    assert "py:busy" not in epics._PVmonitors_


def test_fast_monitor_keeps_up_without_blocking_io(epics):
    # A calc record scanned every 0.1 s: two successive updates arrive.
    got = []
    two = threading.Event()

    def cb(value=None, **kw):
        got.append(value)
        if len(got) >= 3:
            two.set()

    pv = epics.PV("py:ticker", callback=cb)
    assert two.wait(WAIT)
    pv.clear_callbacks()
    assert got[1] > got[0]


def test_callback_can_call_the_api(epics):
    # A callback runs on the dispatcher thread; a blocking call from it
    # must not deadlock.
    out = {}
    hit = threading.Event()

    def cb(**kw):
        if "v" not in out:
            out["v"] = epics.caget("py:long", use_monitor=False)
            out["put"] = epics.caput("py:busy", 1, wait=True)
            hit.set()

    pv = epics.PV("py:ticker", callback=cb)
    assert hit.wait(WAIT)
    pv.clear_callbacks()
    assert isinstance(out["v"], int) and out["put"] == 1


def test_errors_are_python_exceptions_with_the_ca_status(epics):
    with pytest.raises(epics.ChannelAccessException, match="ECA_"):
        epics.caput("py:ai.NAME", "renamed", wait=True)
    with pytest.raises(ValueError):
        epics.caput("py:ao", "not a number")
    assert issubclass(epics.CATimeoutError, epics.ChannelAccessException)


def test_cainfo_describes_the_pv(epics):
    text = epics.cainfo("py:ai", print_out=False)
    assert "== py:ai  (time_double) ==" in text
    assert "units           = mm" in text


def test_simple_example_ioc(epics):
    assert epics.caget("simple:A") == 1
    b = epics.PV("simple:B")
    assert b.get() == 2.0
    assert b.units == "mm" and b.precision == 3
    d = epics.caget("simple:D")
    assert isinstance(d, numpy.ndarray) and d.dtype == numpy.float64 and len(d) == 10
    assert epics.caput("simple:C", 42, wait=True) == 1
    assert epics.caget("simple:C", use_monitor=False) == 42


def test_interpreter_exits_cleanly_with_live_monitors(softioc):
    code = (
        "import caproto_rs as e, threading\n"
        "hit = threading.Event()\n"
        "pv = e.PV('py:ticker', callback=lambda **k: hit.set())\n"
        "assert hit.wait(10)\n"
        "print('ok')\n"
    )
    p = subprocess.run([sys.executable, "-c", code], env=softioc.env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"


def test_ctrl_c_interrupts_a_blocked_call(softioc):
    import signal
    code = (
        "import caproto_rs as e\n"
        "e.initialize_libca()\n"
        "try:\n"
        "    print('go', flush=True)\n"
        "    e.caget('py:never-there', connection_timeout=60)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], env=softioc.env,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "go"
        p.send_signal(signal.SIGINT)
        out, _ = p.communicate(timeout=30)
    finally:
        p.kill()
    assert out.strip() == "interrupted"
    assert p.returncode == 0


def test_connection_callbacks_follow_an_ioc_restart():
    # A softIoc of its own, killed and started again on the same ports.
    import iocs
    ioc = iocs.softioc('record(ao, "restart:x") { field(VAL, "5") }')
    try:
        # The session's client searches only the session's IOCs: run the
        # PV in a process of its own, pointed at this IOC.
        code = (
            "import sys, threading, caproto_rs as e\n"
            "lock = threading.Lock()\n"
            "def out(line):\n"
            "    with lock:\n"
            "        sys.stdout.write(line + '\\n')\n"
            "        sys.stdout.flush()\n"
            "pv = e.PV('restart:x', connection_callback=lambda conn=None, **k: out(f'conn {conn}'))\n"
            "assert pv.wait_for_connection(timeout=10)\n"
            "out(f'value {pv.get(use_monitor=False)}')\n"
            "sys.stdin.readline()\n"
            "out(f'value {pv.get(use_monitor=False, timeout=20)}')\n"
        )
        p = subprocess.Popen([sys.executable, "-c", code], env=ioc.env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        # Bounds every blocking read below: the process is killed if the
        # test has not finished by then.
        watchdog = threading.Timer(120, p.kill)
        watchdog.start()
        try:
            # The callback (dispatcher thread) and the main thread's print
            # may come in either order.
            lines = sorted(p.stdout.readline().strip() for _ in range(2))
            assert lines == ["conn True", "value 5.0"]
            ioc.proc.kill()
            ioc.proc.wait()
            assert p.stdout.readline().strip() == "conn False"
            ioc.restart()
            assert p.stdout.readline().strip() == "conn True"
            p.stdin.write("\n")
            p.stdin.flush()
            assert p.stdout.readline().strip() == "value 5.0"
            assert p.wait(timeout=30) == 0
        finally:
            watchdog.cancel()
            p.kill()
    finally:
        ioc.stop()


def test_without_numpy_arrays_are_lists(softioc, epics):
    epics.caput("py:shorts", [1, 2, 3], wait=True)
    code = (
        "import sys\n"
        "sys.modules['numpy'] = None\n"
        "import caproto_rs as e\n"
        "v = e.caget('py:shorts', use_monitor=False)\n"
        "print(type(v).__name__, v)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], env=softioc.env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "list [1, 2, 3]"


def test_caget_many_and_pv_repr(epics):
    got = epics.caget_many(["py:ai", "py:mbbi", "py:nope"], connection_timeout=0.5)
    assert got == [3.25, 2, None]
    pv = epics.get_pv("py:ai", connect=True)
    assert repr(pv) == "<PV 'py:ai', count=1, type=time_double, access=read/write>"


def test_caget_form_selects_the_pv_form(epics):
    assert epics.caget("py:mbbi", form="ctrl") == 2
    assert epics.get_pv("py:mbbi", form="ctrl").type == "ctrl_enum"
    assert epics.caget("py:ai", form="native", use_monitor=False) == 3.25
    assert epics.get_pv("py:ai", form="native").type == "double"


def test_pyepics_low_level_names_scripts_use(epics):
    epics.ca.initialize_libca()
    epics.ca.poll()
    assert epics.ca.pend_io(1.0) == 1
    assert epics.ca.ChannelAccessException is epics.ChannelAccessException
    assert epics.dbr.DBE_VALUE == 1 and epics.dbr.Name(20) == "TIME_DOUBLE"
