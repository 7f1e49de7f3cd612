//! Exact wire layouts of the 39 DBR structures (EPICS base
//! `modules/ca/src/client/db_access.h`, sizes from `access.cpp`
//! `dbr_size[]`, `dbr_value_size[]`, `dbr_value_offset[]`).
//!
//! Every structure is its metadata followed by the first value element;
//! further elements follow contiguously, so `n` elements take
//! `value_offset + n * element_size` bytes. All fields are big-endian.
//! `RISC_pad` fields are written as zero and ignored when read (real rsrv
//! leaves garbage in them).
//!
//! | family | STRING | SHORT | FLOAT | ENUM | CHAR | LONG | DOUBLE |
//! |---|---|---|---|---|---|---|---|
//! | plain value offset | 0 | 0 | 0 | 0 | 0 | 0 | 0 |
//! | STS (`dbr_sts_*`) size | 44 | 6 | 8 | 6 | 6 | 8 | 16 |
//! | TIME (`dbr_time_*`) size | 52 | 16 | 16 | 16 | 16 | 16 | 24 |
//! | GR (`dbr_gr_*`) size | 44 | 26 | 44 | 424 | 20 | 40 | 72 |
//! | CTRL (`dbr_ctrl_*`) size | 44 | 30 | 52 | 424 | 22 | 48 | 88 |
//!
//! GR/CTRL STRING use `dbr_sts_string`; `DBR_PUT_ACKT`/`DBR_PUT_ACKS` are one
//! `epicsUInt16`; `DBR_STSACK_STRING` is 4 `u16` and a string (48 bytes);
//! `DBR_CLASS_NAME` is a string.

use super::convert::{c_f64_to_i32, epics_f64_to_f32};
use super::text::{decode_text, put_string_value, put_text_truncated};
use super::time::EpicsTime;
use super::values::{arr, DbrData, DbrValues, Limits, Metadata, ValuesView};
use super::{
    ConversionError, DbrFamily, DbrType, NativeType, MAX_ENUM_STATES, MAX_ENUM_STRING_SIZE,
    MAX_STRING_SIZE, MAX_UNITS_SIZE,
};
use crate::error::ProtocolError;
use crate::status::{AlarmSeverity, AlarmStatus};

/// Byte offset of the first value element in the structure of `dbr_type`
/// (`access.cpp` `dbr_value_offset[]`); equal to the size of its metadata.
pub fn value_offset(dbr_type: DbrType) -> usize {
    use NativeType as N;
    let native = dbr_type.native();
    match dbr_type.family() {
        DbrFamily::Plain | DbrFamily::PutAckt | DbrFamily::PutAcks | DbrFamily::ClassName => 0,
        // dbr_sts_*: status, severity, then char: RISC_pad u8, double:
        // RISC_pad i32.
        DbrFamily::Sts => match native {
            N::Char => 5,
            N::Double => 8,
            _ => 4,
        },
        // dbr_time_*: status, severity, stamp (8), then short/enum: RISC_pad
        // i16; char: RISC_pad0 i16 + RISC_pad1 u8; double: RISC_pad i32.
        DbrFamily::Time => match native {
            N::String | N::Float | N::Long => 12,
            N::Short | N::Enum => 14,
            N::Char => 15,
            N::Double => 16,
        },
        DbrFamily::Gr | DbrFamily::Ctrl => {
            let ctrl = usize::from(dbr_type.family() == DbrFamily::Ctrl);
            match native {
                // GR/CTRL STRING are dbr_sts_string.
                N::String => 4,
                // status, severity, units[8], 6 (8) limits.
                N::Short => 4 + MAX_UNITS_SIZE + (6 + 2 * ctrl) * 2,
                // status, severity, precision, RISC_pad, units[8], limits.
                N::Float => 8 + MAX_UNITS_SIZE + (6 + 2 * ctrl) * 4,
                // status, severity, no_str, strs[16][26] (GR == CTRL).
                N::Enum => 6 + MAX_ENUM_STATES * MAX_ENUM_STRING_SIZE,
                // status, severity, units[8], 6 (8) u8 limits, RISC_pad u8.
                N::Char => 4 + MAX_UNITS_SIZE + (6 + 2 * ctrl) + 1,
                N::Long => 4 + MAX_UNITS_SIZE + (6 + 2 * ctrl) * 4,
                N::Double => 8 + MAX_UNITS_SIZE + (6 + 2 * ctrl) * 8,
            }
        }
        // dbr_stsack_string: status, severity, ackt, acks (all u16).
        DbrFamily::StsackString => 8,
    }
}

/// Unpadded payload size for `count` elements of `dbr_type`: the metadata
/// plus `count` elements, i.e. libca's `dbr_size_n(TYPE, COUNT)` =
/// `dbr_size[TYPE] + (COUNT - 1) * dbr_value_size[TYPE]`.
///
/// For `count == 0` this is the metadata alone (`dbr_size_n(TYPE, 0)` in C
/// evaluates to `dbr_size - dbr_value_size`), which is exactly what rsrv
/// sends for an empty auto-sized array (`camessage.c` `read_reply`). Saturates
/// instead of overflowing.
pub fn payload_size(dbr_type: DbrType, count: u32) -> usize {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    value_offset(dbr_type).saturating_add(count.saturating_mul(dbr_type.native().element_size()))
}

/// Decodes a payload of `count` elements of `dbr_type`.
///
/// The payload may be longer than needed (8-byte padding); a shorter one is
/// [`ProtocolError::BadDbrPayload`]. Metadata fields the type does not carry
/// are left at their default. `DBR_PUT_ACKT` / `DBR_PUT_ACKS` decode to
/// [`DbrValues::Short`] (the `u16` bit for bit), not to `meta.ackt`/`acks`.
pub fn decode(dbr_type: DbrType, count: u32, payload: &[u8]) -> Result<DbrData, ProtocolError> {
    if let Some(text) = short_string(dbr_type, count, payload) {
        return Ok(DbrData::from_values(DbrValues::String(vec![text])));
    }
    let (head, body) = split_payload(dbr_type, count, payload)?;
    let meta = decode_meta(dbr_type, head).ok_or(bad_payload(dbr_type, count, payload))?;
    Ok(DbrData {
        meta,
        values: values_from_bytes(dbr_type.native(), body),
    })
}

/// Decodes only the values of a payload, skipping the metadata (the fast
/// path for large arrays). Same length rules as [`decode`].
pub fn decode_values(
    dbr_type: DbrType,
    count: u32,
    payload: &[u8],
) -> Result<DbrValues, ProtocolError> {
    if let Some(text) = short_string(dbr_type, count, payload) {
        return Ok(DbrValues::String(vec![text]));
    }
    let (_, body) = split_payload(dbr_type, count, payload)?;
    Ok(values_from_bytes(dbr_type.native(), body))
}

/// A zero-copy view of the values of a payload. Same length rules as
/// [`decode`].
pub fn values_view(
    dbr_type: DbrType,
    count: u32,
    payload: &[u8],
) -> Result<ValuesView<'_>, ProtocolError> {
    let (_, body) = split_payload(dbr_type, count, payload)?;
    ValuesView::new(dbr_type.native(), body).ok_or(bad_payload(dbr_type, count, payload))
}

/// An integer limit as the IOC computes it: a C cast, except that the
/// alarm limits (positions 2..=5 of [`limits_to_array`]) that are not finite
/// (records without alarm limits report NaN) become 0 (`dbAccess.c`
/// `get_alarm`).
fn int_limit(position: usize, l: f64) -> i32 {
    if (2..=5).contains(&position) && !l.is_finite() {
        0
    } else {
        c_f64_to_i32(l)
    }
}

/// Appends the exact (unpadded) layout of `dbr_type`: metadata from `meta`,
/// values from `values`, which must already be of `dbr_type.native()` (else
/// [`ConversionError::Unsupported`]; convert first with
/// [`crate::dbr::convert`]). Returns the element count written; the bytes
/// written are [`payload_size`]`(dbr_type, count)`. On error nothing is
/// appended.
///
/// Field conversions, as the IOC does them (`db_access.c`, `dbAccess.c`):
/// - limits go to `i32` with a C cast (`(epicsInt32)` in `dbAccess.c`
///   `get_graphics`/`get_control`/`get_alarm`; x86 gives `i32::MIN` for
///   NaN and out-of-range values; non-finite alarm limits give 0, as
///   `get_alarm` checks `finite`), then by C integer conversion (wrapping)
///   to `i16` / `u8` for SHORT / CHAR; to `f32` with
///   `epicsConvertDoubleToFloat` (clamped to +-`FLT_MAX`, tiny values to
///   +-`FLT_MIN`);
/// - units are cut to 7 bytes and enum strings to 25 bytes at a char
///   boundary (the IOC `strncpy`s into the fixed field and terminates it);
///   at most 16 enum strings are sent and `no_str` is their number
///   (`db_access.c` caps it at 16);
/// - a string value of more than 39 bytes is [`ConversionError::StringTooLong`].
/// - `DBR_PUT_ACKT` / `DBR_PUT_ACKS` take their `u16` from
///   [`DbrValues::Short`] (`v as u16`), not from `meta`.
pub fn encode(
    dbr_type: DbrType,
    meta: &Metadata,
    values: &DbrValues,
    out: &mut Vec<u8>,
) -> Result<u32, ConversionError> {
    let native = dbr_type.native();
    if values.native_type() != native {
        return Err(ConversionError::Unsupported {
            from: values.native_type(),
            to: native,
        });
    }
    let count = u32::try_from(values.len())
        .map_err(|_| ConversionError::TooManyElements { len: values.len() })?;
    if let DbrValues::String(strings) = values {
        if let Some(s) = strings.iter().find(|s| s.len() >= MAX_STRING_SIZE) {
            return Err(ConversionError::StringTooLong { len: s.len() });
        }
    }
    out.reserve(payload_size(dbr_type, count));
    encode_meta(dbr_type, meta, out);
    put_values(values, out);
    Ok(count)
}

fn bad_payload(dbr_type: DbrType, count: u32, payload: &[u8]) -> ProtocolError {
    ProtocolError::BadDbrPayload {
        dbr_type,
        count,
        needed: payload_size(dbr_type, count),
        got: payload.len(),
    }
}

/// Splits a payload into metadata and exactly `count` elements of values.
/// The smallest payload a peer may send for `count` elements of
/// `dbr_type`: [`payload_size`], except for one plain `DBR_STRING`, which
/// libca sends cut to the string's length plus its NUL (libca
/// `comQueSend.cpp`; rsrv does the same for READ replies in `read_action`).
pub fn min_payload_size(dbr_type: DbrType, count: u32) -> usize {
    if dbr_type == DbrType::String && count == 1 {
        1
    } else {
        payload_size(dbr_type, count)
    }
}

/// A single plain `DBR_STRING` sent shorter than 40 bytes (see
/// [`min_payload_size`]): its text, up to the first NUL or the end.
fn short_string(dbr_type: DbrType, count: u32, payload: &[u8]) -> Option<String> {
    if dbr_type != DbrType::String || count != 1 || payload.len() >= MAX_STRING_SIZE {
        return None;
    }
    payload.first()?;
    Some(decode_text(payload))
}

fn split_payload(
    dbr_type: DbrType,
    count: u32,
    payload: &[u8],
) -> Result<(&[u8], &[u8]), ProtocolError> {
    let needed = payload_size(dbr_type, count);
    let offset = value_offset(dbr_type);
    let body = payload.get(offset..needed);
    match (payload.get(..offset), body) {
        (Some(head), Some(body)) => Ok((head, body)),
        _ => Err(bad_payload(dbr_type, count, payload)),
    }
}

// ---------------------------------------------------------------------------
// Values: bulk byte swaps.

macro_rules! bulk {
    ($dec:ident, $enc:ident, $t:ty, $n:expr) => {
        /// Big-endian bytes to elements; `chunks_exact` + `from_be_bytes`
        /// compiles to a vectorised byte swap.
        fn $dec(b: &[u8]) -> Vec<$t> {
            b.chunks_exact($n)
                .map(|c| <$t>::from_be_bytes(arr(c)))
                .collect()
        }

        /// Elements to big-endian bytes. `extend` over `flat_map` of
        /// `to_be_bytes` vectorises (SSE2 shuffles on baseline x86-64,
        /// `pshufb` with SSSE3+) and measured fastest of the safe forms.
        fn $enc(out: &mut Vec<u8>, v: &[$t]) {
            out.extend(v.iter().flat_map(|x| x.to_be_bytes()));
        }
    };
}

bulk!(dec_i16, enc_i16, i16, 2);
bulk!(dec_u16, enc_u16, u16, 2);
bulk!(dec_f32, enc_f32, f32, 4);
bulk!(dec_i32, enc_i32, i32, 4);
bulk!(dec_f64, enc_f64, f64, 8);

/// Owned values from exactly `n * element_size` big-endian bytes (a
/// trailing partial element is ignored).
pub(crate) fn values_from_bytes(native: NativeType, b: &[u8]) -> DbrValues {
    match native {
        NativeType::String => {
            DbrValues::String(b.chunks_exact(MAX_STRING_SIZE).map(decode_text).collect())
        }
        NativeType::Short => DbrValues::Short(dec_i16(b)),
        NativeType::Float => DbrValues::Float(dec_f32(b)),
        NativeType::Enum => DbrValues::Enum(dec_u16(b)),
        NativeType::Char => DbrValues::Char(b.to_vec()),
        NativeType::Long => DbrValues::Long(dec_i32(b)),
        NativeType::Double => DbrValues::Double(dec_f64(b)),
    }
}

fn put_values(values: &DbrValues, out: &mut Vec<u8>) {
    match values {
        DbrValues::String(v) => {
            for s in v {
                put_string_value(out, s);
            }
        }
        DbrValues::Short(v) => enc_i16(out, v),
        DbrValues::Float(v) => enc_f32(out, v),
        DbrValues::Enum(v) => enc_u16(out, v),
        DbrValues::Char(v) => out.extend_from_slice(v),
        DbrValues::Long(v) => enc_i32(out, v),
        DbrValues::Double(v) => enc_f64(out, v),
    }
}

// ---------------------------------------------------------------------------
// Metadata.

/// Reads big-endian fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes(arr(b)))
    }
    fn i16(&mut self) -> Option<i16> {
        self.take(2).map(|b| i16::from_be_bytes(arr(b)))
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4).map(|b| i32::from_be_bytes(arr(b)))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes(arr(b)))
    }
    fn f32(&mut self) -> Option<f32> {
        self.take(4).map(|b| f32::from_be_bytes(arr(b)))
    }
    fn f64(&mut self) -> Option<f64> {
        self.take(8).map(|b| f64::from_be_bytes(arr(b)))
    }
    fn text(&mut self, size: usize) -> Option<String> {
        self.take(size).map(decode_text)
    }
    /// status, severity (`dbr_short_t` in STS structures, `dbr_ushort_t` in
    /// STSACK: the same bits either way).
    fn alarm(&mut self, meta: &mut Metadata) -> Option<()> {
        meta.status = AlarmStatus(self.u16()?);
        meta.severity = AlarmSeverity(self.u16()?);
        Some(())
    }
    fn limits(
        &mut self,
        n: usize,
        mut read: impl FnMut(&mut Self) -> Option<f64>,
    ) -> Option<Limits> {
        let mut l = [0.0; 8];
        for slot in l.iter_mut().take(n) {
            *slot = read(self)?;
        }
        Some(limits_from_array(l))
    }
}

fn limits_from_array(l: [f64; 8]) -> Limits {
    let [upper_disp, lower_disp, upper_alarm, upper_warning, lower_warning, lower_alarm, upper_ctrl, lower_ctrl] =
        l;
    Limits {
        upper_disp,
        lower_disp,
        upper_alarm,
        upper_warning,
        lower_warning,
        lower_alarm,
        upper_ctrl,
        lower_ctrl,
    }
}

/// The limits in wire order (`db_access.h`: upper_disp, lower_disp,
/// upper_alarm, upper_warning, lower_warning, lower_alarm, upper_ctrl,
/// lower_ctrl).
fn limits_to_array(l: &Limits) -> [f64; 8] {
    [
        l.upper_disp,
        l.lower_disp,
        l.upper_alarm,
        l.upper_warning,
        l.lower_warning,
        l.lower_alarm,
        l.upper_ctrl,
        l.lower_ctrl,
    ]
}

fn decode_meta(dbr_type: DbrType, head: &[u8]) -> Option<Metadata> {
    let mut meta = Metadata::default();
    let mut r = Reader(head);
    let family = dbr_type.family();
    match family {
        DbrFamily::Plain | DbrFamily::PutAckt | DbrFamily::PutAcks | DbrFamily::ClassName => {}
        DbrFamily::Sts => r.alarm(&mut meta)?,
        DbrFamily::Time => {
            r.alarm(&mut meta)?;
            meta.timestamp = EpicsTime::new(r.u32()?, r.u32()?);
        }
        DbrFamily::StsackString => {
            r.alarm(&mut meta)?;
            meta.ackt = r.u16()?;
            meta.acks = r.u16()?;
        }
        DbrFamily::Gr | DbrFamily::Ctrl => {
            let n = if family == DbrFamily::Ctrl { 8 } else { 6 };
            r.alarm(&mut meta)?;
            match dbr_type.native() {
                NativeType::String => {}
                NativeType::Short => {
                    meta.units = r.text(MAX_UNITS_SIZE)?;
                    meta.limits = r.limits(n, |r| r.i16().map(f64::from))?;
                }
                NativeType::Float => {
                    meta.precision = r.i16()?;
                    r.take(2)?; // RISC_pad
                    meta.units = r.text(MAX_UNITS_SIZE)?;
                    meta.limits = r.limits(n, |r| r.f32().map(f64::from))?;
                }
                NativeType::Enum => {
                    // no_str from a peer may be anything: clamp to 0..=16.
                    let no_str = usize::try_from(r.i16()?).unwrap_or(0).min(MAX_ENUM_STATES);
                    for _ in 0..no_str {
                        meta.enum_strings.push(r.text(MAX_ENUM_STRING_SIZE)?);
                    }
                }
                NativeType::Char => {
                    meta.units = r.text(MAX_UNITS_SIZE)?;
                    meta.limits = r.limits(n, |r| r.u8().map(f64::from))?;
                }
                NativeType::Long => {
                    meta.units = r.text(MAX_UNITS_SIZE)?;
                    meta.limits = r.limits(n, |r| r.i32().map(f64::from))?;
                }
                NativeType::Double => {
                    meta.precision = r.i16()?;
                    r.take(2)?; // RISC_pad0
                    meta.units = r.text(MAX_UNITS_SIZE)?;
                    meta.limits = r.limits(n, Reader::f64)?;
                }
            }
        }
    }
    Some(meta)
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_alarm(out: &mut Vec<u8>, meta: &Metadata) {
    put_u16(out, meta.status.0);
    put_u16(out, meta.severity.0);
}

fn put_zeros(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, 0);
}

fn encode_meta(dbr_type: DbrType, meta: &Metadata, out: &mut Vec<u8>) {
    use NativeType as N;
    let family = dbr_type.family();
    let native = dbr_type.native();
    match family {
        DbrFamily::Plain | DbrFamily::PutAckt | DbrFamily::PutAcks | DbrFamily::ClassName => {}
        DbrFamily::Sts => {
            put_alarm(out, meta);
            put_zeros(out, value_offset(dbr_type) - 4); // RISC_pad
        }
        DbrFamily::Time => {
            put_alarm(out, meta);
            out.extend_from_slice(&meta.timestamp.to_be_bytes());
            put_zeros(out, value_offset(dbr_type) - 12); // RISC_pad(s)
        }
        DbrFamily::StsackString => {
            put_alarm(out, meta);
            put_u16(out, meta.ackt);
            put_u16(out, meta.acks);
        }
        DbrFamily::Gr | DbrFamily::Ctrl => {
            let n = if family == DbrFamily::Ctrl { 8 } else { 6 };
            let limits = limits_to_array(&meta.limits);
            let limits = limits.iter().take(n);
            put_alarm(out, meta);
            match native {
                N::String => {}
                N::Short => {
                    put_text_truncated(out, &meta.units, MAX_UNITS_SIZE);
                    for (i, &l) in limits.enumerate() {
                        out.extend_from_slice(&(int_limit(i, l) as i16).to_be_bytes());
                    }
                }
                N::Float => {
                    out.extend_from_slice(&meta.precision.to_be_bytes());
                    put_zeros(out, 2);
                    put_text_truncated(out, &meta.units, MAX_UNITS_SIZE);
                    for &l in limits {
                        out.extend_from_slice(&epics_f64_to_f32(l).to_be_bytes());
                    }
                }
                N::Enum => {
                    let strs = meta.enum_strings.iter().take(MAX_ENUM_STATES);
                    // At most 16: fits i16.
                    out.extend_from_slice(&(strs.len() as i16).to_be_bytes());
                    for s in strs {
                        put_text_truncated(out, s, MAX_ENUM_STRING_SIZE);
                    }
                    let unused = MAX_ENUM_STATES.saturating_sub(meta.enum_strings.len());
                    put_zeros(out, unused * MAX_ENUM_STRING_SIZE);
                }
                N::Char => {
                    put_text_truncated(out, &meta.units, MAX_UNITS_SIZE);
                    for (i, &l) in limits.enumerate() {
                        out.push(int_limit(i, l) as u8);
                    }
                    put_zeros(out, 1); // RISC_pad
                }
                N::Long => {
                    put_text_truncated(out, &meta.units, MAX_UNITS_SIZE);
                    for (i, &l) in limits.enumerate() {
                        out.extend_from_slice(&int_limit(i, l).to_be_bytes());
                    }
                }
                N::Double => {
                    out.extend_from_slice(&meta.precision.to_be_bytes());
                    put_zeros(out, 2);
                    put_text_truncated(out, &meta.units, MAX_UNITS_SIZE);
                    for &l in limits {
                        out.extend_from_slice(&l.to_be_bytes());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // 3.14 is the classic PV value, not PI
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `access.cpp` `dbr_size[]` evaluated for the `db_access.h` structs.
    const DBR_SIZE: [usize; 39] = [
        40, 2, 4, 2, 1, 4, 8, // plain
        44, 6, 8, 6, 6, 8, 16, // STS
        52, 16, 16, 16, 16, 16, 24, // TIME
        44, 26, 44, 424, 20, 40, 72, // GR
        44, 30, 52, 424, 22, 48, 88, // CTRL
        2, 2, 48, 40, // PUT_ACKT, PUT_ACKS, STSACK_STRING, CLASS_NAME
    ];

    #[test]
    fn struct_sizes_match_db_access_h() {
        for t in DbrType::ALL {
            assert_eq!(payload_size(t, 1), DBR_SIZE[usize::from(t.code())], "{t}");
            let elem = t.native().element_size();
            assert_eq!(
                payload_size(t, 5),
                DBR_SIZE[usize::from(t.code())] + 4 * elem
            );
            // dbr_size_n(T, 0) = dbr_size - dbr_value_size.
            assert_eq!(payload_size(t, 0), DBR_SIZE[usize::from(t.code())] - elem);
            assert_eq!(value_offset(t), payload_size(t, 0));
        }
    }

    #[test]
    fn payload_size_saturates_for_huge_counts() {
        assert!(payload_size(DbrType::CtrlDouble, u32::MAX) >= u32::MAX as usize);
    }

    #[test]
    fn rsrv_time_double_ignores_risc_pad() {
        // status 0, severity 0, secs, nsec, RISC_pad = 3 (garbage), 768.0.
        let wire = hex("0000 0000 45676c26 1ada6593 00000003 4088000000000000");
        let d = decode(DbrType::TimeDouble, 1, &wire).unwrap();
        assert_eq!(d.meta.timestamp, EpicsTime::new(0x4567_6c26, 0x1ada_6593));
        assert_eq!(d.meta.status, AlarmStatus::NO_ALARM);
        assert_eq!(d.values, DbrValues::Double(vec![768.0]));
        let mut out = Vec::new();
        assert_eq!(
            encode(DbrType::TimeDouble, &d.meta, &d.values, &mut out),
            Ok(1)
        );
        assert_eq!(
            out,
            hex("0000 0000 45676c26 1ada6593 00000000 4088000000000000")
        );
    }

    #[test]
    fn sts_double_udf_invalid() {
        let wire = hex("0011 0003 00000000 40091eb851eb851f");
        let d = decode(DbrType::StsDouble, 1, &wire).unwrap();
        assert_eq!(d.meta.status, AlarmStatus::UDF);
        assert_eq!(d.meta.severity, AlarmSeverity::INVALID);
        assert_eq!(d.values, DbrValues::Double(vec![3.14]));
        let mut out = Vec::new();
        encode(DbrType::StsDouble, &d.meta, &d.values, &mut out).unwrap();
        assert_eq!(out, wire);
    }

    #[test]
    fn short_payload_is_bad_dbr_payload() {
        let wire = hex("0000 0000 45676c26 1ada6593 00000003 40880000000000");
        assert_eq!(
            decode(DbrType::TimeDouble, 1, &wire),
            Err(ProtocolError::BadDbrPayload {
                dbr_type: DbrType::TimeDouble,
                count: 1,
                needed: 24,
                got: 23
            })
        );
        assert!(decode(DbrType::Double, 2, &wire[..8]).is_err());
        assert!(decode_values(DbrType::GrEnum, 1, &[0; 423]).is_err());
        assert!(values_view(DbrType::CtrlDouble, u32::MAX, &[0; 100]).is_err());
        assert!(decode(DbrType::Short, 1, &[]).is_err());
    }

    #[test]
    fn trailing_padding_is_ignored() {
        let wire = hex("0001 0002 0003 0000 0000 0000");
        let d = decode(DbrType::Short, 3, &wire).unwrap();
        assert_eq!(d.values, DbrValues::Short(vec![1, 2, 3]));
    }

    #[test]
    fn zero_count_is_metadata_only() {
        // rsrv's reply for an empty auto-sized array: dbr_size_n(T, 0) bytes.
        let wire = hex("0000 0000 45676c26 1ada6593 00000000");
        let d = decode(DbrType::TimeDouble, 0, &wire).unwrap();
        assert!(d.values.is_empty());
        assert_eq!(d.meta.timestamp.secs, 0x4567_6c26);
        let mut out = Vec::new();
        assert_eq!(
            encode(DbrType::TimeDouble, &d.meta, &d.values, &mut out),
            Ok(0)
        );
        assert_eq!(out, wire);
    }

    #[test]
    fn string_with_garbage_after_nul() {
        let mut wire = b"hello\0junk".to_vec();
        wire.resize(40, 0xaa);
        let d = decode(DbrType::String, 1, &wire).unwrap();
        assert_eq!(d.values, DbrValues::String(vec!["hello".into()]));
    }

    #[test]
    fn ctrl_double_layout() {
        let meta = Metadata {
            status: AlarmStatus::HIHI,
            severity: AlarmSeverity::MAJOR,
            units: "mm".into(),
            precision: 3,
            limits: Limits {
                upper_disp: 10.0,
                lower_disp: -10.0,
                upper_alarm: 9.0,
                upper_warning: 8.0,
                lower_warning: -8.0,
                lower_alarm: -9.0,
                upper_ctrl: 5.0,
                lower_ctrl: -5.0,
            },
            ..Metadata::default()
        };
        let mut out = Vec::new();
        encode(
            DbrType::CtrlDouble,
            &meta,
            &DbrValues::Double(vec![1.5]),
            &mut out,
        )
        .unwrap();
        let expected = hex("0003 0002 0003 0000 6d6d000000000000
             4024000000000000 c024000000000000 4022000000000000 4020000000000000
             c020000000000000 c022000000000000 4014000000000000 c014000000000000
             3ff8000000000000");
        assert_eq!(out, expected);
        let d = decode(DbrType::CtrlDouble, 1, &out).unwrap();
        assert_eq!(d.meta, meta);
    }

    #[test]
    fn gr_short_and_ctrl_char_limits_use_c_casts() {
        let meta = Metadata {
            units: "a-very-long-unit".into(),
            limits: Limits {
                upper_disp: 40000.0, // (epicsInt32) 40000 -> (short) -25536
                lower_disp: -1.0,
                upper_alarm: f64::NAN, // x86 cvttsd2si -> INT_MIN -> 0
                upper_warning: 1e20,
                lower_warning: 2.9,
                lower_alarm: -2.9,
                upper_ctrl: 300.0, // char: 300 & 0xff = 44
                lower_ctrl: -1.0,  // char: 255
            },
            ..Metadata::default()
        };
        let mut out = Vec::new();
        encode(
            DbrType::GrShort,
            &meta,
            &DbrValues::Short(vec![7]),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            hex("0000 0000 612d766572792d00 9c40 ffff 0000 0000 0002 fffe 0007")
        );
        let d = decode(DbrType::GrShort, 1, &out).unwrap();
        assert_eq!(d.meta.units, "a-very-");
        assert_eq!(d.meta.limits.upper_disp, -25536.0);
        out.clear();
        encode(
            DbrType::CtrlChar,
            &meta,
            &DbrValues::Char(vec![7]),
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            hex("0000 0000 612d766572792d00 40 ff 00 00 02 fe 2c ff 00 07")
        );
    }

    #[test]
    fn gr_float_limits_clamp_like_epics_convert_double_to_float() {
        let meta = Metadata {
            limits: Limits {
                upper_disp: 1e300,
                lower_disp: -1e300,
                upper_alarm: 1e-300,
                ..Limits::default()
            },
            ..Metadata::default()
        };
        let mut out = Vec::new();
        encode(
            DbrType::GrFloat,
            &meta,
            &DbrValues::Float(vec![0.0]),
            &mut out,
        )
        .unwrap();
        let d = decode(DbrType::GrFloat, 1, &out).unwrap();
        assert_eq!(d.meta.limits.upper_disp, f64::from(f32::MAX));
        assert_eq!(d.meta.limits.lower_disp, -f64::from(f32::MAX));
        assert_eq!(d.meta.limits.upper_alarm, f64::from(f32::MIN_POSITIVE));
    }

    #[test]
    fn gr_enum_strings_and_no_str() {
        let meta = Metadata {
            enum_strings: vec![
                "Off".into(),
                "On".into(),
                "a string longer than 25 bytes".into(),
            ],
            ..Metadata::default()
        };
        let mut out = Vec::new();
        encode(DbrType::GrEnum, &meta, &DbrValues::Enum(vec![1]), &mut out).unwrap();
        assert_eq!(out.len(), 424);
        assert_eq!(&out[4..6], &[0, 3]);
        assert_eq!(&out[6..10], b"Off\0");
        assert_eq!(&out[422..], &[0, 1]);
        let d = decode(DbrType::CtrlEnum, 1, &out).unwrap();
        assert_eq!(d.meta.enum_strings[2], "a string longer than 25 b");
        // A hostile no_str is clamped to 0..=16.
        out[4..6].copy_from_slice(&[0x7f, 0xff]);
        assert_eq!(
            decode(DbrType::GrEnum, 1, &out)
                .unwrap()
                .meta
                .enum_strings
                .len(),
            16
        );
        out[4..6].copy_from_slice(&[0xff, 0xff]);
        assert!(decode(DbrType::GrEnum, 1, &out)
            .unwrap()
            .meta
            .enum_strings
            .is_empty());
    }

    #[test]
    fn stsack_string_and_put_ack_types() {
        let wire = hex(&format!("0007 0002 0001 0002 {}", "41".repeat(39) + "00"));
        let d = decode(DbrType::StsackString, 1, &wire).unwrap();
        assert_eq!(d.meta.status, AlarmStatus::STATE);
        assert_eq!(d.meta.severity, AlarmSeverity::MAJOR);
        assert_eq!((d.meta.ackt, d.meta.acks), (1, 2));
        assert_eq!(d.values, DbrValues::String(vec!["A".repeat(39)]));
        let mut out = Vec::new();
        encode(DbrType::StsackString, &d.meta, &d.values, &mut out).unwrap();
        assert_eq!(out, wire);

        let d = decode(DbrType::PutAcks, 1, &hex("0003")).unwrap();
        assert_eq!(d.values, DbrValues::Short(vec![3]));
        assert_eq!(d.meta, Metadata::default());
        let d = decode(DbrType::PutAckt, 1, &hex("ffff")).unwrap();
        assert_eq!(d.values, DbrValues::Short(vec![-1]));
    }

    #[test]
    fn encode_refuses_wrong_type_and_long_strings_without_writing() {
        let mut out = vec![9];
        assert_eq!(
            encode(
                DbrType::TimeDouble,
                &Metadata::default(),
                &DbrValues::Long(vec![1]),
                &mut out
            ),
            Err(ConversionError::Unsupported {
                from: NativeType::Long,
                to: NativeType::Double
            })
        );
        let long = DbrValues::String(vec!["ok".into(), "x".repeat(40)]);
        assert_eq!(
            encode(DbrType::TimeString, &Metadata::default(), &long, &mut out),
            Err(ConversionError::StringTooLong { len: 40 })
        );
        assert_eq!(out, vec![9]);
        let fits = DbrValues::String(vec!["x".repeat(39)]);
        assert!(encode(DbrType::String, &Metadata::default(), &fits, &mut out).is_ok());
    }

    #[test]
    fn every_type_round_trips_at_exact_size() {
        let meta = Metadata {
            status: AlarmStatus::LOW,
            severity: AlarmSeverity::MINOR,
            timestamp: EpicsTime::new(1_000_000, 999),
            units: "degC".into(),
            precision: 4,
            limits: Limits {
                upper_disp: 100.0,
                lower_disp: 1.0,
                upper_alarm: 90.0,
                upper_warning: 80.0,
                lower_warning: 20.0,
                lower_alarm: 10.0,
                upper_ctrl: 95.0,
                lower_ctrl: 5.0,
            },
            enum_strings: vec!["zero".into(), "one".into()],
            ackt: 1,
            acks: 2,
        };
        for t in DbrType::ALL {
            for n in [1usize, 2, 7] {
                let values = match t.native() {
                    NativeType::String => {
                        DbrValues::String((0..n).map(|i| format!("s{i}\u{e9}")).collect())
                    }
                    NativeType::Short => DbrValues::Short((0..n as i16).map(|i| i - 3).collect()),
                    NativeType::Float => DbrValues::Float((0..n).map(|i| i as f32 * 0.5).collect()),
                    NativeType::Enum => DbrValues::Enum((0..n as u16).collect()),
                    NativeType::Char => DbrValues::Char((0..n as u8).collect()),
                    NativeType::Long => DbrValues::Long((0..n as i32).map(|i| -i * 1000).collect()),
                    NativeType::Double => {
                        DbrValues::Double((0..n).map(|i| i as f64 / 3.0).collect())
                    }
                };
                let mut out = Vec::new();
                let count = encode(t, &meta, &values, &mut out).unwrap();
                assert_eq!(count as usize, n);
                assert_eq!(out.len(), payload_size(t, count), "{t} x{n}");
                let d = decode(t, count, &out).unwrap();
                assert_eq!(d.values, values, "{t}");
                assert_eq!(decode_values(t, count, &out).unwrap(), values);
                assert_eq!(values_view(t, count, &out).unwrap().to_values(), values);
                let mut again = Vec::new();
                encode(t, &d.meta, &d.values, &mut again).unwrap();
                assert_eq!(again, out, "{t}");
                // The metadata carried by the family survives.
                match t.family() {
                    DbrFamily::Time => assert_eq!(d.meta.timestamp, meta.timestamp),
                    DbrFamily::Ctrl if t.native() == NativeType::Double => {
                        assert_eq!(
                            d.meta,
                            Metadata {
                                timestamp: EpicsTime::default(),
                                enum_strings: vec![],
                                ackt: 0,
                                acks: 0,
                                ..meta.clone()
                            }
                        )
                    }
                    DbrFamily::Plain => assert_eq!(d.meta, Metadata::default()),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn large_double_array_round_trip() {
        let values: Vec<f64> = (0..100_000).map(|i| f64::from(i) * 0.25).collect();
        let values = DbrValues::Double(values);
        let mut out = Vec::new();
        encode(DbrType::Double, &Metadata::default(), &values, &mut out).unwrap();
        assert_eq!(out.len(), 800_000);
        assert_eq!(&out[8..16], &0.25f64.to_be_bytes());
        assert_eq!(
            decode_values(DbrType::Double, 100_000, &out).unwrap(),
            values
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn values_strategy(native: NativeType, n: usize) -> BoxedStrategy<DbrValues> {
            use proptest::collection::vec;
            match native {
                NativeType::String => vec("[ -~]{0,39}|[a-z\u{e9}\u{20ac}]{0,9}", n)
                    .prop_map(DbrValues::String)
                    .boxed(),
                NativeType::Short => vec(any::<i16>(), n).prop_map(DbrValues::Short).boxed(),
                NativeType::Float => vec(any::<f32>(), n).prop_map(DbrValues::Float).boxed(),
                NativeType::Enum => vec(any::<u16>(), n).prop_map(DbrValues::Enum).boxed(),
                NativeType::Char => vec(any::<u8>(), n).prop_map(DbrValues::Char).boxed(),
                NativeType::Long => vec(any::<i32>(), n).prop_map(DbrValues::Long).boxed(),
                NativeType::Double => vec(any::<f64>(), n).prop_map(DbrValues::Double).boxed(),
            }
        }

        fn meta_strategy() -> impl Strategy<Value = Metadata> {
            (
                (any::<u16>(), any::<u16>(), any::<u32>(), any::<u32>()),
                (
                    "[ -~]{0,7}",
                    any::<i16>(),
                    proptest::array::uniform8(0u8..=100),
                ),
                (
                    proptest::collection::vec("[ -~]{0,25}", 0..=16),
                    any::<u16>(),
                    any::<u16>(),
                ),
            )
                .prop_map(
                    |(
                        (st, sev, secs, nanos),
                        (units, precision, l),
                        (enum_strings, ackt, acks),
                    )| {
                        Metadata {
                            status: AlarmStatus(st),
                            severity: AlarmSeverity(sev),
                            timestamp: EpicsTime::new(secs, nanos),
                            units,
                            precision,
                            limits: limits_from_array(l.map(f64::from)),
                            enum_strings,
                            ackt,
                            acks,
                        }
                    },
                )
        }

        /// The part of `meta` that a payload of type `t` carries.
        fn carried(t: DbrType, meta: &Metadata) -> Metadata {
            let mut e = Metadata::default();
            let family = t.family();
            if !matches!(
                family,
                DbrFamily::Plain | DbrFamily::PutAckt | DbrFamily::PutAcks | DbrFamily::ClassName
            ) {
                e.status = meta.status;
                e.severity = meta.severity;
            }
            match family {
                DbrFamily::Time => e.timestamp = meta.timestamp,
                DbrFamily::StsackString => {
                    e.ackt = meta.ackt;
                    e.acks = meta.acks;
                }
                DbrFamily::Gr | DbrFamily::Ctrl => match t.native() {
                    NativeType::String => {}
                    NativeType::Enum => e.enum_strings = meta.enum_strings.clone(),
                    native => {
                        e.units = meta.units.clone();
                        e.limits = meta.limits;
                        if family == DbrFamily::Gr {
                            e.limits.upper_ctrl = 0.0;
                            e.limits.lower_ctrl = 0.0;
                        }
                        if matches!(native, NativeType::Float | NativeType::Double) {
                            e.precision = meta.precision;
                        }
                    }
                },
                _ => {}
            }
            e
        }

        /// Equality that compares floats bit for bit (NaN payloads too).
        fn same_values(a: &DbrValues, b: &DbrValues) -> bool {
            match (a, b) {
                (DbrValues::Float(x), DbrValues::Float(y)) => x
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(y.iter().map(|v| v.to_bits())),
                (DbrValues::Double(x), DbrValues::Double(y)) => x
                    .iter()
                    .map(|v| v.to_bits())
                    .eq(y.iter().map(|v| v.to_bits())),
                _ => a == b,
            }
        }

        fn case() -> impl Strategy<Value = (DbrType, DbrValues, Metadata)> {
            (proptest::sample::select(DbrType::ALL.to_vec()), 0usize..6)
                .prop_flat_map(|(t, n)| (Just(t), values_strategy(t.native(), n), meta_strategy()))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn encode_decode_round_trip((t, values, meta) in case()) {
                let mut out = vec![0xee]; // encode appends
                let count = encode(t, &meta, &values, &mut out).unwrap();
                let wire = &out[1..];
                prop_assert_eq!(count as usize, values.len());
                prop_assert_eq!(wire.len(), payload_size(t, count));
                let mut padded = wire.to_vec();
                padded.resize(wire.len().div_ceil(8) * 8, 0);
                let d = decode(t, count, &padded).unwrap();
                prop_assert!(same_values(&d.values, &values));
                prop_assert_eq!(&d.meta, &carried(t, &meta));
                let mut again = Vec::new();
                encode(t, &d.meta, &d.values, &mut again).unwrap();
                prop_assert_eq!(&again[..], wire);
                prop_assert!(same_values(&decode_values(t, count, wire).unwrap(), &values));
            }

            #[test]
            fn decode_never_panics_on_garbage(
                t in proptest::sample::select(DbrType::ALL.to_vec()),
                count in 0u32..40,
                bytes in proptest::collection::vec(any::<u8>(), 0..900),
            ) {
                match decode(t, count, &bytes) {
                    Ok(d) => {
                        prop_assert!(bytes.len() >= payload_size(t, count));
                        prop_assert_eq!(d.values.len(), count as usize);
                    }
                    Err(ProtocolError::BadDbrPayload { needed, got, .. }) => {
                        prop_assert!(got < needed);
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e}"),
                }
                let _ = values_view(t, count, &bytes);
            }
        }
    }
}

#[cfg(test)]
mod short_string_tests {
    use super::*;

    #[test]
    fn caput_string_cut_to_its_length_decodes() {
        // caput's WRITE of "2.5" as DBR_STRING in put.pcap: 8 bytes, not 40.
        let payload = [0x32, 0x2e, 0x35, 0, 0, 0, 0, 0];
        let d = decode(DbrType::String, 1, &payload).unwrap();
        assert_eq!(d.values, DbrValues::String(vec!["2.5".into()]));
        assert_eq!(min_payload_size(DbrType::String, 1), 1);
        // Only the single plain string may be short.
        assert!(decode(DbrType::String, 2, &payload).is_err());
        assert!(decode(DbrType::StsString, 1, &payload).is_err());
        assert!(decode(DbrType::String, 1, &[]).is_err());
    }
}
