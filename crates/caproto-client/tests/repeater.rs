//! Registration with a running C `caRepeater`, and reconnection after an
//! IOC restart while beacons are forwarded.

mod common;

use std::time::Duration;

use caproto_testkit::peers::{epics_tool, Guard, Ports, SoftIoc};

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_with_a_running_carepeater_and_reconnects_after_restart() {
    let ports = Ports::allocate();
    let mut cmd = ports.command(epics_tool("caRepeater"));
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _repeater = Guard::new(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("cannot start caRepeater: {e}")),
        "caRepeater",
    );
    let mut ioc = SoftIoc::start(r#"record(ao, "P:x") { field(VAL, "4") }"#, ports);
    let ctx = common::context(ports).await;
    // The repeater may take a moment to bind: registration is retried.
    let mut registered = ctx.repeater_registered();
    tokio::time::timeout(LIMIT, registered.wait_for(|r| *r))
        .await
        .unwrap_or_else(|_| panic!("no REPEATER_CONFIRM within {LIMIT:?}"))
        .unwrap_or_else(|e| panic!("{e}"));

    let x = ctx.connect("P:x").await.unwrap_or_else(|e| panic!("{e}"));
    let mut state = x.connection();
    tokio::task::block_in_place(|| ioc.restart());
    tokio::time::timeout(
        LIMIT,
        state.wait_for(|s| s.is_connected() && s.connections == 2),
    )
    .await
    .unwrap_or_else(|_| panic!("did not reconnect: {:?}", x.connection_state()))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(x.get::<f64>().await.ok(), Some(4.0));
}
