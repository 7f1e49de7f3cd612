//! The conversions an EPICS IOC performs when a client reads or writes a
//! PV with a DBR type other than the native one.
//!
//! Sources in EPICS base (7.0): `modules/database/src/ioc/db/dbConvert.c`
//! (arrays), `dbFastLinkConv.c` (scalars), `modules/libcom/src/cvtFast/cvtFast.c`
//! (number to text), `modules/libcom/src/misc/epicsStdlib.c` (text to
//! number), `epicsConvert.c` (double to float), and the record supports'
//! `get_enum_str` / `put_enum_str` (`mbbiRecord.c`, `biRecord.c`).
//!
//! # Rules
//!
//! Numeric to numeric follows C's conversions as compiled for x86-64 (what
//! the IOC does, the `GET`/`PUT` macros of `dbConvert.c` being plain casts):
//! - integer to narrower integer wraps (keeps the low bits): LONG 40000 as
//!   SHORT is -25536, SHORT -1 as ENUM is 65535, as CHAR 255;
//! - float to integer truncates toward zero through a 32-bit `cvttsd2si`:
//!   NaN and values outside the `i32` range become `i32::MIN`, then wrap to
//!   the narrower type (so 1e20 is `i32::MIN` as LONG and 0 as SHORT, CHAR,
//!   ENUM; 300.7 as CHAR is 44);
//! - DOUBLE to FLOAT uses `epicsConvertDoubleToFloat`: magnitudes above
//!   `FLT_MAX` clamp to +-`FLT_MAX`, non-zero magnitudes up to `FLT_MIN`
//!   become +-`FLT_MIN`; NaN and infinities pass;
//! - integers to FLOAT round to nearest; everything to DOUBLE is exact.
//!
//! Number to STRING: SHORT, LONG, CHAR as decimal (`cvtShortToString`, ...);
//! a CHAR array becomes one decimal string per element (`getUcharString`),
//! not text (for text in CHAR arrays see [`crate::dbr::chars_to_text`]).
//! FLOAT / DOUBLE go through [`float_to_string`] / [`double_to_string`]
//! (`cvtFloatToString` / `cvtDoubleToString`) with the context's precision.
//! ENUM to STRING is the state string (`get_enum_str`), the index in decimal
//! when there is no such state (as `dbFastLinkConv.c` `cvt_menu_st` does for
//! out-of-range menu values; an mbbi answers "Illegal Value" instead).
//!
//! STRING to number: an empty string is 0 (`getString*` / `cvt_st_*`);
//! otherwise parsed like `epicsParseInt16` / `epicsParseUInt8` /
//! `epicsParseInt32` in base 10 (no hex) and `epicsParseFloat` /
//! `epicsParseDouble` (`strtod`: decimal, exponent, `0x` hex, `inf`, `nan`):
//! leading C whitespace is skipped and, as the IOC passes a `units`
//! pointer, anything after the number is ignored ("3.5 mm" is 3.5, and
//! "1.5" as SHORT is 1). No number at all is [`ConversionError::NotANumber`];
//! a value outside the type is [`ConversionError::OutOfRange`] (for
//! FLOAT: magnitude >= `FLT_MAX`, or positive and <= `FLT_MIN`). Unsigned
//! targets accept a minus sign as `strtoul` does: "-1" as CHAR is 255.
//!
//! STRING to ENUM with state strings (an ENUM PV being written): an exact
//! match of a state string gives its index (`put_enum_str`), else an integer
//! in base 10 with nothing but whitespace after it and below the number of
//! states (`cvt_st_e`), else [`ConversionError::NoSuchState`]. Without
//! state strings (a STRING PV read as ENUM) it is a plain unsigned 16-bit
//! parse (`getStringUshort`).

use super::text::truncate_at_char_boundary;
use super::values::DbrValues;
use super::{ConversionError, NativeType, MAX_ENUM_STATES, MAX_ENUM_STRING_SIZE};

/// What a conversion needs to know about the PV besides its values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConvertContext<'a> {
    /// Display precision (PREC) used for FLOAT/DOUBLE to STRING. A negative
    /// value behaves as in the IOC: cast to `unsigned short`, hence large,
    /// hence exponential notation with 17 (DOUBLE) / 12 (FLOAT) digits.
    pub precision: i16,
    /// The enum state strings, for ENUM <-> STRING.
    pub enum_strings: &'a [String],
}

impl ConvertContext<'_> {
    /// The precision the IOC uses when the record has no `get_precision`
    /// (`dbConvert.c` `getDoubleString`: `long precision = 6`). Use it for a
    /// write into a STRING PV: it is the destination's precision that counts
    /// and a stringout record has none.
    pub const DEFAULT_PRECISION: i16 = 6;
}

impl Default for ConvertContext<'_> {
    /// Precision [`ConvertContext::DEFAULT_PRECISION`], no enum strings.
    fn default() -> Self {
        ConvertContext {
            precision: ConvertContext::DEFAULT_PRECISION,
            enum_strings: &[],
        }
    }
}

/// Server-side conversion of native values to another native type, as an
/// EPICS IOC does for a client that asks for a different DBR type (or that
/// writes with one). See the module documentation for the rules.
///
/// Converting to the same type is a clone. Every pair of the seven types is
/// defined; only STRING sources can fail.
pub fn convert(
    values: &DbrValues,
    to: NativeType,
    ctx: &ConvertContext<'_>,
) -> Result<DbrValues, ConversionError> {
    if values.native_type() == to {
        return Ok(values.clone());
    }
    Ok(match values {
        DbrValues::String(v) => from_strings(v, to, ctx)?,
        DbrValues::Short(v) => from_numbers(v, to, ctx),
        DbrValues::Float(v) => from_numbers(v, to, ctx),
        DbrValues::Enum(v) => from_numbers(v, to, ctx),
        DbrValues::Char(v) => from_numbers(v, to, ctx),
        DbrValues::Long(v) => from_numbers(v, to, ctx),
        DbrValues::Double(v) => from_numbers(v, to, ctx),
    })
}

/// `cvtDoubleToString` (`cvtFast.c`): the text the IOC returns for a DOUBLE
/// read as DBR_STRING.
///
/// With `p = precision as u16`: if the value is NaN, `p > 8` or
/// `|v| > 1e7`, it is `printf("%*.*e", p + 7, min(p, 17), v)` when `p > 8`
/// or `|v| > 1e16` (note the width: a leading space for positive values),
/// else `printf("%.*f", min(p, 3), v)`. Otherwise it is the fixed-point
/// routine: `p` decimals, rounded half up on the digit after them, so
/// `3.14` with precision 3 is `"3.140"` and `-0.0001` is `"-0.000"`.
pub fn double_to_string(value: f64, precision: i16) -> String {
    // (unsigned short)precision in dbConvert.c / dbFastLinkConv.c.
    let p = precision as u16;
    if value.is_nan() || p > 8 || !(-1e7..=1e7).contains(&value) {
        if p > 8 || value.abs() > 1e16 {
            // abs(): NaN stays on the %f side, as `v > 1e16 || v < -1e16` in C.
            let p = usize::from(p.min(17));
            return c_exp(value, p, p + 7);
        }
        return c_fixed(value, usize::from(p.min(3)));
    }
    let mut out = String::new();
    let mut v = value;
    if v < 0.0 {
        out.push('-');
        v = -v;
    }
    let p = u32::from(p);
    let mut whole = v as i32; // |v| <= 1e7: in range, truncates like C.
    let ftemp = v - f64::from(whole);
    let fplace = 10i32.pow(p);
    let fraction = (ftemp * f64::from(fplace) * 10.0) as i32;
    push_fixed(&mut out, &mut whole, fraction, fplace, p);
    out
}

/// `cvtFloatToString` (`cvtFast.c`): the text the IOC returns for a FLOAT
/// read as DBR_STRING. Like [`double_to_string`] but with `f32` arithmetic,
/// exponential notation from `|v| >= 1e8` or `p > 8` as
/// `printf("%*.*e", p + 6, min(p, 12), v)`.
pub fn float_to_string(value: f32, precision: i16) -> String {
    let p = precision as u16;
    let wide = f64::from(value);
    if value.is_nan() || p > 8 || !(-1e7..=1e7).contains(&wide) {
        if p > 8 || wide >= 1e8 || wide <= -1e8 {
            let p = usize::from(p.min(12));
            return c_exp(wide, p, p + 6);
        }
        return c_fixed(wide, usize::from(p.min(3)));
    }
    let mut out = String::new();
    let mut v = value;
    if v < 0.0 {
        out.push('-');
        v = -v;
    }
    let p = u32::from(p);
    let mut whole = v as i32;
    let ftemp = v - whole as f32; // whole <= 1e7 < 2^24: exact.
    let fplace = 10i32.pow(p);
    let fraction = (ftemp * fplace as f32 * 10.0) as i32; // exact power of ten
    push_fixed(&mut out, &mut whole, fraction, fplace, p);
    out
}

/// The common tail of the fixed-point routines: round the tenfold fraction,
/// carry into the whole part, print.
fn push_fixed(out: &mut String, whole: &mut i32, fraction: i32, fplace: i32, p: u32) {
    let mut fraction = (fraction + 5) / 10;
    if fraction / fplace >= 1 {
        *whole += 1;
        fraction -= fplace;
    }
    out.push_str(&whole.to_string());
    if p > 0 {
        out.push('.');
        out.push_str(&format!("{fraction:0width$}", width = p as usize));
    }
}

/// C `printf("%.*f", p, v)` (glibc: correctly rounded, ties to even;
/// "nan", "-nan", "inf", "-inf").
fn c_fixed(v: f64, p: usize) -> String {
    match c_non_finite(v) {
        Some(s) => s.to_owned(),
        None => format!("{v:.p$}"),
    }
}

/// C `printf("%*.*e", width, p, v)`: exponent with a sign and at least two
/// digits, right-aligned in `width`.
fn c_exp(v: f64, p: usize, width: usize) -> String {
    let body = match c_non_finite(v) {
        Some(s) => s.to_owned(),
        None => {
            let rust = format!("{v:.p$e}");
            match rust.split_once('e') {
                Some((mantissa, exp)) => {
                    let exp: i32 = exp.parse().unwrap_or(0);
                    let sign = if exp < 0 { '-' } else { '+' };
                    format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
                }
                None => rust,
            }
        }
    };
    format!("{body:>width$}")
}

fn c_non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some(if v.is_sign_negative() { "-nan" } else { "nan" })
    } else if v.is_infinite() {
        Some(if v < 0.0 { "-inf" } else { "inf" })
    } else {
        None
    }
}

/// C's `(int)x` for a double as x86-64 compiles it (`cvttsd2si`):
/// truncation toward zero, and `i32::MIN` for NaN or out-of-range values.
pub(crate) fn c_f64_to_i32(x: f64) -> i32 {
    if x > -2_147_483_649.0 && x < 2_147_483_648.0 {
        x as i32
    } else {
        i32::MIN
    }
}

/// `epicsConvertDoubleToFloat` (`epicsConvert.c`): zero, NaN and
/// infinities convert as they are; other magnitudes are clamped to
/// `FLT_MIN..=FLT_MAX` and keep their sign. Written with selects rather than
/// early returns so that array conversion vectorises.
pub(crate) fn epics_f64_to_f32(x: f64) -> f32 {
    let magnitude = x
        .abs()
        .max(f64::from(f32::MIN_POSITIVE))
        .min(f64::from(f32::MAX)) as f32;
    let clamped = if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    };
    if x == 0.0 || !x.is_finite() {
        x as f32
    } else {
        clamped
    }
}

/// One numeric element type and its C conversions.
trait CNum: Copy {
    /// C conversion to `int` (then wrapped to narrower types).
    fn c_i32(self) -> i32;
    /// Conversion to FLOAT.
    fn c_f32(self) -> f32;
    /// Exact conversion to DOUBLE.
    fn f64(self) -> f64;
    /// Conversion to DBR_STRING.
    fn c_string(self, ctx: &ConvertContext<'_>) -> String;
}

macro_rules! int_cnum {
    ($($t:ty),*) => {$(
        impl CNum for $t {
            fn c_i32(self) -> i32 {
                i32::from(self)
            }
            fn c_f32(self) -> f32 {
                f32::from(self)
            }
            fn f64(self) -> f64 {
                f64::from(self)
            }
            fn c_string(self, _: &ConvertContext<'_>) -> String {
                self.to_string()
            }
        }
    )*};
}

int_cnum!(i16, u8);

impl CNum for u16 {
    fn c_i32(self) -> i32 {
        i32::from(self)
    }
    fn c_f32(self) -> f32 {
        f32::from(self)
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
    fn c_string(self, ctx: &ConvertContext<'_>) -> String {
        enum_to_string(self, ctx.enum_strings)
    }
}

impl CNum for i32 {
    fn c_i32(self) -> i32 {
        self
    }
    fn c_f32(self) -> f32 {
        self as f32 // round to nearest, as C's int -> float
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
    fn c_string(self, _: &ConvertContext<'_>) -> String {
        self.to_string()
    }
}

impl CNum for f32 {
    fn c_i32(self) -> i32 {
        c_f64_to_i32(f64::from(self)) // cvttss2si behaves the same
    }
    fn c_f32(self) -> f32 {
        self
    }
    fn f64(self) -> f64 {
        f64::from(self)
    }
    fn c_string(self, ctx: &ConvertContext<'_>) -> String {
        float_to_string(self, ctx.precision)
    }
}

impl CNum for f64 {
    fn c_i32(self) -> i32 {
        c_f64_to_i32(self)
    }
    fn c_f32(self) -> f32 {
        epics_f64_to_f32(self)
    }
    fn f64(self) -> f64 {
        self
    }
    fn c_string(self, ctx: &ConvertContext<'_>) -> String {
        double_to_string(self, ctx.precision)
    }
}

fn from_numbers<T: CNum>(v: &[T], to: NativeType, ctx: &ConvertContext<'_>) -> DbrValues {
    match to {
        NativeType::String => DbrValues::String(v.iter().map(|x| x.c_string(ctx)).collect()),
        NativeType::Short => DbrValues::Short(v.iter().map(|x| x.c_i32() as i16).collect()),
        NativeType::Float => DbrValues::Float(v.iter().map(|x| x.c_f32()).collect()),
        NativeType::Enum => DbrValues::Enum(v.iter().map(|x| x.c_i32() as u16).collect()),
        NativeType::Char => DbrValues::Char(v.iter().map(|x| x.c_i32() as u8).collect()),
        NativeType::Long => DbrValues::Long(v.iter().map(|x| x.c_i32()).collect()),
        NativeType::Double => DbrValues::Double(v.iter().map(|x| x.f64()).collect()),
    }
}

/// The state strings as a client sees them: at most 16.
fn states(enum_strings: &[String]) -> &[String] {
    enum_strings.get(..MAX_ENUM_STATES).unwrap_or(enum_strings)
}

/// ENUM to STRING: the state string (cut to the 25 bytes a `dbr_ctrl_enum`
/// carries), or the index in decimal when there is no such state.
fn enum_to_string(v: u16, enum_strings: &[String]) -> String {
    match states(enum_strings).get(usize::from(v)) {
        Some(s) => truncate_at_char_boundary(s, MAX_ENUM_STRING_SIZE - 1).to_owned(),
        None => v.to_string(),
    }
}

fn string_to_enum(text: &str, enum_strings: &[String]) -> Result<u16, ConversionError> {
    let states = states(enum_strings);
    if states.is_empty() {
        // A STRING PV read as ENUM: getStringUshort.
        return if text.is_empty() {
            Ok(0)
        } else {
            parse_u16(text, false).map_err(|e| e.into_error(text))
        };
    }
    let cut = |s: &String| truncate_at_char_boundary(s, MAX_ENUM_STRING_SIZE - 1) == text;
    if let Some(i) = states.iter().position(|s| s == text || cut(s)) {
        // At most 16 states.
        return Ok(i as u16);
    }
    match parse_u16(text, true) {
        Ok(i) if usize::from(i) < states.len() => Ok(i),
        _ => Err(ConversionError::NoSuchState {
            text: text.to_owned(),
        }),
    }
}

fn from_strings(
    v: &[String],
    to: NativeType,
    ctx: &ConvertContext<'_>,
) -> Result<DbrValues, ConversionError> {
    fn each<T>(
        v: &[String],
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ConversionError>
    where
        T: Default,
    {
        v.iter()
            .map(|s| {
                if s.is_empty() {
                    Ok(T::default())
                } else {
                    parse(s).map_err(|e| e.into_error(s))
                }
            })
            .collect()
    }
    Ok(match to {
        NativeType::String => DbrValues::String(v.to_vec()),
        NativeType::Short => DbrValues::Short(each(v, parse_i16)?),
        NativeType::Float => DbrValues::Float(each(v, parse_f32)?),
        NativeType::Enum => DbrValues::Enum(
            v.iter()
                .map(|s| string_to_enum(s, ctx.enum_strings))
                .collect::<Result<_, _>>()?,
        ),
        NativeType::Char => DbrValues::Char(each(v, parse_u8)?),
        NativeType::Long => DbrValues::Long(each(v, parse_i32)?),
        NativeType::Double => DbrValues::Double(each(v, parse_f64)?),
    })
}

// ---------------------------------------------------------------------------
// Text to number, after epicsStdlib.c.

/// Why a text is not a number (`S_stdlib_*` in `epicsStdlib.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParseError {
    /// `S_stdlib_noConversion`.
    NoConversion,
    /// `S_stdlib_extraneous`: text after the number where none is allowed.
    Extraneous,
    /// `S_stdlib_overflow` / `S_stdlib_underflow`.
    Range,
}

impl ParseError {
    fn into_error(self, text: &str) -> ConversionError {
        let text = text.to_owned();
        match self {
            ParseError::NoConversion | ParseError::Extraneous => {
                ConversionError::NotANumber { text }
            }
            ParseError::Range => ConversionError::OutOfRange { text },
        }
    }
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_space(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_c_space(b)).count();
    s.get(n..).unwrap_or_default()
}

/// `strict` is the `units == NULL` case of `epicsParse*`: only whitespace
/// may follow the number.
fn check_tail(rest: &[u8], strict: bool) -> Result<(), ParseError> {
    if strict && !skip_space(rest).is_empty() {
        Err(ParseError::Extraneous)
    } else {
        Ok(())
    }
}

/// `strtol`/`strtoul` in base 10: whitespace, sign, digits. Returns the
/// sign, the magnitude (`None` on overflow of 64 bits) and the rest.
fn scan_integer(s: &[u8]) -> Result<(bool, Option<u64>, &[u8]), ParseError> {
    let s = skip_space(s);
    let (negative, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(ParseError::NoConversion);
    }
    let (num, rest) = s.split_at_checked(digits).unwrap_or((s, &[]));
    let magnitude = num.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    Ok((negative, magnitude, rest))
}

/// `epicsParseLong` (64-bit `long`).
fn parse_long(text: &str, strict: bool) -> Result<i64, ParseError> {
    let (negative, magnitude, rest) = scan_integer(text.as_bytes())?;
    let magnitude = magnitude.ok_or(ParseError::Range)?;
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
    .ok_or(ParseError::Range)?;
    check_tail(rest, strict)?;
    Ok(value)
}

/// `epicsParseULong` (64-bit `unsigned long`): `strtoul` negates a leading
/// minus in unsigned arithmetic.
fn parse_ulong(text: &str, strict: bool) -> Result<u64, ParseError> {
    let (negative, magnitude, rest) = scan_integer(text.as_bytes())?;
    let magnitude = magnitude.ok_or(ParseError::Range)?;
    check_tail(rest, strict)?;
    Ok(if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    })
}

/// `epicsParseInt16(str, to, 10, &units)`.
fn parse_i16(text: &str) -> Result<i16, ParseError> {
    i16::try_from(parse_long(text, false)?).map_err(|_| ParseError::Range)
}

/// `epicsParseInt32(str, to, 10, &units)`.
fn parse_i32(text: &str) -> Result<i32, ParseError> {
    i32::try_from(parse_long(text, false)?).map_err(|_| ParseError::Range)
}

/// `epicsParseUInt8(str, to, 10, &units)`: values that are the negation of
/// 0..=255 are accepted and wrap.
fn parse_u8(text: &str) -> Result<u8, ParseError> {
    let v = parse_ulong(text, false)?;
    if v > 0xff && v <= !0xff {
        return Err(ParseError::Range);
    }
    Ok(v as u8)
}

/// `epicsParseUInt16(str, to, 10, units)`.
fn parse_u16(text: &str, strict: bool) -> Result<u16, ParseError> {
    let v = parse_ulong(text, strict)?;
    if v > 0xffff && v <= !0xffff {
        return Err(ParseError::Range);
    }
    Ok(v as u16)
}

/// `epicsParseFloat(str, to, &units)`: parsed as double, then refused if
/// `|v| >= FLT_MAX` (finite) or `0 < v <= FLT_MIN`.
fn parse_f32(text: &str) -> Result<f32, ParseError> {
    let v = parse_f64(text)?;
    let abs = v.abs();
    if v > 0.0 && abs <= f64::from(f32::MIN_POSITIVE) {
        return Err(ParseError::Range);
    }
    if v.is_finite() && abs >= f64::from(f32::MAX) {
        return Err(ParseError::Range);
    }
    Ok(v as f32)
}

/// `epicsParseDouble(str, to, &units)` with glibc `strtod` (the POSIX
/// `osdStrtod.h` makes `epicsStrtod` plain `strtod`).
fn parse_f64(text: &str) -> Result<f64, ParseError> {
    let (value, _consumed, range_error) =
        strtod(text.as_bytes()).ok_or(ParseError::NoConversion)?;
    if range_error {
        return Err(ParseError::Range);
    }
    Ok(value)
}

/// glibc `strtod`: returns the value, the bytes consumed, and whether it
/// sets `ERANGE` (overflow to infinity, or underflow to zero / subnormal).
/// `None` when no number starts the text.
fn strtod(s: &[u8]) -> Option<(f64, usize, bool)> {
    let lead = s.iter().take_while(|&&b| is_c_space(b)).count();
    let body = s.get(lead..)?;
    let (negative, sign_len) = match body.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let rest = body.get(sign_len..)?;
    let sign = if negative { -1.0 } else { 1.0 };
    let (magnitude, len, range) = if starts_with_ci(rest, b"0x") && hex_follows(rest.get(2..)?) {
        hex_float(rest.get(2..)?).map(|(v, n, r)| (v, n + 2, r))?
    } else if starts_with_ci(rest, b"inf") {
        let n = if starts_with_ci(rest, b"infinity") {
            8
        } else {
            3
        };
        (f64::INFINITY, n, false)
    } else if starts_with_ci(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let inner = rest
                .get(4..)?
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if rest.get(4 + inner) == Some(&b')') {
                n = 4 + inner + 1;
            }
        }
        (f64::NAN, n, false)
    } else {
        decimal_float(rest)?
    };
    Some((sign * magnitude, lead + sign_len + len, range))
}

fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// After "0x": a hex digit, or a point and a hex digit.
fn hex_follows(s: &[u8]) -> bool {
    match s.first() {
        Some(b) if b.is_ascii_hexdigit() => true,
        Some(b'.') => s.get(1).is_some_and(u8::is_ascii_hexdigit),
        _ => false,
    }
}

/// Unsigned decimal `strtod` syntax: digits [. digits] [e [sign] digits],
/// at least one digit in the mantissa; the exponent is only taken if it has
/// digits. The value comes from Rust's correctly rounded parser, as glibc's
/// is correctly rounded.
fn decimal_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    let int_digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut n = int_digits;
    let mut frac_digits = 0;
    if s.get(n) == Some(&b'.') {
        frac_digits = s
            .get(n + 1..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        n += 1 + frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    let mantissa_end = n;
    if matches!(s.get(n), Some(b'e' | b'E')) {
        let mut m = n + 1;
        if matches!(s.get(m), Some(b'+' | b'-')) {
            m += 1;
        }
        let exp_digits = s
            .get(m..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            n = m + exp_digits;
        }
    }
    let text = core::str::from_utf8(s.get(..n)?).ok()?;
    let value: f64 = text.parse().ok()?;
    let nonzero = s
        .get(..mantissa_end)?
        .iter()
        .any(|b| b.is_ascii_digit() && *b != b'0');
    let range = value.is_infinite() || (nonzero && value.abs() < f64::MIN_POSITIVE);
    Some((value, n, range))
}

/// Hex `strtod` syntax after "0x": hexdigits [. hexdigits] [p [sign]
/// digits]. Up to 15 significant hex digits are kept (60 bits), which is
/// exact for every double.
fn hex_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut mantissa: u64 = 0;
    let mut exp2: i64 = 0;
    let mut n = 0;
    let mut seen_point = false;
    let mut nonzero = false;
    while let Some(&b) = s.get(n) {
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = char::from(b).to_digit(16) {
            nonzero |= d != 0;
            if mantissa < (1 << 56) {
                mantissa = mantissa * 16 + u64::from(d);
                if seen_point {
                    exp2 -= 4;
                }
            } else if !seen_point {
                exp2 += 4;
            }
        } else {
            break;
        }
        n += 1;
    }
    if matches!(s.get(n), Some(b'p' | b'P')) {
        let mut m = n + 1;
        let negative = s.get(m) == Some(&b'-');
        if matches!(s.get(m), Some(b'+' | b'-')) {
            m += 1;
        }
        let digits = s
            .get(m..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 {
            let e = s.get(m..m + digits)?.iter().fold(0i64, |acc, &d| {
                (acc * 10 + i64::from(d - b'0')).min(100_000)
            });
            exp2 += if negative { -e } else { e };
            n = m + digits;
        }
    }
    let value = scale_by_pow2(mantissa as f64, exp2);
    let range = value.is_infinite() || (nonzero && value < f64::MIN_POSITIVE);
    Some((value, n, range))
}

/// `x * 2^e` in exact steps (each factor is a power of two).
fn scale_by_pow2(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    // |e| <= 1000 fits i32.
    x * 2f64.powi(e as i32)
}

#[cfg(test)]
#[allow(clippy::approx_constant)] // 3.14 is the classic PV value, not PI
mod tests {
    use super::*;

    fn ctx(precision: i16) -> ConvertContext<'static> {
        ConvertContext {
            precision,
            enum_strings: &[],
        }
    }

    fn strings(v: &[&str]) -> DbrValues {
        DbrValues::String(v.iter().map(|s| s.to_string()).collect())
    }

    // Expected texts were produced by EPICS base cvtFast.c compiled with gcc
    // on x86-64 (glibc printf).
    #[test]
    fn double_to_string_matches_cvt_double_to_string() {
        let cases: &[(f64, i16, &str)] = &[
            (3.14, 3, "3.140"),
            (3.14, 0, "3"),
            (-3.14, 2, "-3.14"),
            (2.5, 0, "3"),
            (0.5, 0, "1"),
            (0.9999, 3, "1.000"),
            (-0.0001, 3, "-0.000"),
            (-0.0, 3, "0.000"),
            (1e20, 3, " 1.000e+20"),
            (1e7, 2, "10000000.00"),
            (10000000.5, 2, "10000000.50"),
            (12345678.9, 5, "12345678.900"),
            (1e16, 2, "10000000000000000.00"),
            (1.5e16, 2, " 1.50e+16"),
            (-1e17, 4, "-1.0000e+17"),
            (3.14, 9, " 3.140000000e+00"),
            (3.14, -1, " 3.14000000000000012e+00"),
            (f64::NAN, 3, "nan"),
            (-f64::NAN, 3, "-nan"),
            (f64::INFINITY, 3, "       inf"),
            (f64::NEG_INFINITY, 9, "            -inf"),
            (0.1, 8, "0.10000000"),
            (1e-5, 8, "0.00001000"),
            (123.456, 8, "123.45600000"),
            (99999999.0, 2, "99999999.00"),
            (0.125, 2, "0.13"),
            (9999999.99, 2, "9999999.99"),
            (1e8, 4, "100000000.000"),
            (-2.5e-300, 17, "-2.49999999999999998e-300"),
        ];
        for &(v, p, want) in cases {
            assert_eq!(double_to_string(v, p), want, "{v} prec {p}");
        }
    }

    #[test]
    fn float_to_string_matches_cvt_float_to_string() {
        let cases: &[(f32, i16, &str)] = &[
            (3.14, 3, "3.140"),
            (3.14, 0, "3"),
            (-3.14, 2, "-3.14"),
            (2.5, 0, "3"),
            (-0.0001, 3, "-0.000"),
            (1e20, 3, "1.000e+20"),
            (1e7, 2, "10000000.00"),
            (10000000.5, 2, "10000000.00"),
            (12345678.9, 5, "12345679.000"),
            (1e16, 2, "1.00e+16"),
            (3.14, 9, "3.140000105e+00"),
            (3.14, -1, "3.140000104904e+00"),
            (f32::NAN, 3, "nan"),
            (f32::INFINITY, 3, "      inf"),
            (123.456, 8, "123.45600128"),
            (99999999.0, 2, "1.00e+08"),
            (0.125, 2, "0.13"),
            (9999999.99, 2, "10000000.00"),
            (6e7, 5, "60000000.000"),
        ];
        for &(v, p, want) in cases {
            assert_eq!(float_to_string(v, p), want, "{v} prec {p}");
        }
    }

    #[test]
    fn numbers_to_strings() {
        let got = convert(
            &DbrValues::Double(vec![3.14, 1e20]),
            NativeType::String,
            &ctx(3),
        );
        assert_eq!(got, Ok(strings(&["3.140", " 1.000e+20"])));
        let got = convert(
            &DbrValues::Long(vec![-2147483648, 7]),
            NativeType::String,
            &ctx(3),
        );
        assert_eq!(got, Ok(strings(&["-2147483648", "7"])));
        // A CHAR array as DBR_STRING: one decimal string per element.
        let got = convert(
            &DbrValues::Char(b"hi".to_vec()),
            NativeType::String,
            &ctx(0),
        );
        assert_eq!(got, Ok(strings(&["104", "105"])));
        let got = convert(&DbrValues::Short(vec![-5]), NativeType::String, &ctx(0));
        assert_eq!(got, Ok(strings(&["-5"])));
    }

    #[test]
    fn numeric_casts_follow_x86_c() {
        let d = DbrValues::Double(vec![1e20, f64::NAN, -1.0, 300.7, -2.9, 70000.7, 1e10]);
        let c = ConvertContext::default();
        assert_eq!(
            convert(&d, NativeType::Long, &c),
            Ok(DbrValues::Long(vec![
                i32::MIN,
                i32::MIN,
                -1,
                300,
                -2,
                70000,
                i32::MIN
            ]))
        );
        assert_eq!(
            convert(&d, NativeType::Short, &c),
            Ok(DbrValues::Short(vec![0, 0, -1, 300, -2, 4464, 0]))
        );
        assert_eq!(
            convert(&d, NativeType::Char, &c),
            Ok(DbrValues::Char(vec![0, 0, 255, 44, 254, 112, 0]))
        );
        assert_eq!(
            convert(&d, NativeType::Enum, &c),
            Ok(DbrValues::Enum(vec![0, 0, 65535, 300, 65534, 4464, 0]))
        );
        let l = DbrValues::Long(vec![40000, -1, 16_777_217]);
        assert_eq!(
            convert(&l, NativeType::Short, &c),
            Ok(DbrValues::Short(vec![-25536, -1, 1]))
        );
        assert_eq!(
            convert(&l, NativeType::Float, &c),
            Ok(DbrValues::Float(vec![40000.0, -1.0, 16_777_216.0]))
        );
        let e = DbrValues::Enum(vec![65535]);
        assert_eq!(
            convert(&e, NativeType::Short, &c),
            Ok(DbrValues::Short(vec![-1]))
        );
        assert_eq!(
            convert(&e, NativeType::Double, &c),
            Ok(DbrValues::Double(vec![65535.0]))
        );
    }

    #[test]
    fn double_to_float_clamps_like_epics() {
        let d = DbrValues::Double(vec![
            1e300,
            -1e300,
            1e-300,
            -1e-300,
            0.0,
            f64::INFINITY,
            0.5,
        ]);
        let Ok(DbrValues::Float(f)) = convert(&d, NativeType::Float, &ctx(0)) else {
            panic!("not floats");
        };
        assert_eq!(
            f[..6],
            [
                f32::MAX,
                -f32::MAX,
                f32::MIN_POSITIVE,
                -f32::MIN_POSITIVE,
                0.0,
                f32::INFINITY
            ]
        );
        assert_eq!(f[6], 0.5);
        let Ok(DbrValues::Double(back)) = convert(
            &DbrValues::Float(vec![f32::NAN]),
            NativeType::Double,
            &ctx(0),
        ) else {
            panic!("not doubles");
        };
        assert!(back[0].is_nan());
    }

    #[test]
    fn enum_to_string_and_back() {
        let states = vec!["Off".to_string(), "On".to_string(), String::new()];
        let c = ConvertContext {
            precision: 0,
            enum_strings: &states,
        };
        let e = DbrValues::Enum(vec![0, 1, 2, 3, 65535]);
        assert_eq!(
            convert(&e, NativeType::String, &c),
            Ok(strings(&["Off", "On", "", "3", "65535"]))
        );
        assert_eq!(
            convert(
                &strings(&["On", "Off", "", "1", " 0 "]),
                NativeType::Enum,
                &c
            ),
            Ok(DbrValues::Enum(vec![1, 0, 2, 1, 0]))
        );
        for bad in ["on", "3", "-1", "1x", "0x1", "Onn"] {
            assert_eq!(
                convert(&strings(&[bad]), NativeType::Enum, &c),
                Err(ConversionError::NoSuchState { text: bad.into() }),
                "{bad}"
            );
        }
        // Without state strings, a plain u16 parse (STRING PV read as ENUM).
        let none = ConvertContext::default();
        assert_eq!(
            convert(&strings(&["", "7 apples"]), NativeType::Enum, &none),
            Ok(DbrValues::Enum(vec![0, 7]))
        );
        assert_eq!(
            convert(&strings(&["70000"]), NativeType::Enum, &none),
            Err(ConversionError::OutOfRange {
                text: "70000".into()
            })
        );
    }

    #[test]
    fn long_state_strings_are_cut_to_25_bytes_both_ways() {
        let states = vec!["a state string longer than 25 bytes".to_string()];
        let c = ConvertContext {
            precision: 0,
            enum_strings: &states,
        };
        let cut = "a state string longer tha";
        assert_eq!(
            convert(&DbrValues::Enum(vec![0]), NativeType::String, &c),
            Ok(strings(&[cut]))
        );
        assert_eq!(
            convert(&strings(&[cut]), NativeType::Enum, &c),
            Ok(DbrValues::Enum(vec![0]))
        );
        assert_eq!(
            convert(&strings(&[&states[0]]), NativeType::Enum, &c),
            Ok(DbrValues::Enum(vec![0]))
        );
    }

    #[test]
    fn strings_to_integers_like_epics_parse() {
        let c = ConvertContext::default();
        assert_eq!(
            convert(
                &strings(&["", " 12", "-7 volts", "1.5", "+3\t", "0x10"]),
                NativeType::Short,
                &c
            ),
            Ok(DbrValues::Short(vec![0, 12, -7, 1, 3, 0]))
        );
        assert_eq!(
            convert(&strings(&["32768"]), NativeType::Short, &c),
            Err(ConversionError::OutOfRange {
                text: "32768".into()
            })
        );
        assert_eq!(
            convert(&strings(&["-32768"]), NativeType::Short, &c),
            Ok(DbrValues::Short(vec![-32768]))
        );
        for bad in ["abc", " ", "-", "+ 1", ".5", "\u{e9}1"] {
            assert_eq!(
                convert(&strings(&[bad]), NativeType::Long, &c),
                Err(ConversionError::NotANumber { text: bad.into() }),
                "{bad:?}"
            );
        }
        assert_eq!(
            convert(
                &strings(&["2147483647", "-2147483648"]),
                NativeType::Long,
                &c
            ),
            Ok(DbrValues::Long(vec![i32::MAX, i32::MIN]))
        );
        assert_eq!(
            convert(&strings(&["99999999999999999999999"]), NativeType::Long, &c),
            Err(ConversionError::OutOfRange {
                text: "99999999999999999999999".into()
            })
        );
        // strtoul semantics for CHAR: "-1" wraps to 255, 256 overflows.
        assert_eq!(
            convert(
                &strings(&["255", "-1", "-255", "\x0b7"]),
                NativeType::Char,
                &c
            ),
            Ok(DbrValues::Char(vec![255, 255, 1, 7]))
        );
        for bad in ["256", "-256"] {
            assert_eq!(
                convert(&strings(&[bad]), NativeType::Char, &c),
                Err(ConversionError::OutOfRange { text: bad.into() })
            );
        }
    }

    #[test]
    fn strings_to_floats_like_strtod() {
        let c = ConvertContext::default();
        let got = convert(
            &strings(&[
                "", "3.5 mm", "  -1e3", "1.", ".5", "0x1.8p1", "0x10", "1e", "INFINITY", "-inf",
            ]),
            NativeType::Double,
            &c,
        );
        assert_eq!(
            got,
            Ok(DbrValues::Double(vec![
                0.0,
                3.5,
                -1000.0,
                1.0,
                0.5,
                3.0,
                16.0,
                1.0,
                f64::INFINITY,
                f64::NEG_INFINITY
            ]))
        );
        let Ok(DbrValues::Double(nan)) = convert(&strings(&["nan(abc)"]), NativeType::Double, &c)
        else {
            panic!("not doubles");
        };
        assert!(nan[0].is_nan());
        for bad in ["abc", "+.e1", "e5", "--1", " "] {
            assert_eq!(
                convert(&strings(&[bad]), NativeType::Double, &c),
                Err(ConversionError::NotANumber { text: bad.into() }),
                "{bad:?}"
            );
        }
        for range in ["1e400", "-1e400", "1e-400", "1e-310"] {
            assert_eq!(
                convert(&strings(&[range]), NativeType::Double, &c),
                Err(ConversionError::OutOfRange { text: range.into() }),
                "{range}"
            );
        }
        // epicsParseFloat limits.
        assert_eq!(
            convert(&strings(&["1e39"]), NativeType::Float, &c),
            Err(ConversionError::OutOfRange {
                text: "1e39".into()
            })
        );
        assert_eq!(
            convert(&strings(&["1e-39"]), NativeType::Float, &c),
            Err(ConversionError::OutOfRange {
                text: "1e-39".into()
            })
        );
        assert_eq!(
            convert(&strings(&["-1e-39", "0.1"]), NativeType::Float, &c),
            Ok(DbrValues::Float(vec![-1e-39, 0.1]))
        );
    }

    #[test]
    fn strtod_consumes_like_glibc() {
        let cases: &[(&str, usize)] = &[
            ("1.", 2),
            ("  .5", 4),
            ("0x1.8p1", 7),
            ("0x", 1),
            ("nan(abc)", 8),
            ("-nan", 4),
            ("infinit", 3),
            ("infinity", 8),
            ("1e", 1),
            ("1e+", 1),
            ("0x1p-1074", 9),
        ];
        for &(s, n) in cases {
            assert_eq!(strtod(s.as_bytes()).map(|r| r.1), Some(n), "{s}");
        }
        assert_eq!(strtod(b"0x1p-1074").map(|r| r.0), Some(f64::from_bits(1)));
        assert_eq!(strtod(b"+.e1"), None);
    }

    #[test]
    fn same_type_is_a_clone() {
        let v = DbrValues::Double(vec![1.0, 2.0]);
        assert_eq!(convert(&v, NativeType::Double, &ctx(0)), Ok(v));
    }

    #[test]
    fn every_pair_is_defined_for_numbers() {
        for from in NativeType::ALL {
            let v = convert(&DbrValues::Long(vec![1, 2]), from, &ctx(2)).unwrap();
            for to in NativeType::ALL {
                let out = convert(&v, to, &ctx(2)).unwrap();
                assert_eq!(out.native_type(), to);
                assert_eq!(out.len(), 2);
                if to != NativeType::String {
                    // 1 and 2 survive every route ("1.00" parses back as 1).
                    assert_eq!(out.to_f64(1), Some(2.0), "{from:?} -> {to:?}");
                }
            }
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn through_string(v: DbrValues, precision: i16) -> DbrValues {
            let native = v.native_type();
            let s = convert(&v, NativeType::String, &ctx(precision)).unwrap();
            if let DbrValues::String(strs) = &s {
                assert!(
                    strs.iter().all(|x| x.len() < crate::dbr::MAX_STRING_SIZE),
                    "{strs:?}"
                );
            }
            convert(&s, native, &ctx(precision)).unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn integers_survive_a_trip_through_strings(
                a in any::<i16>(), b in any::<i32>(), c in any::<u8>(), e in any::<u16>()
            ) {
                prop_assert_eq!(through_string(DbrValues::Short(vec![a]), 3), DbrValues::Short(vec![a]));
                prop_assert_eq!(through_string(DbrValues::Long(vec![b]), 3), DbrValues::Long(vec![b]));
                prop_assert_eq!(through_string(DbrValues::Char(vec![c]), 3), DbrValues::Char(vec![c]));
                prop_assert_eq!(through_string(DbrValues::Enum(vec![e]), 3), DbrValues::Enum(vec![e]));
            }

            #[test]
            fn doubles_survive_with_17_digits(x in any::<f64>().prop_filter("normal", |x| x.is_normal())) {
                // precision -1 -> (unsigned short) 65535 -> "%24.17e".
                prop_assert_eq!(through_string(DbrValues::Double(vec![x]), -1), DbrValues::Double(vec![x]));
            }

            #[test]
            fn floats_survive_with_12_digits(
                x in any::<f32>().prop_filter("normal, below FLT_MAX", |x| x.is_normal() && x.abs() < f32::MAX)
            ) {
                prop_assert_eq!(through_string(DbrValues::Float(vec![x]), -1), DbrValues::Float(vec![x]));
            }

            #[test]
            fn fixed_point_text_fits_and_parses(x in -1e7f64..1e7, p in 0i16..=8) {
                let s = double_to_string(x, p);
                prop_assert!(s.len() < 40);
                let back = parse_f64(&s).unwrap();
                prop_assert!((back - x).abs() <= 0.5 * 10f64.powi(-i32::from(p)) + 1e-9 * x.abs(), "{} {}", x, s);
            }

            #[test]
            fn any_text_converts_or_errs_without_panic(s in "\\PC{0,40}|[-+ 0-9.eExXa-fA-FnNiI()]{0,20}") {
                let states = vec!["a".to_string(), "1".to_string()];
                let c = ConvertContext { precision: 3, enum_strings: &states };
                for to in NativeType::ALL {
                    let _ = convert(&DbrValues::String(vec![s.clone()]), to, &c);
                }
                let _ = strtod(s.as_bytes());
            }

            #[test]
            fn any_number_converts_to_every_type(x in any::<f64>(), p in any::<i16>()) {
                for to in NativeType::ALL {
                    let out = convert(&DbrValues::Double(vec![x]), to, &ctx(p)).unwrap();
                    prop_assert_eq!(out.len(), 1);
                }
                let s = double_to_string(x, p);
                prop_assert!(s.len() < 40, "{}", s);
                let s = float_to_string(x as f32, p);
                prop_assert!(s.len() < 40, "{}", s);
            }
        }
    }
}
