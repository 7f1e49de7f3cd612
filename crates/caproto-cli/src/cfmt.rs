//! The few C `printf` conversions the EPICS tools use, reproduced exactly
//! as glibc prints them: `%e`, `%f`, `%g` with a precision, and the
//! non-finite spellings (`nan`, `-nan`, `inf`, `-inf`).
//!
//! Rust's float formatting is correctly rounded (ties to even on the exact
//! binary value), as glibc's is, so only the layout differs: the exponent
//! of `%e` has a sign and at least two digits, and `%g` picks `%e` or `%f`
//! and strips trailing zeros.

/// The C spelling of a non-finite value, or `None` for a finite one.
fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some(if v.is_sign_negative() { "-nan" } else { "nan" })
    } else if v.is_infinite() {
        Some(if v < 0.0 { "-inf" } else { "inf" })
    } else {
        None
    }
}

/// Largest precision honoured (larger ones are clamped; the tools allow
/// at most 18).
pub const MAX_PRECISION: usize = 1000;

/// C `printf("%.*f", prec, v)`.
pub fn fixed(v: f64, prec: usize) -> String {
    let prec = prec.min(MAX_PRECISION);
    match non_finite(v) {
        Some(s) => s.to_owned(),
        None => format!("{v:.prec$}"),
    }
}

/// C `printf("%.*e", prec, v)`: `d.ddde+XX`.
pub fn exp(v: f64, prec: usize) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_owned();
    }
    let (mantissa, e) = exp_parts(v, prec);
    let sign = if e < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", e.unsigned_abs())
}

/// Rust's `{:.prec$e}` split into mantissa text and decimal exponent.
fn exp_parts(v: f64, prec: usize) -> (String, i32) {
    let prec = prec.min(MAX_PRECISION);
    let s = format!("{v:.prec$e}");
    match s.split_once('e') {
        Some((m, e)) => (m.to_owned(), e.parse().unwrap_or(0)),
        None => (s, 0),
    }
}

/// C `printf("%.*g", prec, v)` (no `#` flag: trailing zeros removed).
pub fn general(v: f64, prec: usize) -> String {
    if let Some(s) = non_finite(v) {
        return s.to_owned();
    }
    let p = prec.clamp(1, MAX_PRECISION);
    // The exponent %e would print with p - 1 decimals (after rounding).
    let (_, x) = exp_parts(v, p - 1);
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    if p_i > x && x >= -4 {
        let decimals = usize::try_from(p_i - 1 - x).unwrap_or(0);
        strip_zeros(format!("{v:.decimals$}"))
    } else {
        let (m, e) = exp_parts(v, p - 1);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(m), e.unsigned_abs())
    }
}

/// Removes trailing zeros after a decimal point, and the point itself if
/// nothing follows it.
fn strip_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// C's conversion of a `double` to `int` as x86-64 compiles it
/// (`cvttsd2si`): truncation toward zero, `i32::MIN` for NaN and values
/// outside the range.
pub fn double_to_int(v: f64) -> i32 {
    if v.is_nan() || !(-2_147_483_648.0..2_147_483_648.0).contains(&v) {
        i32::MIN
    } else {
        v as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_matches_glibc() {
        assert_eq!(general(3.25, 6), "3.25");
        assert_eq!(general(0.0, 6), "0");
        assert_eq!(general(-0.0, 6), "-0");
        assert_eq!(general(1e6, 6), "1e+06");
        assert_eq!(general(123456.0, 6), "123456");
        assert_eq!(general(1234567.0, 6), "1.23457e+06");
        assert_eq!(general(0.0001, 6), "0.0001");
        assert_eq!(general(0.00001, 6), "1e-05");
        assert_eq!(general(999999.5, 6), "1e+06");
        assert_eq!(general(1.5, 0), "2");
        assert_eq!(general(2.5, 1), "2");
        assert_eq!(general(f64::NAN, 6), "nan");
        assert_eq!(general(-f64::INFINITY, 6), "-inf");
        assert_eq!(general(1e300, 17), "1.0000000000000001e+300");
    }

    #[test]
    fn exp_and_fixed_match_glibc() {
        assert_eq!(exp(3.25, 3), "3.250e+00");
        assert_eq!(exp(-0.00012, 2), "-1.20e-04");
        assert_eq!(exp(1e100, 0), "1e+100");
        assert_eq!(fixed(1.23789, 2), "1.24");
        assert_eq!(fixed(0.125, 2), "0.12");
        assert_eq!(fixed(-1.0, 0), "-1");
    }

    #[test]
    fn double_to_int_is_cvttsd2si() {
        assert_eq!(double_to_int(3.9), 3);
        assert_eq!(double_to_int(-3.9), -3);
        assert_eq!(double_to_int(f64::NAN), i32::MIN);
        assert_eq!(double_to_int(1e20), i32::MIN);
    }
}
