//! EPICS database (`.db`) files: the syntax `softIoc -d file.db` accepts.
//!
//! Follows EPICS base 7.0 `modules/database/src/ioc/dbStatic/` (`dbLex.l`,
//! `dbYacc.y`, `dbLexRoutines.c`) and `modules/libcom/src/macLib/`:
//!
//! - each input line is macro-expanded first (`$(M)`, `${M}`, `$(M=default)`,
//!   nested and scoped references; see [`Macros`]), then tokenized;
//! - `record(TYPE, "NAME") { field(F, "v") info(N, "v") alias("A") include "f" }`,
//!   `grecord(...)`, a record without body, top-level `alias("rec", "alias")`,
//!   `include "file"`, `path "dirs"`, `addpath "dirs"`, `#` comments;
//! - unquoted words may contain `a-z A-Z 0-9 _ - + : . [ ] < > ;`; field and
//!   info values are read as JSON-ish values (quoted `"..."` or `'...'`
//!   strings with C escapes, numbers, bare words of `a-z A-Z 0-9 _ - + .`,
//!   `null`/`true`/`false`, and JSON arrays/objects kept as compact text);
//! - a record defined twice with the same type gets the fields merged (last
//!   value wins); with a different type it is an error; `record("*", "NAME")`
//!   modifies an existing record; `record("#", "NAME")` deletes one;
//! - undefined macros are warnings (the text keeps `$(M,undefined)`), as in
//!   softIoc (see [`Database::warnings`]); but, as in softIoc, a field value
//!   that still contains `$(` or `${` (from an undefined macro, `'$(A)'` or
//!   `"\$(A)"`) is an error, and so is a `$` in a record name; info values
//!   and comments keep them.
//!
//! Record types and field names are *not* checked here (the parser knows no
//! DBD): every [`Record`] and [`Field`] carries its [`Location`] so that the
//! record layer can report `file:line:column` for unknown ones.
//!
//! ```
//! use caproto_softioc::db::{parse_str, Macros};
//! let db = parse_str(
//!     "record(ai, \"$(P)temp\") { field(EGU, \"degC\") }",
//!     &Macros::parse("P=lab:"),
//!     &|_| None,
//! )
//! .unwrap();
//! let rec = db.get("lab:temp").unwrap();
//! assert_eq!(rec.field("EGU"), Some("degC"));
//! ```

mod lex;
mod macros;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use macros::{
    Expanded, MacroLimit, MacroProblem, Macros, MAX_EXPANSION_BYTES, MAX_MACRO_DEPTH,
    MAX_REFERENCES,
};

use lex::{Kw, Lexer, Mode, Source, Tok, Token};
use macros::Expander;

/// Maximum `include` nesting.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Maximum nesting of `[` / `{` in a JSON field value.
pub const MAX_JSON_DEPTH: usize = 64;
/// Longest record name: the NAME field of dbCommon is `char[61]`.
pub const MAX_RECORD_NAME_LEN: usize = 60;

/// Parses `.db` text (named `<string>` in messages).
///
/// `include "name"` asks `include` for the text of `name` (or of `dir/name`
/// for each directory of a `path`/`addpath` search path, as EPICS
/// `dbOpenFile` does); `None` means "cannot open".
///
/// # Errors
///
/// The first syntax or semantic error, as `file:line:column: message`.
pub fn parse_str(
    text: &str,
    macros: &Macros,
    include: &dyn Fn(&str) -> Option<String>,
) -> Result<Database, DbError> {
    let mut db = Database::new();
    db.add_str("<string>", text, macros, &[], include)?;
    Ok(db)
}

/// Reads a `.db` file like `dbLoadRecords(path, macros)`.
///
/// Files (the top one and includes) named without `/` are searched in the
/// directories of `include_path` (default: `.`, the current directory), like
/// EPICS_DB_INCLUDE_PATH; `path`/`addpath` in the file change the list.
///
/// # Errors
///
/// A [`DbError`]; one that cannot be opened has kind [`ErrorKind::Io`].
pub fn load_file(
    path: &Path,
    macros: &Macros,
    include_path: &[PathBuf],
) -> Result<Database, DbError> {
    let mut db = Database::new();
    db.add_file(path, macros, include_path)?;
    Ok(db)
}

/// A position in an input file. Lines and columns count from 1 (columns in
/// characters of the macro-expanded line); line 0 means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// File name as given (or `<string>`).
    pub file: Arc<str>,
    /// Line, from 1; 0 for the file as a whole.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl Location {
    fn none() -> Self {
        Location {
            file: Arc::from("<input>"),
            line: 0,
            column: 0,
        }
    }

    fn file(name: &str) -> Self {
        Location {
            file: Arc::from(name),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// `field(NAME, "value")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name as written (EPICS field names are case-sensitive).
    pub name: String,
    /// The value: quotes removed and escapes translated (EPICS
    /// `dbTranslateEscape`); JSON arrays/objects as compact text.
    pub value: String,
    /// Where the value was last set.
    pub location: Location,
}

/// `info(NAME, "value")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Info item name.
    pub name: String,
    /// The value, translated like a field value.
    pub value: String,
    /// Where it was last set.
    pub location: Location,
}

/// Another name for a record (`alias("a")` in the body or top-level
/// `alias("rec", "a")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The alias name.
    pub name: String,
    /// Where it was declared.
    pub location: Location,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Record type, e.g. `ai` (not checked by the parser).
    pub rtype: String,
    /// Record name.
    pub name: String,
    /// Fields, one entry per name in the order first set; a later setting
    /// replaces the value (and location).
    pub fields: Vec<Field>,
    /// Info items, one per name, like `fields`.
    pub infos: Vec<Info>,
    /// All aliases of the record, in declaration order.
    pub aliases: Vec<Alias>,
    /// Declared (at least once) with `grecord`.
    pub visible: bool,
    /// Where the record was first defined.
    pub location: Location,
}

impl Record {
    /// The value of field `name`, if set.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }

    /// The value of info item `name`, if set.
    pub fn info(&self, name: &str) -> Option<&str> {
        self.infos
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }
}

/// A problem that softIoc reports but that does not stop loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub location: Location,
    /// What (one line).
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.location, self.message)
    }
}

/// What kind of error a [`DbError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text does not follow the grammar (or has an invalid character).
    Syntax,
    /// A file could not be read, or an include is missing or loops.
    Io,
    /// A well-formed statement that cannot be applied: bad record name,
    /// record type clash, unknown record for `*`/alias, duplicate alias,
    /// unsupported DBD definition.
    Semantic,
    /// A safety limit: macro/include/JSON nesting or macro expansion size.
    Limit,
}

/// An error while reading a database: `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    kind: ErrorKind,
    location: Location,
    message: String,
    included_from: Vec<Location>,
}

impl DbError {
    fn new(
        kind: ErrorKind,
        location: Location,
        message: String,
        included_from: Vec<Location>,
    ) -> Self {
        DbError {
            kind,
            location,
            message,
            included_from,
        }
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Where the error is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `include` statements leading to the file of the error, innermost
    /// first (empty for the top file).
    pub fn included_from(&self) -> &[Location] {
        &self.included_from
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        for (i, loc) in self.included_from.iter().enumerate() {
            let sep = if i == 0 { " (included from " } else { ", " };
            write!(f, "{sep}{loc}")?;
        }
        if !self.included_from.is_empty() {
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Record(usize),
    Alias(usize),
}

/// The records read so far. Loading several files into one `Database`
/// (like several `-d` options) lets later files modify earlier records.
#[derive(Debug, Clone, Default)]
pub struct Database {
    records: Vec<Record>,
    index: HashMap<String, Entry>,
    warnings: Vec<Warning>,
}

impl Database {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records, in order of first definition.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Takes the records out.
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }

    /// The record named `name` or having the alias `name`.
    pub fn get(&self, name: &str) -> Option<&Record> {
        match self.index.get(name)? {
            Entry::Record(i) | Entry::Alias(i) => self.records.get(*i),
        }
    }

    /// Whether `name` is an alias (not a record name).
    pub fn is_alias(&self, name: &str) -> bool {
        matches!(self.index.get(name), Some(Entry::Alias(_)))
    }

    /// All (alias, record name) pairs, grouped by record.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.records.iter().flat_map(|r| {
            r.aliases
                .iter()
                .map(move |a| (a.name.as_str(), r.name.as_str()))
        })
    }

    /// Warnings so far: undefined or recursive macros, discouraged record
    /// name characters, deleting a missing record.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Adds the records of `text` (see [`parse_str`]); `name` is used in
    /// messages, `search_path` as the initial include search path (empty:
    /// include names are passed to `include` as written).
    ///
    /// On error the records added before the error stay (as in EPICS).
    ///
    /// # Errors
    ///
    /// See [`DbError`].
    pub fn add_str(
        &mut self,
        name: &str,
        text: &str,
        macros: &Macros,
        search_path: &[String],
        include: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), DbError> {
        let mut p = Parser {
            db: self,
            lexer: Lexer { stack: Vec::new() },
            expander: Expander::new(macros),
            path: search_path.to_vec(),
            loader: include,
        };
        let src = p.source(Arc::from(name), text, None)?;
        p.lexer.stack.push(src);
        p.database()
    }

    /// Adds the records of a file (see [`load_file`]).
    ///
    /// # Errors
    ///
    /// See [`DbError`].
    pub fn add_file(
        &mut self,
        path: &Path,
        macros: &Macros,
        include_path: &[PathBuf],
    ) -> Result<(), DbError> {
        let mut dirs: Vec<String> = include_path
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if dirs.is_empty() {
            dirs.push(".".into());
        }
        let read = |p: &str| {
            std::fs::read(p)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let name = path.to_string_lossy().into_owned();
        let (shown, text) = open_in_path(&name, &dirs, &read).ok_or_else(|| {
            DbError::new(
                ErrorKind::Io,
                Location::file(&name),
                match std::fs::metadata(&name) {
                    Err(e) => format!("cannot read file: {e}"),
                    Ok(_) => "cannot read file".into(),
                },
                Vec::new(),
            )
        })?;
        let mut p = Parser {
            db: self,
            lexer: Lexer { stack: Vec::new() },
            expander: Expander::new(macros),
            path: dirs,
            loader: &read,
        };
        let src = p.source(Arc::from(shown.as_str()), &text, None)?;
        p.lexer.stack.push(src);
        p.database()
    }

    fn find(&self, name: &str) -> Option<usize> {
        match self.index.get(name)? {
            Entry::Record(i) | Entry::Alias(i) => Some(*i),
        }
    }

    fn warn(&mut self, location: Location, message: String) {
        self.warnings.push(Warning { location, message });
    }

    fn delete(&mut self, name: &str) -> bool {
        match self.index.get(name).copied() {
            None => false,
            Some(Entry::Alias(i)) => {
                self.index.remove(name);
                if let Some(r) = self.records.get_mut(i) {
                    r.aliases.retain(|a| a.name != name);
                }
                true
            }
            Some(Entry::Record(i)) => {
                if i < self.records.len() {
                    self.records.remove(i);
                }
                self.index.clear();
                for (k, r) in self.records.iter().enumerate() {
                    self.index.insert(r.name.clone(), Entry::Record(k));
                    for a in &r.aliases {
                        self.index.insert(a.name.clone(), Entry::Alias(k));
                    }
                }
                true
            }
        }
    }
}

/// `dbOpenFile`: names containing `/` or `\`, or an empty path, are opened
/// as given; others are tried in each directory of the path.
fn open_in_path(
    name: &str,
    dirs: &[String],
    loader: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, String)> {
    if dirs.is_empty() || name.contains('/') || name.contains('\\') {
        return loader(name).map(|t| (name.to_owned(), t));
    }
    dirs.iter().find_map(|d| {
        let full = if d == "." {
            name.to_owned()
        } else {
            format!("{d}/{name}")
        };
        loader(&full).map(|t| (full, t))
    })
}

/// `dbAddPath`: `:`-separated, whitespace trimmed, an empty element (in a
/// non-empty list) means `.`.
fn split_path(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut empty_seen = false;
    let parts: Vec<&str> = list.split(':').collect();
    let n = parts.len();
    for (i, part) in parts.into_iter().enumerate() {
        let t = part.trim();
        if t.is_empty() {
            if n > 1 || i > 0 {
                empty_seen = true;
            }
        } else {
            out.push(t.to_owned());
        }
    }
    if empty_seen && !list.trim().is_empty() {
        out.push(".".into());
    }
    out
}

/// What the statements of a record body apply to.
#[derive(Clone, Copy)]
enum Target {
    Record(usize),
    /// A `record("#", ...)` or a failed `"*"`: the body is parsed and ignored.
    Ignore,
}

struct Parser<'a> {
    db: &'a mut Database,
    lexer: Lexer,
    expander: Expander,
    path: Vec<String>,
    loader: &'a dyn Fn(&str) -> Option<String>,
}

impl Parser<'_> {
    /// Macro-expands `text` line by line into a [`Source`].
    fn source(
        &mut self,
        name: Arc<str>,
        text: &str,
        included_from: Option<Location>,
    ) -> Result<Source, DbError> {
        let mut out = String::with_capacity(text.len() + 1);
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        for (i, line) in text.split_inclusive('\n').enumerate() {
            starts.push(out.len());
            if !line.contains('$') {
                out.push_str(line);
                continue;
            }
            let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let at = |off: usize| Location {
                file: name.clone(),
                line: line_no,
                column: u32::try_from(line.get(..off).map_or(off, |s| s.chars().count()) + 1)
                    .unwrap_or(u32::MAX),
            };
            let exp = self.expander.expand(line).map_err(|e| {
                DbError::new(
                    ErrorKind::Limit,
                    at(0),
                    e.to_string(),
                    self.lexer.include_chain(),
                )
            })?;
            for p in &exp.problems {
                let what = if p.recursive {
                    "is recursive"
                } else {
                    "is undefined"
                };
                self.db
                    .warn(at(p.offset), format!("macro '{}' {what}", p.name));
            }
            if exp.incomplete && exp.problems.is_empty() {
                self.db.warn(at(0), "line has undefined macros".into());
            }
            out.push_str(&exp.text);
        }
        Ok(Source::new(name, out, starts, included_from))
    }

    fn next(&mut self, mode: Mode) -> Result<Token, DbError> {
        self.lexer.next(mode)
    }

    fn error(&self, kind: ErrorKind, loc: Location, msg: String) -> DbError {
        DbError::new(kind, loc, msg, self.lexer.include_chain())
    }

    fn unexpected(&self, t: &Token, expected: &str) -> DbError {
        self.error(
            ErrorKind::Syntax,
            t.loc.clone(),
            format!("expected {expected}, found {}", t.tok.describe()),
        )
    }

    fn expect_punct(&mut self, c: u8, mode: Mode) -> Result<Token, DbError> {
        let t = self.next(mode)?;
        if t.tok == Tok::Punct(c) {
            Ok(t)
        } else {
            Err(self.unexpected(&t, &format!("'{}'", char::from(c))))
        }
    }

    fn expect_string(&mut self, what: &str) -> Result<(String, Location), DbError> {
        let t = self.next(Mode::Initial)?;
        match t.tok {
            Tok::Str(s) => Ok((s, t.loc)),
            _ => Err(self.unexpected(&t, what)),
        }
    }

    /// database: item*
    fn database(&mut self) -> Result<(), DbError> {
        let mut pending: Option<Token> = None;
        loop {
            let t = match pending.take() {
                Some(t) => t,
                None => self.next(Mode::Initial)?,
            };
            match t.tok {
                Tok::Eof => return Ok(()),
                Tok::Kw(Kw::Include) => self.include()?,
                Tok::Kw(Kw::Path) => {
                    let (p, _) = self.expect_string("a path string")?;
                    self.path = split_path(&p);
                    if self.path.is_empty() {
                        self.path.push(".".into());
                    }
                }
                Tok::Kw(Kw::AddPath) => {
                    let (p, _) = self.expect_string("a path string")?;
                    self.path.extend(split_path(&p));
                }
                Tok::Kw(k @ (Kw::Record | Kw::GRecord)) => {
                    pending = self.record(k == Kw::GRecord)?;
                }
                Tok::Kw(Kw::Alias) => self.top_alias()?,
                Tok::Kw(
                    k @ (Kw::Menu
                    | Kw::RecordType
                    | Kw::Device
                    | Kw::Driver
                    | Kw::Link
                    | Kw::Registrar
                    | Kw::Function
                    | Kw::Variable
                    | Kw::BreakTable),
                ) => {
                    return Err(self.error(
                        ErrorKind::Semantic,
                        t.loc,
                        format!(
                            "'{}' is a DBD definition, not supported in a .db file",
                            k.as_str()
                        ),
                    ))
                }
                _ => return Err(self.unexpected(&t, "'record', 'grecord', 'alias' or 'include'")),
            }
        }
    }

    fn include(&mut self) -> Result<(), DbError> {
        let (name, loc) = self.expect_string("a file name string after 'include'")?;
        if self.lexer.stack.len() > MAX_INCLUDE_DEPTH {
            return Err(self.error(
                ErrorKind::Limit,
                loc,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} levels"),
            ));
        }
        let Some((shown, text)) = open_in_path(&name, &self.path, self.loader) else {
            return Err(self.error(
                ErrorKind::Io,
                loc,
                format!("can't open include file \"{name}\""),
            ));
        };
        if self.lexer.stack.iter().any(|s| *s.name == *shown) {
            return Err(self.error(
                ErrorKind::Io,
                loc,
                format!("include loop: \"{shown}\" is already being read"),
            ));
        }
        let src = self.source(Arc::from(shown.as_str()), &text, Some(loc))?;
        self.lexer.stack.push(src);
        Ok(())
    }

    /// record_head record_body; returns a token read past a missing body.
    fn record(&mut self, visible: bool) -> Result<Option<Token>, DbError> {
        self.expect_punct(b'(', Mode::Initial)?;
        let (rtype, tloc) = self.expect_string("a record type")?;
        self.expect_punct(b',', Mode::Initial)?;
        let (name, nloc) = self.expect_string("a record name")?;
        self.expect_punct(b')', Mode::Initial)?;
        let target = self.record_head(&rtype, &name, visible, tloc, nloc)?;
        let t = self.next(Mode::Initial)?;
        if t.tok != Tok::Punct(b'{') {
            return Ok(Some(t));
        }
        loop {
            let t = self.next(Mode::Initial)?;
            match t.tok {
                Tok::Punct(b'}') => return Ok(None),
                Tok::Kw(Kw::Include) => self.include()?,
                Tok::Kw(Kw::Field) => {
                    let (fname, floc, value) = self.name_value("a field name")?;
                    if let Target::Record(i) = target {
                        self.set_field(i, fname, value, floc)?;
                    }
                }
                Tok::Kw(Kw::Info) => {
                    let (iname, iloc, value) = self.name_value("an info name")?;
                    if iname.is_empty() {
                        return Err(self.error(
                            ErrorKind::Semantic,
                            iloc,
                            "info name can't be empty".into(),
                        ));
                    }
                    if let Target::Record(i) = target {
                        self.set_info(i, iname, value, iloc);
                    }
                }
                Tok::Kw(Kw::Alias) => {
                    self.expect_punct(b'(', Mode::Initial)?;
                    let (alias, aloc) = self.expect_string("an alias name")?;
                    self.expect_punct(b')', Mode::Initial)?;
                    self.validate_name(&alias, &aloc)?;
                    if let Target::Record(i) = target {
                        self.add_alias(i, alias, aloc)?;
                    }
                }
                _ => return Err(self.unexpected(&t, "'field', 'info', 'alias', 'include' or '}'")),
            }
        }
    }

    /// `(NAME, value)` of field/info; the value is read in JSON mode.
    fn name_value(&mut self, what: &str) -> Result<(String, Location, String), DbError> {
        self.expect_punct(b'(', Mode::Initial)?;
        let (name, loc) = self.expect_string(what)?;
        self.expect_punct(b',', Mode::Initial)?;
        let t = self.next(Mode::Json)?;
        let value = match t.tok {
            Tok::JsonString(s) => translate_escapes(strip_quotes(s)),
            other => {
                let mut out = String::new();
                self.json_value(
                    Token {
                        tok: other,
                        loc: t.loc,
                    },
                    0,
                    &mut out,
                )?;
                out
            }
        };
        self.expect_punct(b')', Mode::Initial)?;
        Ok((name, loc, value))
    }

    /// Appends the text of a JSON value starting with token `t` (dbYacc.y
    /// json_value; bare words become quoted strings inside arrays/objects).
    fn json_value(&mut self, t: Token, depth: usize, out: &mut String) -> Result<(), DbError> {
        if depth >= MAX_JSON_DEPTH {
            return Err(self.error(
                ErrorKind::Limit,
                t.loc,
                format!("JSON value nested deeper than {MAX_JSON_DEPTH} levels"),
            ));
        }
        match t.tok {
            Tok::JsonNull => out.push_str("null"),
            Tok::JsonTrue => out.push_str("true"),
            Tok::JsonFalse => out.push_str("false"),
            Tok::JsonNumber(s) | Tok::JsonString(s) => out.push_str(&s),
            Tok::JsonBare(s) => {
                if depth == 0 {
                    out.push_str(&s);
                } else {
                    out.push('"');
                    out.push_str(&s);
                    out.push('"');
                }
            }
            Tok::Punct(b'[') => {
                out.push('[');
                let mut t = self.next(Mode::Json)?;
                if t.tok != Tok::Punct(b']') {
                    loop {
                        self.json_value(t, depth + 1, out)?;
                        let sep = self.next(Mode::Json)?;
                        match sep.tok {
                            Tok::Punct(b']') => break,
                            Tok::Punct(b',') => {
                                out.push(',');
                                t = self.next(Mode::Json)?;
                                if t.tok == Tok::Punct(b']') {
                                    break;
                                }
                            }
                            _ => return Err(self.unexpected(&sep, "',' or ']'")),
                        }
                    }
                }
                out.push(']');
            }
            Tok::Punct(b'{') => {
                out.push('{');
                let mut t = self.next(Mode::Json)?;
                let mut first = true;
                while t.tok != Tok::Punct(b'}') {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    match &t.tok {
                        Tok::JsonString(s) => out.push_str(s),
                        Tok::JsonBare(s) if s.contains(['+', '-', '.']) => {
                            out.push('"');
                            out.push_str(s);
                            out.push('"');
                        }
                        Tok::JsonBare(s) => out.push_str(s),
                        _ => return Err(self.unexpected(&t, "an object key")),
                    }
                    self.expect_punct(b':', Mode::Json)?;
                    out.push(':');
                    let v = self.next(Mode::Json)?;
                    self.json_value(v, depth + 1, out)?;
                    let sep = self.next(Mode::Json)?;
                    match sep.tok {
                        Tok::Punct(b'}') => break,
                        Tok::Punct(b',') => t = self.next(Mode::Json)?,
                        _ => return Err(self.unexpected(&sep, "',' or '}'")),
                    }
                }
                out.push('}');
            }
            _ => return Err(self.unexpected(&t, "a value")),
        }
        Ok(())
    }

    /// dbRecordNameValidate.
    fn validate_name(&mut self, name: &str, loc: &Location) -> Result<(), DbError> {
        if name.is_empty() {
            return Err(self.error(
                ErrorKind::Semantic,
                loc.clone(),
                "record/alias name can't be empty".into(),
            ));
        }
        if let Some(c) = name
            .chars()
            .next()
            .filter(|c| matches!(c, '-' | '+' | '[' | '{'))
        {
            self.db.warn(
                loc.clone(),
                format!("record/alias name '{name}' should not begin with '{c}'"),
            );
        }
        if let Some(c) = name
            .chars()
            .find(|&c| matches!(c, ' ' | '\t' | '"' | '\'' | '.' | '$'))
        {
            let shown = if c == '\t' {
                "\\t".to_owned()
            } else {
                c.to_string()
            };
            return Err(self.error(
                ErrorKind::Semantic,
                loc.clone(),
                format!(
                    "bad character '{shown}' in record/alias name \"{}\"",
                    name.escape_debug()
                ),
            ));
        }
        if let Some(c) = name.chars().find(|&c| u32::from(c) < 0x20) {
            self.db.warn(
                loc.clone(),
                format!(
                    "record/alias name '{}' should not contain non-printable 0x{:02x}",
                    name.escape_debug(),
                    u32::from(c)
                ),
            );
        }
        Ok(())
    }

    /// dbRecordHead.
    fn record_head(
        &mut self,
        rtype: &str,
        name: &str,
        visible: bool,
        tloc: Location,
        nloc: Location,
    ) -> Result<Target, DbError> {
        self.validate_name(name, &nloc)?;
        if rtype == "*" {
            return match self.db.find(name) {
                Some(i) => Ok(Target::Record(i)),
                None => Err(self.error(
                    ErrorKind::Semantic,
                    nloc,
                    format!("record \"{name}\" not found (record type \"*\" modifies an existing record)"),
                )),
            };
        }
        if rtype == "#" {
            if !self.db.delete(name) {
                self.db.warn(
                    nloc,
                    format!("unable to delete record \"{name}\": not found"),
                );
            }
            return Ok(Target::Ignore);
        }
        if rtype.is_empty() {
            return Err(self.error(
                ErrorKind::Semantic,
                tloc,
                "record type can't be empty".into(),
            ));
        }
        if let Some(i) = self.db.find(name) {
            let existing = self
                .db
                .records
                .get(i)
                .map(|r| r.rtype.clone())
                .unwrap_or_default();
            if existing != rtype {
                return Err(self.error(
                    ErrorKind::Semantic,
                    tloc,
                    format!("record \"{name}\" of type \"{existing}\" redefined with new type \"{rtype}\""),
                ));
            }
            if let Some(r) = self.db.records.get_mut(i) {
                r.visible |= visible;
            }
            return Ok(Target::Record(i));
        }
        if name.len() > MAX_RECORD_NAME_LEN {
            return Err(self.error(
                ErrorKind::Semantic,
                nloc,
                format!(
                    "record name \"{name}\" is {} bytes long, more than {MAX_RECORD_NAME_LEN}",
                    name.len()
                ),
            ));
        }
        let i = self.db.records.len();
        self.db.records.push(Record {
            rtype: rtype.to_owned(),
            name: name.to_owned(),
            fields: Vec::new(),
            infos: Vec::new(),
            aliases: Vec::new(),
            visible,
            location: nloc,
        });
        self.db.index.insert(name.to_owned(), Entry::Record(i));
        Ok(Target::Record(i))
    }

    fn set_field(
        &mut self,
        i: usize,
        name: String,
        value: String,
        loc: Location,
    ) -> Result<(), DbError> {
        if name == "NAME" {
            let rec = self
                .db
                .records
                .get(i)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(self.error(
                ErrorKind::Semantic,
                loc,
                format!("can't set \"NAME\" field of record \"{rec}\""),
            ));
        }
        if value.contains("$(") || value.contains("${") {
            // dbPutString refuses these at run time (dbIsMacroOk() is FALSE
            // in dbStaticRun.c), so softIoc fails to load the file.
            let rec = self
                .db
                .records
                .get(i)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(self.error(
                ErrorKind::Semantic,
                loc,
                format!(
                    "can't set \"{rec}.{name}\" to \"{}\": the value has an unexpanded macro",
                    value.escape_debug()
                ),
            ));
        }
        if let Some(r) = self.db.records.get_mut(i) {
            if let Some(f) = r.fields.iter_mut().find(|f| f.name == name) {
                f.value = value;
                f.location = loc;
            } else {
                r.fields.push(Field {
                    name,
                    value,
                    location: loc,
                });
            }
        }
        Ok(())
    }

    fn set_info(&mut self, i: usize, name: String, value: String, loc: Location) {
        if let Some(r) = self.db.records.get_mut(i) {
            if let Some(f) = r.infos.iter_mut().find(|f| f.name == name) {
                f.value = value;
                f.location = loc;
            } else {
                r.infos.push(Info {
                    name,
                    value,
                    location: loc,
                });
            }
        }
    }

    /// dbCreateAlias.
    fn add_alias(&mut self, i: usize, alias: String, loc: Location) -> Result<(), DbError> {
        if self.db.index.contains_key(&alias) {
            let rec = self
                .db
                .records
                .get(i)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            return Err(self.error(
                ErrorKind::Semantic,
                loc,
                format!("can't create alias \"{alias}\" for \"{rec}\": the name is already in use"),
            ));
        }
        self.db.index.insert(alias.clone(), Entry::Alias(i));
        if let Some(r) = self.db.records.get_mut(i) {
            r.aliases.push(Alias {
                name: alias,
                location: loc,
            });
        }
        Ok(())
    }

    /// Top-level `alias("record", "alias")`.
    fn top_alias(&mut self) -> Result<(), DbError> {
        self.expect_punct(b'(', Mode::Initial)?;
        let (rec, rloc) = self.expect_string("a record name")?;
        self.expect_punct(b',', Mode::Initial)?;
        let (alias, aloc) = self.expect_string("an alias name")?;
        self.expect_punct(b')', Mode::Initial)?;
        self.validate_name(&alias, &aloc)?;
        self.validate_name(&rec, &rloc)?;
        match self.db.find(&rec) {
            Some(i) => self.add_alias(i, alias, aloc),
            None => Err(self.error(
                ErrorKind::Semantic,
                rloc,
                format!("alias \"{alias}\" refers to unknown record \"{rec}\""),
            )),
        }
    }
}

/// Removes the quotes of a JSON string token (without reallocating).
fn strip_quotes(mut s: String) -> String {
    s.pop();
    if !s.is_empty() {
        s.remove(0);
    }
    s
}

/// EPICS `epicsStrnRawFromEscaped` (dbTranslateEscape): C escapes `\a \b \f
/// \n \r \t \v \\ \' \" \xHH`; `\0` ends the string; any other `\c` is `c`.
/// Bytes from `\xHH` that do not form UTF-8 become U+FFFD.
fn translate_escapes(s: String) -> String {
    if !s.contains('\\') {
        return s;
    }
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let hexval = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    while let Some(&c) = b.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = b.get(i) else { break };
        i += 1;
        match e {
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0' => break,
            b'x' => {
                let Some(h1) = b.get(i).copied().and_then(hexval) else {
                    continue;
                };
                i += 1;
                match b.get(i).copied().and_then(hexval) {
                    Some(h2) => {
                        i += 1;
                        out.push(h1 << 4 | h2);
                    }
                    None => out.push(h1),
                }
            }
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            translate_escapes(String::from(r#"a\tb\n\"q\"\\"#)),
            "a\tb\n\"q\"\\"
        );
        assert_eq!(translate_escapes(String::from(r"\x41\x4a\x7")), "AJ\u{7}");
        assert_eq!(translate_escapes(String::from(r"ab\0cd")), "ab");
        assert_eq!(translate_escapes(String::from(r"\q\u0041")), "qu0041");
        assert_eq!(translate_escapes(String::from(r"\xc3\xa9")), "é");
    }

    #[test]
    fn paths() {
        assert_eq!(split_path("a: b :c"), vec!["a", "b", "c"]);
        assert_eq!(split_path("a::b"), vec!["a", "b", "."]);
        assert_eq!(split_path("a:"), vec!["a", "."]);
        assert!(split_path("").is_empty());
    }
}
