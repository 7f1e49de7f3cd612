//! Discovery: beacons at the repeater port, search replies over UDP, and
//! the TCP port falling back to an ephemeral one when taken.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::time::Duration;

use caproto_core::udp::Beacon;
use caproto_core::wire::{datagram_frames, ClientMessage, Message, ServerMessage, DO_REPLY};
use caproto_core::Cid;
use caproto_testkit::peers::{epics, stderr, stdout, Ports};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn beacons_reach_the_repeater_port_with_the_tcp_port() {
    let ports = Ports::allocate();
    // Listen where a repeater would, before the server starts.
    let repeater = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports.repeater))
        .expect("repeater port");
    repeater
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let rt = runtime();
    let (ioc, _) = common::build("b:");
    let ioc = rt
        .block_on(ioc.options(common::options(ports)).start())
        .expect("start");
    let mut buf = [0u8; 1024];
    let mut ids = Vec::new();
    while ids.len() < 3 {
        let (n, _) = repeater.recv_from(&mut buf).expect("a beacon");
        for f in datagram_frames(&buf[..n], 1024) {
            let (h, p) = f.expect("frame");
            let m = ServerMessage::decode(&h, p).expect("message");
            let b = Beacon::from_message(&m).expect("a beacon");
            assert_eq!(b.server_port, ports.server);
            ids.push(b.beacon_id);
        }
    }
    // The start-up ramp sends them in quick succession, ids counting up.
    assert_eq!(ids, [0, 1, 2]);
    rt.block_on(ioc.shutdown());
}

#[test]
fn udp_search_is_answered_for_served_names_only() {
    let ports = Ports::allocate();
    let rt = runtime();
    let (ioc, _) = common::build("s:");
    let ioc = rt
        .block_on(ioc.options(common::options(ports)).start())
        .expect("start");
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut dg = Vec::new();
    ClientMessage::Version {
        priority: 0,
        minor_version: 13,
        sequence: 9,
    }
    .encode(&mut dg);
    for (cid, name) in [(1, "s:nope"), (2, "s:long")] {
        ClientMessage::Search {
            reply: DO_REPLY,
            minor_version: 13,
            cid: Cid(cid),
            name: name.into(),
        }
        .encode(&mut dg);
    }
    sock.send_to(&dg, SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports.server))
        .expect("send");
    let mut buf = [0u8; 1024];
    let (n, _) = sock.recv_from(&mut buf).expect("a reply");
    let msgs: Vec<ServerMessage> = datagram_frames(&buf[..n], 1024)
        .map(|f| {
            let (h, p) = f.expect("frame");
            ServerMessage::decode(&h, p).expect("message")
        })
        .collect();
    let found: Vec<(Cid, u16)> = msgs
        .iter()
        .filter_map(|m| match m {
            ServerMessage::SearchResponse { cid, port, .. } => Some((*cid, *port)),
            _ => None,
        })
        .collect();
    // rsrv stays silent on UDP for names it does not have.
    assert_eq!(found, [(Cid(2), ports.server)], "{msgs:?}");
    rt.block_on(ioc.shutdown());
}

#[test]
fn tcp_port_taken_falls_back_to_an_ephemeral_port_announced_in_replies() {
    let ports = Ports::allocate();
    let _squatter = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports.server))
        .expect("take the TCP port");
    let rt = runtime();
    let (ioc, _) = common::build("f:");
    let ioc = rt
        .block_on(ioc.options(common::options(ports)).start())
        .expect("start");
    assert_ne!(ioc.server().tcp_port(), ports.server);
    let out = epics(ports, "caget", &["-w", "5", "f:long"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["f:long", "42"]
    );
    rt.block_on(ioc.shutdown());
}
