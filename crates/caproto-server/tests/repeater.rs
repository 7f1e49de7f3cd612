//! The `caproto-repeater` binary: registration, confirm, beacon fan-out,
//! and a second instance leaving the port to the first.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use caproto_core::udp::{Beacon, RepeaterRegistration};
use caproto_core::wire::{datagram_frames, Command, Header, Message, ServerMessage};
use caproto_testkit::peers::{run, spawn_until, Ports};

const BIN: &str = env!("CARGO_BIN_EXE_caproto-repeater");

#[test]
fn registers_confirms_and_forwards_beacons() {
    let ports = Ports::allocate();
    let (_repeater, _) = spawn_until(ports.command(BIN), "listening", Duration::from_secs(20));
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let dest = SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports.repeater);
    client
        .send_to(
            &RepeaterRegistration::register_message(Ipv4Addr::LOCALHOST),
            dest,
        )
        .expect("register");
    let mut buf = [0u8; 1024];
    let (n, _) = client.recv_from(&mut buf).expect("confirm");
    let (h, _) = Header::decode(&buf[..n]).expect("header");
    assert_eq!(h.command, Command::REPEATER_CONFIRM);

    // A server's beacons now reach the client through the repeater.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (ioc, _) = common::build("r:");
    let ioc = rt
        .block_on(ioc.options(common::options(ports)).start())
        .expect("start");
    let beacon = loop {
        let (n, _) = client.recv_from(&mut buf).expect("a forwarded beacon");
        let found = datagram_frames(&buf[..n], 1024).find_map(|f| {
            let (h, p) = f.ok()?;
            Beacon::from_message(&ServerMessage::decode(&h, p).ok()?)
        });
        if let Some(b) = found {
            break b;
        }
    };
    assert_eq!(beacon.server_port, ports.server);
    // The repeater fills in the sender's address.
    assert_eq!(Ipv4Addr::from(beacon.server_addr), Ipv4Addr::LOCALHOST);

    // A second repeater finds the port taken and leaves quietly.
    let out = run(ports.command(BIN), Duration::from_secs(20));
    assert!(out.status.success());
    rt.block_on(ioc.shutdown());
}
