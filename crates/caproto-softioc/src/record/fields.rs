//! Static field tables of the record types `caproto-softioc` serves: every
//! field of `ai`, `ao`, `bi`, `bo`, `mbbi`, `mbbo`, `longin`, `longout`,
//! `stringin`, `stringout`, `waveform` and `calc`, in `.dbd` order, with its
//! `DBF_*` type, `initial(...)`, `special(...)`, `pp`, `prop`, `interest` and
//! `asl` attributes.
//!
//! The facts are those of EPICS base 7.0.8.1 (the expanded `softIoc.dbd` the
//! C `softIoc` loads: `dbCommon.dbd`, `*Record.dbd`, `menu*.dbd`, `devSoft.dbd`)
//! and were checked against a running C `softIoc` with `cainfo` and
//! `caget -d DBR_CTRL_ENUM` (see the tests at the bottom). The menus live in
//! the sibling module [`super::menus`].
//!
//! Things a CA client sees that these tables do not say by themselves:
//! - `special(SPC_DBADDR)` fields let the record decide type and count
//!   (`cvt_dbaddr`): `waveform.VAL` is `DBF_NOACCESS` here ([`native_type`]
//!   `None`) and reads as `FTVL` x `NELM`; `mbbo.VAL` is `DBF_ENUM` but reads
//!   as `DBR_LONG` (as `DBF_USHORT`) while no state string or value is
//!   defined (`SDEF` = 0), `DBR_ENUM` otherwise (mbbi has no such rule).
//! - CA carries at most 16 enum strings (`MAX_ENUM_STATES`): `STAT`/`NSTA`
//!   (menuAlarmStat, 22 choices) show only the first 16 in `DBR_CTRL_ENUM`,
//!   while a `DBR_STRING` read still gives e.g. `UDF` (index 17).
//! - `RTYP` is a record *attribute*, not a field: see [`RTYP`] and
//!   [`RecordTypeDef::attribute`].
//! - Link fields read as `DBR_STRING`; `FIELD$` (long string / link as a char
//!   array) is a channel modifier handled by the runtime.

use caproto_core::dbr::NativeType;

use super::menus::*;

/// A menu (EPICS `menu(...)` in a .dbd): its name and choices in index order.
#[derive(Debug, PartialEq, Eq)]
pub struct Menu {
    /// The menu's name, e.g. `menuScan`.
    pub name: &'static str,
    /// The choice strings, index 0 first.
    pub choices: &'static [&'static str],
}

impl Menu {
    /// The choice string at `index`, if in range.
    pub fn choice(&self, index: u16) -> Option<&'static str> {
        self.choices.get(usize::from(index)).copied()
    }
}

/// EPICS field types (dbFldTypes.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dbf {
    /// `DBF_STRING` with its `size(n)` (bytes including the NUL).
    String {
        /// `size(n)` of the field.
        size: u16,
    },
    /// `DBF_CHAR`: `i8`.
    Char,
    /// `DBF_UCHAR`: `u8`.
    UChar,
    /// `DBF_SHORT`: `i16`.
    Short,
    /// `DBF_USHORT`: `u16`.
    UShort,
    /// `DBF_LONG`: `i32`.
    Long,
    /// `DBF_ULONG`: `u32`.
    ULong,
    /// `DBF_INT64`: `i64`.
    Int64,
    /// `DBF_UINT64`: `u64`.
    UInt64,
    /// `DBF_FLOAT`: `f32`.
    Float,
    /// `DBF_DOUBLE`: `f64`.
    Double,
    /// `DBF_ENUM`: `u16` whose strings the record support provides (e.g. `bi.VAL`).
    Enum,
    /// `DBF_MENU`: `u16` index into a fixed menu.
    Menu(&'static Menu),
    /// `DBF_DEVICE` (`DTYP`): `u16` index into [`device_choices`] of the record type.
    Device,
    /// `DBF_INLINK`: an input link.
    InLink,
    /// `DBF_OUTLINK`: an output link.
    OutLink,
    /// `DBF_FWDLINK`: a forward link.
    FwdLink,
    /// `DBF_NOACCESS`: private to the record (not readable over CA), except
    /// `special(SPC_DBADDR)` fields such as `waveform.VAL`.
    NoAccess,
}

impl Dbf {
    /// True for `DBF_INLINK`, `DBF_OUTLINK` and `DBF_FWDLINK`.
    pub fn is_link(self) -> bool {
        matches!(self, Dbf::InLink | Dbf::OutLink | Dbf::FwdLink)
    }

    /// The menu of a `DBF_MENU` field.
    pub fn menu(self) -> Option<&'static Menu> {
        match self {
            Dbf::Menu(m) => Some(m),
            _ => None,
        }
    }
}

/// special(...) of a field (special.h): only the kinds that change behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// No `special(...)`.
    None,
    /// `SPC_NOMOD` (1): not writable via dbPut / CA.
    NoMod,
    /// `SPC_DBADDR` (2): the record's `cvt_dbaddr` decides type and count (arrays).
    DbAddr,
    /// `SPC_SCAN` (3): changing it moves the record between scan lists.
    Scan,
    /// `SPC_ATTRIBUTE` (4): a record attribute such as `RTYP` (read-only).
    Attribute,
    /// `SPC_ALARMACK` (5): alarm acknowledge fields.
    AlarmAck,
    /// `SPC_AS` (6): access security group (`ASG`).
    As,
    /// `SPC_MOD` (100): the record's `special()` is called around a put.
    Mod,
    /// `SPC_RESET` (101): the record's `special()` resets state on a put.
    Reset,
    /// `SPC_LINCONV` (102): linear conversion parameters (`EGUF`, `EGUL`, `LINR`...).
    LinConv,
    /// `SPC_CALC` (103): a calc expression, compiled on put (`calc.CALC`).
    Calc,
    /// Any other `special(n)` value (not used by the served record types).
    NoAccessOther(u16),
}

impl Special {
    /// The numeric `SPC_*` value (special.h).
    pub fn code(self) -> u16 {
        match self {
            Special::None => 0,
            Special::NoMod => 1,
            Special::DbAddr => 2,
            Special::Scan => 3,
            Special::Attribute => 4,
            Special::AlarmAck => 5,
            Special::As => 6,
            Special::Mod => 100,
            Special::Reset => 101,
            Special::LinConv => 102,
            Special::Calc => 103,
            Special::NoAccessOther(n) => n,
        }
    }
}

/// One field of a record type (a `field(NAME, DBF_x) { ... }` block).
#[derive(Debug)]
pub struct FieldDef {
    /// Field name, e.g. `VAL`.
    pub name: &'static str,
    /// Field type.
    pub dbf: Dbf,
    /// initial("...") if any (what a fresh record holds; None = zero/empty).
    pub initial: Option<&'static str>,
    /// `special(...)`.
    pub special: Special,
    /// pp(TRUE): a CA put to this field processes a Passive record.
    pub pp: bool,
    /// prop(YES): a change posts DBE_PROPERTY.
    pub prop: bool,
    /// interest(n) level (0..4), for completeness.
    pub interest: u8,
    /// asl(ASL0) = true (writable at access-security level 0), for completeness.
    pub asl0: bool,
}

impl FieldDef {
    /// The DBR type a CA client sees for this field ([`native_type`] of its
    /// [`Dbf`]); `None` for `DBF_NOACCESS`. For `special(SPC_DBADDR)` fields
    /// the record decides (see the module docs: `waveform.VAL`, `mbbo.VAL`).
    pub fn native_type(&self) -> Option<NativeType> {
        native_type(self.dbf)
    }

    /// True if a CA put is refused by dbPut (`special(SPC_NOMOD)`, record
    /// attributes) or the field is `DBF_NOACCESS` without `SPC_DBADDR`.
    pub fn is_read_only(&self) -> bool {
        matches!(self.special, Special::NoMod | Special::Attribute)
            || (self.dbf == Dbf::NoAccess && self.special != Special::DbAddr)
    }
}

/// A record type: its name and all its fields in .dbd order (dbCommon's first, as EPICS lays them out).
#[derive(Debug)]
pub struct RecordTypeDef {
    /// Record type name, e.g. `ai`.
    pub name: &'static str,
    /// All fields, dbCommon's first ([`COMMON_FIELD_COUNT`] of them).
    pub fields: &'static [FieldDef],
}

/// How many fields dbCommon contributes at the start of every
/// [`RecordTypeDef::fields`] (`NAME` .. `FLNK`).
pub const COMMON_FIELD_COUNT: usize = 48;

impl RecordTypeDef {
    /// The field named `name` and its index in `fields` (exact, case-sensitive
    /// match as dbFindField; record attributes are not fields, see
    /// [`RecordTypeDef::attribute`]).
    pub fn field(&self, name: &str) -> Option<(usize, &'static FieldDef)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }

    /// A record attribute of this type (`RTYP`): read-only `DBR_STRING`
    /// channels whose value is fixed per record type. Resolved by EPICS only
    /// after no field matched.
    pub fn attribute(&self, name: &str) -> Option<&'static FieldDef> {
        (name == RTYP.name).then_some(&RTYP)
    }

    /// The value of the attribute `name` for this record type (`RTYP` → the
    /// type name).
    pub fn attribute_value(&self, name: &str) -> Option<&'static str> {
        (name == RTYP.name).then_some(self.name)
    }

    /// `DTYP` choices of this record type ([`device_choices`]).
    pub fn device_choices(&self) -> &'static [&'static str] {
        device_choices(self.name)
    }
}

/// The `RTYP` record attribute (dbStaticLib adds it to every record type):
/// a read-only string holding the record type name.
pub static RTYP: FieldDef = FieldDef {
    name: "RTYP",
    dbf: Dbf::String { size: 40 },
    initial: None,
    special: Special::Attribute,
    pp: false,
    prop: false,
    interest: 0,
    asl0: false,
};

/// The record types we serve: ai, ao, bi, bo, mbbi, mbbo, longin, longout, stringin, stringout, waveform, calc.
pub fn record_type(name: &str) -> Option<&'static RecordTypeDef> {
    RECORD_TYPES.iter().copied().find(|r| r.name == name)
}

/// All record types we serve, in the order of [`record_type`]'s doc.
pub fn record_types() -> &'static [&'static RecordTypeDef] {
    &RECORD_TYPES
}

/// The DBR type a CA client sees for a field of this type (EPICS 7
/// `mapDBFToDBR` in dbAccess.c, then `dbDBRnewToDBRold` in db_convert.h):
/// UCHAR reads as CHAR, USHORT as LONG, ULONG/INT64/UINT64 as DOUBLE,
/// MENU/DEVICE as ENUM, links as STRING; NOACCESS is `None`.
pub fn native_type(dbf: Dbf) -> Option<NativeType> {
    Some(match dbf {
        Dbf::String { .. } => NativeType::String,
        Dbf::Char | Dbf::UChar => NativeType::Char,
        Dbf::Short => NativeType::Short,
        Dbf::UShort | Dbf::Long => NativeType::Long,
        Dbf::ULong | Dbf::Int64 | Dbf::UInt64 | Dbf::Double => NativeType::Double,
        Dbf::Float => NativeType::Float,
        Dbf::Enum | Dbf::Menu(_) | Dbf::Device => NativeType::Enum,
        Dbf::InLink | Dbf::OutLink | Dbf::FwdLink => NativeType::String,
        Dbf::NoAccess => return None,
    })
}

/// The `DTYP` (DBF_DEVICE) choices of a record type in the C softIoc: the
/// `device(rtype, ...)` registrations of `softIoc.dbd` in order (index 0 is
/// `Soft Channel`, the default). Empty for unknown types and for `calc`,
/// which has no device support.
pub fn device_choices(rtype: &str) -> &'static [&'static str] {
    DEVICE_CHOICES
        .iter()
        .find(|(t, _)| *t == rtype)
        .map_or(&[], |(_, c)| c)
}

/// EPICS dbPut of a string into a MENU field (dbConvert.c `putStringMenu`,
/// dbFastLinkConv.c `cvt_st_menu`): an exact, case-sensitive choice match
/// first, else a decimal number below the number of choices. This is the
/// rule for CA puts of `DBR_STRING`; `.db` files and `initial(...)` use
/// [`parse_menu_load`].
pub fn parse_menu(menu: &Menu, s: &str) -> Option<u16> {
    parse_choice(menu.choices, s)
}

/// The rule of [`parse_menu`] for any choice list (also `DTYP` with
/// [`device_choices`], dbFastLinkConv.c `cvt_st_device`).
///
/// The number is parsed as `epicsParseUInt16(s, base 10)`: leading and
/// trailing C whitespace allowed, an optional `+` or `-` sign (a negative
/// number wraps as C `strtoul` does, so `-65535` is 1), nothing else after
/// the digits. Checked with `DBR_STRING` puts to a C softIoc.
pub fn parse_choice(choices: &[&str], s: &str) -> Option<u16> {
    if let Some(i) = choices.iter().position(|c| *c == s) {
        return u16::try_from(i).ok();
    }
    let v = parse_epics_u16(s, false)?;
    (usize::from(v) < choices.len()).then_some(v)
}

/// A MENU field value as written in a `.db` file (`field(SCAN, "...")`) or
/// an `initial(...)`: dbStaticLib `dbPutStringNum`. See [`parse_choice_load`].
pub fn parse_menu_load(menu: &Menu, s: &str) -> Option<u16> {
    parse_choice_load(menu.choices, s)
}

/// The load-time rule for MENU and DEVICE (`DTYP`) fields (dbStaticRun.c
/// `dbPutStringNum`), laxer than [`parse_choice`]:
/// - an empty string means `"0"`;
/// - an exact choice match, else `epicsParseUInt16(s, base 0)`: C `strtoul`
///   base 0, so `0x1f` is hex and `010` octal (8), whitespace and sign as in
///   [`parse_choice`];
/// - the number is refused only if `n > choices && choices > 0 && n < 65535`,
///   so `n == choices` (one past the last choice) and `65535` are accepted
///   (e.g. `SSCN`'s `initial("65535")`), and any number is accepted when
///   there are no choices (`calc.DTYP`).
///
/// Checked against the C softIoc loading `field(DISS, ...)` / `field(DTYP, ...)`.
pub fn parse_choice_load(choices: &[&str], s: &str) -> Option<u16> {
    let s = if s.is_empty() { "0" } else { s };
    if let Some(i) = choices.iter().position(|c| *c == s) {
        return u16::try_from(i).ok();
    }
    let v = parse_epics_u16(s, true)?;
    let n = choices.len();
    if usize::from(v) > n && n > 0 && v < u16::MAX {
        return None;
    }
    Some(v)
}

/// What a `DBR_STRING` read of a MENU field holding `index` returns
/// (dbFastLinkConv.c `cvt_menu_st`): the choice, or the index in decimal when
/// out of range (e.g. `SSCN` reads `"65535"`).
pub fn menu_value_string(menu: &Menu, index: u16) -> std::borrow::Cow<'static, str> {
    match menu.choice(index) {
        Some(c) => std::borrow::Cow::Borrowed(c),
        None => std::borrow::Cow::Owned(index.to_string()),
    }
}

/// What a `DBR_STRING` read of `DTYP` holding `index` returns
/// (dbFastLinkConv.c `cvt_device_st`): the device choice; `""` for a record
/// type without device support (`calc`); `None` (the read fails with
/// `S_db_badChoice`) when out of range.
pub fn device_value_string(rtype: &str, index: u16) -> Option<&'static str> {
    let choices = device_choices(rtype);
    if choices.is_empty() {
        return Some("");
    }
    choices.get(usize::from(index)).copied()
}

/// `epicsParseUInt16(str, &v, base, NULL)` (epicsStdlib.c) with base 10, or
/// base 0 when `base0`: `strtoul` on a 64-bit `unsigned long`, then the
/// 16-bit range check that lets wrapped negatives `-1..=-65535` through.
fn parse_epics_u16(s: &str, base0: bool) -> Option<u16> {
    let value = parse_epics_ulong(s, base0)?;
    if value > 0xffff && value <= !0xffffu64 {
        return None;
    }
    // In range or a wrapped negative: C keeps the low 16 bits.
    Some((value & 0xffff) as u16)
}

/// `epicsParseULong(str, &v, base, NULL)`: C whitespace around, one C
/// `strtoul` conversion (sign, base prefix when `base0`), nothing after it.
fn parse_epics_ulong(s: &str, base0: bool) -> Option<u64> {
    // C isspace in the "C" locale.
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let t = s.trim_start_matches(is_space).trim_end_matches(is_space);
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = rest.as_bytes();
    let (radix, digits) = if !base0 {
        (10, rest)
    } else if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit() {
        (16, &rest[2..])
    } else if b.first() == Some(&b'0') {
        (8, rest)
    } else {
        (10, rest)
    };
    // strtoul stops at the first non-digit; epicsParseULong then refuses
    // anything but trailing whitespace, already trimmed.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // ERANGE when the magnitude exceeds u64::MAX.
    let mag = u64::from_str_radix(digits, radix).ok()?;
    Some(if neg { mag.wrapping_neg() } else { mag })
}

// ---------------------------------------------------------------------------
// Tables (transcribed from EPICS base 7.0.8.1 softIoc.dbd).

/// `pp(TRUE)` bit of [`fd`]'s flags.
const PP: u8 = 1;
/// `prop(YES)` bit of [`fd`]'s flags.
const PROP: u8 = 2;
/// `asl(ASL0)` bit of [`fd`]'s flags.
const ASL0: u8 = 4;

/// One table row: name, type, initial, special, `PP | PROP | ASL0` flags, interest.
const fn fd(
    name: &'static str,
    dbf: Dbf,
    initial: Option<&'static str>,
    special: Special,
    flags: u8,
    interest: u8,
) -> FieldDef {
    FieldDef {
        name,
        dbf,
        initial,
        special,
        pp: flags & PP != 0,
        prop: flags & PROP != 0,
        interest,
        asl0: flags & ASL0 != 0,
    }
}

/// Prepends the dbCommon fields (dbCommon.dbd, in order) to a record type's own fields.
#[rustfmt::skip]
macro_rules! with_common {
    ($($own:expr,)*) => {
        [
            fd("NAME",  Dbf::String { size: 61 },    None,            Special::NoMod, 0,  0),
            fd("DESC",  Dbf::String { size: 41 },    None,            Special::None,  0,  0),
            fd("ASG",   Dbf::String { size: 29 },    None,            Special::As,    0,  0),
            fd("SCAN",  Dbf::Menu(&MENU_SCAN),       None,            Special::Scan,  0,  1),
            fd("PINI",  Dbf::Menu(&MENU_PINI),       None,            Special::None,  0,  1),
            fd("PHAS",  Dbf::Short,                  None,            Special::Scan,  0,  1),
            fd("EVNT",  Dbf::String { size: 40 },    None,            Special::Scan,  0,  1),
            fd("TSE",   Dbf::Short,                  None,            Special::None,  0,  1),
            fd("TSEL",  Dbf::InLink,                 None,            Special::None,  0,  1),
            fd("DTYP",  Dbf::Device,                 None,            Special::None,  0,  1),
            fd("DISV",  Dbf::Short,                  Some("1"),       Special::None,  0,  0),
            fd("DISA",  Dbf::Short,                  None,            Special::None,  0,  0),
            fd("SDIS",  Dbf::InLink,                 None,            Special::None,  0,  1),
            fd("MLOK",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("MLIS",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("BKLNK", Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("DISP",  Dbf::UChar,                  None,            Special::None,  0,  1),
            fd("PROC",  Dbf::UChar,                  None,            Special::None,  PP, 3),
            fd("STAT",  Dbf::Menu(&MENU_ALARM_STAT), Some("UDF"),     Special::NoMod, 0,  0),
            fd("SEVR",  Dbf::Menu(&MENU_ALARM_SEVR), None,            Special::NoMod, 0,  0),
            fd("AMSG",  Dbf::String { size: 40 },    None,            Special::NoMod, 0,  0),
            fd("NSTA",  Dbf::Menu(&MENU_ALARM_STAT), None,            Special::NoMod, 0,  2),
            fd("NSEV",  Dbf::Menu(&MENU_ALARM_SEVR), None,            Special::NoMod, 0,  2),
            fd("NAMSG", Dbf::String { size: 40 },    None,            Special::NoMod, 0,  0),
            fd("ACKS",  Dbf::Menu(&MENU_ALARM_SEVR), None,            Special::NoMod, 0,  2),
            fd("ACKT",  Dbf::Menu(&MENU_YES_NO),     Some("YES"),     Special::NoMod, 0,  2),
            fd("DISS",  Dbf::Menu(&MENU_ALARM_SEVR), None,            Special::None,  0,  1),
            fd("LCNT",  Dbf::UChar,                  None,            Special::NoMod, 0,  2),
            fd("PACT",  Dbf::UChar,                  None,            Special::NoMod, 0,  1),
            fd("PUTF",  Dbf::UChar,                  None,            Special::NoMod, 0,  1),
            fd("RPRO",  Dbf::UChar,                  None,            Special::NoMod, 0,  1),
            fd("ASP",   Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("PPN",   Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("PPNR",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("SPVT",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("RSET",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("DSET",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("DPVT",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("RDES",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("LSET",  Dbf::NoAccess,               None,            Special::NoMod, 0,  4),
            fd("PRIO",  Dbf::Menu(&MENU_PRIORITY),   None,            Special::Scan,  0,  1),
            fd("TPRO",  Dbf::UChar,                  None,            Special::None,  0,  0),
            fd("BKPT",  Dbf::NoAccess,               None,            Special::NoMod, 0,  1),
            fd("UDF",   Dbf::UChar,                  Some("1"),       Special::None,  PP, 1),
            fd("UDFS",  Dbf::Menu(&MENU_ALARM_SEVR), Some("INVALID"), Special::None,  0,  1),
            fd("TIME",  Dbf::NoAccess,               None,            Special::NoMod, 0,  2),
            fd("UTAG",  Dbf::UInt64,                 None,            Special::NoMod, 0,  3),
            fd("FLNK",  Dbf::FwdLink,                None,            Special::None,  0,  1),
            $($own,)*
        ]
    };
}

/// `recordtype(ai)`: dbCommon then its 45 own fields.
#[rustfmt::skip]
static AI_FIELDS: [FieldDef; 93] = with_common![
    fd("VAL",     Dbf::Double,                 None,          Special::None,    PP | ASL0, 0),
    fd("INP",     Dbf::InLink,                 None,          Special::None,    0,         1),
    fd("PREC",    Dbf::Short,                  None,          Special::None,    PROP,      1),
    fd("LINR",    Dbf::Menu(&MENU_CONVERT),    None,          Special::LinConv, PP,        1),
    fd("EGUF",    Dbf::Double,                 None,          Special::LinConv, PP,        1),
    fd("EGUL",    Dbf::Double,                 None,          Special::LinConv, PP,        1),
    fd("EGU",     Dbf::String { size: 16 },    None,          Special::None,    PROP,      1),
    fd("HOPR",    Dbf::Double,                 None,          Special::None,    PROP,      1),
    fd("LOPR",    Dbf::Double,                 None,          Special::None,    PROP,      1),
    fd("AOFF",    Dbf::Double,                 None,          Special::None,    PP,        1),
    fd("ASLO",    Dbf::Double,                 Some("1"),     Special::None,    PP,        1),
    fd("SMOO",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("HIHI",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("LOLO",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("HIGH",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("LOW",     Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("HHSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("LLSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("HSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("LSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("HYST",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("AFTC",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("ADEL",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("MDEL",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("LALM",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("AFVL",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("ALST",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("MLST",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("ESLO",    Dbf::Double,                 Some("1"),     Special::None,    PP,        2),
    fd("EOFF",    Dbf::Double,                 None,          Special::None,    PP,        2),
    fd("ROFF",    Dbf::ULong,                  None,          Special::None,    PP,        2),
    fd("PBRK",    Dbf::NoAccess,               None,          Special::NoMod,   0,         4),
    fd("INIT",    Dbf::Short,                  None,          Special::NoMod,   0,         3),
    fd("LBRK",    Dbf::Short,                  None,          Special::NoMod,   0,         3),
    fd("RVAL",    Dbf::Long,                   None,          Special::None,    PP,        0),
    fd("ORAW",    Dbf::Long,                   None,          Special::NoMod,   0,         3),
    fd("SIOL",    Dbf::InLink,                 None,          Special::None,    0,         1),
    fd("SVAL",    Dbf::Double,                 None,          Special::None,    0,         0),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,    0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_SIMM),       None,          Special::Mod,     0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod,   0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,    0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,    0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod,   0,         4),
];

/// `recordtype(ao)`: dbCommon then its 54 own fields.
#[rustfmt::skip]
static AO_FIELDS: [FieldDef; 102] = with_common![
    fd("VAL",     Dbf::Double,                 None,          Special::None,    PP | ASL0, 0),
    fd("OVAL",    Dbf::Double,                 None,          Special::None,    0,         0),
    fd("OUT",     Dbf::OutLink,                None,          Special::None,    0,         1),
    fd("OROC",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("DOL",     Dbf::InLink,                 None,          Special::None,    0,         1),
    fd("OMSL",    Dbf::Menu(&MENU_OMSL),       None,          Special::None,    0,         1),
    fd("OIF",     Dbf::Menu(&AO_OIF),          None,          Special::None,    0,         1),
    fd("PREC",    Dbf::Short,                  None,          Special::None,    PROP,      1),
    fd("LINR",    Dbf::Menu(&MENU_CONVERT),    None,          Special::LinConv, PP,        1),
    fd("EGUF",    Dbf::Double,                 None,          Special::LinConv, PP,        1),
    fd("EGUL",    Dbf::Double,                 None,          Special::LinConv, PP,        1),
    fd("EGU",     Dbf::String { size: 16 },    None,          Special::None,    PROP,      1),
    fd("ROFF",    Dbf::ULong,                  None,          Special::None,    PP,        2),
    fd("EOFF",    Dbf::Double,                 None,          Special::None,    PP,        2),
    fd("ESLO",    Dbf::Double,                 Some("1"),     Special::None,    PP,        2),
    fd("DRVH",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("DRVL",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("HOPR",    Dbf::Double,                 None,          Special::None,    PROP,      1),
    fd("LOPR",    Dbf::Double,                 None,          Special::None,    PROP,      1),
    fd("AOFF",    Dbf::Double,                 None,          Special::None,    PP,        1),
    fd("ASLO",    Dbf::Double,                 None,          Special::None,    PP,        1),
    fd("HIHI",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("LOLO",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("HIGH",    Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("LOW",     Dbf::Double,                 None,          Special::None,    PP | PROP, 1),
    fd("HHSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("LLSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("HSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("LSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    PP | PROP, 1),
    fd("HYST",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("ADEL",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("MDEL",    Dbf::Double,                 None,          Special::None,    0,         1),
    fd("RVAL",    Dbf::Long,                   None,          Special::None,    PP,        0),
    fd("ORAW",    Dbf::Long,                   None,          Special::NoMod,   0,         3),
    fd("RBV",     Dbf::Long,                   None,          Special::NoMod,   0,         0),
    fd("ORBV",    Dbf::Long,                   None,          Special::NoMod,   0,         3),
    fd("PVAL",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("LALM",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("ALST",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("MLST",    Dbf::Double,                 None,          Special::NoMod,   0,         3),
    fd("PBRK",    Dbf::NoAccess,               None,          Special::NoMod,   0,         4),
    fd("INIT",    Dbf::Short,                  None,          Special::NoMod,   0,         3),
    fd("LBRK",    Dbf::Short,                  None,          Special::NoMod,   0,         3),
    fd("SIOL",    Dbf::OutLink,                None,          Special::None,    0,         1),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,    0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_SIMM),       None,          Special::Mod,     0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,    0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod,   0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,    0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,    0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod,   0,         4),
    fd("IVOA",    Dbf::Menu(&MENU_IVOA),       None,          Special::None,    0,         2),
    fd("IVOV",    Dbf::Double,                 None,          Special::None,    0,         2),
    fd("OMOD",    Dbf::UChar,                  None,          Special::NoMod,   0,         0),
];

/// `recordtype(bi)`: dbCommon then its 21 own fields.
#[rustfmt::skip]
static BI_FIELDS: [FieldDef; 69] = with_common![
    fd("INP",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("VAL",     Dbf::Enum,                   None,          Special::None,  PP | ASL0, 0),
    fd("ZSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("OSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("COSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("ZNAM",    Dbf::String { size: 26 },    None,          Special::None,  PP | PROP, 1),
    fd("ONAM",    Dbf::String { size: 26 },    None,          Special::None,  PP | PROP, 1),
    fd("RVAL",    Dbf::ULong,                  None,          Special::None,  PP,        0),
    fd("ORAW",    Dbf::ULong,                  None,          Special::NoMod, 0,         3),
    fd("MASK",    Dbf::ULong,                  None,          Special::NoMod, 0,         1),
    fd("LALM",    Dbf::UShort,                 None,          Special::NoMod, 0,         3),
    fd("MLST",    Dbf::UShort,                 None,          Special::NoMod, 0,         3),
    fd("SIOL",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SVAL",    Dbf::ULong,                  None,          Special::None,  0,         0),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_SIMM),       None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
];

/// `recordtype(bo)`: dbCommon then its 29 own fields.
#[rustfmt::skip]
static BO_FIELDS: [FieldDef; 77] = with_common![
    fd("VAL",     Dbf::Enum,                   None,          Special::None,  PP | ASL0, 0),
    fd("OMSL",    Dbf::Menu(&MENU_OMSL),       None,          Special::None,  0,         1),
    fd("DOL",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("OUT",     Dbf::OutLink,                None,          Special::None,  0,         1),
    fd("HIGH",    Dbf::Double,                 None,          Special::None,  0,         1),
    fd("ZNAM",    Dbf::String { size: 26 },    None,          Special::None,  PP | PROP, 1),
    fd("ONAM",    Dbf::String { size: 26 },    None,          Special::None,  PP | PROP, 1),
    fd("RVAL",    Dbf::ULong,                  None,          Special::None,  PP,        0),
    fd("ORAW",    Dbf::ULong,                  None,          Special::NoMod, 0,         3),
    fd("MASK",    Dbf::ULong,                  None,          Special::NoMod, 0,         1),
    fd("RPVT",    Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
    fd("WDPT",    Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
    fd("ZSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("OSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("COSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("RBV",     Dbf::ULong,                  None,          Special::NoMod, 0,         0),
    fd("ORBV",    Dbf::ULong,                  None,          Special::NoMod, 0,         3),
    fd("MLST",    Dbf::UShort,                 None,          Special::NoMod, 0,         3),
    fd("LALM",    Dbf::UShort,                 None,          Special::NoMod, 0,         3),
    fd("SIOL",    Dbf::OutLink,                None,          Special::None,  0,         1),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_SIMM),       None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
    fd("IVOA",    Dbf::Menu(&MENU_IVOA),       None,          Special::None,  0,         2),
    fd("IVOV",    Dbf::UShort,                 None,          Special::None,  0,         2),
];

/// `recordtype(mbbi)`: dbCommon then its 71 own fields.
#[rustfmt::skip]
static MBBI_FIELDS: [FieldDef; 119] = with_common![
    fd("VAL",     Dbf::Enum,                   None,          Special::None,  PP | ASL0, 0),
    fd("NOBT",    Dbf::UShort,                 None,          Special::NoMod, 0,         1),
    fd("INP",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("ZRVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("ONVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("TWVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("THVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("FRVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("FVVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("SXVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("SVVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("EIVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("NIVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("TEVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("ELVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("TVVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("TTVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("FTVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("FFVL",    Dbf::ULong,                  None,          Special::Mod,   PP,        1),
    fd("ZRST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("ONST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("TWST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("THST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("FRST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("FVST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("SXST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("SVST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("EIST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("NIST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("TEST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("ELST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("TVST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("TTST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("FTST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("FFST",    Dbf::String { size: 26 },    None,          Special::Mod,   PP,        1),
    fd("ZRSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("ONSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("TWSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("THSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("FRSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("FVSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("SXSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("SVSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("EISV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("NISV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("TESV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("ELSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("TVSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("TTSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("FTSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("FFSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("AFTC",    Dbf::Double,                 None,          Special::None,  0,         1),
    fd("AFVL",    Dbf::Double,                 None,          Special::NoMod, 0,         3),
    fd("UNSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("COSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("RVAL",    Dbf::ULong,                  None,          Special::None,  PP,        0),
    fd("ORAW",    Dbf::ULong,                  None,          Special::NoMod, 0,         3),
    fd("MASK",    Dbf::ULong,                  None,          Special::NoMod, 0,         1),
    fd("MLST",    Dbf::UShort,                 None,          Special::NoMod, 0,         3),
    fd("LALM",    Dbf::UShort,                 None,          Special::NoMod, 0,         3),
    fd("SDEF",    Dbf::Short,                  None,          Special::NoMod, 0,         3),
    fd("SHFT",    Dbf::UShort,                 None,          Special::None,  0,         1),
    fd("SIOL",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SVAL",    Dbf::ULong,                  None,          Special::None,  0,         0),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_SIMM),       None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
];

/// `recordtype(mbbo)`: dbCommon then its 74 own fields.
#[rustfmt::skip]
static MBBO_FIELDS: [FieldDef; 122] = with_common![
    fd("VAL",     Dbf::Enum,                   None,          Special::DbAddr, PP | ASL0, 0),
    fd("DOL",     Dbf::InLink,                 None,          Special::None,   0,         1),
    fd("OMSL",    Dbf::Menu(&MENU_OMSL),       None,          Special::None,   0,         1),
    fd("NOBT",    Dbf::UShort,                 None,          Special::NoMod,  0,         1),
    fd("OUT",     Dbf::OutLink,                None,          Special::None,   0,         1),
    fd("ZRVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("ONVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("TWVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("THVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("FRVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("FVVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("SXVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("SVVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("EIVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("NIVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("TEVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("ELVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("TVVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("TTVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("FTVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("FFVL",    Dbf::ULong,                  None,          Special::Mod,    PP,        1),
    fd("ZRST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("ONST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("TWST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("THST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("FRST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("FVST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("SXST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("SVST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("EIST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("NIST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("TEST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("ELST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("TVST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("TTST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("FTST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("FFST",    Dbf::String { size: 26 },    None,          Special::Mod,    PP,        1),
    fd("ZRSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("ONSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("TWSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("THSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("FRSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("FVSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("SXSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("SVSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("EISV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("NISV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("TESV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("ELSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("TVSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("TTSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("FTSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("FFSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("UNSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("COSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   PP,        1),
    fd("RVAL",    Dbf::ULong,                  None,          Special::None,   PP,        0),
    fd("ORAW",    Dbf::ULong,                  None,          Special::NoMod,  0,         3),
    fd("RBV",     Dbf::ULong,                  None,          Special::NoMod,  0,         0),
    fd("ORBV",    Dbf::ULong,                  None,          Special::NoMod,  0,         3),
    fd("MASK",    Dbf::ULong,                  None,          Special::NoMod,  0,         1),
    fd("MLST",    Dbf::UShort,                 None,          Special::NoMod,  0,         3),
    fd("LALM",    Dbf::UShort,                 None,          Special::NoMod,  0,         3),
    fd("SDEF",    Dbf::Short,                  None,          Special::NoMod,  0,         3),
    fd("SHFT",    Dbf::UShort,                 None,          Special::None,   0,         1),
    fd("SIOL",    Dbf::OutLink,                None,          Special::None,   0,         1),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,   0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_SIMM),       None,          Special::Mod,    0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod,  0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,   0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,   0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod,  0,         4),
    fd("IVOA",    Dbf::Menu(&MENU_IVOA),       None,          Special::None,   0,         2),
    fd("IVOV",    Dbf::UShort,                 None,          Special::None,   0,         2),
];

/// `recordtype(longin)`: dbCommon then its 30 own fields.
#[rustfmt::skip]
static LONGIN_FIELDS: [FieldDef; 78] = with_common![
    fd("VAL",     Dbf::Long,                   None,          Special::None,  PP | ASL0, 0),
    fd("INP",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("EGU",     Dbf::String { size: 16 },    None,          Special::None,  PROP,      1),
    fd("HOPR",    Dbf::Long,                   None,          Special::None,  PROP,      1),
    fd("LOPR",    Dbf::Long,                   None,          Special::None,  PROP,      1),
    fd("HIHI",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("LOLO",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("HIGH",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("LOW",     Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("HHSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("LLSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("HSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("LSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("HYST",    Dbf::Long,                   None,          Special::None,  0,         1),
    fd("AFTC",    Dbf::Double,                 None,          Special::None,  0,         1),
    fd("AFVL",    Dbf::Double,                 None,          Special::NoMod, 0,         3),
    fd("ADEL",    Dbf::Long,                   None,          Special::None,  0,         1),
    fd("MDEL",    Dbf::Long,                   None,          Special::None,  0,         1),
    fd("LALM",    Dbf::Long,                   None,          Special::NoMod, 0,         3),
    fd("ALST",    Dbf::Long,                   None,          Special::NoMod, 0,         3),
    fd("MLST",    Dbf::Long,                   None,          Special::NoMod, 0,         3),
    fd("SIOL",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SVAL",    Dbf::Long,                   None,          Special::None,  0,         0),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_YES_NO),     None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
];

/// `recordtype(longout)`: dbCommon then its 37 own fields.
#[rustfmt::skip]
static LONGOUT_FIELDS: [FieldDef; 85] = with_common![
    fd("VAL",     Dbf::Long,                   None,          Special::None,  PP | ASL0, 0),
    fd("OUT",     Dbf::OutLink,                None,          Special::Mod,   0,         1),
    fd("DOL",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("OMSL",    Dbf::Menu(&MENU_OMSL),       None,          Special::None,  0,         1),
    fd("EGU",     Dbf::String { size: 16 },    None,          Special::None,  PROP,      1),
    fd("DRVH",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("DRVL",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("HOPR",    Dbf::Long,                   None,          Special::None,  PROP,      1),
    fd("LOPR",    Dbf::Long,                   None,          Special::None,  PROP,      1),
    fd("HIHI",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("LOLO",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("HIGH",    Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("LOW",     Dbf::Long,                   None,          Special::None,  PP | PROP, 1),
    fd("HHSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("LLSV",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("HSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("LSV",     Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  PP,        1),
    fd("HYST",    Dbf::Long,                   None,          Special::None,  0,         1),
    fd("ADEL",    Dbf::Long,                   None,          Special::None,  0,         1),
    fd("MDEL",    Dbf::Long,                   None,          Special::None,  0,         1),
    fd("LALM",    Dbf::Long,                   None,          Special::NoMod, 0,         3),
    fd("ALST",    Dbf::Long,                   None,          Special::NoMod, 0,         3),
    fd("MLST",    Dbf::Long,                   None,          Special::NoMod, 0,         3),
    fd("SIOL",    Dbf::OutLink,                None,          Special::None,  0,         1),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_YES_NO),     None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
    fd("IVOA",    Dbf::Menu(&MENU_IVOA),       None,          Special::None,  0,         2),
    fd("IVOV",    Dbf::Long,                   None,          Special::None,  0,         2),
    fd("PVAL",    Dbf::Long,                   None,          Special::None,  0,         0),
    fd("OUTPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
    fd("OOCH",    Dbf::Menu(&MENU_YES_NO),     Some("1"),     Special::None,  0,         1),
    fd("OOPT",    Dbf::Menu(&LONGOUT_OOPT),    Some("0"),     Special::None,  0,         1),
];

/// `recordtype(stringin)`: dbCommon then its 14 own fields.
#[rustfmt::skip]
static STRINGIN_FIELDS: [FieldDef; 62] = with_common![
    fd("VAL",     Dbf::String { size: 40 },    None,          Special::None,  PP | ASL0, 0),
    fd("OVAL",    Dbf::String { size: 40 },    None,          Special::NoMod, 0,         3),
    fd("INP",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("MPST",    Dbf::Menu(&STRINGIN_POST),   None,          Special::None,  0,         1),
    fd("APST",    Dbf::Menu(&STRINGIN_POST),   None,          Special::None,  0,         1),
    fd("SIOL",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SVAL",    Dbf::String { size: 40 },    None,          Special::None,  PP,        0),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_YES_NO),     None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
];

/// `recordtype(stringout)`: dbCommon then its 17 own fields.
#[rustfmt::skip]
static STRINGOUT_FIELDS: [FieldDef; 65] = with_common![
    fd("VAL",     Dbf::String { size: 40 },    None,          Special::None,  PP | ASL0, 0),
    fd("OVAL",    Dbf::String { size: 40 },    None,          Special::NoMod, 0,         3),
    fd("DOL",     Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("OMSL",    Dbf::Menu(&MENU_OMSL),       None,          Special::None,  0,         1),
    fd("OUT",     Dbf::OutLink,                None,          Special::None,  0,         1),
    fd("MPST",    Dbf::Menu(&STRINGOUT_POST),  None,          Special::None,  0,         1),
    fd("APST",    Dbf::Menu(&STRINGOUT_POST),  None,          Special::None,  0,         1),
    fd("SIOL",    Dbf::OutLink,                None,          Special::None,  0,         1),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,  0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_YES_NO),     None,          Special::Mod,   0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,  0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod, 0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,  0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,  0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod, 0,         4),
    fd("IVOA",    Dbf::Menu(&MENU_IVOA),       None,          Special::None,  0,         2),
    fd("IVOV",    Dbf::String { size: 40 },    None,          Special::None,  0,         2),
];

/// `recordtype(waveform)`: dbCommon then its 23 own fields.
#[rustfmt::skip]
static WAVEFORM_FIELDS: [FieldDef; 71] = with_common![
    fd("VAL",     Dbf::NoAccess,               None,          Special::DbAddr, PP | ASL0, 0),
    fd("RARM",    Dbf::Short,                  None,          Special::None,   PP,        1),
    fd("PREC",    Dbf::Short,                  None,          Special::None,   PROP,      1),
    fd("INP",     Dbf::InLink,                 None,          Special::None,   0,         1),
    fd("EGU",     Dbf::String { size: 16 },    None,          Special::None,   PROP,      1),
    fd("HOPR",    Dbf::Double,                 None,          Special::None,   PROP,      1),
    fd("LOPR",    Dbf::Double,                 None,          Special::None,   PROP,      1),
    fd("NELM",    Dbf::ULong,                  Some("1"),     Special::NoMod,  0,         1),
    fd("FTVL",    Dbf::Menu(&MENU_FTYPE),      None,          Special::NoMod,  0,         1),
    fd("BUSY",    Dbf::Short,                  None,          Special::NoMod,  0,         0),
    fd("NORD",    Dbf::ULong,                  None,          Special::NoMod,  0,         0),
    fd("BPTR",    Dbf::NoAccess,               None,          Special::NoMod,  0,         4),
    fd("SIOL",    Dbf::InLink,                 None,          Special::None,   0,         1),
    fd("SIML",    Dbf::InLink,                 None,          Special::None,   0,         1),
    fd("SIMM",    Dbf::Menu(&MENU_YES_NO),     None,          Special::Mod,    0,         1),
    fd("SIMS",    Dbf::Menu(&MENU_ALARM_SEVR), None,          Special::None,   0,         2),
    fd("OLDSIMM", Dbf::Menu(&MENU_SIMM),       None,          Special::NoMod,  0,         4),
    fd("SSCN",    Dbf::Menu(&MENU_SCAN),       Some("65535"), Special::None,   0,         1),
    fd("SDLY",    Dbf::Double,                 Some("-1.0"),  Special::None,   0,         2),
    fd("SIMPVT",  Dbf::NoAccess,               None,          Special::NoMod,  0,         4),
    fd("MPST",    Dbf::Menu(&WAVEFORM_POST),   None,          Special::None,   0,         1),
    fd("APST",    Dbf::Menu(&WAVEFORM_POST),   None,          Special::None,   0,         1),
    fd("HASH",    Dbf::ULong,                  None,          Special::None,   0,         3),
];

/// `recordtype(calc)`: dbCommon then its 59 own fields.
#[rustfmt::skip]
static CALC_FIELDS: [FieldDef; 107] = with_common![
    fd("VAL",  Dbf::Double,                 None,      Special::None,  ASL0,      0),
    fd("CALC", Dbf::String { size: 80 },    Some("0"), Special::Calc,  PP,        0),
    fd("INPA", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPB", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPC", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPD", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPE", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPF", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPG", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPH", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPI", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPJ", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPK", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("INPL", Dbf::InLink,                 None,      Special::None,  0,         1),
    fd("EGU",  Dbf::String { size: 16 },    None,      Special::None,  PROP,      1),
    fd("PREC", Dbf::Short,                  None,      Special::None,  PROP,      1),
    fd("HOPR", Dbf::Double,                 None,      Special::None,  PROP,      1),
    fd("LOPR", Dbf::Double,                 None,      Special::None,  PROP,      1),
    fd("HIHI", Dbf::Double,                 None,      Special::None,  PP | PROP, 1),
    fd("LOLO", Dbf::Double,                 None,      Special::None,  PP | PROP, 1),
    fd("HIGH", Dbf::Double,                 None,      Special::None,  PP | PROP, 1),
    fd("LOW",  Dbf::Double,                 None,      Special::None,  PP | PROP, 1),
    fd("HHSV", Dbf::Menu(&MENU_ALARM_SEVR), None,      Special::None,  PP | PROP, 1),
    fd("LLSV", Dbf::Menu(&MENU_ALARM_SEVR), None,      Special::None,  PP | PROP, 1),
    fd("HSV",  Dbf::Menu(&MENU_ALARM_SEVR), None,      Special::None,  PP | PROP, 1),
    fd("LSV",  Dbf::Menu(&MENU_ALARM_SEVR), None,      Special::None,  PP | PROP, 1),
    fd("AFTC", Dbf::Double,                 None,      Special::None,  0,         1),
    fd("AFVL", Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("HYST", Dbf::Double,                 None,      Special::None,  0,         1),
    fd("ADEL", Dbf::Double,                 None,      Special::None,  0,         1),
    fd("MDEL", Dbf::Double,                 None,      Special::None,  0,         1),
    fd("A",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("B",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("C",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("D",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("E",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("F",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("G",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("H",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("I",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("J",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("K",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("L",    Dbf::Double,                 None,      Special::None,  PP,        0),
    fd("LA",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LB",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LC",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LD",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LE",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LF",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LG",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LH",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LI",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LJ",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LK",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LL",   Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("LALM", Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("ALST", Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("MLST", Dbf::Double,                 None,      Special::NoMod, 0,         3),
    fd("RPCL", Dbf::NoAccess,               None,      Special::NoMod, 0,         4),
];

/// The `ai` record type.
pub static AI: RecordTypeDef = RecordTypeDef {
    name: "ai",
    fields: &AI_FIELDS,
};
/// The `ao` record type.
pub static AO: RecordTypeDef = RecordTypeDef {
    name: "ao",
    fields: &AO_FIELDS,
};
/// The `bi` record type.
pub static BI: RecordTypeDef = RecordTypeDef {
    name: "bi",
    fields: &BI_FIELDS,
};
/// The `bo` record type.
pub static BO: RecordTypeDef = RecordTypeDef {
    name: "bo",
    fields: &BO_FIELDS,
};
/// The `mbbi` record type.
pub static MBBI: RecordTypeDef = RecordTypeDef {
    name: "mbbi",
    fields: &MBBI_FIELDS,
};
/// The `mbbo` record type.
pub static MBBO: RecordTypeDef = RecordTypeDef {
    name: "mbbo",
    fields: &MBBO_FIELDS,
};
/// The `longin` record type.
pub static LONGIN: RecordTypeDef = RecordTypeDef {
    name: "longin",
    fields: &LONGIN_FIELDS,
};
/// The `longout` record type.
pub static LONGOUT: RecordTypeDef = RecordTypeDef {
    name: "longout",
    fields: &LONGOUT_FIELDS,
};
/// The `stringin` record type.
pub static STRINGIN: RecordTypeDef = RecordTypeDef {
    name: "stringin",
    fields: &STRINGIN_FIELDS,
};
/// The `stringout` record type.
pub static STRINGOUT: RecordTypeDef = RecordTypeDef {
    name: "stringout",
    fields: &STRINGOUT_FIELDS,
};
/// The `waveform` record type.
pub static WAVEFORM: RecordTypeDef = RecordTypeDef {
    name: "waveform",
    fields: &WAVEFORM_FIELDS,
};
/// The `calc` record type.
pub static CALC: RecordTypeDef = RecordTypeDef {
    name: "calc",
    fields: &CALC_FIELDS,
};

/// The served record types, in the order listed by [`record_types`].
static RECORD_TYPES: [&RecordTypeDef; 12] = [
    &AI, &AO, &BI, &BO, &MBBI, &MBBO, &LONGIN, &LONGOUT, &STRINGIN, &STRINGOUT, &WAVEFORM, &CALC,
];

/// `device(...)` choices per served record type, in registration order (softIoc.dbd).
static DEVICE_CHOICES: [(&str, &[&str]); 12] = [
    (
        "ai",
        &[
            "Soft Channel",
            "Raw Soft Channel",
            "Async Soft Channel",
            "Soft Timestamp",
            "General Time",
        ],
    ),
    (
        "ao",
        &["Soft Channel", "Raw Soft Channel", "Async Soft Channel"],
    ),
    (
        "bi",
        &[
            "Soft Channel",
            "Raw Soft Channel",
            "Async Soft Channel",
            "Db State",
        ],
    ),
    (
        "bo",
        &[
            "Soft Channel",
            "Raw Soft Channel",
            "Async Soft Channel",
            "General Time",
            "Db State",
        ],
    ),
    (
        "mbbi",
        &["Soft Channel", "Raw Soft Channel", "Async Soft Channel"],
    ),
    (
        "mbbo",
        &["Soft Channel", "Raw Soft Channel", "Async Soft Channel"],
    ),
    (
        "longin",
        &["Soft Channel", "Async Soft Channel", "General Time"],
    ),
    ("longout", &["Soft Channel", "Async Soft Channel"]),
    (
        "stringin",
        &[
            "Soft Channel",
            "Async Soft Channel",
            "Soft Timestamp",
            "General Time",
            "getenv",
        ],
    ),
    (
        "stringout",
        &["Soft Channel", "Async Soft Channel", "stdio"],
    ),
    ("waveform", &["Soft Channel"]),
    ("calc", &[]),
];

#[cfg(test)]
mod tests {
    use super::super::menus;
    use super::*;

    /// CA native type of every field of every served record type, in field
    /// order, as reported by a running EPICS 7.0.8.1 C `softIoc` (pyepics/libca
    /// `ca_field_type` on `rec.FIELD`; `cainfo` agrees): S = DBR_STRING,
    /// I = DBR_SHORT, F = DBR_FLOAT, E = DBR_ENUM, C = DBR_CHAR, L = DBR_LONG,
    /// D = DBR_DOUBLE, - = channel not found (DBF_NOACCESS). Every channel
    /// that connected had element count 1 except `waveform.VAL` (NELM).
    /// Database: one record of each type with defaults, plus a waveform with
    /// NELM=10 FTVL=DOUBLE and a calc with CALC="A+B".
    #[rustfmt::skip]
    const MEASURED_TYPES: &[(&str, &str)] = &[
        ("ai", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSDSIEDDSDDDDDDDDDEEEEDDDDDDDDDDD-IILLSDSEEEED-"),
        ("ao", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSDDSDSEEIEDDSDDDDDDDDDDDDDEEEEDDDLLLLDDDD-IISSEEEED-EDC"),
        ("bi", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSSEEEESSDDDLLSDSEEEED-"),
        ("bo", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSEESSDSSDDD--EEEDDLLSSEEEED-EL"),
        ("mbbi", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSELSDDDDDDDDDDDDDDDDSSSSSSSSSSSSSSSSEEEEEEEEEEEEEEEEDDEEDDDLLILSDSEEEED-"),
        ("mbbo", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSLSELSDDDDDDDDDDDDDDDDSSSSSSSSSSSSSSSSEEEEEEEEEEEEEEEEEEDDDDDLLILSSEEEED-EL"),
        ("longin", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSLSSLLLLLLEEEELDDLLLLLSLSEEEED-"),
        ("longout", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSLSSESLLLLLLLLEEEELLLLLLSSEEEED-ELL-EE"),
        ("stringin", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSSSSEESSSEEEED-"),
        ("stringout", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSSSSESEESSEEEED-ES"),
        ("waveform", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSDIISSDDDEID-SSEEEED-EED"),
        ("calc", "SSSEEISISEIIS---CCEESEESEEECCCC---------EC-CE-DSDSSSSSSSSSSSSSSIDDDDDDEEEEDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD-"),
    ];

    fn letter(t: Option<NativeType>) -> char {
        match t {
            Some(NativeType::String) => 'S',
            Some(NativeType::Short) => 'I',
            Some(NativeType::Float) => 'F',
            Some(NativeType::Enum) => 'E',
            Some(NativeType::Char) => 'C',
            Some(NativeType::Long) => 'L',
            Some(NativeType::Double) => 'D',
            None => '-',
        }
    }

    #[test]
    fn native_types_match_softioc() {
        assert_eq!(MEASURED_TYPES.len(), record_types().len());
        for (rtype, measured) in MEASURED_TYPES {
            let def = record_type(rtype).expect("served type");
            assert_eq!(def.fields.len(), measured.len(), "{rtype}: field count");
            for (f, m) in def.fields.iter().zip(measured.chars()) {
                if f.special == Special::DbAddr {
                    continue; // decided by the record: see dbaddr_fields
                }
                assert_eq!(letter(f.native_type()), m, "{rtype}.{}", f.name);
            }
        }
    }

    #[test]
    fn dbaddr_fields() {
        // waveform.VAL: NOACCESS + SPC_DBADDR; the softIoc showed DBR_DOUBLE
        // count 10 for FTVL=DOUBLE NELM=10.
        let (_, val) = WAVEFORM.field("VAL").expect("VAL");
        assert_eq!((val.dbf, val.special), (Dbf::NoAccess, Special::DbAddr));
        assert!(!val.is_read_only());
        // mbbo.VAL: DBF_ENUM + SPC_DBADDR; with no state strings defined the
        // softIoc showed DBR_LONG (cvt_dbaddr makes it DBF_USHORT).
        let (_, val) = MBBO.field("VAL").expect("VAL");
        assert_eq!((val.dbf, val.special), (Dbf::Enum, Special::DbAddr));
        let n = record_types()
            .iter()
            .flat_map(|r| r.fields.iter())
            .filter(|f| f.special == Special::DbAddr)
            .count();
        assert_eq!(n, 2);
    }

    /// `caget -d DBR_CTRL_ENUM rec.FIELD` strings, the first field using each
    /// menu. CA carries at most 16 strings (MAX_ENUM_STATES), so
    /// menuAlarmStat's 22 choices show as the first 16.
    #[rustfmt::skip]
    const MEASURED_MENUS: &[(&str, &str, &[&str])] = &[
        ("ai", "SCAN", &["Passive", "Event", "I/O Intr", "10 second", "5 second", "2 second", "1 second", ".5 second", ".2 second", ".1 second"]),
        ("ai", "PINI", &["NO", "YES", "RUN", "RUNNING", "PAUSE", "PAUSED"]),
        ("ai", "STAT", &["NO_ALARM", "READ", "WRITE", "HIHI", "HIGH", "LOLO", "LOW", "STATE", "COS", "COMM", "TIMEOUT", "HWLIMIT", "CALC", "SCAN", "LINK", "SOFT"]),
        ("ai", "SEVR", &["NO_ALARM", "MINOR", "MAJOR", "INVALID"]),
        ("ai", "ACKT", &["NO", "YES"]),
        ("ai", "PRIO", &["LOW", "MEDIUM", "HIGH"]),
        ("ai", "LINR", &["NO CONVERSION", "SLOPE", "LINEAR", "typeKdegF", "typeKdegC", "typeJdegF", "typeJdegC", "typeEdegF(ixe only)", "typeEdegC(ixe only)", "typeTdegF", "typeTdegC", "typeRdegF", "typeRdegC", "typeSdegF", "typeSdegC"]),
        ("ai", "SIMM", &["NO", "YES", "RAW"]),
        ("ao", "OMSL", &["supervisory", "closed_loop"]),
        ("ao", "OIF", &["Full", "Incremental"]),
        ("ao", "IVOA", &["Continue normally", "Don't drive outputs", "Set output to IVOV"]),
        ("longout", "OOPT", &["Every Time", "On Change", "When Zero", "When Non-zero", "Transition To Zero", "Transition To Non-zero"]),
        ("stringin", "MPST", &["On Change", "Always"]),
        ("stringout", "MPST", &["On Change", "Always"]),
        ("waveform", "FTVL", &["STRING", "CHAR", "UCHAR", "SHORT", "USHORT", "LONG", "ULONG", "INT64", "UINT64", "FLOAT", "DOUBLE", "ENUM"]),
        ("waveform", "MPST", &["Always", "On Change"]),
    ];

    #[test]
    fn menu_choices_match_softioc() {
        let mut seen = Vec::new();
        for (rtype, field, measured) in MEASURED_MENUS {
            let (_, f) = record_type(rtype)
                .and_then(|r| r.field(field))
                .expect("field");
            let menu = f.dbf.menu().expect("menu field");
            let shown = &menu.choices[..menu.choices.len().min(16)];
            assert_eq!(shown, *measured, "{rtype}.{field} ({})", menu.name);
            seen.push(menu.name);
        }
        // Every menu we define was measured, and every menu is used.
        for m in MENUS {
            assert!(seen.contains(&m.name), "{} not measured", m.name);
        }
        assert_eq!(seen.len(), MENUS.len());
        assert_eq!(MENU_ALARM_STAT.choices.len(), 22);
        assert_eq!(MENU_ALARM_STAT.choice(17), Some("UDF"));
        assert_eq!(MENU_ALARM_STAT.choice(22), None);
    }

    #[test]
    fn every_menu_field_uses_a_listed_menu() {
        for r in record_types() {
            for f in r.fields {
                if let Some(m) = f.dbf.menu() {
                    assert!(
                        MENUS.iter().any(|x| std::ptr::eq(*x, m)),
                        "{}.{}",
                        r.name,
                        f.name
                    );
                    assert_eq!(menus::menu(m.name).map(|x| x.name), Some(m.name));
                }
            }
        }
        assert!(menus::menu("menuNope").is_none());
    }

    /// `caget -d DBR_CTRL_ENUM rec.DTYP` strings.
    #[rustfmt::skip]
    const MEASURED_DEVICES: &[(&str, &[&str])] = &[
        ("ai", &["Soft Channel", "Raw Soft Channel", "Async Soft Channel", "Soft Timestamp", "General Time"]),
        ("ao", &["Soft Channel", "Raw Soft Channel", "Async Soft Channel"]),
        ("bi", &["Soft Channel", "Raw Soft Channel", "Async Soft Channel", "Db State"]),
        ("bo", &["Soft Channel", "Raw Soft Channel", "Async Soft Channel", "General Time", "Db State"]),
        ("mbbi", &["Soft Channel", "Raw Soft Channel", "Async Soft Channel"]),
        ("mbbo", &["Soft Channel", "Raw Soft Channel", "Async Soft Channel"]),
        ("longin", &["Soft Channel", "Async Soft Channel", "General Time"]),
        ("longout", &["Soft Channel", "Async Soft Channel"]),
        ("stringin", &["Soft Channel", "Async Soft Channel", "Soft Timestamp", "General Time", "getenv"]),
        ("stringout", &["Soft Channel", "Async Soft Channel", "stdio"]),
        ("waveform", &["Soft Channel"]),
        ("calc", &[]),
    ];

    #[test]
    fn device_choices_match_softioc() {
        for (rtype, measured) in MEASURED_DEVICES {
            assert_eq!(device_choices(rtype), *measured, "{rtype}.DTYP");
            let r = record_type(rtype).expect("type");
            assert_eq!(r.device_choices(), *measured);
            assert_eq!(r.field("DTYP").map(|(_, f)| f.dbf), Some(Dbf::Device));
        }
        assert!(device_choices("nope").is_empty());
    }

    #[test]
    fn common_fields_first_and_identical() {
        let names: Vec<&str> = AI.fields[..COMMON_FIELD_COUNT]
            .iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names.first(), Some(&"NAME"));
        assert_eq!(names.last(), Some(&"FLNK"));
        for want in ["AMSG", "NAMSG", "UTAG", "UDFS", "BKLNK", "MLOK"] {
            assert!(names.contains(&want), "{want}");
        }
        for r in record_types() {
            for (a, b) in AI.fields[..COMMON_FIELD_COUNT].iter().zip(r.fields) {
                assert_eq!((a.name, a.dbf, a.initial), (b.name, b.dbf, b.initial));
            }
            // Field names are unique within a type.
            for (i, f) in r.fields.iter().enumerate() {
                assert_eq!(
                    r.field(f.name).map(|(j, _)| j),
                    Some(i),
                    "{}.{}",
                    r.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn string_sizes_and_attributes() {
        let size = |r: &RecordTypeDef, f: &str| match r.field(f).map(|(_, f)| f.dbf) {
            Some(Dbf::String { size }) => size,
            other => panic!("{}.{f}: {other:?}", r.name),
        };
        assert_eq!(size(&AI, "NAME"), 61);
        assert_eq!(size(&AI, "DESC"), 41);
        assert_eq!(size(&AI, "ASG"), 29);
        assert_eq!(size(&AI, "EVNT"), 40);
        assert_eq!(size(&AI, "AMSG"), 40);
        assert_eq!(size(&AI, "EGU"), 16);
        assert_eq!(size(&CALC, "CALC"), 80);
        assert_eq!(size(&BI, "ZNAM"), 26);
        assert_eq!(size(&MBBO, "FFST"), 26);
        assert_eq!(size(&STRINGIN, "VAL"), 40);

        let f = |r: &RecordTypeDef, n: &str| r.field(n).expect(n).1;
        assert_eq!(f(&CALC, "CALC").special, Special::Calc);
        assert_eq!(f(&CALC, "CALC").initial, Some("0"));
        assert!(f(&CALC, "CALC").pp);
        assert_eq!(f(&CALC, "RPCL").dbf, Dbf::NoAccess);
        assert_eq!(f(&CALC, "INPL").dbf, Dbf::InLink);
        assert!(f(&CALC, "A").pp && f(&CALC, "L").pp);
        assert_eq!(f(&CALC, "LL").special, Special::NoMod);
        assert_eq!(f(&AI, "SCAN").special, Special::Scan);
        assert_eq!(f(&AI, "ASG").special, Special::As);
        assert_eq!(f(&AI, "LINR").special, Special::LinConv);
        assert_eq!(f(&AI, "STAT").initial, Some("UDF"));
        assert_eq!(f(&AI, "UDF").initial, Some("1"));
        assert!(f(&AI, "HOPR").prop && !f(&AI, "HOPR").pp);
        assert!(f(&AI, "HIHI").prop && f(&AI, "HIHI").pp);
        assert!(f(&AI, "VAL").asl0 && f(&AI, "VAL").pp);
        assert!(f(&AI, "PROC").pp);
        assert_eq!(f(&AI, "PREC").dbf, Dbf::Short);
        assert_eq!(f(&WAVEFORM, "NELM").dbf, Dbf::ULong);
        assert_eq!(f(&WAVEFORM, "NELM").native_type(), Some(NativeType::Double));
        assert_eq!(f(&WAVEFORM, "FTVL").dbf, Dbf::Menu(&MENU_FTYPE));
        assert_eq!(f(&AI, "UTAG").native_type(), Some(NativeType::Double));
        assert_eq!(f(&AI, "FLNK").native_type(), Some(NativeType::String));
        assert!(f(&AI, "NAME").is_read_only() && f(&AI, "TIME").is_read_only());
        assert!(!f(&AI, "DESC").is_read_only());
        assert_eq!(Special::Calc.code(), 103);
    }

    #[test]
    fn rtyp_attribute() {
        // cainfo t:ai.RTYP: DBR_STRING, 1 element, value "ai".
        for r in record_types() {
            assert!(r.field("RTYP").is_none());
            let a = r.attribute("RTYP").expect("RTYP");
            assert_eq!(a.native_type(), Some(NativeType::String));
            assert!(a.is_read_only());
            assert_eq!(r.attribute_value("RTYP"), Some(r.name));
        }
        assert!(AI.attribute("VAL").is_none());
    }

    #[test]
    fn lookups() {
        assert_eq!(record_types().len(), 12);
        let names: Vec<&str> = record_types().iter().map(|r| r.name).collect();
        assert_eq!(
            names,
            [
                "ai",
                "ao",
                "bi",
                "bo",
                "mbbi",
                "mbbo",
                "longin",
                "longout",
                "stringin",
                "stringout",
                "waveform",
                "calc"
            ]
        );
        assert!(record_type("calcout").is_none());
        assert!(AI.field("val").is_none(), "field names are case-sensitive");
        assert_eq!(AI.field("NAME").map(|(i, _)| i), Some(0));
    }

    /// Cases put as `DBR_STRING` to bo.SCAN, bo.DISS and ai.DTYP of a C
    /// softIoc (accepted values read back; refused ones log
    /// `cvt_st_menu Illegal choice`).
    #[test]
    fn parse_menu_rules() {
        let scan = &MENU_SCAN;
        assert_eq!(parse_menu(scan, "Passive"), Some(0));
        assert_eq!(parse_menu(scan, ".1 second"), Some(9));
        assert_eq!(parse_menu(scan, "passive"), None, "case-sensitive");
        assert_eq!(parse_menu(scan, " Passive"), None, "no trimming for names");
        assert_eq!(parse_menu(scan, "9"), Some(9));
        assert_eq!(parse_menu(scan, "10"), None, "out of range");
        assert_eq!(
            parse_menu(scan, " 3 \t"),
            Some(3),
            "whitespace around numbers"
        );
        assert_eq!(parse_menu(scan, "+3"), Some(3));
        assert_eq!(parse_menu(scan, "-0"), Some(0));
        assert_eq!(
            parse_menu(scan, "-65535"),
            Some(1),
            "strtoul wraps negatives"
        );
        assert_eq!(parse_menu(scan, "-1"), None);
        assert_eq!(parse_menu(scan, "-65536"), None);
        assert_eq!(parse_menu(scan, "3x"), None);
        assert_eq!(parse_menu(scan, "0x3"), None, "base 10 only");
        assert_eq!(parse_menu(scan, "3.0"), None);
        assert_eq!(parse_menu(scan, ""), None);
        assert_eq!(parse_menu(scan, "+"), None);
        assert_eq!(parse_menu(scan, "99999999999999999999999"), None);
        assert_eq!(parse_menu(&MENU_YES_NO, "YES"), Some(1));
        assert_eq!(
            parse_choice(device_choices("ai"), "Raw Soft Channel"),
            Some(1)
        );
        assert_eq!(parse_choice(device_choices("calc"), "0"), None);
        let sevr = &MENU_ALARM_SEVR;
        assert_eq!(parse_menu(sevr, "NO_ALARM "), None);
        assert_eq!(parse_menu(sevr, "-65533"), Some(3));
        assert_eq!(parse_menu(sevr, "-65532"), None);
        assert_eq!(parse_menu(sevr, "4"), None);
        assert_eq!(parse_choice(device_choices("ai"), " 1"), Some(1));
        assert_eq!(parse_choice(device_choices("ai"), "5"), None);
        assert_eq!(parse_choice(device_choices("ai"), "-65532"), Some(4));
    }

    /// Cases loaded by a C softIoc as `field(DISS, "...")` / `field(DTYP,
    /// "...")` of a bo record (DISS: 4 choices, bo DTYP: 5), values read
    /// back with `caget -d DBR_LONG`; refused ones fail `dbLoadRecords`.
    #[test]
    fn parse_load_rules() {
        let sevr = &MENU_ALARM_SEVR;
        assert_eq!(
            parse_menu_load(sevr, "4"),
            Some(4),
            "one past the end is accepted"
        );
        assert_eq!(parse_menu_load(sevr, "5"), None);
        assert_eq!(parse_menu_load(sevr, "0x3"), Some(3));
        assert_eq!(parse_menu_load(sevr, "010"), None, "octal 8");
        assert_eq!(parse_menu_load(sevr, "03"), Some(3));
        assert_eq!(parse_menu_load(sevr, "08"), None);
        assert_eq!(parse_menu_load(sevr, " 2 "), Some(2));
        assert_eq!(parse_menu_load(sevr, "65535"), Some(65535));
        assert_eq!(parse_menu_load(sevr, "65534"), None);
        assert_eq!(parse_menu_load(sevr, "-65535"), Some(1));
        assert_eq!(parse_menu_load(sevr, "-1"), Some(65535));
        assert_eq!(parse_menu_load(sevr, "MINOR"), Some(1));
        assert_eq!(parse_menu_load(sevr, ""), Some(0));
        assert_eq!(parse_menu_load(sevr, "0x"), None);
        assert_eq!(parse_menu_load(sevr, "0x1g"), None);
        assert_eq!(parse_menu_load(sevr, "minor"), None);
        assert_eq!(parse_choice_load(device_choices("bo"), "5"), Some(5));
        assert_eq!(parse_choice_load(device_choices("bo"), "6"), None);
        assert_eq!(parse_choice_load(device_choices("calc"), "7"), Some(7));
        // Every initial(...) of a MENU field loads.
        for r in record_types() {
            for f in r.fields {
                if let (Some(m), Some(init)) = (f.dbf.menu(), f.initial) {
                    assert!(parse_menu_load(m, init).is_some(), "{}.{}", r.name, f.name);
                }
            }
        }
        let (_, sscn) = AI.field("SSCN").expect("SSCN");
        assert_eq!(
            parse_menu_load(&MENU_SCAN, sscn.initial.unwrap_or("")),
            Some(65535)
        );
    }

    /// `caget l:a.DISS` of a bo loaded with DISS=4 shows `4`; SSCN shows
    /// `65535`; a bo with DTYP=5 fails the DBR_STRING read.
    #[test]
    fn value_strings() {
        assert_eq!(menu_value_string(&MENU_ALARM_SEVR, 1), "MINOR");
        assert_eq!(menu_value_string(&MENU_ALARM_SEVR, 4), "4");
        assert_eq!(menu_value_string(&MENU_SCAN, 65535), "65535");
        assert_eq!(menu_value_string(&MENU_ALARM_STAT, 17), "UDF");
        assert_eq!(device_value_string("bo", 4), Some("Db State"));
        assert_eq!(device_value_string("bo", 5), None);
        assert_eq!(device_value_string("calc", 0), Some(""));
    }
}
