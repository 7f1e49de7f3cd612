//! EPICS base's client acceptance test, `acctst <pv>`, against an
//! in-process IOC, including its disconnect/reconnect step: when acctst
//! asks for the channel to be disconnected, the test shuts the server down
//! and starts it again on the same port.
//!
//! acctst creates and destroys five million subscriptions
//! (`multiSubscrDestroyNoLateCallbackTest`); with a debug build of the
//! server that alone takes well over a minute on two cores, so the test
//! runs in release builds only:
//! `cargo test --release -p caproto-server --test acctst`.

mod common;

use std::io::Read;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use caproto_testkit::peers::{epics_tool, Guard, Ports};

fn start(ports: Ports, rt: &tokio::runtime::Runtime) -> caproto_server::RunningIoc {
    let mut ioc = caproto_server::Ioc::new("acc:");
    ioc.pv("x", caproto_server::Pv::double(1.0).precision(3));
    rt.block_on(ioc.options(common::options(ports)).start())
        .expect("server starts")
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "too slow in a debug build: run with --release"
)]
fn acctst_passes_against_our_server() {
    let ports = Ports::allocate();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut ioc = Some(start(ports, &rt));

    let mut cmd = ports.command(epics_tool("acctst"));
    // Progress level 1, one channel, one repetition.
    cmd.args(["acc:x", "1", "1", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("acctst starts");
    let (tx, rx) = mpsc::channel::<String>();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut pipe = pipe;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0
                    || tx
                        .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut guard = Guard::new(child, "acctst");
    let mut out = String::new();
    let end = Instant::now() + Duration::from_secs(240);
    let mut restarted = false;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => out.push_str(&chunk),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("acctst did not finish: {out}"),
        }
        // A failed check makes acctst suspend itself: stop waiting.
        assert!(!out.contains("A call to 'assert"), "acctst failed:\n{out}");
        if !restarted && out.contains("Please force test channel to disconnect") {
            restarted = true;
            if let Some(running) = ioc.take() {
                rt.block_on(running.shutdown());
            }
            ioc = Some(start(ports, &rt));
        }
    }
    let status = guard.wait_timeout(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()) && out.contains("Test Complete"),
        "acctst failed ({status:?}):\n{out}"
    );
    if let Some(running) = ioc.take() {
        rt.block_on(running.shutdown());
    }
}
