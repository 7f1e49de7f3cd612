//! Kill the C softIoc and start it again on the same port: channels
//! reconnect and monitors resume by themselves.

mod common;

use std::time::{Duration, SystemTime};

use caproto_client::{ConnectionStatus, DbrType, EpicsTime, EventMask};
use caproto_testkit::peers::{Ports, SoftIoc};

const DB: &str = r#"
record(ao, "R:ao") { field(VAL, "1.5") }
record(calc, "R:calc") { field(SCAN, ".1 second") field(CALC, "A+1") field(INPA, "R:calc") }
"#;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_reconnect_and_monitors_resume_after_an_ioc_restart() {
    let ports = Ports::allocate();
    let mut ioc = SoftIoc::start(DB, ports);
    let ctx = common::context(ports).await;
    let ao = ctx.connect("R:ao").await.unwrap_or_else(|e| panic!("{e}"));
    let calc = ctx
        .connect("R:calc")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Both channels share one circuit.
    assert_eq!(ao.connection_state().server, calc.connection_state().server);
    let mut sub = calc
        .subscribe(DbrType::TimeDouble, 1, EventMask::VALUE)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = tokio::time::timeout(LIMIT, sub.next())
        .await
        .unwrap_or_else(|_| panic!("no first update"));
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    ao.put_wait(&8.0f64).await.unwrap_or_else(|e| panic!("{e}"));

    let mut state = ao.connection();
    state.borrow_and_update();
    tokio::task::block_in_place(|| ioc.restart());
    let restarted = EpicsTime::from_system_time(SystemTime::now())
        .unwrap_or_else(|| panic!("clock before 1990"));

    // Disconnected, then connected again (a second connection).
    tokio::time::timeout(
        LIMIT,
        state.wait_for(|s| s.status == ConnectionStatus::Disconnected || s.connections >= 2),
    )
    .await
    .unwrap_or_else(|_| panic!("never saw the disconnection"))
    .unwrap_or_else(|e| panic!("{e}"));
    let s = tokio::time::timeout(
        LIMIT,
        state.wait_for(|s| s.is_connected() && s.connections == 2),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "did not reconnect within {LIMIT:?}: {:?}",
            ao.connection_state()
        )
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .clone();
    assert_eq!(s.connections, 2);
    // The restarted IOC has its database value again.
    assert_eq!(ao.get::<f64>().await.ok(), Some(1.5));

    // The monitor resumes: an update processed by the new IOC arrives
    // (older ones may still be queued before it).
    let end = tokio::time::Instant::now() + LIMIT;
    loop {
        let update = tokio::time::timeout_at(end, sub.next())
            .await
            .unwrap_or_else(|_| panic!("the monitor did not resume"));
        if let Some(Ok(d)) = update {
            if d.meta.timestamp > restarted {
                break;
            }
        }
    }
    assert!(calc.is_connected());
}
