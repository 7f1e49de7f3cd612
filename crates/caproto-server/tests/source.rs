//! PVs made on demand by a `PvSource`, seen by the C tools: found by
//! search, created once and shared, written and read back, unknown names
//! not found.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use caproto_server::{Ioc, Pv, PvSource};
use caproto_testkit::peers::{epics, stderr, stdout};
use common::options;

/// Serves `dyn:N` for every integer N as a LONG PV holding N, made on the
/// first request and kept.
#[derive(Default)]
struct Numbers {
    made: Mutex<HashMap<String, Pv>>,
}

impl PvSource for Numbers {
    fn contains(&self, name: &str) -> bool {
        name.strip_prefix("dyn:")
            .is_some_and(|n| n.parse::<i32>().is_ok())
    }

    fn resolve(&self, name: &str) -> Option<Pv> {
        let n: i32 = name.strip_prefix("dyn:")?.parse().ok()?;
        let mut made = self.made.lock().ok()?;
        let pv = made
            .entry(name.to_owned())
            .or_insert_with(|| Pv::long(n).build_named(name));
        Some(pv.clone())
    }

    fn names(&self) -> Vec<String> {
        vec!["dyn:0".into()]
    }
}

#[test]
fn source_pvs_are_found_shared_and_writable() {
    let ports = caproto_testkit::peers::Ports::allocate();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let source = Arc::new(Numbers::default());
    let mut ioc = Ioc::new("s:");
    ioc.pv("fixed", Pv::double(1.5));
    ioc.add_source(source.clone());
    assert_eq!(
        ioc.names(),
        vec!["s:dyn:0".to_owned(), "s:fixed".to_owned()]
    );
    let running = rt
        .block_on(ioc.options(options(ports)).start())
        .expect("server starts");

    let out = epics(ports, "caget", &["-w", "5", "s:dyn:7", "s:fixed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("s:dyn:7") && text.contains(" 7\n"), "{text}");
    assert!(
        text.contains("s:fixed") && text.contains(" 1.5\n"),
        "{text}"
    );

    let out = epics(ports, "caput", &["-w", "5", "s:dyn:7", "12"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A new client (a new channel) sees the same PV, so the new value.
    let out = epics(ports, "caget", &["-w", "5", "-t", "s:dyn:7"]);
    assert_eq!(stdout(&out).trim(), "12");
    assert_eq!(source.made.lock().map(|m| m.len()).unwrap_or(0), 1);

    let out = epics(ports, "caget", &["-w", "1", "s:dyn:x", "s:other"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    assert_eq!(source.made.lock().map(|m| m.len()).unwrap_or(0), 1);
    rt.block_on(running.shutdown());
}
