//! Property-based "fuzz smoke" of the circuits: whatever bytes a peer sends,
//! the state machines return errors, never panic, and what they send back is
//! well-formed CA.

use std::time::{Duration, Instant};

use caproto_core::circuit::{
    ClientCircuit, ClientCircuitConfig, ServerCircuit, ServerCircuitConfig, ServerEvent,
};
use caproto_core::dbr::DbrType;
use caproto_core::wire::{ClientMessage, EventMask, Message, ServerMessage, StreamDecoder};
use caproto_core::{AccessRights, Cid, EcaStatus, IoId, Sid, SubId};
use proptest::prelude::*;

/// Tests may read the clock once for a base instant; the core never does.
#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

/// A client message with small, colliding ids so that valid and invalid
/// references both occur.
fn client_message() -> impl Strategy<Value = ClientMessage> {
    let t = (0u16..39).prop_map(|c| DbrType::from_u16(c).unwrap_or(DbrType::Double));
    let id = 0u32..4;
    let data = proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (0u16..100, 0u16..20).prop_map(|(p, v)| ClientMessage::Version {
            priority: p,
            minor_version: v,
            sequence: 0
        }),
        (id.clone(), "[a-z:]{1,12}").prop_map(|(c, n)| ClientMessage::CreateChan {
            cid: Cid(c),
            minor_version: 13,
            name: n
        }),
        (t.clone(), 0u32..5, id.clone(), id.clone()).prop_map(|(t, n, s, i)| {
            ClientMessage::ReadNotify {
                data_type: t,
                count: n,
                sid: Sid(s),
                ioid: IoId(i),
            }
        }),
        (t.clone(), 0u32..5, id.clone(), id.clone()).prop_map(|(t, n, s, i)| {
            ClientMessage::Read {
                data_type: t,
                count: n,
                sid: Sid(s),
                ioid: IoId(i),
            }
        }),
        (t.clone(), 0u32..5, id.clone(), data.clone()).prop_map(|(t, n, s, d)| {
            ClientMessage::WriteNotify {
                data_type: t,
                count: n,
                sid: Sid(s),
                ioid: IoId(1),
                data: d,
            }
        }),
        (t.clone(), 0u32..5, id.clone(), data).prop_map(|(t, n, s, d)| {
            ClientMessage::Write {
                data_type: t,
                count: n,
                sid: Sid(s),
                ioid: IoId(1),
                data: d,
            }
        }),
        (t.clone(), 0u32..5, id.clone(), id.clone(), 0u16..32).prop_map(|(t, n, s, u, m)| {
            ClientMessage::EventAdd {
                data_type: t,
                count: n,
                sid: Sid(s),
                subid: SubId(u),
                mask: EventMask(m),
                deadband: [0.0; 3],
            }
        }),
        (t, 0u32..5, id.clone(), id.clone()).prop_map(|(t, n, s, u)| {
            ClientMessage::EventCancel {
                data_type: t,
                count: n,
                sid: Sid(s),
                subid: SubId(u),
            }
        }),
        (id.clone(), id).prop_map(|(s, c)| ClientMessage::ClearChannel {
            sid: Sid(s),
            cid: Cid(c)
        }),
        Just(ClientMessage::EventsOff),
        Just(ClientMessage::EventsOn),
        Just(ClientMessage::Echo),
        Just(ClientMessage::ReadSync),
    ]
}

/// Answers whatever the server asks, so that channels and subscriptions exist.
fn serve(server: &mut ServerCircuit) {
    while let Some(ev) = server.poll_event() {
        match ev {
            ServerEvent::CreateChannel { cid, .. } => {
                let _ = server.accept_channel(cid, DbrType::Double, 3, AccessRights(cid.0 & 3));
            }
            ServerEvent::Read(req) => server.read_reply(&req, Ok((1, vec![0; 8]))),
            ServerEvent::Write(req) => server.write_reply(&req, Err(EcaStatus::ECA_PUTFAIL)),
            ServerEvent::Subscribe { subid, .. } => {
                server.post_event(subid, EcaStatus::ECA_NORMAL, 1, vec![0; 8])
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn server_circuit_survives_any_message_sequence(
        msgs in proptest::collection::vec(client_message(), 0..40),
        chunk in 1usize..64,
    ) {
        let now = base();
        let mut server = ServerCircuit::new(now, ServerCircuitConfig::default());
        let mut bytes = Vec::new();
        for m in &msgs {
            m.encode(&mut bytes);
        }
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk) {
            let failed = server.handle_input(now, piece).is_err();
            serve(&mut server);
            server.poll_transmit(&mut out);
            if failed {
                break;
            }
        }
        // Whatever it sent back must itself be well-formed CA.
        let mut d = StreamDecoder::new(1 << 20);
        d.push(&out);
        while d.next_message::<ServerMessage>().unwrap().is_some() {}
        prop_assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn server_circuit_survives_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let now = base();
        let mut server = ServerCircuit::new(now, ServerCircuitConfig::default());
        let _ = server.handle_input(now, &bytes);
        serve(&mut server);
    }

    #[test]
    fn client_circuit_survives_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        secs in 0u64..100,
    ) {
        let now = base();
        let mut client = ClientCircuit::new(now, ClientCircuitConfig::default()).unwrap();
        client.create_channel(Cid(1), "a").unwrap();
        let _ = client.handle_input(now, &bytes);
        client.handle_timeout(now + Duration::from_secs(secs));
        while client.poll_event().is_some() {}
        let mut out = Vec::new();
        client.poll_transmit(&mut out);
    }
}
