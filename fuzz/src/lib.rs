//! Shared checks for the fuzz targets in `fuzz_targets/`.
//!
//! Every target asserts the same things about the `caproto-core` wire layer
//! on arbitrary input: no panic, no payload above the decoder's limit, and
//! canonical re-encoding: a decoded message re-encodes to bytes that decode
//! to a message with the same encoding (`encode(decode(encode(m))) ==
//! encode(m)`). Run under `-malloc_limit_mb` so that an allocation sized by
//! a hostile header is caught too.

use caproto_core::wire::{ClientMessage, Header, Message, ServerMessage};

/// Payload limits the targets choose from with one input byte: none, tiny,
/// the EPICS default (16 KiB), a large EPICS_CA_MAX_ARRAY_BYTES.
pub const LIMITS: [u32; 4] = [0, 64, 16_384, 2_000_000];

/// Picks a payload limit from a selector byte.
pub fn limit(selector: u8) -> u32 {
    LIMITS[usize::from(selector) % LIMITS.len()]
}

/// Asserts canonical re-encoding of a decoded message and returns its
/// encoding.
pub fn check_reencoding<M: Message + std::fmt::Debug>(m: &M) -> Vec<u8> {
    let mut first = Vec::new();
    m.encode(&mut first);
    assert_eq!(first.len(), m.encoded_len(), "{m:?}");
    assert_eq!(first.len() % 8, 0, "unpadded encoding of {m:?}");
    let (h, n) = Header::decode(&first).expect("an encoded message starts with a whole header");
    assert_eq!(h, m.header(), "{m:?}");
    let payload = first.get(n..).expect("header within the encoding");
    assert_eq!(payload.len(), h.payload_size as usize, "{m:?}");
    let again = M::decode(&h, payload)
        .unwrap_or_else(|e| panic!("re-encoding of {m:?} does not decode: {e}"));
    let mut second = Vec::new();
    again.encode(&mut second);
    assert_eq!(first, second, "re-encoding is not canonical for {m:?}");
    first
}

/// Decodes a frame both ways (a byte stream's direction is not known to a
/// fuzzer) and checks each success.
pub fn check_frame(h: &Header, payload: &[u8], limit: u32) {
    assert_eq!(payload.len(), h.payload_size as usize);
    assert!(h.payload_size <= limit, "{h:?} above the limit {limit}");
    if let Ok(m) = ClientMessage::decode(h, payload) {
        check_reencoding(&m);
    }
    if let Ok(m) = ServerMessage::decode(h, payload) {
        check_reencoding(&m);
    }
}
