//! The async client against the Python caproto server
//! (`caproto.ioc_examples.simple`).

mod common;

use std::time::Duration;

use caproto_client::{DbrType, DbrValues, EventMask};
use caproto_testkit::peers::{python, spawn_until, Ports};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_caproto_ioc_reads_writes_and_monitors() {
    let ports = Ports::allocate();
    let mut cmd = ports.command(python());
    cmd.args(["-m", "caproto.ioc_examples.simple", "--list-pvs"]);
    let (_ioc, _) = spawn_until(cmd, "simple:C", Duration::from_secs(30));
    let ctx = common::context(ports).await;

    let a = ctx
        .connect("simple:A")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.native_type(), Some(DbrType::Long));
    assert_eq!(a.get::<i32>().await.ok(), Some(1));
    let c = ctx
        .connect("simple:C")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.native_count(), Some(3));
    assert_eq!(c.get::<Vec<i32>>().await.ok(), Some(vec![1, 2, 3]));
    let ctrl = c
        .read(DbrType::CtrlLong, 3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ctrl.values, DbrValues::Long(vec![1, 2, 3]));

    let mut sub = a
        .subscribe(DbrType::TimeLong, 1, EventMask::VALUE)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = tokio::time::timeout(Duration::from_secs(10), sub.next()).await;
    assert!(matches!(first, Ok(Some(Ok(_)))), "{first:?}");
    a.put_wait(&17i32).await.unwrap_or_else(|e| panic!("{e}"));
    let update = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap_or_else(|_| panic!("no update after the write"))
        .unwrap_or_else(|| panic!("stream ended"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(update.values, DbrValues::Long(vec![17]));
    assert!(update.meta.timestamp.secs > 0);
    c.put(&vec![4i32, 5, 6])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.get::<Vec<i32>>().await.ok(), Some(vec![4, 5, 6]));
    assert_eq!(a.get::<String>().await.ok().as_deref(), Some("17"));
}
