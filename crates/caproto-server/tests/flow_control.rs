//! Slow clients and flow control: monitor updates coalesce to the newest
//! value per subscription (a client that stops reading costs bounded
//! memory), EVENTS_OFF / EVENTS_ON, and graceful shutdown.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::Duration;

use caproto_core::dbr::DbrType;
use caproto_core::wire::{ClientMessage, EventMask, Message, ServerMessage, StreamDecoder};
use caproto_core::{Cid, Sid, SubId};
use caproto_testkit::peers::epics_tool;
use common::{Lines, TestIoc};

struct Raw {
    s: TcpStream,
    dec: StreamDecoder,
}

impl Raw {
    fn connect(ioc: &TestIoc) -> Raw {
        let s = TcpStream::connect(SocketAddrV4::new(Ipv4Addr::LOCALHOST, ioc.ports.server))
            .expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Raw {
            s,
            dec: StreamDecoder::new(1 << 24),
        }
    }

    fn send(&mut self, msgs: &[ClientMessage]) {
        let mut out = Vec::new();
        for m in msgs {
            m.encode(&mut out);
        }
        self.s.write_all(&out).expect("send");
    }

    /// The next message from the server (bounded wait).
    fn next(&mut self) -> ServerMessage {
        let mut buf = [0u8; 65536];
        loop {
            if let Some(m) = self
                .dec
                .next_message::<ServerMessage>()
                .expect("valid reply")
            {
                return m;
            }
            let n = self.s.read(&mut buf).expect("the server answers");
            assert!(n > 0, "server closed the circuit");
            self.dec.push(&buf[..n]);
        }
    }

    /// Connects channel `name`, returns its sid.
    fn channel(&mut self, name: &str) -> Sid {
        self.send(&[
            ClientMessage::Version {
                priority: 0,
                minor_version: 13,
                sequence: 0,
            },
            ClientMessage::CreateChan {
                cid: Cid(1),
                minor_version: 13,
                name: name.into(),
            },
        ]);
        loop {
            if let ServerMessage::CreateChanResponse { sid, .. } = self.next() {
                return sid;
            }
        }
    }

    fn subscribe(&mut self, sid: Sid) {
        self.send(&[ClientMessage::EventAdd {
            data_type: DbrType::Long,
            count: 1,
            sid,
            subid: SubId(7),
            mask: EventMask::VALUE | EventMask::ALARM,
            deadband: [0.0; 3],
        }]);
    }

    /// Sends ECHO and collects the monitor values received before its reply:
    /// everything the server sent before it processed the ECHO.
    fn values_until_echo(&mut self) -> Vec<i32> {
        self.send(&[ClientMessage::Echo]);
        let mut values = Vec::new();
        loop {
            match self.next() {
                ServerMessage::Echo => return values,
                ServerMessage::EventAddResponse { data, .. } => {
                    let b: [u8; 4] = data[..4].try_into().expect("4 bytes");
                    values.push(i32::from_be_bytes(b));
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_client_that_stops_reading_gets_the_newest_value_when_it_resumes() {
    let ioc = TestIoc::start();
    let mut raw = Raw::connect(&ioc);
    let sid = raw.channel("t:counter");
    raw.subscribe(sid);
    assert_eq!(raw.values_until_echo(), [0]);
    // The client reads nothing while 200,000 updates are posted: the
    // server fills the socket buffers, then keeps one pending update.
    const N: i32 = 200_000;
    for i in 1..=N {
        ioc.counter.post(i).expect("post");
    }
    // Another client is served meanwhile.
    let out = caproto_testkit::peers::epics(ioc.ports, "caget", &["-w", "5", "t:long"]);
    assert!(out.status.success());
    // Now read: far fewer than N updates arrive, the last is the newest.
    let mut got = Vec::new();
    while got.last() != Some(&N) {
        if let ServerMessage::EventAddResponse { data, .. } = raw.next() {
            let b: [u8; 4] = data[..4].try_into().expect("4 bytes");
            got.push(i32::from_be_bytes(b));
        }
    }
    assert!(got.windows(2).all(|w| w[0] < w[1]), "updates in order");
    assert!(got.len() < N as usize, "coalesced: {} updates", got.len());
}

#[test]
fn events_off_holds_back_updates_and_events_on_sends_the_newest() {
    let ioc = TestIoc::start();
    let mut raw = Raw::connect(&ioc);
    let sid = raw.channel("t:counter");
    raw.subscribe(sid);
    assert_eq!(raw.values_until_echo(), [0]);
    raw.send(&[ClientMessage::EventsOff]);
    assert_eq!(raw.values_until_echo(), Vec::<i32>::new());
    for i in 1..=1000 {
        ioc.counter.post(i).expect("post");
    }
    raw.send(&[ClientMessage::EventsOn]);
    // At most one held update plus at most one still on its way, and the
    // newest value arrives.
    let mut got = raw.values_until_echo();
    while got.last() != Some(&1000) {
        got.extend(raw.values_until_echo());
        assert!(got.len() <= 2, "{got:?}");
    }
    assert!(got.len() <= 2, "{got:?}");
}

#[test]
fn shutdown_disconnects_clients_at_once() {
    let mut ioc = TestIoc::start();
    let mut cmd = ioc.ports.command(epics_tool("camonitor"));
    cmd.args(["-w", "5", "t:counter"]);
    let mut mon = Lines::spawn(cmd);
    mon.until("initial value", |l| l.starts_with("t:counter"));
    let running = ioc.ioc.take().expect("running");
    ioc.rt.block_on(running.shutdown());
    mon.until("disconnect", |l| l.contains("disconnected"));
}

#[test]
fn access_rights_changed_at_run_time_reach_connected_clients() {
    let ioc = TestIoc::start();
    let mut raw = Raw::connect(&ioc);
    raw.send(&[ClientMessage::Version {
        priority: 0,
        minor_version: 13,
        sequence: 0,
    }]);
    raw.send(&[ClientMessage::CreateChan {
        cid: Cid(3),
        minor_version: 13,
        name: "t:lockable".into(),
    }]);
    let rights = |raw: &mut Raw| loop {
        if let ServerMessage::AccessRights { cid, rights } = raw.next() {
            assert_eq!(cid, Cid(3));
            return rights;
        }
    };
    assert_eq!(rights(&mut raw), caproto_core::AccessRights::READ_WRITE);
    ioc.lockable.set_read_only(true);
    assert_eq!(rights(&mut raw), caproto_core::AccessRights::READ);
    ioc.lockable.set_read_only(false);
    assert_eq!(rights(&mut raw), caproto_core::AccessRights::READ_WRITE);
    // And a C client sees it: cainfo on a fresh connection.
    ioc.lockable.set_read_only(true);
    let out = caproto_testkit::peers::epics(ioc.ports, "cainfo", &["-w", "5", "t:lockable"]);
    assert_eq!(
        common::field(
            &caproto_testkit::peers::stdout(&out),
            "t:lockable",
            "Access"
        )
        .as_deref(),
        Some("read, no write")
    );
}

#[test]
fn per_client_rules_follow_host_and_user_names() {
    let ioc = TestIoc::start();
    let mut raw = Raw::connect(&ioc);
    raw.send(&[
        ClientMessage::Version {
            priority: 0,
            minor_version: 13,
            sequence: 0,
        },
        ClientMessage::HostName {
            name: "viewer-host".into(),
        },
        ClientMessage::ClientName {
            name: "alice".into(),
        },
        ClientMessage::CreateChan {
            cid: Cid(4),
            minor_version: 13,
            name: "t:guarded".into(),
        },
    ]);
    let rights = |raw: &mut Raw| loop {
        if let ServerMessage::AccessRights { cid, rights } = raw.next() {
            assert_eq!(cid, Cid(4));
            return rights;
        }
    };
    assert_eq!(rights(&mut raw), caproto_core::AccessRights::READ);
    raw.send(&[ClientMessage::HostName {
        name: "console".into(),
    }]);
    assert_eq!(rights(&mut raw), caproto_core::AccessRights::READ_WRITE);
    raw.send(&[ClientMessage::ClientName {
        name: "intruder".into(),
    }]);
    assert_eq!(rights(&mut raw), caproto_core::AccessRights::NONE);
    // C clients: caget from this host (its own name) may read and write.
    let out = caproto_testkit::peers::epics(ioc.ports, "cainfo", &["-w", "5", "t:guarded"]);
    assert_eq!(
        common::field(&caproto_testkit::peers::stdout(&out), "t:guarded", "Access").as_deref(),
        Some("read, write")
    );
}
