//! A server that answers the search and then misbehaves on TCP: the client
//! neither panics nor hangs; the operation fails within its timeout.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use caproto_client::{ContextBuilder, Error};
use caproto_core::udp::SearchResponder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// Answers every search for `name` with this process's TCP port, and runs
/// `serve` on every TCP connection.
async fn fake_server<F, Fut>(serve: F) -> u16
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = tcp.local_addr().map(|a| a.port()).unwrap_or(0);
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let responder = SearchResponder::new(port);
        let mut buf = vec![0u8; 2048];
        while let Ok((n, from)) = udp.recv_from(&mut buf).await {
            let std::net::SocketAddr::V4(from) = from else {
                continue;
            };
            let request = buf.get(..n).unwrap_or_default();
            if let Ok(replies) = responder.respond(from, request, |name| name.starts_with("H:")) {
                for r in replies {
                    let _ = udp.send_to(&r, from).await;
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            tokio::spawn(serve(stream));
        }
    });
    port
}

async fn client(port: u16) -> caproto_client::Context {
    ContextBuilder::from_lookup(move |name| match name {
        "EPICS_CA_ADDR_LIST" => Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).to_string()),
        "EPICS_CA_AUTO_ADDR_LIST" => Some("NO".into()),
        _ => None,
    })
    .unwrap_or_else(|e| panic!("{e}"))
    .timeout(Duration::from_millis(1500))
    .build()
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn garbage_on_the_circuit_fails_the_operation_without_panic() {
    let port = fake_server(|mut s| async move {
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf).await;
        // An unknown command with an absurd payload size, then noise.
        let _ = s
            .write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
            .await;
        let _ = s.write_all(&[0xAA; 4096]).await;
        let _ = s.read(&mut buf).await;
    })
    .await;
    let ctx = client(port).await;
    let ch = ctx.channel("H:x").unwrap_or_else(|e| panic!("{e}"));
    let err = ch.get::<f64>().await.expect_err("nothing to read");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
}

#[tokio::test]
async fn a_server_that_never_answers_on_tcp_times_out() {
    let port = fake_server(|mut s| async move {
        // Accept, read everything, never answer.
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    let ctx = client(port).await;
    let ch = ctx.channel("H:silent").unwrap_or_else(|e| panic!("{e}"));
    let err = ch.wait_connected().await.expect_err("never connects");
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    // Other names are simply not found.
    let other = ctx.channel("other").unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        other.get::<f64>().await,
        Err(Error::NotFound { .. })
    ));
}
