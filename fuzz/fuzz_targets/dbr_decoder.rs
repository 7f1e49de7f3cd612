//! `dbr::decode` on arbitrary payloads of every DBR type and count: it
//! decodes or fails cleanly; what decodes re-encodes to a payload of the
//! exact size that decodes to the same values; conversion of what decodes
//! to every native type never panics.
//!
//! Input layout: byte 0 the DBR type (mod 39), byte 1 the count (0..=255),
//! the rest the payload.
#![no_main]

use caproto_core::dbr::{self, ConvertContext, DbrType, NativeType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [t, n, payload @ ..] = data else {
        return;
    };
    let Some(t) = DbrType::from_u16(u16::from(*t) % 39) else {
        return;
    };
    let count = u32::from(*n);
    let Ok(decoded) = dbr::decode(t, count, payload) else {
        return;
    };
    let mut out = Vec::new();
    if dbr::encode(t, &decoded.meta, &decoded.values, &mut out).is_ok() {
        assert_eq!(out.len(), dbr::payload_size(t, decoded.values.len() as u32));
        let again = dbr::decode(t, decoded.values.len() as u32, &out).expect("own encoding decodes");
        assert_eq!(format!("{:?}", again.values), format!("{:?}", decoded.values));
    }
    let strings = decoded.meta.enum_strings.clone();
    let ctx = ConvertContext { precision: decoded.meta.precision, enum_strings: &strings };
    for to in NativeType::ALL {
        let _ = dbr::convert(&decoded.values, to, &ctx);
    }
});
