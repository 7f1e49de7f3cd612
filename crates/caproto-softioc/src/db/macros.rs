//! Macro definitions and `$(NAME)` / `${NAME}` substitution, following EPICS
//! base `modules/libcom/src/macLib/macCore.c` (`trans`/`refer`) and
//! `macUtil.c` (`macParseDefns`).
//!
//! Rules (from macCore.c):
//! - a reference is `$(` or `${` followed by a name, an optional `=default`,
//!   optional `,NAME=value` scoped definitions, and the closing `)` / `}`;
//!   the name, default and values may themselves contain references;
//! - inside single quotes nothing is expanded;
//! - at the outermost level (the `.db` line) quotes and backslash escapes are
//!   copied; inside names, defaults and macro values they are removed;
//! - an undefined reference without default becomes `$(NAME,undefined)`, a
//!   self-referencing one `$(NAME,recursive)`; inside defaults and scoped
//!   definitions (where macLib suppresses warnings) it becomes `$(NAME)`.

/// An ordered set of macro definitions (name → raw, unexpanded value), as
/// built by `softIoc -m "A=1,B=2"` (`macParseDefns` + `macInstallMacros`).
///
/// Values are stored raw: references in them are expanded, and their quotes
/// and escapes removed, when they are used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Macros {
    defs: Vec<(String, String)>,
}

impl Macros {
    /// No macros.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a definition string `"A=1,B=2"` like EPICS `macParseDefns`:
    /// whitespace around names and values is ignored, quotes and `\` escapes
    /// protect `,` and `=`; they are removed from names and kept in values
    /// (and removed when the value is expanded). A name without `=` undefines
    /// that macro.
    pub fn parse(defns: &str) -> Self {
        let mut m = Self::new();
        m.apply_defns(defns);
        m
    }

    /// Applies a definition string (see [`Macros::parse`]) on top of the
    /// current definitions.
    pub fn apply_defns(&mut self, defns: &str) {
        for (name, value) in parse_defns(defns) {
            match value {
                Some(v) => self.set(&name, &v),
                None => self.unset(&name),
            }
        }
    }

    /// Defines (or redefines) `name` with the raw `value`.
    pub fn set(&mut self, name: &str, value: &str) {
        if let Some(slot) = self.defs.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value.to_owned();
        } else {
            self.defs.push((name.to_owned(), value.to_owned()));
        }
    }

    /// Removes the definition of `name`, if any.
    pub fn unset(&mut self, name: &str) {
        self.defs.retain(|(n, _)| n != name);
    }

    /// The raw (unexpanded) value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.defs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The definitions, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.defs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Expands the references in `text` like `macExpandString`.
    ///
    /// # Errors
    ///
    /// [`MacroLimit`] when the expansion nests too deeply or grows too large
    /// (e.g. `A=$(B)$(B)`, `B=$(C)$(C)`, ...).
    pub fn expand(&self, text: &str) -> Result<Expanded, MacroLimit> {
        Expander::new(self).expand(text)
    }
}

/// The result of [`Macros::expand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The expanded text.
    pub text: String,
    /// References that could not be expanded (undefined or recursive).
    pub problems: Vec<MacroProblem>,
    /// Whether some reference could not be expanded (macLib's error flag;
    /// also set when the problem was in a place where warnings are quiet).
    pub incomplete: bool,
}

/// A reference that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroProblem {
    /// Byte offset of the outermost `$` in the expanded input.
    pub offset: usize,
    /// The macro name.
    pub name: String,
    /// `true` for a recursive reference, `false` for an undefined macro.
    pub recursive: bool,
}

/// Macro expansion stopped by a safety limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacroLimit {
    /// References nested deeper than [`MAX_MACRO_DEPTH`].
    TooDeep,
    /// The expansion of one line exceeded [`MAX_EXPANSION_BYTES`].
    TooLong,
    /// The expansion of one line expanded more than [`MAX_REFERENCES`]
    /// references (even if they produced little text).
    TooManyReferences,
}

impl std::fmt::Display for MacroLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MacroLimit::TooDeep => write!(
                f,
                "macro references nested deeper than {MAX_MACRO_DEPTH} levels"
            ),
            MacroLimit::TooLong => write!(
                f,
                "macro expansion longer than {MAX_EXPANSION_BYTES} bytes (recursive definitions?)"
            ),
            MacroLimit::TooManyReferences => write!(
                f,
                "macro expansion needs more than {MAX_REFERENCES} references (recursive definitions?)"
            ),
        }
    }
}

/// Maximum nesting of macro references (in the text and through values).
pub const MAX_MACRO_DEPTH: u32 = 100;
/// Maximum size of one expanded line.
pub const MAX_EXPANSION_BYTES: usize = 1 << 20;
/// Maximum number of references expanded for one line.
pub const MAX_REFERENCES: usize = 100_000;

/// Splits a definition string into (name, value) pairs; `None` = undefine.
fn parse_defns(defns: &str) -> Vec<(String, Option<String>)> {
    #[derive(PartialEq)]
    enum St {
        PreName,
        InName,
        PreValue,
        InValue,
    }
    let b = defns.as_bytes();
    let mut out = Vec::new();
    let mut quote = 0u8;
    let mut st = St::PreName;
    let (mut name_start, mut val_start) = (0usize, 0usize);
    let mut name: Option<&[u8]> = None;
    let trim = |s: &[u8]| -> Vec<u8> {
        let mut e = s.len();
        while e > 0 && s.get(e - 1).is_some_and(|c| c.is_ascii_whitespace()) {
            e -= 1;
        }
        s.get(..e).unwrap_or_default().to_vec()
    };
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'\'' || c == b'"' {
            quote = c;
        }
        let escape = c == b'\\' && i + 1 < b.len();
        let plain = quote == 0 && !escape;
        loop {
            match st {
                St::PreName => {
                    if plain && (c.is_ascii_whitespace() || c == b',') {
                        break;
                    }
                    name_start = i;
                    st = St::InName;
                }
                St::InName => {
                    if !plain || (c != b'=' && c != b',') {
                        break;
                    }
                    name = b.get(name_start..i);
                    if c == b',' {
                        // A name without value: undefine it.
                        out.push((unquote(&trim(name.unwrap_or_default())), None));
                        name = None;
                        st = St::PreName;
                        break;
                    }
                    st = St::PreValue;
                    break;
                }
                St::PreValue => {
                    if plain && c.is_ascii_whitespace() {
                        break;
                    }
                    val_start = i;
                    st = St::InValue;
                }
                St::InValue => {
                    if !plain || c != b',' {
                        break;
                    }
                    let v = trim(b.get(val_start..i).unwrap_or_default());
                    out.push((
                        unquote(&trim(name.unwrap_or_default())),
                        Some(String::from_utf8_lossy(&v).into_owned()),
                    ));
                    name = None;
                    st = St::PreName;
                    break;
                }
            }
        }
        i += if escape { 2 } else { 1 };
    }
    match st {
        St::PreName => {}
        St::InName => {
            let n = trim(b.get(name_start..).unwrap_or_default());
            out.push((unquote(&n), None));
        }
        St::PreValue => out.push((
            unquote(&trim(name.unwrap_or_default())),
            Some(String::new()),
        )),
        St::InValue => {
            let v = trim(b.get(val_start..).unwrap_or_default());
            out.push((
                unquote(&trim(name.unwrap_or_default())),
                Some(String::from_utf8_lossy(&v).into_owned()),
            ));
        }
    }
    out
}

/// Removes quotes and escapes from a macro name (macParseDefns does this for
/// names only).
fn unquote(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut quote = 0u8;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        i += 1;
        if quote != 0 {
            if c == quote {
                quote = 0;
                continue;
            }
        } else if c == b'\'' || c == b'"' {
            quote = c;
            continue;
        }
        if c == b'\\' {
            if let Some(&n) = s.get(i) {
                out.push(n);
                i += 1;
                continue;
            }
        }
        out.push(c);
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Entry {
    name: Vec<u8>,
    raw: std::rc::Rc<[u8]>,
    visited: bool,
}

/// Expands lines with one set of macros; scoped definitions live on a stack.
pub(crate) struct Expander {
    entries: Vec<Entry>,
    suppress: bool,
    depth: u32,
    budget: usize,
    refs: usize,
    ref_offset: usize,
    problems: Vec<MacroProblem>,
}

/// Where `trans` puts its output: a buffer, or nowhere (syntax-only scan,
/// which never looks macros up).
enum Out<'a> {
    Emit(&'a mut Vec<u8>),
    Skip,
}

impl Out<'_> {
    fn is_skip(&self) -> bool {
        matches!(self, Out::Skip)
    }
}

impl Expander {
    pub(crate) fn new(macros: &Macros) -> Self {
        Expander {
            entries: macros
                .defs
                .iter()
                .map(|(n, v)| Entry {
                    name: n.as_bytes().to_vec(),
                    raw: v.as_bytes().into(),
                    visited: false,
                })
                .collect(),
            suppress: false,
            depth: 0,
            budget: 0,
            refs: 0,
            ref_offset: 0,
            problems: Vec::new(),
        }
    }

    /// Expands one line (or any string) at the outermost level.
    pub(crate) fn expand(&mut self, text: &str) -> Result<Expanded, MacroLimit> {
        if !text.contains('$') {
            return Ok(Expanded {
                text: text.to_owned(),
                problems: Vec::new(),
                incomplete: false,
            });
        }
        self.budget = MAX_EXPANSION_BYTES;
        self.refs = MAX_REFERENCES;
        self.depth = 0;
        self.problems.clear();
        self.suppress = false;
        let mut out = Vec::with_capacity(text.len() + 16);
        let mut pos = 0;
        let mut error = false;
        self.trans(
            text.as_bytes(),
            &mut pos,
            0,
            b"",
            &mut Out::Emit(&mut out),
            &mut error,
        )?;
        Ok(Expanded {
            text: String::from_utf8_lossy(&out).into_owned(),
            problems: std::mem::take(&mut self.problems),
            incomplete: error,
        })
    }

    fn push(&mut self, out: &mut Out<'_>, bytes: &[u8]) -> Result<(), MacroLimit> {
        if let Out::Emit(v) = out {
            if bytes.len() > self.budget {
                return Err(MacroLimit::TooLong);
            }
            self.budget -= bytes.len();
            v.extend_from_slice(bytes);
        }
        Ok(())
    }

    /// Translates `s[*pos..]` until a byte in `term` (or the end); leaves
    /// `*pos` at the terminator (or `s.len()`).
    fn trans(
        &mut self,
        s: &[u8],
        pos: &mut usize,
        level: u32,
        term: &[u8],
        out: &mut Out<'_>,
        error: &mut bool,
    ) -> Result<(), MacroLimit> {
        if self.depth >= MAX_MACRO_DEPTH {
            return Err(MacroLimit::TooDeep);
        }
        self.depth += 1;
        let discard = level > 0;
        let mut quote = 0u8;
        let mut r = *pos;
        while let Some(&c) = s.get(r) {
            if term.contains(&c) {
                break;
            }
            if quote != 0 {
                if c == quote {
                    quote = 0;
                    if discard {
                        r += 1;
                        continue;
                    }
                }
            } else if c == b'"' || c == b'\'' {
                quote = c;
                if discard {
                    r += 1;
                    continue;
                }
            }
            let mac_ref = c == b'$' && matches!(s.get(r + 1), Some(b'(' | b'{'));
            if mac_ref && quote != b'\'' {
                if level == 0 {
                    self.ref_offset = r;
                }
                self.refer(s, &mut r, level, out, error)?;
                if r < s.len() {
                    r += 1; // the closing ')' or '}'
                }
                continue;
            }
            match (c, s.get(r + 1)) {
                (b'\\', Some(&n)) => {
                    if !discard {
                        self.push(out, b"\\")?;
                    }
                    self.push(out, &[n])?;
                    r += 2;
                }
                _ => {
                    self.push(out, &[c])?;
                    r += 1;
                }
            }
        }
        *pos = r;
        self.depth -= 1;
        Ok(())
    }

    /// Expands the reference starting at `s[*r] == '$'`; leaves `*r` at the
    /// closing bracket (or the end of `s`).
    fn refer(
        &mut self,
        s: &[u8],
        r: &mut usize,
        level: u32,
        out: &mut Out<'_>,
        error: &mut bool,
    ) -> Result<(), MacroLimit> {
        self.refs = self
            .refs
            .checked_sub(1)
            .ok_or(MacroLimit::TooManyReferences)?;
        let close = if s.get(*r + 1) == Some(&b'(') {
            b')'
        } else {
            b'}'
        };
        let mac_end = [b'=', b',', close];
        let val_end = [b',', close];
        let skip = out.is_skip();
        let mut p = *r + 2;
        let mut name = Vec::new();
        {
            let mut name_out = if skip {
                Out::Skip
            } else {
                Out::Emit(&mut name)
            };
            self.trans(s, &mut p, level + 1, &mac_end, &mut name_out, error)?;
        }
        let mut default_at = None;
        if s.get(p) == Some(&b'=') {
            p += 1;
            default_at = Some(p);
            let mut dummy = false;
            self.trans(s, &mut p, level + 1, &val_end, &mut Out::Skip, &mut dummy)?;
        }
        let mark = self.entries.len();
        if s.get(p) == Some(&b',') {
            let saved = self.suppress;
            self.suppress = true;
            while s.get(p) == Some(&b',') {
                p += 1;
                let mut sub = Vec::new();
                let mut dummy = false;
                {
                    let mut o = if skip { Out::Skip } else { Out::Emit(&mut sub) };
                    self.trans(s, &mut p, level + 1, &mac_end, &mut o, &mut dummy)?;
                }
                if s.get(p) == Some(&b'=') {
                    p += 1;
                    let mut val = Vec::new();
                    {
                        let mut o = if skip { Out::Skip } else { Out::Emit(&mut val) };
                        self.trans(s, &mut p, level + 1, &val_end, &mut o, &mut dummy)?;
                    }
                    if !skip {
                        self.put_scoped(mark, sub, val);
                    }
                }
            }
            self.suppress = saved;
        }
        *r = p;
        if skip {
            self.entries.truncate(mark);
            return Ok(());
        }
        let found = self.entries.iter().rposition(|e| e.name == name);
        let result = match found {
            Some(i) => match self.entries.get(i) {
                Some(e) if !e.visited => {
                    let raw = e.raw.clone();
                    if let Some(e) = self.entries.get_mut(i) {
                        e.visited = true;
                    }
                    let mut q = 0;
                    let res = self.trans(&raw, &mut q, level + 1, b"", out, error);
                    if let Some(e) = self.entries.get_mut(i) {
                        e.visited = false;
                    }
                    res
                }
                _ => self.bad_ref(name, true, out, error),
            },
            None => match default_at {
                Some(d) => {
                    let mut q = d;
                    self.trans(s, &mut q, level + 1, &val_end, out, error)
                }
                None => self.bad_ref(name, false, out, error),
            },
        };
        self.entries.truncate(mark);
        result
    }

    fn bad_ref(
        &mut self,
        name: Vec<u8>,
        recursive: bool,
        out: &mut Out<'_>,
        error: &mut bool,
    ) -> Result<(), MacroLimit> {
        *error = true;
        self.push(out, b"$(")?;
        self.push(out, &name)?;
        if self.suppress {
            self.push(out, b")")?;
        } else {
            self.push(
                out,
                if recursive {
                    b",recursive)"
                } else {
                    b",undefined)"
                },
            )?;
            self.problems.push(MacroProblem {
                offset: self.ref_offset,
                name: String::from_utf8_lossy(&name).into_owned(),
                recursive,
            });
        }
        Ok(())
    }

    fn put_scoped(&mut self, mark: usize, name: Vec<u8>, val: Vec<u8>) {
        let tail = self.entries.get_mut(mark..).unwrap_or_default();
        if let Some(e) = tail.iter_mut().rev().find(|e| e.name == name) {
            e.raw = val.into();
        } else {
            self.entries.push(Entry {
                name,
                raw: val.into(),
                visited: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(m: &str, s: &str) -> String {
        Macros::parse(m)
            .expand(s)
            .map(|e| e.text)
            .unwrap_or_default()
    }

    #[test]
    fn parse_defns_like_macparsedefns() {
        let m = Macros::parse(" A = 1 , B=\"x,y\", C='q', \"D E\"=v,F=, G");
        assert_eq!(m.get("A"), Some("1"));
        assert_eq!(m.get("B"), Some("\"x,y\""));
        assert_eq!(m.get("C"), Some("'q'"));
        assert_eq!(m.get("D E"), Some("v"));
        assert_eq!(m.get("F"), Some(""));
        assert_eq!(m.get("G"), None);
        let m = Macros::parse("A=1,A");
        assert_eq!(m.get("A"), None);
        let m = Macros::parse("A\\,B=1");
        assert_eq!(m.get("A,B"), Some("1"));
        assert_eq!(Macros::parse("").iter().count(), 0);
        assert_eq!(Macros::parse("A=").get("A"), Some(""));
    }

    #[test]
    fn expansion_rules() {
        assert_eq!(ex("A=1", "x$(A)y${A}"), "x1y1");
        assert_eq!(ex("", "$(A=def)"), "def");
        assert_eq!(ex("A=1", "$(A=def)"), "1");
        assert_eq!(ex("", "$(A)"), "$(A,undefined)");
        assert_eq!(ex("A=$(B),B=2", "$(A)"), "2");
        assert_eq!(ex("N=A,A=3", "$($(N))"), "3");
        assert_eq!(ex("A=$(A)", "$(A)"), "$(A,recursive)");
        assert_eq!(ex("A=1", "'$(A)' \"$(A)\""), "'$(A)' \"1\"");
        assert_eq!(ex("A=1", "\\$(A)"), "\\$(A)");
        assert_eq!(ex("A=\"a,b\"", "$(A)"), "a,b");
        assert_eq!(ex("", "$(A,A=5)"), "5");
        assert_eq!(ex("B=1", "$(A,B=2)$(B)"), "$(A,undefined)1");
        assert_eq!(ex("", "$(A=$(B=x))"), "x");
        assert_eq!(ex("", "$(A=$(B))"), "$(B,undefined)");
        assert_eq!(ex("", "$(A=x,B=y)"), "x");
        assert_eq!(ex("A=1", "$(A"), "1");
        assert_eq!(ex("A=1", "${A)}"), "$(A),undefined)");
    }

    #[test]
    fn expansion_limits() {
        let mut defs = String::new();
        for i in 0..40 {
            defs.push_str(&format!("M{i}=$(M{})$(M{}),", i + 1, i + 1));
        }
        defs.push_str(&format!("M40={}", "x".repeat(4000)));
        assert_eq!(
            Macros::parse(&defs).expand("$(M0)"),
            Err(MacroLimit::TooLong)
        );
        let mut defs = String::from("E=,");
        for i in 0..10 {
            defs.push_str(&format!("M{i}={},", format!("$(M{})", i + 1).repeat(10)));
        }
        defs.push_str("M10=$(E)");
        assert_eq!(
            Macros::parse(&defs).expand("$(M0)"),
            Err(MacroLimit::TooManyReferences)
        );
        let deep = "$(".repeat(500);
        assert_eq!(Macros::new().expand(&deep), Err(MacroLimit::TooDeep));
    }
}
