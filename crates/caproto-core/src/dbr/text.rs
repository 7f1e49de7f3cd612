//! Fixed-size, NUL-terminated text fields of the DBR structures
//! (`db_access.h`: `dbr_string_t` 40 bytes, `units` 8, enum `strs` 26).
//!
//! Decoding stops at the first NUL (real rsrv leaves stale bytes after it),
//! keeps valid UTF-8 as is and otherwise reads each byte as Latin-1, so no
//! input is rejected. Encoding writes UTF-8 and pads with NULs.

/// Decodes a text field: bytes up to the first NUL (or the whole field),
/// as UTF-8 if valid, else one Latin-1 character per byte.
pub fn decode_text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let text = field.get(..end).unwrap_or_default();
    match core::str::from_utf8(text) {
        Ok(s) => s.to_owned(),
        Err(_) => text.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char
/// boundary.
pub fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Appends `s` as a field of `size` bytes: at most `size - 1` bytes of text
/// (cut at a char boundary, as the IOC's `strncpy` + terminating NUL cuts a
/// longer value) and NUL padding.
pub(crate) fn put_text_truncated(out: &mut Vec<u8>, s: &str, size: usize) {
    let text = truncate_at_char_boundary(s, size.saturating_sub(1));
    out.extend_from_slice(text.as_bytes());
    out.resize(out.len() + (size - text.len()), 0);
}

/// Appends `s` as a 40-byte `dbr_string_t`; the caller has checked that it
/// is at most 39 bytes.
pub(crate) fn put_string_value(out: &mut Vec<u8>, s: &str) {
    put_text_truncated(out, s, super::MAX_STRING_SIZE);
}

/// The text held in a CHAR array (a "long string", e.g. a waveform of CHAR
/// or a field read with the `$` modifier): bytes up to the first NUL,
/// decoded like a string field. The IOC itself never converts a CHAR array
/// to one DBR_STRING (`dbConvert.c` `getUcharString` gives one decimal
/// string per element); clients such as `caget -S` do this on their side.
pub fn chars_to_text(chars: &[u8]) -> String {
    decode_text(chars)
}

/// A text as a CHAR array: its UTF-8 bytes and a terminating NUL, the form
/// `caput -S` writes into a CHAR waveform.
pub fn text_to_chars(text: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 1);
    v.extend_from_slice(text.as_bytes());
    v.push(0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_stops_at_first_nul_and_ignores_garbage_after_it() {
        let field = *b"abc\0GARBAGE\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        assert_eq!(decode_text(&field), "abc");
    }

    #[test]
    fn decode_without_nul_takes_the_whole_field() {
        assert_eq!(decode_text(b"mm/s\xc2\xb5Ax"), "mm/s\u{b5}Ax");
    }

    #[test]
    fn invalid_utf8_is_read_as_latin1() {
        // 0xb5 alone is MICRO SIGN in Latin-1; 0xe9 is e-acute.
        assert_eq!(decode_text(&[0xb5, b'A', 0xe9, 0, 0xff]), "\u{b5}A\u{e9}");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_at_char_boundary("abcdefgh", 7), "abcdefg");
        // "µ" is 2 bytes: 6 ASCII + µ = 8 bytes, cut to 7 drops the whole µ.
        assert_eq!(truncate_at_char_boundary("abcdef\u{b5}", 7), "abcdef");
        let mut out = Vec::new();
        put_text_truncated(&mut out, "abcdef\u{b5}", 8);
        assert_eq!(out, b"abcdef\0\0");
    }

    #[test]
    fn long_strings_in_char_arrays() {
        assert_eq!(text_to_chars("ab"), b"ab\0");
        assert_eq!(chars_to_text(b"ab\0zz"), "ab");
        assert_eq!(
            chars_to_text(&text_to_chars("\u{e9}t\u{e9}")),
            "\u{e9}t\u{e9}"
        );
    }

    #[test]
    fn string_value_is_nul_padded_to_40() {
        let mut out = Vec::new();
        put_string_value(&mut out, "hi");
        assert_eq!(out.len(), 40);
        assert_eq!(&out[..3], b"hi\0");
        assert!(out[2..].iter().all(|&b| b == 0));
    }
}
