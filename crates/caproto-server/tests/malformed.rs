//! Hostile and broken input from raw TCP sockets: the offending circuit is
//! closed (or the request refused), the server stays up, and other clients
//! keep working.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpStream};
use std::time::Duration;

use caproto_core::wire::{Command, Header, ServerMessage, StreamDecoder};
use caproto_core::EcaStatus;
use caproto_testkit::peers::{epics, stdout};
use common::TestIoc;

fn connect(ioc: &TestIoc) -> TcpStream {
    let s = TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, ioc.ports.server))
        .expect("connect");
    // A bound on every read, so that a wrong server cannot hang the test.
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// Reads until the server closes the connection; returns what it sent.
fn read_to_close(mut s: TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("server did not close the circuit: {e}; got {all:02x?}"),
        }
    }
}

fn messages(bytes: &[u8]) -> Vec<ServerMessage> {
    let mut d = StreamDecoder::new(1 << 20);
    d.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(m)) = d.next_message::<ServerMessage>() {
        out.push(m);
    }
    out
}

fn header(command: Command, payload: u32, dt: u16, count: u32, p1: u32, p2: u32) -> Vec<u8> {
    let mut out = Vec::new();
    Header {
        command,
        payload_size: payload,
        data_type: dt,
        data_count: count,
        parameter1: p1,
        parameter2: p2,
    }
    .encode(&mut out);
    out
}

fn other_client_still_works(ioc: &TestIoc) {
    let out = epics(ioc.ports, "caget", &["-w", "5", "t:long"]);
    assert!(out.status.success());
    assert!(stdout(&out).trim_end().ends_with("42"), "{}", stdout(&out));
}

#[test]
fn garbage_closes_only_that_circuit() {
    let ioc = TestIoc::start();
    let mut s = connect(&ioc);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02\x03 garbage garbage")
        .expect("send");
    // Garbage may parse as a header declaring a large payload, which rsrv
    // (and we) answer with ECA_TOLARGE and skip; the client then goes away.
    s.shutdown(Shutdown::Write).expect("shutdown");
    let _ = read_to_close(s);
    other_client_still_works(&ioc);
}

#[test]
fn truncated_header_then_eof() {
    let ioc = TestIoc::start();
    let mut s = connect(&ioc);
    s.write_all(&[0, 0, 0, 0, 0, 0, 0]).expect("send");
    s.shutdown(Shutdown::Write).expect("shutdown");
    let got = read_to_close(s);
    // Only the server's VERSION came back.
    assert!(messages(&got)
        .iter()
        .all(|m| matches!(m, ServerMessage::Version { .. })));
    other_client_still_works(&ioc);
}

#[test]
fn huge_declared_payload_is_refused_without_allocating() {
    let ioc = TestIoc::start();
    let mut s = connect(&ioc);
    // An extended header declaring a 4 GB WRITE payload (rsrv answers
    // ECA_TOLARGE and skips it).
    let mut m = header(Command::WRITE, 0xFFFF, 6, 0, 0, 1);
    m.truncate(16);
    m[2..4].copy_from_slice(&0xFFFFu16.to_be_bytes());
    m[6..8].copy_from_slice(&0u16.to_be_bytes());
    m.extend_from_slice(&0xFFFF_FFF0u32.to_be_bytes());
    m.extend_from_slice(&0x0FFF_FFFFu32.to_be_bytes());
    m.extend_from_slice(&[0xAB; 1000]);
    s.write_all(&m).expect("send");
    // Read until the ERROR arrives.
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let status = loop {
        let n = s.read(&mut buf).expect("the server answers");
        assert!(n > 0, "closed without answering");
        all.extend_from_slice(&buf[..n]);
        if let Some(ServerMessage::Error { status, .. }) = messages(&all)
            .into_iter()
            .find(|m| matches!(m, ServerMessage::Error { .. }))
        {
            break status;
        }
    };
    assert_eq!(status, EcaStatus::ECA_TOLARGE);
    other_client_still_works(&ioc);
}

#[test]
fn unknown_command_closes_the_circuit() {
    let ioc = TestIoc::start();
    let mut s = connect(&ioc);
    s.write_all(&header(Command(0x00EE), 0, 0, 0, 0, 0))
        .expect("send");
    let _ = read_to_close(s);
    other_client_still_works(&ioc);
}

#[test]
fn event_add_for_a_channel_that_does_not_exist() {
    let ioc = TestIoc::start();
    let mut s = connect(&ioc);
    let mut m = header(Command::VERSION, 0, 0, 13, 0, 0);
    m.extend(header(Command::EVENT_ADD, 16, 6, 1, 12345, 1));
    m.extend_from_slice(&[0; 12]);
    m.extend_from_slice(&5u16.to_be_bytes());
    m.extend_from_slice(&[0; 2]);
    s.write_all(&m).expect("send");
    let got = messages(&read_to_close(s));
    // rsrv's answer to a bad resource id: ERROR ECA_INTERNAL, circuit closed.
    assert!(
        got.iter().any(|m| matches!(
            m,
            ServerMessage::Error { status, .. } if *status == EcaStatus::ECA_INTERNAL
        )),
        "{got:?}"
    );
    other_client_still_works(&ioc);
}

#[test]
fn many_bad_clients_at_once_leave_the_server_serving() {
    let ioc = TestIoc::start();
    let bad: Vec<TcpStream> = (0..20)
        .map(|i| {
            let mut s = connect(&ioc);
            let junk: Vec<u8> = (0..200u32).map(|j| (j * 31 + i * 7) as u8).collect();
            let _ = s.write_all(&junk);
            let _ = s.shutdown(Shutdown::Write);
            s
        })
        .collect();
    other_client_still_works(&ioc);
    for s in bad {
        let _ = read_to_close(s);
    }
    other_client_still_works(&ioc);
}

#[test]
fn absurd_element_counts_are_refused_without_allocating() {
    use caproto_core::dbr::DbrType;
    use caproto_core::wire::{ClientMessage, EventMask, Message};
    use caproto_core::{Cid, IoId, Sid, SubId};
    let ioc = TestIoc::start();
    let mut s = connect(&ioc);
    let mut m = Vec::new();
    ClientMessage::Version {
        priority: 0,
        minor_version: 13,
        sequence: 0,
    }
    .encode(&mut m);
    ClientMessage::CreateChan {
        cid: Cid(1),
        minor_version: 13,
        name: "t:double".into(),
    }
    .encode(&mut m);
    s.write_all(&m).expect("send");
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let sid: Sid = loop {
        let n = s.read(&mut buf).expect("reply");
        assert!(n > 0);
        all.extend_from_slice(&buf[..n]);
        if let Some(sid) = messages(&all).iter().find_map(|m| match m {
            ServerMessage::CreateChanResponse { sid, .. } => Some(*sid),
            _ => None,
        }) {
            break sid;
        }
    };
    // Four billion doubles: a read and a subscription.
    let mut m = Vec::new();
    ClientMessage::ReadNotify {
        data_type: DbrType::Double,
        count: u32::MAX,
        sid,
        ioid: IoId(5),
    }
    .encode(&mut m);
    ClientMessage::EventAdd {
        data_type: DbrType::TimeDouble,
        count: 0xFFFF_FFF0,
        sid,
        subid: SubId(6),
        mask: EventMask::VALUE,
        deadband: [0.0; 3],
    }
    .encode(&mut m);
    ClientMessage::Echo.encode(&mut m);
    s.write_all(&m).expect("send");
    let mut statuses = Vec::new();
    all.clear();
    loop {
        let n = s.read(&mut buf).expect("reply");
        assert!(n > 0, "circuit closed");
        all.extend_from_slice(&buf[..n]);
        let msgs = messages(&all);
        if msgs.iter().any(|m| matches!(m, ServerMessage::Echo)) {
            for m in msgs {
                match m {
                    ServerMessage::ReadNotifyResponse { status, .. }
                    | ServerMessage::EventAddResponse { status, .. } => statuses.push(status),
                    _ => {}
                }
            }
            break;
        }
    }
    assert_eq!(statuses, [EcaStatus::ECA_TOLARGE, EcaStatus::ECA_TOLARGE]);
    other_client_still_works(&ioc);
}
