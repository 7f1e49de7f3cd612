//! An IOC that stops answering (SIGSTOP): after EPICS_CA_CONN_TMO and the
//! echo timeout its channels are reported disconnected but stay on the
//! circuit (libca `tcpiiu::unresponsiveCircuitNotify`); when it resumes
//! they are connected again without a new connection, and monitors go on.

mod common;

use std::process::Command;
use std::time::Duration;

use caproto_client::{ConnectionStatus, ContextBuilder, DbrType, EventMask};
use caproto_testkit::peers::{run, Ports, SoftIoc};

const LIMIT: Duration = Duration::from_secs(20);

fn signal(pid: u32, sig: &str) {
    let mut kill = Command::new("kill");
    kill.arg(sig).arg(pid.to_string());
    assert!(run(kill, Duration::from_secs(5)).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_ioc_is_unresponsive_then_responsive_again() {
    let ports = Ports::allocate();
    let ioc = SoftIoc::start(
        r#"record(calc, "U:calc") { field(SCAN, ".1 second") field(CALC, "A+1") field(INPA, "U:calc") }"#,
        ports,
    );
    let base = common::lookup(ports);
    let ctx = ContextBuilder::from_lookup(move |name| match name {
        "EPICS_CA_CONN_TMO" => Some("1".into()),
        other => base(other),
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .build()
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let calc = ctx
        .connect("U:calc")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sub = calc
        .subscribe(DbrType::TimeDouble, 1, EventMask::VALUE)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        tokio::time::timeout(LIMIT, sub.next()).await,
        Ok(Some(Ok(_)))
    ));

    let mut state = calc.connection();
    tokio::task::block_in_place(|| signal(ioc.guard.id(), "-STOP"));
    tokio::time::timeout(
        LIMIT,
        state.wait_for(|s| s.status == ConnectionStatus::Disconnected),
    )
    .await
    .unwrap_or_else(|_| panic!("never reported unresponsive"))
    .unwrap_or_else(|e| panic!("{e}"));
    // Reads fail fast as disconnected meanwhile.
    let err = calc
        .with_timeout(Duration::from_millis(300))
        .get::<f64>()
        .await
        .expect_err("no read while unresponsive");
    assert!(
        matches!(err, caproto_client::Error::Disconnected { .. }),
        "{err}"
    );
    while sub.try_next().is_some() {}

    tokio::task::block_in_place(|| signal(ioc.guard.id(), "-CONT"));
    let s = tokio::time::timeout(LIMIT, state.wait_for(|s| s.is_connected()))
        .await
        .unwrap_or_else(|_| panic!("never responsive again"))
        .unwrap_or_else(|e| panic!("{e}"))
        .clone();
    // The same circuit: not a reconnection.
    assert_eq!(s.connections, 1);
    assert!(matches!(
        tokio::time::timeout(LIMIT, sub.next()).await,
        Ok(Some(Ok(_)))
    ));
    assert!(calc.get::<f64>().await.is_ok());
}
