//! Property tests of the wire layer: every message round-trips, canonical
//! bytes re-encode to themselves, stream decoding does not depend on how the
//! bytes are cut, and no input makes the decoders panic or accept a payload
//! above their limit.
//!
//! Case counts are modest (CI has two cores); raise them locally with
//! `PROPTEST_CASES=10000 cargo test -p caproto-core --test wire_props`.
//! Allocation limits under hostile input are also asserted by the fuzz
//! targets in `fuzz/` (libFuzzer's `-malloc_limit_mb`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use caproto_core::dbr::DbrType;
use caproto_core::wire::{
    datagram_frames, ClientMessage, Command, EventMask, Header, Message, ServerMessage,
    StreamDecoder,
};
use caproto_core::{AccessRights, Cid, EcaStatus, IoId, ProtocolError, Sid, SubId};
use proptest::prelude::*;
use proptest::sample::Index;

/// Proptest's default of 256 cases per property (PROPTEST_CASES overrides
/// it), with bounded shrinking: a failure among large payloads still
/// shrinks to a readable counterexample quickly.
fn config() -> ProptestConfig {
    ProptestConfig {
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Valid channel / host / client names: non-empty, no NUL, at most 200 bytes.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9:_.\\-]{1,40}",
        2 => "[^\\x00]{1,50}",
        1 => "[a-z:]{150,200}",
    ]
    .prop_filter("at most 200 bytes", |s| s.len() <= 200)
}

/// Host and client names may also be empty.
fn maybe_empty_name() -> impl Strategy<Value = String> {
    prop_oneof![1 => Just(String::new()), 6 => name()]
}

fn dbr_type() -> impl Strategy<Value = DbrType> {
    proptest::sample::select(DbrType::ALL.to_vec())
}

/// Element counts, with weight on the 16-bit boundary where the extended
/// header starts.
fn count() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..16,
        1 => 0xFFF0u32..0x10010,
        1 => any::<u32>(),
    ]
}

/// Cheap deterministic filler: large payloads are not worth generating (and
/// shrinking) byte by byte.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A DBR payload as a decoder returns it: a multiple of 8 bytes. Mostly
/// small and random; sometimes around 0xFFFF bytes, where the payload size
/// needs the extended header.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => (0usize..8).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n * 8)),
        1 => (0x1FF8usize..0x2010, any::<u8>()).prop_map(|(n, seed)| filler(n * 8, seed)),
    ]
}

/// Non-empty data (an EVENT_ADD reply with no payload is the cancel
/// acknowledgement).
fn nonempty_data() -> impl Strategy<Value = Vec<u8>> {
    data().prop_map(|mut d| {
        if d.is_empty() {
            d.resize(8, 0xa5);
        }
        d
    })
}

/// Deadband floats: NaN compares unequal to itself, so round-trip equality
/// of values uses non-NaN floats and the byte-level property uses any bits.
fn deadband(any_bits: bool) -> BoxedStrategy<f32> {
    if any_bits {
        any::<u32>().prop_map(f32::from_bits).boxed()
    } else {
        any::<f32>().prop_filter("not NaN", |f| !f.is_nan()).boxed()
    }
}

fn obsolete_header() -> impl Strategy<Value = (Header, Vec<u8>)> {
    (
        proptest::sample::select(vec![
            Command::SNAPSHOT,
            Command::BUILD,
            Command::READ_BUILD,
            Command::SIGNAL,
        ]),
        any::<u16>(),
        count(),
        any::<u32>(),
        any::<u32>(),
        data(),
    )
        .prop_map(|(command, data_type, data_count, p1, p2, payload)| {
            let header = Header {
                command,
                payload_size: payload.len() as u32,
                data_type,
                data_count,
                parameter1: p1,
                parameter2: p2,
            };
            (header, payload)
        })
}

fn client_message(any_float_bits: bool) -> impl Strategy<Value = ClientMessage> {
    let ids = (any::<u32>(), any::<u32>());
    prop_oneof![
        (any::<u16>(), any::<u16>(), any::<u32>()).prop_map(
            |(priority, minor_version, sequence)| {
                ClientMessage::Version {
                    priority,
                    minor_version,
                    sequence,
                }
            }
        ),
        (any::<u16>(), any::<u16>(), any::<u32>(), name()).prop_map(
            |(reply, minor_version, cid, name)| ClientMessage::Search {
                reply,
                minor_version,
                cid: Cid(cid),
                name,
            }
        ),
        (any::<u32>(), any::<u32>(), name()).prop_map(|(cid, minor_version, name)| {
            ClientMessage::CreateChan {
                cid: Cid(cid),
                minor_version,
                name,
            }
        }),
        maybe_empty_name().prop_map(|name| ClientMessage::ClientName { name }),
        maybe_empty_name().prop_map(|name| ClientMessage::HostName { name }),
        (dbr_type(), count(), ids).prop_map(|(data_type, count, (sid, ioid))| {
            ClientMessage::ReadNotify {
                data_type,
                count,
                sid: Sid(sid),
                ioid: IoId(ioid),
            }
        }),
        (dbr_type(), count(), ids).prop_map(|(data_type, count, (sid, ioid))| {
            ClientMessage::Read {
                data_type,
                count,
                sid: Sid(sid),
                ioid: IoId(ioid),
            }
        }),
        (dbr_type(), count(), ids, data()).prop_map(|(data_type, count, (sid, ioid), data)| {
            ClientMessage::Write {
                data_type,
                count,
                sid: Sid(sid),
                ioid: IoId(ioid),
                data,
            }
        }),
        (dbr_type(), count(), ids, data()).prop_map(|(data_type, count, (sid, ioid), data)| {
            ClientMessage::WriteNotify {
                data_type,
                count,
                sid: Sid(sid),
                ioid: IoId(ioid),
                data,
            }
        }),
        (
            dbr_type(),
            count(),
            ids,
            any::<u16>(),
            [
                deadband(any_float_bits),
                deadband(any_float_bits),
                deadband(any_float_bits)
            ]
        )
            .prop_map(|(data_type, count, (sid, subid), mask, deadband)| {
                ClientMessage::EventAdd {
                    data_type,
                    count,
                    sid: Sid(sid),
                    subid: SubId(subid),
                    mask: EventMask(mask),
                    deadband,
                }
            }),
        (dbr_type(), count(), ids).prop_map(|(data_type, count, (sid, subid))| {
            ClientMessage::EventCancel {
                data_type,
                count,
                sid: Sid(sid),
                subid: SubId(subid),
            }
        }),
        ids.prop_map(|(sid, cid)| ClientMessage::ClearChannel {
            sid: Sid(sid),
            cid: Cid(cid),
        }),
        Just(ClientMessage::EventsOff),
        Just(ClientMessage::EventsOn),
        Just(ClientMessage::ReadSync),
        Just(ClientMessage::Echo),
        any::<u32>().prop_map(|client_addr| ClientMessage::RepeaterRegister { client_addr }),
        obsolete_header().prop_map(|(header, payload)| ClientMessage::Obsolete { header, payload }),
    ]
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    let ids = (any::<u32>(), any::<u32>());
    let request_header = (
        any::<u16>(),
        prop_oneof![3 => 0u32..64, 1 => any::<u32>()],
        any::<u16>(),
        count(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(command, payload_size, data_type, data_count, p1, p2)| Header {
                command: Command(command),
                payload_size,
                data_type,
                data_count,
                parameter1: p1,
                parameter2: p2,
            },
        );
    prop_oneof![
        (any::<u16>(), any::<u16>(), any::<u32>()).prop_map(
            |(priority, minor_version, sequence)| {
                ServerMessage::Version {
                    priority,
                    minor_version,
                    sequence,
                }
            }
        ),
        (
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<Option<u16>>()
        )
            .prop_map(|(port, server_addr, cid, minor_version)| {
                ServerMessage::SearchResponse {
                    port,
                    server_addr,
                    cid: Cid(cid),
                    minor_version,
                }
            }),
        (any::<u16>(), any::<u16>(), any::<u32>()).prop_map(|(reply, minor_version, cid)| {
            ServerMessage::NotFound {
                reply,
                minor_version,
                cid: Cid(cid),
            }
        }),
        (dbr_type(), count(), ids).prop_map(|(data_type, count, (cid, sid))| {
            ServerMessage::CreateChanResponse {
                data_type,
                count,
                cid: Cid(cid),
                sid: Sid(sid),
            }
        }),
        any::<u32>().prop_map(|cid| ServerMessage::CreateChFail { cid: Cid(cid) }),
        ids.prop_map(|(cid, rights)| ServerMessage::AccessRights {
            cid: Cid(cid),
            rights: AccessRights(rights),
        }),
        (dbr_type(), count(), ids, data()).prop_map(|(data_type, count, (status, ioid), data)| {
            ServerMessage::ReadNotifyResponse {
                data_type,
                count,
                status: EcaStatus(status),
                ioid: IoId(ioid),
                data,
            }
        }),
        (dbr_type(), count(), ids, data()).prop_map(|(data_type, count, (cid, ioid), data)| {
            ServerMessage::ReadResponse {
                data_type,
                count,
                cid: Cid(cid),
                ioid: IoId(ioid),
                data,
            }
        }),
        (dbr_type(), count(), ids).prop_map(|(data_type, count, (status, ioid))| {
            ServerMessage::WriteNotifyResponse {
                data_type,
                count,
                status: EcaStatus(status),
                ioid: IoId(ioid),
            }
        }),
        (dbr_type(), count(), ids, nonempty_data()).prop_map(
            |(data_type, count, (status, subid), data)| ServerMessage::EventAddResponse {
                data_type,
                count,
                status: EcaStatus(status),
                subid: SubId(subid),
                data,
            }
        ),
        (dbr_type(), count(), ids).prop_map(|(data_type, count, (sid, subid))| {
            ServerMessage::EventCancelResponse {
                data_type,
                count,
                sid: Sid(sid),
                subid: SubId(subid),
            }
        }),
        ids.prop_map(|(sid, cid)| ServerMessage::ClearChannel {
            sid: Sid(sid),
            cid: Cid(cid),
        }),
        (ids, request_header, maybe_empty_name()).prop_map(|((cid, status), request, message)| {
            ServerMessage::Error {
                cid: Cid(cid),
                status: EcaStatus(status),
                request,
                message,
            }
        }),
        any::<u32>().prop_map(|cid| ServerMessage::ServerDisconn { cid: Cid(cid) }),
        Just(ServerMessage::Echo),
        (any::<u16>(), any::<u16>(), ids).prop_map(
            |(minor_version, server_port, (beacon_id, server_addr))| ServerMessage::Beacon {
                minor_version,
                server_port,
                beacon_id,
                server_addr,
            }
        ),
        any::<u32>().prop_map(|repeater_addr| ServerMessage::RepeaterConfirm { repeater_addr }),
        obsolete_header().prop_map(|(header, payload)| ServerMessage::Obsolete { header, payload }),
    ]
}

/// Either kind of message, for streams that mix nothing but need variety.
#[derive(Debug, Clone, PartialEq)]
enum Any {
    Client(ClientMessage),
    Server(ServerMessage),
}

fn encode_all<M: Message>(msgs: &[M]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        m.encode(&mut out);
    }
    out
}

/// Decodes one frame from the start of `bytes`, as `M`.
fn decode_one<M: Message>(bytes: &[u8]) -> (Header, usize, Result<M, ProtocolError>) {
    let (h, n) = Header::decode(bytes).expect("a whole header");
    let end = n + h.payload_size as usize;
    (h, end, M::decode(&h, &bytes[n..end]))
}

/// Feeds `bytes` to a decoder in pieces cut at `cuts` and collects every
/// message until the decoder needs more bytes or fails.
fn decode_stream<M: Message>(
    bytes: &[u8],
    cuts: &[Index],
    limit: u32,
) -> (Vec<M>, Option<ProtocolError>, usize) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    let mut d = StreamDecoder::new(limit);
    let mut got = Vec::new();
    for w in points.windows(2) {
        d.push(&bytes[w[0]..w[1]]);
        loop {
            match d.next_message::<M>() {
                Ok(Some(m)) => got.push(m),
                Ok(None) => break,
                Err(e) => return (got, Some(e), d.buffered()),
            }
        }
    }
    let buffered = d.buffered();
    (got, None, buffered)
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn client_messages_round_trip(m in client_message(false)) {
        let mut bytes = Vec::new();
        m.encode(&mut bytes);
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(bytes.len() % 8, 0);
        let (h, end, decoded) = decode_one::<ClientMessage>(&bytes);
        prop_assert_eq!(end, bytes.len());
        prop_assert_eq!(h, m.header());
        prop_assert_eq!(decoded, Ok(m));
    }

    #[test]
    fn server_messages_round_trip(m in server_message()) {
        let mut bytes = Vec::new();
        m.encode(&mut bytes);
        prop_assert_eq!(bytes.len(), m.encoded_len());
        prop_assert_eq!(bytes.len() % 8, 0);
        let (h, end, decoded) = decode_one::<ServerMessage>(&bytes);
        prop_assert_eq!(end, bytes.len());
        prop_assert_eq!(h, m.header());
        prop_assert_eq!(decoded, Ok(m));
    }

    /// Canonical bytes (what `encode` produces, including deadbands with any
    /// float bits, NaN too) decode and re-encode to themselves.
    #[test]
    fn canonical_bytes_reencode_to_themselves(
        c in client_message(true),
        s in server_message(),
    ) {
        for (bytes, client) in [(encode_all(&[c]), true), (encode_all(&[s]), false)] {
            let mut again = Vec::new();
            if client {
                let (_, _, m) = decode_one::<ClientMessage>(&bytes);
                m.unwrap().encode(&mut again);
            } else {
                let (_, _, m) = decode_one::<ServerMessage>(&bytes);
                m.unwrap().encode(&mut again);
            }
            prop_assert_eq!(&again, &bytes);
        }
    }

    /// The extended header is used exactly when the payload size or count
    /// reaches 0xFFFF, and the header alone says how long the frame is.
    #[test]
    fn header_form_follows_size_and_count(m in server_message()) {
        let bytes = encode_all(std::slice::from_ref(&m));
        let h = m.header();
        let extended = h.payload_size >= 0xFFFF || h.data_count >= 0xFFFF;
        prop_assert_eq!(h.encoded_len(), if extended { 24 } else { 16 });
        let (decoded, n) = Header::decode(&bytes).unwrap();
        prop_assert_eq!(n, h.encoded_len());
        prop_assert_eq!(decoded, h);
        // One byte short of the header is "need more", never an error.
        prop_assert_eq!(Header::decode(&bytes[..n - 1]), None);
    }
}

// ---------------------------------------------------------------------------
// Stream and datagram decoding
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Messages cut into arbitrary pieces decode to the same list as one
    /// piece, leaving nothing buffered.
    #[test]
    fn stream_decoding_ignores_where_bytes_are_cut(
        msgs in prop_oneof![
            proptest::collection::vec(client_message(false), 1..8)
                .prop_map(|v| v.into_iter().map(Any::Client).collect::<Vec<_>>()),
            proptest::collection::vec(server_message(), 1..8)
                .prop_map(|v| v.into_iter().map(Any::Server).collect::<Vec<_>>()),
        ],
        cuts in proptest::collection::vec(any::<Index>(), 0..12),
    ) {
        let limit = 1 << 20;
        match &msgs[0] {
            Any::Client(_) => {
                let msgs: Vec<ClientMessage> = msgs.into_iter().map(|m| match m {
                    Any::Client(m) => m,
                    Any::Server(_) => unreachable!(),
                }).collect();
                let bytes = encode_all(&msgs);
                let (whole, err, left) = decode_stream::<ClientMessage>(&bytes, &[], limit);
                prop_assert_eq!(err, None);
                prop_assert_eq!(left, 0);
                prop_assert_eq!(&whole, &msgs);
                let (pieces, err, left) = decode_stream::<ClientMessage>(&bytes, &cuts, limit);
                prop_assert_eq!(err, None);
                prop_assert_eq!(left, 0);
                prop_assert_eq!(pieces, msgs);
            }
            Any::Server(_) => {
                let msgs: Vec<ServerMessage> = msgs.into_iter().map(|m| match m {
                    Any::Server(m) => m,
                    Any::Client(_) => unreachable!(),
                }).collect();
                let bytes = encode_all(&msgs);
                let (whole, err, left) = decode_stream::<ServerMessage>(&bytes, &[], limit);
                prop_assert_eq!(err, None);
                prop_assert_eq!(left, 0);
                prop_assert_eq!(&whole, &msgs);
                let (pieces, err, left) = decode_stream::<ServerMessage>(&bytes, &cuts, limit);
                prop_assert_eq!(err, None);
                prop_assert_eq!(left, 0);
                prop_assert_eq!(pieces, msgs);
            }
        }
    }

    /// A datagram bundling several messages yields each frame in order.
    #[test]
    fn datagram_frames_split_a_bundle(msgs in proptest::collection::vec(client_message(false), 1..8)) {
        let bytes = encode_all(&msgs);
        let frames: Vec<_> = datagram_frames(&bytes, 1 << 20).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(frames.len(), msgs.len());
        for ((h, payload), m) in frames.iter().zip(&msgs) {
            let decoded = ClientMessage::decode(h, payload);
            prop_assert_eq!(decoded.as_ref(), Ok(m));
        }
    }
}

// ---------------------------------------------------------------------------
// Hostile input ("fuzz smoke": the real fuzzers are in fuzz/)
// ---------------------------------------------------------------------------

/// A byte-level mutation of a valid encoding.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..24))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Remove(a, b)),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutations: &[Mutation]) {
    for m in mutations {
        if bytes.is_empty() {
            return;
        }
        match m {
            Mutation::Flip(i, x) => {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len())),
            Mutation::Insert(i, b) => {
                let i = i.index(bytes.len() + 1);
                bytes.splice(i..i, b.iter().copied());
            }
            Mutation::Remove(a, b) => {
                let (a, b) = (a.index(bytes.len()), b.index(bytes.len()));
                bytes.drain(a.min(b)..a.max(b));
            }
        }
    }
}

/// Whatever a decoder accepted re-encodes canonically: the encoding decodes
/// to a message with the same encoding.
fn check_reencoding<M: Message + std::fmt::Debug>(m: &M) -> Result<(), TestCaseError> {
    let first = encode_all(std::slice::from_ref(m));
    let (_, end, again) = decode_one::<M>(&first);
    prop_assert_eq!(end, first.len());
    let again = again
        .map_err(|e| TestCaseError::fail(format!("{m:?} re-encodes to bytes that fail: {e}")))?;
    prop_assert_eq!(encode_all(&[again]), first, "re-encoding of {:?}", m);
    Ok(())
}

/// Runs every decoder over `bytes` and checks the invariants that hold for
/// any input: no panic, frames within the limit, only consumed bytes leave
/// the buffer, accepted messages re-encode canonically.
fn check_hostile(bytes: &[u8], cuts: &[Index], limit: u32) -> Result<(), TestCaseError> {
    let (msgs, err, left) = decode_stream::<ClientMessage>(bytes, cuts, limit);
    prop_assert!(left <= bytes.len());
    if let Some(ProtocolError::PayloadTooLarge { size, limit: l, .. }) = err {
        prop_assert!(size > limit);
        prop_assert_eq!(l, limit);
    }
    for m in &msgs {
        check_reencoding(m)?;
    }
    let (msgs, err, left) = decode_stream::<ServerMessage>(bytes, cuts, limit);
    prop_assert!(left <= bytes.len());
    if let Some(ProtocolError::PayloadTooLarge { size, .. }) = err {
        prop_assert!(size > limit);
    }
    for m in &msgs {
        check_reencoding(m)?;
    }
    // Raw frames: a yielded payload is exactly the declared size, within the
    // limit.
    let mut d = StreamDecoder::new(limit);
    d.push(bytes);
    while let Ok(Some((h, payload))) = d.next_frame() {
        prop_assert_eq!(payload.len(), h.payload_size as usize);
        prop_assert!(h.payload_size <= limit);
    }
    // Frames tile the datagram from its start. Measure each header on the
    // wire: a non-canonical one (e.g. a 16-byte header declaring 0xFFFF
    // bytes with a non-zero count, which EPICS reads as a standard header)
    // re-encodes longer than it arrived.
    let mut at = 0usize;
    for frame in datagram_frames(bytes, limit) {
        match frame {
            Ok((h, payload)) => {
                prop_assert_eq!(payload.len(), h.payload_size as usize);
                prop_assert!(h.payload_size <= limit);
                let (wire_h, hlen) = Header::decode(&bytes[at..]).unwrap();
                prop_assert_eq!(wire_h, h);
                prop_assert_eq!(&bytes[at + hlen..at + hlen + payload.len()], payload);
                at += hlen + payload.len();
                if let Ok(m) = ClientMessage::decode(&h, payload) {
                    check_reencoding(&m)?;
                }
                if let Ok(m) = ServerMessage::decode(&h, payload) {
                    check_reencoding(&m)?;
                }
            }
            Err(ProtocolError::PayloadTooLarge { size, .. }) => prop_assert!(size > limit),
            Err(ProtocolError::TruncatedDatagram { remaining }) => {
                prop_assert_eq!(remaining, bytes.len() - at);
            }
            Err(e) => prop_assert!(false, "unexpected datagram error {e:?}"),
        }
    }
    prop_assert!(at <= bytes.len());
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<Index>(), 0..8),
        limit in prop_oneof![Just(0u32), 1u32..256, Just(16_384), Just(u32::MAX)],
    ) {
        check_hostile(&bytes, &cuts, limit)?;
    }

    #[test]
    fn mutated_messages_never_panic(
        c in proptest::collection::vec(client_message(true), 1..4),
        s in proptest::collection::vec(server_message(), 1..4),
        mutations in proptest::collection::vec(mutation(), 1..6),
        cuts in proptest::collection::vec(any::<Index>(), 0..8),
        limit in prop_oneof![Just(64u32), Just(16_384), Just(1 << 20)],
    ) {
        for mut bytes in [encode_all(&c), encode_all(&s)] {
            mutate(&mut bytes, &mutations);
            check_hostile(&bytes, &cuts, limit)?;
        }
    }

    /// A header declaring more than the limit is refused as soon as the
    /// header is complete, before any payload arrives (nothing is allocated
    /// for it), by the stream and the datagram decoders alike.
    #[test]
    fn oversized_payloads_are_refused_up_front(
        command in any::<u16>(),
        limit in prop_oneof![Just(0u32), 1u32..0x1_0000, Just(16_384), Just(2_000_000)],
        excess in prop_oneof![1u32..16, any::<u32>()],
        data_count in count(),
        p in (any::<u16>(), any::<u32>(), any::<u32>()),
    ) {
        let size = limit.saturating_add(excess.max(1));
        prop_assume!(size > limit);
        let h = Header {
            command: Command(command),
            payload_size: size,
            data_type: p.0,
            data_count,
            parameter1: p.1,
            parameter2: p.2,
        };
        let mut bytes = Vec::new();
        h.encode(&mut bytes);
        let too_large = ProtocolError::PayloadTooLarge { header: h, command: Command(command), size, limit };

        let mut d = StreamDecoder::new(limit);
        d.push(&bytes);
        prop_assert_eq!(d.next_frame().err(), Some(too_large.clone()));
        let mut d = StreamDecoder::new(limit);
        d.push(&bytes);
        prop_assert_eq!(d.next_message::<ClientMessage>().err(), Some(too_large.clone()));
        let mut d = StreamDecoder::new(limit);
        d.push(&bytes);
        prop_assert_eq!(d.next_message::<ServerMessage>().err(), Some(too_large.clone()));

        let frames: Vec<_> = datagram_frames(&bytes, limit).collect();
        prop_assert_eq!(frames, vec![Err(too_large)]);

        // Within the limit, an incomplete payload is "need more bytes".
        let h_ok = Header { payload_size: limit, ..h };
        let mut ok = Vec::new();
        h_ok.encode(&mut ok);
        let mut d = StreamDecoder::new(limit);
        d.push(&ok);
        if limit == 0 {
            prop_assert!(d.next_frame().unwrap().is_some());
        } else {
            prop_assert!(d.next_frame().unwrap().is_none());
        }
    }
}
