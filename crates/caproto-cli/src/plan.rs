//! What the C tools request from the server, as pure functions of their
//! options and of the channel's native type and count: the DBR type and
//! count of each read or subscription, and the type and payload of
//! `caput`'s write (`caget.c`, `camonitor.c`, `caput.c`).
//!
//! A front-end connects the channels, asks these functions what to send,
//! and hands the replies to [`crate::format`].

use caproto_core::dbr::{DbrType, DbrValues, NativeType};

use crate::args::{GetFormat, GetOptions, MonitorOptions, PutOptions};
use crate::format::default_request_type;
use crate::messages;

/// The read `caget` issues for a channel: (type, count).
///
/// Plain, terse and wide output read `DBR_TIME_<native>` (enums as
/// strings unless `-n`, floats as strings with `-s`); `-d` reads the given
/// type. The count is the `-#` count when smaller than the channel's, else
/// the channel's; with `-c` (`ca_array_get_callback`) it is the `-#` count
/// capped to the channel's, 0 (the current length) without `-#`.
pub fn get_request(o: &GetOptions, native: NativeType, native_count: u32) -> (DbrType, u32) {
    let t = match o.format {
        GetFormat::Dbr(t) => t,
        _ => default_request_type(native, o.style.enum_as_number, o.float_as_string),
    };
    let count = if o.callback {
        o.count.min(native_count)
    } else if o.count != 0 && o.count < native_count {
        o.count
    } else {
        native_count
    };
    (t, count)
}

/// The subscription `camonitor` creates: (type, count). A count of 0
/// (no `-#`) asks for the current length of the array at each update.
pub fn monitor_request(
    o: &MonitorOptions,
    native: NativeType,
    native_count: u32,
) -> (DbrType, u32) {
    let t = default_request_type(native, o.style.enum_as_number, o.float_as_string);
    (t, o.count.min(native_count))
}

/// The reads `caput` prints ("Old" and "New"): (type, count): the
/// channel's native count, `DBR_TIME_<native>`, enums as strings unless
/// `-n`.
pub fn put_read_request(o: &PutOptions, native: NativeType, native_count: u32) -> (DbrType, u32) {
    (
        default_request_type(native, o.enum_as_number, false),
        native_count,
    )
}

/// The write `caput` sends.
#[derive(Clone, Debug, PartialEq)]
pub struct PutRequest {
    /// The values, whose native type is the DBR type written
    /// (`DBR_STRING`, `DBR_DOUBLE` or `DBR_CHAR`).
    pub values: DbrValues,
    /// Warnings to print on stderr before writing.
    pub warnings: Vec<String>,
}

impl PutRequest {
    /// The DBR type of the write.
    pub fn dbr_type(&self) -> DbrType {
        DbrType::from_u16(self.values.native_type().code()).unwrap_or(DbrType::String)
    }
}

/// What `caput` writes for its value arguments, given the channel's native
/// type and (for an ENUM channel) its state strings, read with
/// `DBR_GR_ENUM` first. `Err` is the one-line message caput prints before
/// exiting with status 1.
///
/// The C rules, oddities included:
/// - not an ENUM: every value is unescaped (`\n`, `\x41`, ...) and cut to
///   39 bytes, and written as `DBR_STRING`; with `-S`, the (single) value
///   unescaped becomes a NUL-terminated `DBR_CHAR` array;
/// - ENUM with `-n`: every value must start with a number (`strtod`), and
///   is written as `DBR_DOUBLE`;
/// - ENUM otherwise: a value equal to a state string is written as a
///   string; else, unless `-s`, as a number; the *last* value decides the
///   type of the whole write (caput.c resets it per value), and a value
///   matched by its string is then written as 0.
pub fn put_request(
    o: &PutOptions,
    native: NativeType,
    enum_strings: &[String],
) -> Result<PutRequest, String> {
    let mut warnings = Vec::new();
    let no_str = enum_strings.len() as f64;
    if native == NativeType::Enum {
        if o.enum_as_number {
            let mut d = Vec::with_capacity(o.values.len());
            for v in &o.values {
                let Some(x) = strtod(v) else {
                    return Err(messages::enum_index_not_a_number(v));
                };
                if x >= no_str {
                    warnings.push(messages::enum_index_too_large(v));
                }
                d.push(x);
            }
            return Ok(PutRequest {
                values: DbrValues::Double(d),
                warnings,
            });
        }
        let mut strings = Vec::with_capacity(o.values.len());
        let mut doubles = Vec::with_capacity(o.values.len());
        let mut as_double = false;
        for v in &o.values {
            let s = string_value(v);
            as_double = false;
            if enum_strings.contains(&s) {
                doubles.push(0.0);
            } else {
                let x = strtod(&s).filter(|_| !o.enum_as_string);
                let Some(x) = x else {
                    return Err(messages::enum_string_invalid(&s));
                };
                if x >= no_str {
                    warnings.push(messages::enum_index_too_large(&s));
                }
                doubles.push(x);
                as_double = true;
            }
            strings.push(s);
        }
        let values = if as_double {
            DbrValues::Double(doubles)
        } else {
            DbrValues::String(strings)
        };
        return Ok(PutRequest { values, warnings });
    }
    if o.style.char_array_as_string {
        let text = o.values.join(" ");
        let mut bytes = unescape(text.as_bytes(), usize::MAX);
        bytes.push(0);
        return Ok(PutRequest {
            values: DbrValues::Char(bytes),
            warnings,
        });
    }
    Ok(PutRequest {
        values: DbrValues::String(o.values.iter().map(|v| string_value(v)).collect()),
        warnings,
    })
}

/// A value argument as caput stores it in a `dbr_string_t`: unescaped,
/// at most 39 bytes (cut at a character boundary here).
fn string_value(v: &str) -> String {
    let raw = unescape(v.as_bytes().get(..40).unwrap_or(v.as_bytes()), 39);
    let text = String::from_utf8_lossy(&raw).into_owned();
    caproto_core::dbr::truncate_at_char_boundary(&text, 39).to_owned()
}

/// `epicsStrnRawFromEscaped`: C escapes to bytes, at most `max` bytes out,
/// stopping at a NUL. `\0` is a NUL byte, `\xh` / `\xhh` a byte, an
/// unknown escape the character itself.
pub fn unescape(src: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len().min(max));
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while out.len() < max {
        let Some(&c) = src.get(i) else { break };
        i += 1;
        if c == 0 {
            break;
        }
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = src.get(i) else { break };
        i += 1;
        let b = match e {
            0 => break,
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'0' => 0,
            b'x' => {
                let Some(h1) = src.get(i).and_then(|&c| hex(c)) else {
                    // Not a hex digit: that character is read normally.
                    continue;
                };
                i += 1;
                let mut u = h1;
                if let Some(h2) = src.get(i).and_then(|&c| hex(c)) {
                    i += 1;
                    u = u << 4 | h2;
                }
                u as u8
            }
            other => other,
        };
        out.push(b);
    }
    out
}

/// C `strtod` on a prefix: `None` if no number starts the text (after
/// blanks); what follows the number is ignored.
pub fn strtod(s: &str) -> Option<f64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let b = t.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let rest = t.get(i..)?.to_ascii_lowercase();
    let neg = b.first() == Some(&b'-');
    let sign = if neg { -1.0 } else { 1.0 };
    if rest.starts_with("inf") {
        return Some(sign * f64::INFINITY);
    }
    if rest.starts_with("nan") {
        return Some(f64::NAN);
    }
    if let Some(hex_digits) = rest.strip_prefix("0x") {
        let digits: String = hex_digits
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect();
        if digits.is_empty() {
            return Some(sign * 0.0);
        }
        return u64::from_str_radix(&digits, 16)
            .ok()
            .map(|v| sign * v as f64)
            .or(Some(sign * f64::INFINITY));
    }
    let mut end = i;
    let mut digits = 0;
    while b.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
        digits += 1;
    }
    if b.get(end) == Some(&b'.') {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(b.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        if b.get(e).is_some_and(u8::is_ascii_digit) {
            while b.get(e).is_some_and(u8::is_ascii_digit) {
                e += 1;
            }
            end = e;
        }
    }
    t.get(..end)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse_get, parse_monitor, parse_put};

    fn put(args: &[&str]) -> PutOptions {
        let mut v = vec!["caput"];
        v.extend_from_slice(args);
        parse_put(v, "caput", None).unwrap().options
    }

    #[test]
    fn caget_requests() {
        let o = parse_get(["g", "pv"], "caget", None).unwrap().options;
        assert_eq!(
            get_request(&o, NativeType::Enum, 1),
            (DbrType::TimeString, 1)
        );
        assert_eq!(
            get_request(&o, NativeType::Double, 1000),
            (DbrType::TimeDouble, 1000)
        );
        let o = parse_get(["g", "-n", "-#", "10", "pv"], "caget", None)
            .unwrap()
            .options;
        assert_eq!(
            get_request(&o, NativeType::Enum, 1),
            (DbrType::TimeShort, 1)
        );
        assert_eq!(
            get_request(&o, NativeType::Double, 1000),
            (DbrType::TimeDouble, 10)
        );
        let o = parse_get(["g", "-s", "-d", "CTRL_DOUBLE", "pv"], "caget", None)
            .unwrap()
            .options;
        assert_eq!(
            get_request(&o, NativeType::Float, 1),
            (DbrType::CtrlDouble, 1)
        );
        let o = parse_get(["g", "-s", "pv"], "caget", None).unwrap().options;
        assert_eq!(
            get_request(&o, NativeType::Float, 1),
            (DbrType::TimeString, 1)
        );
    }

    #[test]
    fn camonitor_requests() {
        let o = parse_monitor(["m", "pv"], "camonitor", None)
            .unwrap()
            .options;
        assert_eq!(
            monitor_request(&o, NativeType::Double, 1),
            (DbrType::TimeDouble, 0)
        );
        let o = parse_monitor(["m", "-#", "1", "pv"], "camonitor", None)
            .unwrap()
            .options;
        assert_eq!(
            monitor_request(&o, NativeType::Double, 5),
            (DbrType::TimeDouble, 1)
        );
    }

    #[test]
    fn caput_writes_strings_or_chars() {
        let o = put(&["pv", "new", "value"]);
        assert_eq!(
            put_read_request(&o, NativeType::Enum, 1),
            (DbrType::TimeString, 1)
        );
        let r = put_request(&o, NativeType::String, &[]).unwrap();
        assert_eq!(r.values, DbrValues::String(vec!["new value".into()]));
        assert_eq!(r.dbr_type(), DbrType::String);
        let r = put_request(
            &put(&["-a", "pv", "3", "1.5", "2.5", "3.5"]),
            NativeType::Double,
            &[],
        )
        .unwrap();
        assert_eq!(r.values.len(), 3);
        let r = put_request(&put(&["-S", "pv", "char", "string"]), NativeType::Char, &[]).unwrap();
        assert_eq!(r.values, DbrValues::Char(b"char string\0".to_vec()));
        let long = "x".repeat(50);
        let r = put_request(&put(&["pv", &long]), NativeType::String, &[]).unwrap();
        assert_eq!(r.values, DbrValues::String(vec!["x".repeat(39)]));
    }

    #[test]
    fn caput_enum_rules() {
        let states: Vec<String> = ["zero", "one", "two"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = put_request(&put(&["pv", "two"]), NativeType::Enum, &states).unwrap();
        assert_eq!(r.values, DbrValues::String(vec!["two".into()]));
        let r = put_request(&put(&["pv", "2"]), NativeType::Enum, &states).unwrap();
        assert_eq!(r.values, DbrValues::Double(vec![2.0]));
        let r = put_request(&put(&["pv", "7"]), NativeType::Enum, &states).unwrap();
        assert_eq!(r.warnings, [messages::enum_index_too_large("7")]);
        assert_eq!(
            put_request(&put(&["pv", "bogus"]), NativeType::Enum, &states),
            Err(messages::enum_string_invalid("bogus"))
        );
        assert_eq!(
            put_request(&put(&["-s", "pv", "1"]), NativeType::Enum, &states),
            Err(messages::enum_string_invalid("1"))
        );
        assert_eq!(
            put_request(&put(&["-n", "pv", "one"]), NativeType::Enum, &states),
            Err(messages::enum_index_not_a_number("one"))
        );
    }

    #[test]
    fn unescape_follows_epics() {
        assert_eq!(unescape(br"a\tb\x41\x4g\q\\", 100), b"a\tbA\x04gq\\");
        assert_eq!(unescape(b"abcdef", 3), b"abc");
        assert_eq!(unescape(br"a\0b", 10), b"a\0b");
    }

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod(" 3.5 mm"), Some(3.5));
        assert_eq!(strtod("-1e3x"), Some(-1000.0));
        assert_eq!(strtod("1e"), Some(1.0));
        assert_eq!(strtod(".5"), Some(0.5));
        assert_eq!(strtod("0x10"), Some(16.0));
        assert_eq!(strtod("abc"), None);
        assert_eq!(strtod("."), None);
        assert_eq!(strtod("-inf"), Some(f64::NEG_INFINITY));
    }
}
