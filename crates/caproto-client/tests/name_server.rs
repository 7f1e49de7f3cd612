//! Name resolution over TCP only (`EPICS_CA_NAME_SERVERS`, no UDP search
//! list) against the C softIoc, which answers SEARCH on a circuit
//! (rsrv `search_reply_tcp`).

mod common;

use caproto_client::{ContextBuilder, Error};
use caproto_testkit::peers::{Ports, SoftIoc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_resolve_through_a_tcp_name_server() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(r#"record(ao, "N:x") { field(VAL, "6.5") }"#, ports);
    let ns = format!("127.0.0.1:{}", ports.server);
    let ctx = ContextBuilder::from_lookup(move |name| match name {
        "EPICS_CA_NAME_SERVERS" => Some(ns.clone()),
        "EPICS_CA_AUTO_ADDR_LIST" => Some("NO".into()),
        "EPICS_CA_REPEATER_PORT" => Some(ports.repeater.to_string()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .timeout(std::time::Duration::from_secs(5))
    .build()
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let x = ctx.connect("N:x").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(x.get::<f64>().await.ok(), Some(6.5));
    let missing = ctx
        .channel("N:missing")
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timeout(std::time::Duration::from_millis(500));
    assert!(matches!(
        missing.get::<f64>().await,
        Err(Error::NotFound { .. })
    ));
}
