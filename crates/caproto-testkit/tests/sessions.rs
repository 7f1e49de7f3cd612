//! Whole CA sessions between our ClientCircuit and ServerCircuit, in memory,
//! with a virtual clock: no sockets, fully deterministic.

// 3.14 is the value of the ao record in captures.db, not an approximation of pi.
#![allow(clippy::approx_constant)]

use std::time::Duration;

use caproto_core::circuit::{ClientEvent, CloseReason, RemoteError};
use caproto_core::dbr::{self, DbrFamily, DbrType, DbrValues, NativeType};
use caproto_core::wire::{ClientMessage, EventMask, Message, StreamDecoder};
use caproto_core::{AccessRights, Cid, EcaStatus, UsageError};
use caproto_testkit::pair::{MemoryIoc, MemoryPv, Pair};

fn ioc() -> MemoryIoc {
    let mut ioc = MemoryIoc::new();
    let mut ao = MemoryPv::new(DbrValues::Double(vec![3.14]));
    ao.meta.precision = 3;
    ao.meta.units = "mm".into();
    ao.meta.limits.upper_disp = 10.0;
    ao.meta.limits.lower_disp = -10.0;
    ioc.add("t:ao", ao);
    let mut mbbo = MemoryPv::new(DbrValues::Enum(vec![1]));
    mbbo.meta.enum_strings = vec!["zero".into(), "one".into(), "two".into()];
    ioc.add("t:mbbo", mbbo);
    ioc.add(
        "t:str",
        MemoryPv::new(DbrValues::String(vec!["hello".into()])),
    );
    ioc.add("t:long", MemoryPv::new(DbrValues::Long(vec![42])));
    let mut wf = MemoryPv::new(DbrValues::Double((0..10).map(f64::from).collect()));
    wf.capacity = 100;
    ioc.add("t:wf", wf);
    let mut ro = MemoryPv::new(DbrValues::Double(vec![7.0]));
    ro.access = AccessRights::READ;
    ioc.add("t:ro", ro);
    let mut disabled = MemoryPv::new(DbrValues::Double(vec![1.0]));
    disabled.reject_writes = true;
    ioc.add("t:disabled", disabled);
    ioc
}

fn connect(pair: &mut Pair, ioc: &mut MemoryIoc, cid: u32, name: &str) {
    pair.client.create_channel(Cid(cid), name).unwrap();
    pair.drive(ioc);
    let connected = pair
        .take_events()
        .into_iter()
        .any(|e| matches!(e, ClientEvent::Connected { cid: c, .. } if c == Cid(cid)));
    assert!(connected, "{name} did not connect");
}

fn read(
    pair: &mut Pair,
    ioc: &mut MemoryIoc,
    cid: u32,
    t: DbrType,
    count: u32,
) -> Result<dbr::DbrData, RemoteError> {
    let ioid = pair.client.read(Cid(cid), t, count).unwrap();
    pair.drive(ioc);
    for e in pair.take_events() {
        if let ClientEvent::ReadDone {
            ioid: i, result, ..
        } = e
        {
            assert_eq!(i, ioid);
            return result.map(|p| {
                assert_eq!(p.data_type, t);
                dbr::decode(p.data_type, p.count, &p.data).unwrap()
            });
        }
    }
    panic!("no ReadDone");
}

fn encode_value(t: DbrType, values: DbrValues) -> (u32, Vec<u8>) {
    let mut out = Vec::new();
    let n = dbr::encode(t, &Default::default(), &values, &mut out).unwrap();
    (n, out)
}

#[test]
fn handshake_sends_version_client_and_host_name_in_libca_order() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    pair.drive(&mut ioc);
    let mut d = StreamDecoder::new(1 << 16);
    d.push(&pair.to_server_log);
    let first: Vec<ClientMessage> = std::iter::from_fn(|| d.next_message().unwrap()).collect();
    assert!(matches!(
        first[0],
        ClientMessage::Version {
            minor_version: 13,
            ..
        }
    ));
    assert_eq!(
        first[1],
        ClientMessage::ClientName {
            name: "tester".into()
        }
    );
    assert_eq!(
        first[2],
        ClientMessage::HostName {
            name: "testhost".into()
        }
    );
    assert!(pair
        .take_events()
        .contains(&ClientEvent::ServerVersion { minor_version: 13 }));
}

#[test]
fn channel_connects_with_native_type_count_and_rights() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    pair.client.create_channel(Cid(1), "t:wf").unwrap();
    pair.client.create_channel(Cid(2), "t:ro").unwrap();
    pair.drive(&mut ioc);
    let events = pair.take_events();
    let info = pair.client.channel_info(Cid(1)).unwrap();
    assert_eq!(
        (info.native_type, info.native_count, info.access),
        (DbrType::Double, 100, AccessRights::READ_WRITE)
    );
    assert_eq!(
        pair.client.channel_info(Cid(2)).unwrap().access,
        AccessRights::READ
    );
    // Access rights arrive before the CREATE_CHAN reply, as from rsrv.
    let pos_rights = events
        .iter()
        .position(|e| matches!(e, ClientEvent::AccessRights { cid: Cid(1), .. }));
    let pos_conn = events
        .iter()
        .position(|e| matches!(e, ClientEvent::Connected { cid: Cid(1), .. }));
    assert!(pos_rights < pos_conn);
}

#[test]
fn missing_channel_fails_to_create() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    pair.client.create_channel(Cid(9), "no:such:pv").unwrap();
    pair.drive(&mut ioc);
    assert!(pair
        .take_events()
        .contains(&ClientEvent::CreateFailed { cid: Cid(9) }));
    assert!(ioc.rejected.contains("no:such:pv"));
    assert_eq!(pair.client.channel_count(), 0);
}

#[test]
fn every_readable_dbr_type_reads_back_with_metadata() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:ao");
    for t in DbrType::ALL {
        if t.is_put_only() {
            continue;
        }
        let data = read(&mut pair, &mut ioc, 1, t, 1).unwrap();
        assert_eq!(data.values.len(), 1, "{t}");
        match t.native() {
            NativeType::String
                if t.family() == DbrFamily::ClassName || t.family() == DbrFamily::StsackString => {}
            NativeType::String => {
                assert_eq!(data.values, DbrValues::String(vec!["3.140".into()]), "{t}")
            }
            NativeType::Double => assert_eq!(data.values, DbrValues::Double(vec![3.14]), "{t}"),
            NativeType::Long => assert_eq!(data.values, DbrValues::Long(vec![3]), "{t}"),
            _ => {}
        }
        if matches!(t.family(), DbrFamily::Gr | DbrFamily::Ctrl)
            && t.native() != NativeType::String
            && t.native() != NativeType::Enum
        {
            assert_eq!(data.meta.units, "mm", "{t}");
            assert_eq!(data.meta.limits.upper_disp, 10.0, "{t}");
        }
    }
}

#[test]
fn enum_reads_as_index_or_state_string() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:mbbo");
    assert_eq!(
        read(&mut pair, &mut ioc, 1, DbrType::Enum, 1)
            .unwrap()
            .values,
        DbrValues::Enum(vec![1])
    );
    assert_eq!(
        read(&mut pair, &mut ioc, 1, DbrType::String, 1)
            .unwrap()
            .values,
        DbrValues::String(vec!["one".into()])
    );
    let ctrl = read(&mut pair, &mut ioc, 1, DbrType::CtrlEnum, 1).unwrap();
    assert_eq!(ctrl.meta.enum_strings, vec!["zero", "one", "two"]);
}

#[test]
fn array_reads_honour_count_and_count_zero_means_current_length() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:wf");
    let three = read(&mut pair, &mut ioc, 1, DbrType::Double, 3).unwrap();
    assert_eq!(three.values, DbrValues::Double(vec![0.0, 1.0, 2.0]));
    let current = read(&mut pair, &mut ioc, 1, DbrType::TimeDouble, 0).unwrap();
    assert_eq!(current.values.len(), 10);
    // More than the native count is refused before anything is sent.
    assert_eq!(
        pair.client.read(Cid(1), DbrType::Double, 101),
        Err(UsageError::BadCount {
            requested: 101,
            native: 100
        })
    );
}

#[test]
fn write_notify_completes_and_the_value_reads_back() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:ao");
    let (n, data) = encode_value(DbrType::String, DbrValues::String(vec!["2.5".into()]));
    let ioid = pair
        .client
        .write_notify(Cid(1), DbrType::String, n, data)
        .unwrap();
    pair.drive(&mut ioc);
    assert!(pair.take_events().contains(&ClientEvent::WriteDone {
        ioid,
        cid: Cid(1),
        result: Ok(())
    }));
    assert_eq!(
        read(&mut pair, &mut ioc, 1, DbrType::Double, 1)
            .unwrap()
            .values,
        DbrValues::Double(vec![2.5])
    );
}

#[test]
fn failed_writes_report_the_server_status() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:disabled");
    let (n, data) = encode_value(DbrType::Double, DbrValues::Double(vec![5.0]));
    let ioid = pair
        .client
        .write_notify(Cid(1), DbrType::Double, n, data.clone())
        .unwrap();
    pair.drive(&mut ioc);
    let events = pair.take_events();
    assert!(events.iter().any(|e| matches!(e,
        ClientEvent::WriteDone { ioid: i, result: Err(RemoteError { status: EcaStatus::ECA_PUTFAIL, .. }), .. } if *i == ioid)));
    // A plain WRITE fails with an ERROR message naming the channel, routed
    // through the request header copy to the channel (as in put-errors.pcap).
    pair.client.write(Cid(1), DbrType::Double, n, data).unwrap();
    pair.drive(&mut ioc);
    let events = pair.take_events();
    assert!(events.iter().any(|e| matches!(e,
        ClientEvent::Error { cid: Some(Cid(1)), error: RemoteError { status: EcaStatus::ECA_PUTFAIL, message }, .. } if message == "t:disabled")));
}

#[test]
fn rights_are_checked_before_sending() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:ro");
    let (n, data) = encode_value(DbrType::Double, DbrValues::Double(vec![5.0]));
    assert_eq!(
        pair.client.write(Cid(1), DbrType::Double, n, data),
        Err(UsageError::NoWriteAccess)
    );
}

#[test]
fn subscription_gets_initial_value_updates_and_stops_after_cancel() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:long");
    let subid = pair
        .client
        .subscribe(
            Cid(1),
            DbrType::TimeLong,
            1,
            EventMask::VALUE | EventMask::ALARM,
        )
        .unwrap();
    pair.drive(&mut ioc);
    let updates = |events: Vec<ClientEvent>| -> Vec<DbrValues> {
        events
            .into_iter()
            .filter_map(|e| match e {
                ClientEvent::Update { payload, .. } => Some(
                    dbr::decode(payload.data_type, payload.count, &payload.data)
                        .unwrap()
                        .values,
                ),
                _ => None,
            })
            .collect()
    };
    assert_eq!(updates(pair.take_events()), vec![DbrValues::Long(vec![42])]);
    for v in [1, 2] {
        let (n, data) = encode_value(DbrType::Long, DbrValues::Long(vec![v]));
        pair.client.write(Cid(1), DbrType::Long, n, data).unwrap();
    }
    pair.drive(&mut ioc);
    assert_eq!(
        updates(pair.take_events()),
        vec![DbrValues::Long(vec![1]), DbrValues::Long(vec![2])]
    );
    pair.client.unsubscribe(subid).unwrap();
    pair.drive(&mut ioc);
    assert!(pair
        .take_events()
        .contains(&ClientEvent::SubscriptionCancelled { subid }));
    let (n, data) = encode_value(DbrType::Long, DbrValues::Long(vec![3]));
    pair.client.write(Cid(1), DbrType::Long, n, data).unwrap();
    pair.drive(&mut ioc);
    assert!(updates(pair.take_events()).is_empty());
}

#[test]
fn alarm_only_monitor_ignores_value_changes() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:long");
    pair.client
        .subscribe(Cid(1), DbrType::Long, 1, EventMask::ALARM)
        .unwrap();
    pair.drive(&mut ioc);
    pair.take_events(); // the initial value
    let (n, data) = encode_value(DbrType::Long, DbrValues::Long(vec![5]));
    pair.client.write(Cid(1), DbrType::Long, n, data).unwrap();
    pair.drive(&mut ioc);
    assert!(!pair
        .take_events()
        .iter()
        .any(|e| matches!(e, ClientEvent::Update { .. })));
}

#[test]
fn events_off_holds_back_and_coalesces_to_the_newest_update() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:long");
    pair.client
        .subscribe(Cid(1), DbrType::Long, 1, EventMask::VALUE)
        .unwrap();
    pair.drive(&mut ioc);
    pair.take_events();
    pair.client.events_off().unwrap();
    for v in 10..20 {
        let (n, data) = encode_value(DbrType::Long, DbrValues::Long(vec![v]));
        pair.client.write(Cid(1), DbrType::Long, n, data).unwrap();
    }
    pair.drive(&mut ioc);
    assert!(!pair
        .take_events()
        .iter()
        .any(|e| matches!(e, ClientEvent::Update { .. })));
    pair.client.events_on().unwrap();
    pair.drive(&mut ioc);
    let updates: Vec<_> = pair
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, ClientEvent::Update { .. }))
        .collect();
    assert_eq!(updates.len(), 1);
    if let ClientEvent::Update { payload, .. } = &updates[0] {
        assert_eq!(
            dbr::decode(payload.data_type, payload.count, &payload.data)
                .unwrap()
                .values,
            DbrValues::Long(vec![19])
        );
    }
}

#[test]
fn clear_channel_is_acknowledged_and_the_channel_forgotten() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:ao");
    pair.client.clear_channel(Cid(1)).unwrap();
    pair.drive(&mut ioc);
    assert!(pair
        .take_events()
        .contains(&ClientEvent::ChannelCleared { cid: Cid(1) }));
    assert_eq!(pair.server.channel_count(), 0);
    assert!(pair.client.read(Cid(1), DbrType::Double, 1).is_err());
}

#[test]
fn create_reply_for_a_channel_cleared_meanwhile_is_answered_with_clear() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    pair.client.create_channel(Cid(1), "t:ao").unwrap();
    pair.client.clear_channel(Cid(1)).unwrap();
    pair.drive(&mut ioc);
    let mut d = StreamDecoder::new(1 << 16);
    d.push(&pair.to_server_log);
    let sent: Vec<ClientMessage> = std::iter::from_fn(|| d.next_message().unwrap()).collect();
    assert!(sent
        .iter()
        .any(|m| matches!(m, ClientMessage::ClearChannel { cid: Cid(1), .. })));
    assert_eq!(pair.server.channel_count(), 0);
    assert_eq!(pair.client.channel_count(), 0);
}

#[test]
fn server_disconnect_fails_pending_operations() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    connect(&mut pair, &mut ioc, 1, "t:ao");
    let sid = pair.client.channel_info(Cid(1)).unwrap().sid;
    pair.server_alive = false;
    let ioid = pair.client.read(Cid(1), DbrType::Double, 1).unwrap();
    pair.drive(&mut ioc);
    pair.server_alive = true;
    pair.server.disconnect_channel(sid).unwrap();
    let mut buf = Vec::new();
    pair.server.poll_transmit(&mut buf);
    pair.client.handle_input(pair.now, &buf).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| pair.client.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(e,
        ClientEvent::ReadDone { ioid: i, result: Err(RemoteError { status: EcaStatus::ECA_DISCONN, .. }), .. } if *i == ioid)));
    assert!(events
        .iter()
        .any(|e| matches!(e, ClientEvent::ChannelDisconnected { cid: Cid(1), .. })));
}

#[test]
fn silent_server_gets_an_echo_then_the_circuit_is_unresponsive() {
    let mut pair = Pair::new();
    let mut ioc = ioc();
    pair.drive(&mut ioc);
    pair.take_events();
    // A live server answers the ECHO: no unresponsive report.
    pair.advance(Duration::from_secs(40), &mut ioc);
    assert!(!pair.take_events().contains(&ClientEvent::Unresponsive));
    let echoes = |log: &[u8]| {
        let mut d = StreamDecoder::new(1 << 16);
        d.push(log);
        std::iter::from_fn(|| d.next_message::<ClientMessage>().unwrap())
            .filter(|m| *m == ClientMessage::Echo)
            .count()
    };
    assert_eq!(echoes(&pair.to_server_log), 1);
    // A hung server: ECHO after 30 s of silence (the last input was the
    // ECHO answer at t = 30 s), unresponsive 5 s later.
    pair.server_alive = false;
    pair.advance(Duration::from_secs(19), &mut ioc);
    assert!(!pair.take_events().contains(&ClientEvent::Unresponsive));
    pair.advance(Duration::from_secs(2), &mut ioc);
    assert_eq!(echoes(&pair.to_server_log), 2);
    assert!(!pair.take_events().contains(&ClientEvent::Unresponsive));
    pair.advance(Duration::from_secs(5), &mut ioc);
    assert!(pair.take_events().contains(&ClientEvent::Unresponsive));
    // Traffic again: responsive.
    pair.server_alive = true;
    pair.client.events_on().unwrap();
    pair.server.handle_input(pair.now, &[]).unwrap();
    let mut buf = Vec::new();
    caproto_core::wire::ServerMessage::Echo.encode(&mut buf);
    pair.client.handle_input(pair.now, &buf).unwrap();
    pair.drive(&mut ioc);
    assert!(pair.take_events().contains(&ClientEvent::Responsive));
}

#[test]
fn byte_at_a_time_delivery_gives_the_same_session() {
    let run = |chunk: usize| {
        let mut pair = Pair::new();
        pair.chunk = chunk;
        let mut ioc = ioc();
        connect(&mut pair, &mut ioc, 1, "t:wf");
        let mut results = Vec::new();
        for t in [DbrType::CtrlDouble, DbrType::TimeString, DbrType::GrLong] {
            results.push(format!(
                "{:?}",
                read(&mut pair, &mut ioc, 1, t, 10).unwrap()
            ));
        }
        results
    };
    assert_eq!(run(1), run(usize::MAX));
}

#[test]
fn eof_and_protocol_errors_close_the_circuit() {
    let mut pair = Pair::new();
    pair.client.handle_eof(pair.now);
    assert_eq!(
        pair.client.poll_event(),
        Some(ClientEvent::Closed {
            reason: CloseReason::Eof
        })
    );
    assert_eq!(
        pair.client.create_channel(Cid(1), "x"),
        Err(UsageError::CircuitClosed)
    );

    let mut pair = Pair::new();
    // A beacon on a TCP circuit is a peer fault.
    let mut buf = Vec::new();
    caproto_core::wire::ServerMessage::Beacon {
        minor_version: 13,
        server_port: 1,
        beacon_id: 0,
        server_addr: 0,
    }
    .encode(&mut buf);
    assert!(pair.client.handle_input(pair.now, &buf).is_err());
    assert!(pair.client.is_closed());
}
