//! Typed storage of field values and the conversions between field types,
//! `.db` text and CA values (EPICS `dbStaticLib.c` `dbPutString` at load,
//! `dbConvert.c` / `dbFastLinkConv.c` for CA gets and puts).

use caproto_core::dbr::{convert, ConvertContext, DbrValues, NativeType, MAX_STRING_SIZE};

use super::fields::{parse_choice, parse_menu, Dbf, FieldDef};

/// One field's value. Integers of every width, enums, menus and devices
/// are `I`; `FLOAT`/`DOUBLE` are `F`; strings and links are `S`; arrays
/// (waveform `VAL`) are `A`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FVal {
    I(i64),
    F(f64),
    S(Box<str>),
    A(Box<DbrValues>),
}

impl FVal {
    pub(crate) fn as_f64(&self) -> f64 {
        match self {
            FVal::I(i) => *i as f64,
            FVal::F(f) => *f,
            FVal::S(_) => 0.0,
            FVal::A(a) => a.to_f64(0).unwrap_or(0.0),
        }
    }

    pub(crate) fn as_i64(&self) -> i64 {
        match self {
            FVal::I(i) => *i,
            FVal::F(f) => c_f64_to_i32(*f).into(),
            FVal::S(_) => 0,
            FVal::A(a) => a.to_f64(0).map_or(0, |f| c_f64_to_i32(f).into()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            FVal::S(s) => s,
            _ => "",
        }
    }
}

/// C's `(epicsInt32)` of a double on x86-64: truncation, `i32::MIN` for
/// NaN and out-of-range values.
pub(crate) fn c_f64_to_i32(f: f64) -> i32 {
    if f.is_nan() || !(-2147483648.0..2147483648.0).contains(&f) {
        i32::MIN
    } else {
        f as i32
    }
}

/// Wraps an integer to the width of its field, as a C assignment does.
pub(crate) fn wrap_int(dbf: Dbf, v: i64) -> i64 {
    match dbf {
        Dbf::Char => i64::from(v as i8),
        Dbf::UChar => i64::from(v as u8),
        Dbf::Short => i64::from(v as i16),
        Dbf::UShort | Dbf::Enum | Dbf::Menu(_) | Dbf::Device => i64::from(v as u16),
        Dbf::Long => i64::from(v as i32),
        Dbf::ULong => i64::from(v as u32),
        _ => v,
    }
}

/// The value of a field nobody set: its `initial(...)`, else zero/empty.
pub(crate) fn default_value(def: &FieldDef) -> FVal {
    let zero = match def.dbf {
        Dbf::Float | Dbf::Double => FVal::F(0.0),
        Dbf::String { .. } | Dbf::InLink | Dbf::OutLink | Dbf::FwdLink => FVal::S("".into()),
        Dbf::NoAccess => FVal::I(0),
        _ => FVal::I(0),
    };
    match (def.initial, def.dbf) {
        // A menu's initial value may be out of its range (SSCN's 65535).
        (Some(text), Dbf::Menu(_)) => parse_field(def, text)
            .ok()
            .or_else(|| parse_c_integer(text.trim()).map(|v| FVal::I(v as i64)))
            .unwrap_or(zero),
        (Some(text), _) => parse_field(def, text).unwrap_or(zero),
        (None, _) => zero,
    }
}

/// Why a `.db` value does not fit its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    NotANumber,
    OutOfRange,
    TooLong(usize),
    NoSuchChoice(&'static str),
    NotWritable,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::NotANumber => f.write_str("not a number of the field's type"),
            ParseError::OutOfRange => f.write_str("out of the field's range"),
            ParseError::TooLong(n) => write!(f, "longer than the field's {} characters", n),
            ParseError::NoSuchChoice(menu) => write!(f, "not a choice of {menu}"),
            ParseError::NotWritable => f.write_str("the field cannot be set"),
        }
    }
}

/// `dbPutString`: a `.db` field value as the field's type. Link fields
/// keep their text (parsed by the link layer).
pub(crate) fn parse_field(def: &FieldDef, text: &str) -> Result<FVal, ParseError> {
    match def.dbf {
        Dbf::String { size } => {
            let max = usize::from(size).saturating_sub(1);
            if text.len() > max {
                return Err(ParseError::TooLong(max));
            }
            Ok(FVal::S(text.into()))
        }
        Dbf::InLink | Dbf::OutLink | Dbf::FwdLink => Ok(FVal::S(text.trim().into())),
        Dbf::Float | Dbf::Double => {
            let t = text.trim();
            if t.is_empty() {
                return Ok(FVal::F(0.0));
            }
            let v = parse_c_double(t).ok_or(ParseError::NotANumber)?;
            if def.dbf == Dbf::Float {
                Ok(FVal::F(f64::from(v as f32)))
            } else {
                Ok(FVal::F(v))
            }
        }
        Dbf::Menu(menu) => parse_menu(menu, text)
            .map(|i| FVal::I(i64::from(i)))
            .ok_or(ParseError::NoSuchChoice(menu.name)),
        Dbf::Device => Err(ParseError::NotWritable),
        Dbf::NoAccess => Err(ParseError::NotWritable),
        Dbf::Char
        | Dbf::UChar
        | Dbf::Short
        | Dbf::UShort
        | Dbf::Long
        | Dbf::ULong
        | Dbf::Int64
        | Dbf::UInt64
        | Dbf::Enum => {
            let t = text.trim();
            if t.is_empty() {
                return Ok(FVal::I(0));
            }
            let v = parse_c_integer(t).ok_or(ParseError::NotANumber)?;
            let (lo, hi): (i128, i128) = match def.dbf {
                Dbf::Char => (-128, 255),
                Dbf::UChar => (-128, 255),
                Dbf::Short => (-32768, 65535),
                Dbf::UShort | Dbf::Enum => (-32768, 65535),
                Dbf::Long | Dbf::ULong => (i128::from(i32::MIN), i128::from(u32::MAX)),
                _ => (i128::from(i64::MIN), i128::from(u64::MAX)),
            };
            if v < lo || v > hi {
                return Err(ParseError::OutOfRange);
            }
            Ok(FVal::I(wrap_int(def.dbf, v as i64)))
        }
    }
}

/// `DTYP` at load time: a device choice of the record type.
pub(crate) fn parse_device(choices: &[&str], text: &str) -> Option<i64> {
    if choices.is_empty() && text.is_empty() {
        return Some(0);
    }
    parse_choice(choices, text).map(i64::from)
}

/// `strtol(s, &end, 0)` with nothing after the number: decimal, `0x` hex
/// or leading-`0` octal, optional sign.
pub(crate) fn parse_c_integer(s: &str) -> Option<i128> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() {
        return None;
    }
    let v = i128::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `epicsParseDouble` with nothing after the number (`strtod`: decimal,
/// exponent, `inf`, `nan`, `0x` hex).
pub(crate) fn parse_c_double(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let h = lower.strip_prefix("0x")?;
            u64::from_str_radix(h, 16).ok()? as f64
        }
    };
    Some(if neg { -v } else { v })
}

/// A scalar field value as CA values of the field's native type.
pub(crate) fn to_values(dbf: Dbf, v: &FVal, native: NativeType) -> DbrValues {
    match (native, v) {
        (_, FVal::A(a)) => (**a).clone(),
        (NativeType::String, v) => DbrValues::String(vec![truncate_string(v.as_str())]),
        (NativeType::Double, FVal::I(i)) => {
            let f = match dbf {
                Dbf::ULong => (*i as u32) as f64,
                _ => *i as f64,
            };
            DbrValues::Double(vec![f])
        }
        (NativeType::Double, v) => DbrValues::Double(vec![v.as_f64()]),
        (NativeType::Float, v) => DbrValues::Float(vec![v.as_f64() as f32]),
        (NativeType::Long, v) => DbrValues::Long(vec![v.as_i64() as i32]),
        (NativeType::Short, v) => DbrValues::Short(vec![v.as_i64() as i16]),
        (NativeType::Enum, v) => DbrValues::Enum(vec![v.as_i64() as u16]),
        (NativeType::Char, v) => DbrValues::Char(vec![v.as_i64() as u8]),
    }
}

/// A string cut to what fits a `DBR_STRING` (39 bytes and the NUL).
pub(crate) fn truncate_string(s: &str) -> String {
    caproto_core::dbr::truncate_at_char_boundary(s, MAX_STRING_SIZE - 1).to_owned()
}

/// Why a CA put into a field failed (answered `ECA_PUTFAIL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PutConvError(pub String);

/// `dbPut` conversion of a client's values into a scalar field of type
/// `dbf` (its first element; an empty put is refused). `enum_strings` are
/// the field's state strings (ENUM/MENU/DEVICE), for string puts.
pub(crate) fn from_put(
    dbf: Dbf,
    values: &DbrValues,
    enum_strings: &[String],
) -> Result<FVal, PutConvError> {
    if values.is_empty() {
        return Err(PutConvError("no element".into()));
    }
    let err = |e: caproto_core::dbr::ConversionError| PutConvError(e.to_string());
    match dbf {
        Dbf::String { size } => {
            let s = match values {
                DbrValues::String(v) => v.first().cloned().unwrap_or_default(),
                other => {
                    let ctx = ConvertContext::default();
                    match convert(other, NativeType::String, &ctx).map_err(err)? {
                        DbrValues::String(v) => v.first().cloned().unwrap_or_default(),
                        _ => String::new(),
                    }
                }
            };
            let max = usize::from(size).saturating_sub(1);
            Ok(FVal::S(
                caproto_core::dbr::truncate_at_char_boundary(&s, max).into(),
            ))
        }
        Dbf::InLink | Dbf::OutLink | Dbf::FwdLink => match values {
            DbrValues::String(v) => Ok(FVal::S(v.first().cloned().unwrap_or_default().into())),
            DbrValues::Char(c) => Ok(FVal::S(caproto_core::dbr::chars_to_text(c).into())),
            _ => Err(PutConvError("a link takes a string".into())),
        },
        Dbf::Float | Dbf::Double => {
            let ctx = ConvertContext::default();
            let v = convert(values, NativeType::Double, &ctx).map_err(err)?;
            let f = v.to_f64(0).unwrap_or(0.0);
            Ok(FVal::F(if dbf == Dbf::Float {
                f64::from(f as f32)
            } else {
                f
            }))
        }
        Dbf::Enum | Dbf::Menu(_) | Dbf::Device => {
            if let DbrValues::String(v) = values {
                let s = v.first().map(String::as_str).unwrap_or("");
                let choices: Vec<&str> = enum_strings.iter().map(String::as_str).collect();
                if let Some(i) = parse_choice(&choices, s) {
                    return Ok(FVal::I(i64::from(i)));
                }
                return Err(PutConvError(format!("no state {s:?}")));
            }
            let ctx = ConvertContext::default();
            let v = convert(values, NativeType::Enum, &ctx).map_err(err)?;
            Ok(FVal::I(v.to_f64(0).unwrap_or(0.0) as i64))
        }
        Dbf::NoAccess => Err(PutConvError("not accessible".into())),
        _ => {
            // Integers: through the widest CA type that holds the field.
            let ctx = ConvertContext::default();
            let v = match values {
                DbrValues::Double(_) | DbrValues::Float(_)
                    if matches!(dbf, Dbf::ULong | Dbf::Int64 | Dbf::UInt64) =>
                {
                    values.to_f64(0).unwrap_or(0.0) as i64
                }
                // Text is parsed for the field's own width
                // (epicsParseInt16, epicsParseUInt8, ...): out of range is
                // an error, not a wrap.
                DbrValues::String(_) => {
                    let (native, lo, hi) = match dbf {
                        Dbf::Short => (NativeType::Short, -32768.0, 32767.0),
                        Dbf::UChar => (NativeType::Char, 0.0, 255.0),
                        Dbf::UShort => (NativeType::Enum, 0.0, 65535.0),
                        Dbf::Char => (NativeType::Long, -128.0, 127.0),
                        Dbf::ULong => (NativeType::Double, 0.0, 4294967295.0),
                        Dbf::Int64 | Dbf::UInt64 => (NativeType::Double, f64::MIN, f64::MAX),
                        _ => (NativeType::Long, -2147483648.0, 2147483647.0),
                    };
                    let n = convert(values, native, &ctx).map_err(err)?;
                    let f = n.to_f64(0).unwrap_or(0.0);
                    if !(lo..=hi).contains(&f) {
                        return Err(PutConvError(format!("{f} is out of range")));
                    }
                    f as i64
                }
                _ => {
                    let n = convert(values, NativeType::Long, &ctx).map_err(err)?;
                    n.to_f64(0).unwrap_or(0.0) as i64
                }
            };
            Ok(FVal::I(wrap_int(dbf, v)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_syntax() {
        assert_eq!(parse_c_integer("0x10"), Some(16));
        assert_eq!(parse_c_integer("010"), Some(8));
        assert_eq!(parse_c_integer("-5"), Some(-5));
        assert_eq!(parse_c_integer("2.7"), None);
        assert_eq!(parse_c_double("1e2"), Some(100.0));
        assert!(parse_c_double("nan").is_some_and(f64::is_nan));
        assert_eq!(parse_c_double("abc"), None);
    }
}
