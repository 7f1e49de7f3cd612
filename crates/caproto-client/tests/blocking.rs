//! The blocking API against the C softIoc: no runtime in the caller.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use caproto_client::blocking::Context;
use caproto_client::{ConnectionStatus, Error};
use caproto_testkit::peers::{Ports, SoftIoc};

const DB: &str = r#"
record(ao, "B:ao") { field(VAL, "2.5") }
record(mbbo, "B:mode") { field(ZRST, "idle") field(ONST, "run") }
record(calc, "B:calc") { field(SCAN, ".1 second") field(CALC, "A+1") field(INPA, "B:calc") }
"#;

#[test]
fn blocking_get_put_monitor_and_callbacks() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = Context::from_builder(common::builder(ports)).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(ctx.get::<f64>("B:ao").ok(), Some(2.5));
    ctx.put_wait("B:ao", &4.0f64)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ctx.get::<f64>("B:ao").ok(), Some(4.0));
    ctx.put("B:mode", "run").unwrap_or_else(|e| panic!("{e}"));
    let mode = ctx.pv("B:mode").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        mode.get_enum()
            .map(|e| e.as_str().to_owned())
            .ok()
            .as_deref(),
        Some("run")
    );

    // Monitor as an iterator: values count up.
    let values: Vec<f64> = ctx
        .monitor("B:calc")
        .unwrap_or_else(|e| panic!("{e}"))
        .take(3)
        .map(|u| u.map(|d| d.values.to_f64(0).unwrap_or(f64::NAN)))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");

    // Callbacks run on the client's thread; dropping the handle stops them.
    let calc = ctx.pv("B:calc").unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::channel();
    let handle = calc
        .add_callback(move |u| {
            let _ = tx.send(u.map(|d| d.values.to_f64(0)));
        })
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..3 {
        let got = rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(got, Ok(Some(_))));
    }
    drop(handle);
    let (ctx_tx, ctx_rx) = mpsc::channel();
    let _conn = calc
        .on_connection_change(move |s| {
            let _ = ctx_tx.send(s.status);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        ctx_rx.recv_timeout(Duration::from_secs(5)).ok(),
        Some(ConnectionStatus::Connected)
    );

    let missing = ctx
        .pv("B:missing")
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timeout(Duration::from_millis(500));
    assert!(matches!(missing.get::<f64>(), Err(Error::NotFound { .. })));
}
