//! The `.db` tokenizer, following EPICS base
//! `modules/database/src/ioc/dbStatic/dbLex.l`.
//!
//! Two modes, as in dbLex.l: [`Mode::Initial`] for everything except field
//! and info values, [`Mode::Json`] for those values. The token stream spans
//! included files: an `include` pushes a [`Source`] and its end pops it.

use std::sync::Arc;

use super::{DbError, ErrorKind, Location};

/// Lexer start condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Initial,
    Json,
}

/// Keywords of the INITIAL state (only when the whole bare word matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    Include,
    Path,
    AddPath,
    Menu,
    Choice,
    RecordType,
    Field,
    Device,
    Driver,
    Link,
    BreakTable,
    Record,
    GRecord,
    Alias,
    Info,
    Registrar,
    Function,
    Variable,
}

impl Kw {
    fn from_word(w: &str) -> Option<Kw> {
        Some(match w {
            "include" => Kw::Include,
            "path" => Kw::Path,
            "addpath" => Kw::AddPath,
            "menu" => Kw::Menu,
            "choice" => Kw::Choice,
            "recordtype" => Kw::RecordType,
            "field" => Kw::Field,
            "device" => Kw::Device,
            "driver" => Kw::Driver,
            "link" => Kw::Link,
            "breaktable" => Kw::BreakTable,
            "record" => Kw::Record,
            "grecord" => Kw::GRecord,
            "alias" => Kw::Alias,
            "info" => Kw::Info,
            "registrar" => Kw::Registrar,
            "function" => Kw::Function,
            "variable" => Kw::Variable,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kw::Include => "include",
            Kw::Path => "path",
            Kw::AddPath => "addpath",
            Kw::Menu => "menu",
            Kw::Choice => "choice",
            Kw::RecordType => "recordtype",
            Kw::Field => "field",
            Kw::Device => "device",
            Kw::Driver => "driver",
            Kw::Link => "link",
            Kw::BreakTable => "breaktable",
            Kw::Record => "record",
            Kw::GRecord => "grecord",
            Kw::Alias => "alias",
            Kw::Info => "info",
            Kw::Registrar => "registrar",
            Kw::Function => "function",
            Kw::Variable => "variable",
        }
    }
}

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// INITIAL `tokenSTRING`: a bare word or the inside of a `"..."` string
    /// (escapes not translated, as in dbLex.l).
    Str(String),
    Kw(Kw),
    /// `(`, `)`, `{`, `}`, `,` and, in JSON mode, `[`, `]`, `:`.
    Punct(u8),
    JsonNull,
    JsonTrue,
    JsonFalse,
    /// A JSON number, as written.
    JsonNumber(String),
    /// A JSON string, with its quotes (`"..."` or `'...'`).
    JsonString(String),
    /// A JSON bare word.
    JsonBare(String),
    Eof,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Kw(k) => format!("keyword '{}'", k.as_str()),
            Tok::Punct(c) => format!("'{}'", char::from(*c)),
            Tok::JsonNull => "'null'".into(),
            Tok::JsonTrue => "'true'".into(),
            Tok::JsonFalse => "'false'".into(),
            Tok::JsonNumber(s) => format!("number {s}"),
            Tok::JsonString(s) => format!("string {}", s.escape_debug()),
            Tok::JsonBare(s) => format!("word '{s}'"),
            Tok::Eof => "end of file".into(),
        }
    }
}

/// One input file, already macro-expanded line by line.
pub(crate) struct Source {
    pub(crate) name: Arc<str>,
    text: String,
    /// Byte offset in `text` where each source line starts (line 1 first).
    line_starts: Vec<usize>,
    pos: usize,
    /// Where the `include` that opened this file is (None for the top).
    pub(crate) included_from: Option<Location>,
    cursor_line: usize,
    cursor_off: usize,
    cursor_chars: usize,
}

impl Source {
    pub(crate) fn new(
        name: Arc<str>,
        text: String,
        line_starts: Vec<usize>,
        included_from: Option<Location>,
    ) -> Self {
        Source {
            name,
            text,
            line_starts,
            pos: 0,
            included_from,
            cursor_line: 0,
            cursor_off: 0,
            cursor_chars: 0,
        }
    }

    /// The location of byte `off`. Calls are cheap when `off` only grows
    /// (a cursor remembers the current line and column).
    fn location(&mut self, off: usize) -> Location {
        let next_start = |s: &Self, l: usize| s.line_starts.get(l + 1).copied();
        if off < self.cursor_off {
            // Going back: find the line again.
            self.cursor_line = self.line_starts.partition_point(|&s| s <= off).max(1) - 1;
            self.cursor_off = self.line_starts.get(self.cursor_line).copied().unwrap_or(0);
            self.cursor_chars = 0;
        }
        while next_start(self, self.cursor_line).is_some_and(|s| s <= off) {
            self.cursor_line += 1;
            self.cursor_off = self.line_starts.get(self.cursor_line).copied().unwrap_or(0);
            self.cursor_chars = 0;
        }
        let seg = self.text.get(self.cursor_off..off);
        self.cursor_chars += seg.map_or(off.saturating_sub(self.cursor_off), |s| {
            if s.is_ascii() {
                s.len()
            } else {
                s.chars().count()
            }
        });
        self.cursor_off = off;
        Location {
            file: self.name.clone(),
            line: u32::try_from(self.cursor_line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(self.cursor_chars + 1).unwrap_or(u32::MAX),
        }
    }
}

/// A token and where it starts.
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) loc: Location,
}

/// The token stream over a stack of sources.
pub(crate) struct Lexer {
    pub(crate) stack: Vec<Source>,
}

fn is_bareword(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_-+:.[]<>;".contains(&c)
}

fn is_barechar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_-+.".contains(&c)
}

impl Lexer {
    /// The location of the next unread byte of the current file.
    pub(crate) fn here(&mut self) -> Location {
        match self.stack.last_mut() {
            Some(s) => s.location(s.pos),
            None => Location::none(),
        }
    }

    fn err(&self, loc: Location, msg: String) -> DbError {
        DbError::new(ErrorKind::Syntax, loc, msg, self.include_chain())
    }

    /// Where the current file was included from, innermost first.
    pub(crate) fn include_chain(&self) -> Vec<Location> {
        self.stack
            .iter()
            .rev()
            .filter_map(|s| s.included_from.clone())
            .collect()
    }

    /// The next token in `mode`.
    pub(crate) fn next(&mut self, mode: Mode) -> Result<Token, DbError> {
        loop {
            let Some(src) = self.stack.last_mut() else {
                return Ok(Token {
                    tok: Tok::Eof,
                    loc: Location::none(),
                });
            };
            let bytes = src.text.as_bytes();
            // Whitespace and comments.
            while let Some(&c) = bytes.get(src.pos) {
                match c {
                    b' ' | b'\t' | b'\r' | b'\n' => src.pos += 1,
                    b'#' => {
                        while bytes.get(src.pos).is_some_and(|&c| c != b'\n') {
                            src.pos += 1;
                        }
                    }
                    _ => break,
                }
            }
            let start = src.pos;
            let next = bytes.get(start).copied();
            let Some(c) = next else {
                if self.stack.len() > 1 {
                    self.stack.pop();
                    continue;
                }
                return Ok(Token {
                    tok: Tok::Eof,
                    loc: self.here(),
                });
            };
            let Some(src) = self.stack.last_mut() else {
                continue;
            };
            let loc = src.location(start);
            let tok = match mode {
                Mode::Initial => Self::initial(src, c),
                Mode::Json => Self::json(src, c),
            };
            return match tok {
                Ok(tok) => Ok(Token { tok, loc }),
                Err(msg) => {
                    let at = self
                        .stack
                        .last_mut()
                        .map_or(loc.clone(), |s| s.location(s.pos));
                    Err(self.err(at, msg))
                }
            };
        }
    }

    fn word(src: &mut Source, pred: fn(u8) -> bool) -> &str {
        let start = src.pos;
        let bytes = src.text.as_bytes();
        let mut end = start;
        while bytes.get(end).is_some_and(|&c| pred(c)) {
            end += 1;
        }
        src.pos = end;
        src.text.get(start..end).unwrap_or_default()
    }

    fn initial(src: &mut Source, c: u8) -> Result<Tok, String> {
        match c {
            b'(' | b')' | b'{' | b'}' | b',' => {
                src.pos += 1;
                Ok(Tok::Punct(c))
            }
            b'"' => {
                let bytes = src.text.as_bytes();
                let mut i = src.pos + 1;
                loop {
                    match bytes.get(i) {
                        Some(b'"') => break,
                        Some(b'\\') if bytes.get(i + 1).is_some_and(|&n| n != b'\n') => i += 2,
                        Some(b'\n') | None | Some(b'\\') => {
                            src.pos = i;
                            return Err("newline in string, closing quote missing".into());
                        }
                        Some(_) => i += 1,
                    }
                }
                let s = src.text.get(src.pos + 1..i).unwrap_or_default().to_owned();
                src.pos = i + 1;
                Ok(Tok::Str(s))
            }
            b'%' => Err("C definition ('%' line) is only allowed inside a recordtype".into()),
            c if is_bareword(c) => {
                let w = Self::word(src, is_bareword);
                Ok(match Kw::from_word(w) {
                    Some(k) => Tok::Kw(k),
                    None => Tok::Str(w.to_owned()),
                })
            }
            _ => Err(invalid_char(&src.text, src.pos)),
        }
    }

    fn json(src: &mut Source, c: u8) -> Result<Tok, String> {
        match c {
            b':' | b',' | b'[' | b']' | b'{' | b'}' => {
                src.pos += 1;
                Ok(Tok::Punct(c))
            }
            b'"' | b'\'' => {
                let bytes = src.text.as_bytes();
                let mut i = src.pos + 1;
                let mut bad: Option<usize> = None;
                loop {
                    match bytes.get(i) {
                        Some(&q) if q == c => break,
                        None | Some(b'\n') => {
                            src.pos = i;
                            return Err("newline in string, closing quote missing".into());
                        }
                        Some(b'\\') => {
                            let hex =
                                |k: usize| bytes.get(k).is_some_and(|b| b.is_ascii_hexdigit());
                            match bytes.get(i + 1) {
                                Some(b'x') if hex(i + 2) && hex(i + 3) => i += 4,
                                Some(b'u') if (2..6).all(|k| hex(i + k)) => i += 6,
                                Some(b'x' | b'u' | b'1'..=b'9') => {
                                    bad = bad.or(Some(i));
                                    i += 2;
                                }
                                Some(b'\n') | None => {
                                    src.pos = i + 1;
                                    return Err("newline in string, closing quote missing".into());
                                }
                                Some(_) => i += 2,
                            }
                        }
                        Some(&b) if b < 0x20 => {
                            bad = bad.or(Some(i));
                            i += 1;
                        }
                        Some(_) => i += 1,
                    }
                }
                if let Some(at) = bad {
                    src.pos = at;
                    return Err("bad character in JSON string (control character, or escape \\1-\\9, \\x without 2 hex digits, \\u without 4)".into());
                }
                let s = src.text.get(src.pos..=i).unwrap_or_default().to_owned();
                src.pos = i + 1;
                Ok(Tok::JsonString(s))
            }
            b')' => Err("expected a value, found ')'".into()),
            c if is_barechar(c) => {
                let w = Self::word(src, is_barechar);
                Ok(match w {
                    "null" => Tok::JsonNull,
                    "true" => Tok::JsonTrue,
                    "false" => Tok::JsonFalse,
                    _ if is_json_number(w) => Tok::JsonNumber(w.to_owned()),
                    _ => Tok::JsonBare(w.to_owned()),
                })
            }
            _ => Err(invalid_char(&src.text, src.pos)),
        }
    }
}

fn invalid_char(text: &str, pos: usize) -> String {
    match text.get(pos..).and_then(|s| s.chars().next()) {
        Some(ch) if !ch.is_control() => format!("invalid character '{ch}'"),
        Some(ch) => format!("invalid character 0x{:02x}", u32::from(ch)),
        None => "invalid character".into(),
    }
}

/// The `{number}` pattern of dbLex.l, matched against a whole word.
fn is_json_number(w: &str) -> bool {
    let b = w.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let rest = b.get(i..).unwrap_or_default();
    if w == "NaN" || rest == b"Infinity" {
        return true;
    }
    if let Some(h) = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))
    {
        return !h.is_empty() && h.iter().all(u8::is_ascii_hexdigit);
    }
    let digits = |s: &[u8], k: &mut usize| {
        let st = *k;
        while s.get(*k).is_some_and(u8::is_ascii_digit) {
            *k += 1;
        }
        *k - st
    };
    let mut k = 0;
    let n_int = digits(rest, &mut k);
    if n_int > 1 && rest.first() == Some(&b'0') {
        return false;
    }
    let mut n_frac = 0;
    let mut dot = false;
    if rest.get(k) == Some(&b'.') {
        dot = true;
        k += 1;
        n_frac = digits(rest, &mut k);
    }
    if n_int == 0 && n_frac == 0 {
        return false;
    }
    if dot && n_frac == 0 && n_int == 0 {
        return false;
    }
    if matches!(rest.get(k), Some(b'e' | b'E')) {
        k += 1;
        if matches!(rest.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        if digits(rest, &mut k) == 0 {
            return false;
        }
    }
    k == rest.len()
}

#[cfg(test)]
mod tests {
    use super::is_json_number;

    #[test]
    fn json_numbers() {
        for n in [
            "0",
            "-1",
            "+12",
            "1.5",
            "1.",
            "1.e5",
            ".5",
            "-.5e-3",
            "1e10",
            "NaN",
            "-Infinity",
            "0x1F",
        ] {
            assert!(is_json_number(n), "{n}");
        }
        for n in [
            "01", "abc", "1e", "0x", ".", "-", "1.5.3", "+NaN", "1abc", "e5",
        ] {
            assert!(!is_json_number(n), "{n}");
        }
    }
}
