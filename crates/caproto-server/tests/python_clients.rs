//! pyepics (C libca through Python) and the Python caproto client against
//! an in-process IOC on loopback.

mod common;

use std::time::Duration;

use caproto_testkit::peers::{python, run, stderr, stdout};
use common::TestIoc;

fn py(ioc: &TestIoc, script: &str) -> String {
    let mut cmd = ioc.ports.command(python());
    cmd.arg("-c").arg(script);
    let out = run(cmd, Duration::from_secs(40));
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "python failed:\n{text}\n{}",
        stderr(&out)
    );
    text
}

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
        .trim()
}

#[test]
fn pyepics_get_put_monitor() {
    let ioc = TestIoc::start();
    let out = py(
        &ioc,
        r#"
import threading, epics
print("GET", epics.caget("t:double", timeout=5))
print("ENUM", epics.caget("t:enum", as_string=True, timeout=5))
print("STR", epics.caget("t:string", timeout=5))
print("ARR", [float(x) for x in epics.caget("t:array", timeout=5)][:3])
print("PUT", epics.caput("t:long", 7, wait=True, timeout=5))
print("AFTER", epics.caget("t:long", timeout=5))
try:
    print("REFUSED", epics.caput("t:ro", 1, wait=True, timeout=5))
except Exception as e:
    print("REFUSED", e)
got = threading.Event()
def cb(value=None, **kw):
    if value == 123:
        got.set()
pv = epics.PV("t:counter", callback=cb)
pv.wait_for_connection(5)
epics.caput("t:counter", 123, wait=True, timeout=5)
print("MON", got.wait(10))
"#,
    );
    assert_eq!(line(&out, "GET"), "3.25");
    assert_eq!(line(&out, "ENUM"), "On");
    assert_eq!(line(&out, "STR"), "hello");
    assert_eq!(line(&out, "ARR"), "[1.0, 2.0, 3.0]");
    assert_eq!(line(&out, "PUT"), "1");
    assert_eq!(line(&out, "AFTER"), "7");
    assert!(
        line(&out, "REFUSED").contains("Write access denied"),
        "{out}"
    );
    assert_eq!(line(&out, "MON"), "True");
}

#[test]
fn python_caproto_threading_client_and_cli() {
    let ioc = TestIoc::start();
    let out = py(
        &ioc,
        r#"
import threading
from caproto.threading.client import Context
ctx = Context()
d, arr, e = ctx.get_pvs("t:double", "t:array", "t:enum", timeout=5)
r = d.read(data_type="control", timeout=5)
print("CTRL", r.data[0], r.metadata.units.decode(), r.metadata.precision)
print("ARR", [float(x) for x in arr.read(timeout=5).data][:3])
print("ENUM", list(e.read(data_type="control", timeout=5).metadata.enum_strings))
d.write([1.25], wait=True, timeout=5)
print("AFTER", d.read(timeout=5).data[0])
got = threading.Event()
def cb(sub, resp):
    if resp.data[0] == 2.5:
        got.set()
sub = d.subscribe()
sub.add_callback(cb)
d.write([2.5], wait=True, timeout=5)
print("MON", got.wait(10))
ctx.disconnect()
"#,
    );
    assert_eq!(line(&out, "CTRL"), "3.25 mm 3");
    assert_eq!(line(&out, "ARR"), "[1.0, 2.0, 3.0]");
    assert_eq!(line(&out, "ENUM"), "[b'Off', b'On', b'Fault']");
    assert_eq!(line(&out, "AFTER"), "1.25");
    assert_eq!(line(&out, "MON"), "True");

    // The command-line tools (caproto-get / caproto-put).
    let mut cmd = ioc.ports.command(python());
    cmd.args([
        "-m",
        "caproto.commandline.put",
        "--no-repeater",
        "t:long",
        "55",
    ]);
    let out = run(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cmd = ioc.ports.command(python());
    cmd.args([
        "-m",
        "caproto.commandline.get",
        "--no-repeater",
        "t:long",
        "t:string",
    ]);
    let out = run(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("t:long") && text.contains("55"), "{text}");
    assert!(text.contains("hello"), "{text}");
}
