//! The database at run time: compact record state, field access, record
//! processing (alarms, monitors, forward links, calc), CA puts with the
//! rules of `dbPutField`, and the field PVs made on demand.
//!
//! One lock guards the whole database (EPICS has lock sets; one set is the
//! simplest correct choice for a soft IOC). Reads by clients never take it:
//! they read the snapshot of the field's [`Pv`], which every change of the
//! record re-publishes.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use caproto_core::dbr::{
    convert, double_to_string, float_to_string, ConvertContext, DbrValues, EpicsTime, Limits,
    Metadata, NativeType,
};
use caproto_core::status::{AlarmSeverity, AlarmStatus, EcaStatus};
use caproto_core::wire::EventMask;
use caproto_server::{Pv, Snapshot, WeakPv, WriteError};

use super::fields::{self, Dbf, FieldDef, RecordTypeDef, Special};
use super::rset::{self, FieldMeta, MBB_SEVS, MBB_STATES, MBB_VALUES};
use super::value::{self, FVal};
use crate::calc::{CalcRng, Program, NUM_INPUTS};

/// Index of `VAL` in a record type.
pub(crate) fn vi(kind: Kind) -> u16 {
    tables()[kind.index()].val
}
/// Key of the PV of the bare record name (`rec` rather than `rec.VAL`).
pub(crate) const KEY_BARE: u16 = u16::MAX;
/// Key of the `RTYP` attribute PV.
pub(crate) const KEY_RTYP: u16 = u16::MAX - 1;
/// Flag of a key for `FIELD$`: a string or link field as a CHAR array
/// (EPICS long strings).
pub(crate) const KEY_LONG: u16 = 0x4000;
/// Length of a link as a long string (`PVLINK_STRINGSZ`, dbStaticLib.h).
const LINK_STRING_SIZE: usize = 1024;

/// The field index of a key (`KEY_BARE` → VAL), and whether it is `$`.
fn key_field(kind: Kind, key: u16) -> (u16, bool) {
    match key {
        KEY_BARE => (vi(kind), false),
        KEY_RTYP => (KEY_RTYP, false),
        k => (k & !KEY_LONG, k & KEY_LONG != 0),
    }
}

/// The key of `FIELD$`: long only for string and link fields (EPICS
/// ignores `$` on others).
pub(crate) fn long_key(kind: Kind, idx: u16) -> u16 {
    match fdef(kind, idx).map(|d| d.dbf) {
        Some(Dbf::String { .. } | Dbf::InLink | Dbf::OutLink | Dbf::FwdLink) => idx | KEY_LONG,
        _ => idx,
    }
}

// dbCommon field indices (dbCommon.dbd order, checked by a test).
pub(crate) const F_NAME: u16 = 0;
pub(crate) const F_SCAN: u16 = 3;
pub(crate) const F_PINI: u16 = 4;
pub(crate) const F_TSE: u16 = 7;
pub(crate) const F_DISV: u16 = 10;
pub(crate) const F_DISA: u16 = 11;
pub(crate) const F_DISP: u16 = 16;
pub(crate) const F_PROC: u16 = 17;
pub(crate) const F_STAT: u16 = 18;
pub(crate) const F_SEVR: u16 = 19;
pub(crate) const F_NSTA: u16 = 21;
pub(crate) const F_NSEV: u16 = 22;
pub(crate) const F_ACKS: u16 = 24;
pub(crate) const F_ACKT: u16 = 25;
pub(crate) const F_DISS: u16 = 26;
pub(crate) const F_PACT: u16 = 28;
pub(crate) const F_UDF: u16 = 43;
pub(crate) const F_UDFS: u16 = 44;
pub(crate) const F_FLNK: u16 = 47;

// menuAlarmStat (alarm.h).
const STAT_HIHI: u16 = 3;
const STAT_HIGH: u16 = 4;
const STAT_LOLO: u16 = 5;
const STAT_LOW: u16 = 6;
const STAT_STATE: u16 = 7;
const STAT_COS: u16 = 8;
const STAT_CALC: u16 = 12;
const STAT_LINK: u16 = 14;
const STAT_UDF: u16 = 17;
const STAT_DISABLE: u16 = 18;
const STAT_SOFT: u16 = 15;
/// `THRESHOLD` of the alarm filter (aiRecord.c).
const ALARM_FILTER_THRESHOLD: f64 = 0.6321;
const SEV_MAJOR: u16 = 2;
const SEV_INVALID: u16 = 3;
/// menuScan `I/O Intr`.
const SCAN_IO_INTR: i64 = 2;

// caeventmask.h
const DBE_VALUE: u16 = 1;
const DBE_LOG: u16 = 2;
const DBE_ALARM: u16 = 4;
const DBE_PROPERTY: u16 = 8;

/// The served record types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Ai,
    Ao,
    Bi,
    Bo,
    Mbbi,
    Mbbo,
    Longin,
    Longout,
    Stringin,
    Stringout,
    Waveform,
    Calc,
}

impl Kind {
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "ai" => Kind::Ai,
            "ao" => Kind::Ao,
            "bi" => Kind::Bi,
            "bo" => Kind::Bo,
            "mbbi" => Kind::Mbbi,
            "mbbo" => Kind::Mbbo,
            "longin" => Kind::Longin,
            "longout" => Kind::Longout,
            "stringin" => Kind::Stringin,
            "stringout" => Kind::Stringout,
            "waveform" => Kind::Waveform,
            "calc" => Kind::Calc,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        self.def().name
    }

    pub(crate) fn def(self) -> &'static RecordTypeDef {
        match self {
            Kind::Ai => &fields::AI,
            Kind::Ao => &fields::AO,
            Kind::Bi => &fields::BI,
            Kind::Bo => &fields::BO,
            Kind::Mbbi => &fields::MBBI,
            Kind::Mbbo => &fields::MBBO,
            Kind::Longin => &fields::LONGIN,
            Kind::Longout => &fields::LONGOUT,
            Kind::Stringin => &fields::STRINGIN,
            Kind::Stringout => &fields::STRINGOUT,
            Kind::Waveform => &fields::WAVEFORM,
            Kind::Calc => &fields::CALC,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    const ALL: [Kind; 12] = [
        Kind::Ai,
        Kind::Ao,
        Kind::Bi,
        Kind::Bo,
        Kind::Mbbi,
        Kind::Mbbo,
        Kind::Longin,
        Kind::Longout,
        Kind::Stringin,
        Kind::Stringout,
        Kind::Waveform,
        Kind::Calc,
    ];
}

struct TypeTables {
    val: u16,
    defaults: Vec<FVal>,
    /// Field indices by name packed into a `u64` ([`name_key`]), in an
    /// open-addressing table of [`INDEX_SLOTS`] (key 0: empty): EPICS field
    /// names are short (4 characters, `BKLNK` 5), and processing looks
    /// fields up by name often.
    index: Vec<(u64, u16)>,
}

/// Slots of a field index table: a power of two, more than 4x the largest
/// record type's field count (mbbo: 122), so probes stay short.
const INDEX_SLOTS: usize = 1024;

fn index_slot(key: u64) -> usize {
    // Fibonacci hashing: the top bits of the product.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - INDEX_SLOTS.trailing_zeros())) as usize
}

/// A field name of at most 8 bytes as one integer (`None` if longer).
fn name_key(name: &str) -> Option<u64> {
    let b = name.as_bytes();
    // NUL pads the key, so a name holding one would alias a shorter name.
    if b.len() > 8 || b.contains(&0) {
        return None;
    }
    let mut k = [0u8; 8];
    for (d, s) in k.iter_mut().zip(b) {
        *d = *s;
    }
    Some(u64::from_be_bytes(k))
}

fn tables() -> &'static [TypeTables; 12] {
    static T: OnceLock<[TypeTables; 12]> = OnceLock::new();
    T.get_or_init(|| {
        Kind::ALL.map(|k| {
            let def = k.def();
            TypeTables {
                val: def
                    .fields
                    .iter()
                    .position(|f| f.name == "VAL")
                    .unwrap_or(fields::COMMON_FIELD_COUNT) as u16,
                defaults: def.fields.iter().map(value::default_value).collect(),
                index: {
                    let mut index = vec![(0u64, 0u16); INDEX_SLOTS];
                    for (i, f) in def.fields.iter().enumerate() {
                        let Some(key) = name_key(f.name) else {
                            continue;
                        };
                        let mut slot = index_slot(key);
                        while index.get(slot).is_some_and(|(k, _)| *k != 0) {
                            slot = (slot + 1) % INDEX_SLOTS;
                        }
                        if let Some(e) = index.get_mut(slot) {
                            *e = (key, i as u16);
                        }
                    }
                    index
                },
            }
        })
    })
}

/// Field index by name.
pub(crate) fn fi(kind: Kind, name: &str) -> Option<u16> {
    let key = name_key(name).filter(|k| *k != 0)?;
    let index = &tables()[kind.index()].index;
    let mut slot = index_slot(key);
    loop {
        let (k, f) = *index.get(slot)?;
        if k == key {
            return Some(f);
        }
        if k == 0 {
            return None;
        }
        slot = (slot + 1) % INDEX_SLOTS;
    }
}

fn fdef(kind: Kind, idx: u16) -> Option<&'static FieldDef> {
    kind.def().fields.get(usize::from(idx))
}

/// Link modifiers: process passive and maximize severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Ms {
    #[default]
    Nms,
    Maximize,
    MaximizeStatus,
    MaximizeInvalid,
}

/// A parsed link field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Link {
    /// Empty.
    None,
    /// A number: initialises the input once.
    Const(f64),
    /// A record of this database. `cp`: a CA link with CP (1) or CPP (2),
    /// whose record is processed when the target posts a monitor.
    Db {
        rec: u32,
        field: u16,
        pp: bool,
        ms: Ms,
        cp: u8,
    },
    /// A name this database does not serve (a CA link: never connects).
    Ca { ms: Ms },
}

/// A link as written: target name, field name, modifiers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkText {
    pub target: String,
    pub field: Option<String>,
    pub pp: bool,
    pub ca: Option<&'static str>,
    pub ms: Ms,
}

/// `dbParseLink`: a constant, or `name[.FIELD] [PP|NPP|CA|CP|CPP] [MS|NMS|MSS|MSI]`.
/// Returns the normalised text (as C reads it back) and the parts.
pub(crate) fn parse_link(text: &str) -> Result<(String, Option<LinkText>, Option<f64>), String> {
    parse_link_of(text, false)
}

/// [`parse_link`] for a field of kind forward link (`fwd`), whose
/// normalised text carries no `NPP NMS`.
pub(crate) fn parse_link_of(
    text: &str,
    fwd: bool,
) -> Result<(String, Option<LinkText>, Option<f64>), String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok((String::new(), None, None));
    }
    if let Some(v) = value::parse_c_double(t) {
        return Ok((t.to_owned(), None, Some(v)));
    }
    if t.starts_with('[') || t.starts_with('{') {
        // JSON constants / links: kept as text, no value.
        return Ok((t.to_owned(), None, None));
    }
    let mut words = t.split_whitespace();
    let target_full = words.next().unwrap_or("");
    let (target, field) = match target_full.split_once('.') {
        Some((r, f)) => (r.to_owned(), Some(f.to_owned())),
        None => (target_full.to_owned(), None),
    };
    let mut lt = LinkText {
        target,
        field,
        pp: false,
        ca: None,
        ms: Ms::Nms,
    };
    for w in words {
        match w {
            "PP" => lt.pp = true,
            "NPP" => lt.pp = false,
            "CA" => lt.ca = Some("CA"),
            "CP" => lt.ca = Some("CP"),
            "CPP" => lt.ca = Some("CPP"),
            "MS" => lt.ms = Ms::Maximize,
            "NMS" => lt.ms = Ms::Nms,
            "MSS" => lt.ms = Ms::MaximizeStatus,
            "MSI" => lt.ms = Ms::MaximizeInvalid,
            other => return Err(format!("unknown link modifier \"{other}\"")),
        }
    }
    let ms = match lt.ms {
        Ms::Nms => "NMS",
        Ms::Maximize => "MS",
        Ms::MaximizeStatus => "MSS",
        Ms::MaximizeInvalid => "MSI",
    };
    let pp = match lt.ca {
        Some(c) => c,
        None if lt.pp => "PP",
        None => "NPP",
    };
    if fwd {
        let text = match lt.ca {
            Some(_) => format!("{target_full} CA"),
            None => target_full.to_owned(),
        };
        return Ok((text, Some(lt), None));
    }
    Ok((format!("{target_full} {pp} {ms}"), Some(lt), None))
}

/// Things only some records have: links, calc program and inputs.
#[derive(Debug, Default)]
pub(crate) struct Ext {
    links: Vec<(u16, Link)>,
    program: Option<Program>,
}

/// One record: hot state typed, the rest in a small sparse list of the
/// fields that differ from their defaults.
#[derive(Debug)]
pub(crate) struct Rec {
    pub name: Box<str>,
    pub kind: Kind,
    val: FVal,
    stat: u16,
    sevr: u16,
    nsta: u16,
    nsev: u16,
    acks: u16,
    /// UDF as stored (a UCHAR: a put may store any value; non-zero is set).
    udf: u8,
    pact: bool,
    time: EpicsTime,
    set: Vec<(u16, FVal)>,
    ext: Option<Box<Ext>>,
    pvs: Vec<(u16, WeakPv)>,
}

/// A pending monitor post: record, field (or all fields), mask.
#[derive(Debug, Clone, Copy)]
struct Post {
    rec: u32,
    field: Option<u16>,
    mask: u16,
}

/// The database.
#[derive(Debug, Default)]
pub(crate) struct Db {
    recs: Vec<Rec>,
    index: HashMap<Box<str>, u32>,
    rng: CalcRng,
    touched: Vec<u32>,
    posts: Vec<Post>,
    /// CP/CPP subscriptions: source record → (record to process, source
    /// field, CPP).
    cp_index: HashMap<u32, Vec<(u32, u16, bool)>>,
    /// Set when a SCAN changed: the scan tasks rebuild their lists.
    pub scan_generation: u64,
}

/// The database and its lock, shared by the PVs' hooks and scan tasks.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    db: Mutex<Db>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The scan periods of menuScan index 3.. (10 second .. .1 second).
pub(crate) const SCAN_PERIODS: [f64; 7] = [10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1];

impl Rec {
    pub(crate) fn new(name: &str, kind: Kind) -> Rec {
        let t = &tables()[kind.index()];
        let val = if kind == Kind::Waveform {
            FVal::A(Box::new(DbrValues::String(vec![String::new()])))
        } else {
            t.defaults
                .get(usize::from(t.val))
                .cloned()
                .unwrap_or(FVal::I(0))
        };
        Rec {
            name: name.into(),
            kind,
            val,
            stat: STAT_UDF,
            sevr: 0,
            nsta: 0,
            nsev: 0,
            acks: 0,
            udf: 1,
            pact: false,
            time: EpicsTime::EPOCH,
            set: Vec::new(),
            ext: None,
            pvs: Vec::new(),
        }
    }

    /// Field `idx` (owned).
    pub(crate) fn get(&self, idx: u16) -> FVal {
        if idx == vi(self.kind) {
            return self.val.clone();
        }
        match idx {
            F_STAT => return FVal::I(self.stat.into()),
            F_SEVR => return FVal::I(self.sevr.into()),
            F_NSTA => return FVal::I(self.nsta.into()),
            F_NSEV => return FVal::I(self.nsev.into()),
            F_ACKS => return FVal::I(self.acks.into()),
            F_UDF => return FVal::I(self.udf.into()),
            F_PACT => return FVal::I(self.pact.into()),
            F_NAME => return FVal::S(self.name.clone()),
            _ => {}
        }
        if let Ok(i) = self.set.binary_search_by_key(&idx, |(k, _)| *k) {
            if let Some((_, v)) = self.set.get(i) {
                return v.clone();
            }
        }
        tables()[self.kind.index()]
            .defaults
            .get(usize::from(idx))
            .cloned()
            .unwrap_or(FVal::I(0))
    }

    fn get_f(&self, idx: Option<u16>) -> f64 {
        match idx {
            Some(i) if i == vi(self.kind) => self.val.as_f64(),
            Some(i) => {
                if let Ok(p) = self.set.binary_search_by_key(&i, |(k, _)| *k) {
                    if let Some((_, v)) = self.set.get(p) {
                        return v.as_f64();
                    }
                }
                if i < fields::COMMON_FIELD_COUNT as u16 {
                    return self.get(i).as_f64();
                }
                tables()[self.kind.index()]
                    .defaults
                    .get(usize::from(i))
                    .map_or(0.0, FVal::as_f64)
            }
            None => 0.0,
        }
    }

    fn f(&self, name: &str) -> f64 {
        self.get_f(fi(self.kind, name))
    }

    /// Stores field `idx` (hot fields in place, others in the sparse list;
    /// a value equal to the default is dropped from it).
    pub(crate) fn put(&mut self, idx: u16, v: FVal) {
        if idx == vi(self.kind) {
            self.val = v;
            return;
        }
        match idx {
            F_STAT => self.stat = v.as_i64() as u16,
            F_SEVR => self.sevr = v.as_i64() as u16,
            F_NSTA => self.nsta = v.as_i64() as u16,
            F_NSEV => self.nsev = v.as_i64() as u16,
            F_ACKS => self.acks = v.as_i64() as u16,
            F_UDF => self.udf = v.as_i64() as u8,
            F_PACT => self.pact = v.as_i64() != 0,
            _ => {
                let is_default = tables()[self.kind.index()]
                    .defaults
                    .get(usize::from(idx))
                    .is_some_and(|d| *d == v);
                match self.set.binary_search_by_key(&idx, |(k, _)| *k) {
                    Ok(i) if is_default => {
                        self.set.remove(i);
                    }
                    Ok(i) => {
                        if let Some(slot) = self.set.get_mut(i) {
                            slot.1 = v;
                        }
                    }
                    Err(_) if is_default => {}
                    Err(i) => self.set.insert(i, (idx, v)),
                }
            }
        }
    }

    fn set_f(&mut self, name: &str, v: f64) {
        if let Some(i) = fi(self.kind, name) {
            self.set_f_at(i, v);
        }
    }

    /// Stores a number into field `i`, converted to its type.
    fn set_f_at(&mut self, i: u16, v: f64) {
        let dbf = fdef(self.kind, i).map(|d| d.dbf);
        let fv = match dbf {
            Some(Dbf::Float | Dbf::Double) => FVal::F(v),
            Some(d) => FVal::I(value::wrap_int(d, v as i64)),
            None => return,
        };
        self.put(i, fv);
    }

    fn ext(&mut self) -> &mut Ext {
        self.ext.get_or_insert_with(Box::default)
    }

    fn link(&self, idx: u16) -> Option<&Link> {
        self.ext
            .as_ref()?
            .links
            .iter()
            .find(|(i, _)| *i == idx)
            .map(|(_, l)| l)
    }

    pub(crate) fn time(&self) -> EpicsTime {
        self.time
    }

    /// Alarm status and severity.
    pub(crate) fn alarm(&self) -> (u16, u16) {
        (self.stat, self.sevr)
    }

    /// The value as f64 (first element).
    pub(crate) fn val_f64(&self) -> f64 {
        self.val.as_f64()
    }

    /// The value as text.
    pub(crate) fn val_string(&self) -> String {
        match &self.val {
            FVal::S(s) => s.to_string(),
            FVal::A(a) => match &**a {
                DbrValues::String(v) => v.first().cloned().unwrap_or_default(),
                other => other.to_f64(0).map(|f| format!("{f}")).unwrap_or_default(),
            },
            v => {
                let f = v.as_f64();
                if matches!(v, FVal::I(_)) {
                    format!("{}", f as i64)
                } else {
                    format!("{f}")
                }
            }
        }
    }
}

/// `recGblSetSevr`: raise the new alarm if more severe.
fn set_sevr(r: &mut Rec, stat: u16, sevr: u16) -> bool {
    if r.nsev < sevr {
        r.nsta = stat;
        r.nsev = sevr;
        true
    } else {
        false
    }
}

/// `epicsTimeDiffInSeconds(a, b)`.
fn time_diff(a: EpicsTime, b: EpicsTime) -> f64 {
    (f64::from(a.secs) - f64::from(b.secs)) + (f64::from(a.nanos) - f64::from(b.nanos)) * 1e-9
}

/// `recGblCheckDeadband`.
fn check_deadband(old: &mut f64, new: f64, deadband: f64, mask: &mut u16, add: u16) {
    let mut delta = 0.0;
    if new.is_finite() && old.is_finite() {
        delta = (*old - new).abs();
    } else if new.is_nan() != old.is_nan()
        || new.is_infinite() != old.is_infinite()
        || (new.is_infinite() && new != *old)
    {
        delta = f64::INFINITY;
    }
    if delta > deadband {
        *mask |= add;
        *old = new;
    }
}

impl Db {
    pub(crate) fn rec(&self, ri: u32) -> Option<&Rec> {
        self.recs.get(ri as usize)
    }

    fn rec_mut(&mut self, ri: u32) -> Option<&mut Rec> {
        self.recs.get_mut(ri as usize)
    }

    pub(crate) fn len(&self) -> usize {
        self.recs.len()
    }

    pub(crate) fn find(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.recs.iter().map(|r| &*r.name)
    }

    /// Adds a record (the caller checked the name is new).
    pub(crate) fn push(&mut self, rec: Rec) -> u32 {
        let i = self.recs.len() as u32;
        self.index.insert(rec.name.clone(), i);
        self.recs.push(rec);
        i
    }

    /// Removes the record added last (`ri`), after a failed configuration.
    pub(crate) fn remove_last(&mut self, ri: u32) {
        if ri as usize + 1 != self.recs.len() {
            return;
        }
        if let Some(r) = self.recs.pop() {
            self.index.retain(|_, i| *i != ri);
            for subs in self.cp_index.values_mut() {
                subs.retain(|(t, _, _)| *t != ri);
            }
            self.cp_index.remove(&ri);
            drop(r);
        }
    }

    /// Gives back the spare capacity of the record list (after loading).
    pub(crate) fn shrink(&mut self) {
        self.recs.shrink_to_fit();
        self.index.shrink_to_fit();
    }

    pub(crate) fn add_alias(&mut self, alias: &str, ri: u32) {
        self.index.insert(alias.into(), ri);
    }

    pub(crate) fn get_f64(&self, ri: u32, name: &str) -> f64 {
        self.rec(ri).map_or(0.0, |r| r.f(name))
    }

    pub(crate) fn get_string(&self, ri: u32, name: &str) -> String {
        self.rec(ri)
            .and_then(|r| fi(r.kind, name).map(|i| r.get(i).as_str().to_owned()))
            .unwrap_or_default()
    }

    pub(crate) fn calc_link(&self, ri: u32, input: usize) -> Option<&Link> {
        let r = self.rec(ri)?;
        let idx = fi(r.kind, INP_NAMES.get(input)?)?;
        r.link(idx)
    }

    /// The effective type of a field (waveform VAL: FTVL; mbbo VAL without
    /// states: USHORT).
    pub(crate) fn field_type(&self, ri: u32, idx: u16) -> Option<(Dbf, &'static FieldDef)> {
        let r = self.rec(ri)?;
        let def = fdef(r.kind, idx)?;
        let dbf = match (r.kind, idx) {
            (Kind::Waveform, i) if i == vi(r.kind) => ftvl_dbf(r.f("FTVL") as u16),
            (Kind::Mbbo, i) if i == vi(r.kind) && !mbb_states_defined(r) => Dbf::UShort,
            _ => def.dbf,
        };
        Some((dbf, def))
    }

    // ------------------------------------------------------------------
    // Load-time configuration

    /// Sets a field from `.db` text (dbPutString rules). VAL clears UDF.
    pub(crate) fn configure(&mut self, ri: u32, name: &str, text: &str) -> Result<(), String> {
        let Some(r) = self.rec(ri) else {
            return Err("no such record".into());
        };
        let kind = r.kind;
        let rname = r.name.to_string();
        let Some(idx) = fi(kind, name) else {
            return Err(format!(
                "{} record \"{rname}\" has no field \"{name}\"",
                kind.name()
            ));
        };
        let Some(def) = fdef(kind, idx) else {
            return Err(format!("no field {name}"));
        };
        let cant = |why: &dyn std::fmt::Display| {
            format!("can't set \"{rname}.{name}\" to \"{text}\": {why}")
        };
        if def.dbf.is_link() {
            let (norm, lt, konst) =
                parse_link_of(text, def.dbf == Dbf::FwdLink).map_err(|e| cant(&e))?;
            let r = self.rec_mut(ri).ok_or("no record")?;
            r.put(idx, FVal::S(norm.into()));
            let link = match (lt, konst) {
                (_, Some(v)) => Link::Const(v),
                (Some(_), None) => Link::Ca { ms: Ms::Nms },
                (None, None) => Link::None,
            };
            set_link(r, idx, link);
            return Ok(());
        }
        if kind == Kind::Waveform && idx == vi(kind) {
            return Err(cant(&"a waveform VAL cannot be set in a database"));
        }
        let v = if def.dbf == Dbf::Device {
            value::parse_device(fields::device_choices(kind.name()), text)
                .map(FVal::I)
                .ok_or_else(|| cant(&"not a device type of this record type"))?
        } else {
            value::parse_field(def, text).map_err(|e| cant(&e))?
        };
        if def.special == Special::Calc {
            if let Err(e) = crate::calc::compile(v.as_str()) {
                return Err(format!(
                    "{} in CALC expression '{}' (illegal CALC field of \"{rname}\")",
                    e.kind.message(),
                    v.as_str()
                ));
            }
        }
        let r = self.rec_mut(ri).ok_or("no record")?;
        r.put(idx, v);
        if idx == vi(kind) {
            r.udf = 0;
        }
        Ok(())
    }

    /// Resolves link targets and does what `iocInit` does to a record
    /// (constant inputs, calc compilation, waveform buffer, initial
    /// severity, last-value fields). Errors name the record.
    pub(crate) fn init_record(&mut self, ri: u32) -> Result<(), String> {
        self.relink(ri);
        let Some(kind) = self.rec(ri).map(|r| r.kind) else {
            return Ok(());
        };
        self.init_inner(ri, kind)
    }

    /// Resolves the link fields of a record against the records now known.
    pub(crate) fn relink(&mut self, ri: u32) {
        let link_fields: Vec<(u16, String)> = {
            let Some(r) = self.rec(ri) else {
                return;
            };
            r.kind
                .def()
                .fields
                .iter()
                .enumerate()
                .filter(|(_, d)| d.dbf.is_link())
                .map(|(i, _)| (i as u16, r.get(i as u16).as_str().to_owned()))
                .filter(|(_, t)| !t.is_empty())
                .collect()
        };
        for (idx, text) in link_fields {
            let link = self.resolve_link(&text);
            if let Some(r) = self.rec_mut(ri) {
                set_link(r, idx, link);
            }
        }
        self.index_cp(ri);
    }

    /// Rebuilds the CP/CPP subscriptions of record `ri`.
    fn index_cp(&mut self, ri: u32) {
        for subs in self.cp_index.values_mut() {
            subs.retain(|(t, _, _)| *t != ri);
        }
        let links: Vec<(u32, u16, bool)> = self
            .rec(ri)
            .and_then(|r| r.ext.as_ref())
            .map(|e| {
                e.links
                    .iter()
                    .filter_map(|(_, l)| match l {
                        Link::Db { rec, field, cp, .. } if *cp > 0 => {
                            Some((*rec, *field, *cp == 2))
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (src, field, cpp) in links {
            self.cp_index.entry(src).or_default().push((ri, field, cpp));
        }
    }

    /// Records with CP/CPP input links: processed once when the IOC starts
    /// (as the first monitor of a CA link does in EPICS).
    pub(crate) fn cp_records(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .cp_index
            .values()
            .flat_map(|subs| subs.iter())
            .filter(|(t, _, cpp)| !cpp || self.rec(*t).is_some_and(|r| r.get(F_SCAN).as_i64() == 0))
            .map(|(t, _, _)| *t)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn init_inner(&mut self, ri: u32, kind: Kind) -> Result<(), String> {
        let Some(r) = self.rec_mut(ri) else {
            return Ok(());
        };
        // iocInit sets the severity from UDF before the record and device
        // supports initialise (which may clear UDF).
        let udf_loaded = r.udf;
        match kind {
            Kind::Calc => {
                for (i, inp) in INP_NAMES.iter().enumerate() {
                    let Some(li) = fi(kind, inp) else { continue };
                    if let Some(Link::Const(v)) = r.link(li).cloned() {
                        if let Some(name) = INPUT_NAMES.get(i) {
                            r.set_f(name, v);
                        }
                    }
                }
                let text = fi(kind, "CALC").map(|i| r.get(i)).unwrap_or(FVal::I(0));
                match crate::calc::compile(text.as_str()) {
                    Ok(p) => r.ext().program = Some(p),
                    Err(e) => {
                        return Err(format!(
                            "{} in CALC expression '{}'",
                            e.kind.message(),
                            text.as_str()
                        ))
                    }
                }
            }
            Kind::Waveform => {
                if r.f("NELM") <= 0.0 {
                    r.set_f("NELM", 1.0);
                }
                let mut ftvl = r.f("FTVL") as u16;
                if ftvl > 11 {
                    ftvl = 2;
                    r.set_f("FTVL", 2.0);
                }
                let native = fields::native_type(ftvl_dbf(ftvl)).unwrap_or(NativeType::Char);
                r.val = FVal::A(Box::new(DbrValues::empty(native)));
            }
            Kind::Ai | Kind::Bi | Kind::Mbbi | Kind::Longin => {
                // The soft device supports' init_record: a constant INP
                // sets VAL (recGblInitConstantLink) and clears UDF.
                if let Some(inp) = fi(kind, "INP") {
                    if let Some(Link::Const(v)) = r.link(inp).cloned() {
                        r.val = match kind {
                            Kind::Ai => FVal::F(v),
                            _ => FVal::I(value::wrap_int(
                                fdef(kind, vi(kind)).map_or(Dbf::Long, |d| d.dbf),
                                v as i64,
                            )),
                        };
                        r.udf = 0;
                    }
                }
            }
            Kind::Ao | Kind::Longout | Kind::Stringout | Kind::Bo | Kind::Mbbo => {
                // recGblInitConstantLink(DOL): a constant sets VAL.
                if let Some(dol) = fi(kind, "DOL") {
                    if let Some(Link::Const(v)) = r.link(dol).cloned() {
                        match &r.val {
                            FVal::S(_) => r.val = FVal::S(format!("{v}").into()),
                            FVal::F(_) => r.val = FVal::F(v),
                            _ => r.val = FVal::I(v as i64),
                        }
                        r.udf = u8::from(v.is_nan());
                    }
                }
            }
            _ => {}
        }
        // Last-value fields start at VAL (init_record of each type; the
        // soft ai returns before, calc has none).
        let v = r.val.as_f64();
        let last: &[&str] = match kind {
            Kind::Ao | Kind::Longin | Kind::Longout => &["MLST", "ALST", "LALM"],
            Kind::Bi | Kind::Bo | Kind::Mbbi | Kind::Mbbo => &["MLST", "LALM"],
            _ => &[],
        };
        for n in last {
            r.set_f(n, v);
        }
        match kind {
            Kind::Ai => r.set_f("INIT", 1.0),
            Kind::Ao => {
                r.set_f("INIT", 1.0);
                r.set_f("OVAL", v);
                r.set_f("PVAL", v);
            }
            Kind::Longout => r.set_f("PVAL", v),
            Kind::Bo => {
                let rval = bo_rval(r);
                r.set_f("RVAL", rval);
                r.set_f("ORAW", rval);
            }
            Kind::Mbbi | Kind::Mbbo => {
                let sdef = mbb_states_defined(r);
                r.set_f("SDEF", f64::from(u8::from(sdef)));
            }
            Kind::Stringin | Kind::Stringout => {
                let val = r.val.clone();
                if let Some(i) = fi(kind, "OVAL") {
                    r.put(i, val);
                }
            }
            _ => {}
        }
        r.set.shrink_to_fit();
        // scanAdd: soft records have no I/O Intr support: Passive.
        if r.get(F_SCAN).as_i64() == SCAN_IO_INTR {
            r.put(F_SCAN, FVal::I(0));
        }
        // iocInit: an undefined record starts with severity UDFS.
        if udf_loaded != 0 && r.stat == STAT_UDF {
            r.sevr = r.get(F_UDFS).as_i64() as u16;
        }
        Ok(())
    }

    fn resolve_link(&self, text: &str) -> Link {
        let Ok((_, lt, konst)) = parse_link(text) else {
            return Link::None;
        };
        if let Some(v) = konst {
            return Link::Const(v);
        }
        let Some(lt) = lt else {
            return Link::None;
        };
        // CA, CP and CPP links to a record of this IOC connect (through
        // CA in EPICS) and read like an NPP link; CP/CPP also subscribe.
        let cp = match lt.ca {
            Some("CP") => 1,
            Some("CPP") => 2,
            _ => 0,
        };
        let Some(target) = self.find(&lt.target) else {
            return Link::Ca { ms: lt.ms };
        };
        let Some(tk) = self.rec(target).map(|r| r.kind) else {
            return Link::Ca { ms: lt.ms };
        };
        let field = match lt.field.as_deref() {
            None | Some("") => Some(vi(tk)),
            Some(f) => fi(tk, f),
        };
        match field {
            Some(field) => Link::Db {
                rec: target,
                field,
                pp: lt.pp && lt.ca.is_none(),
                ms: lt.ms,
                cp,
            },
            None => Link::Ca { ms: lt.ms },
        }
    }

    /// Records whose PINI is YES, in order.
    pub(crate) fn pini_records(&self) -> Vec<u32> {
        (0..self.recs.len() as u32)
            .filter(|&i| self.rec(i).is_some_and(|r| r.get(F_PINI).as_i64() == 1))
            .collect()
    }

    /// Records on each periodic scan list (index into [`SCAN_PERIODS`]).
    pub(crate) fn scan_lists(&self) -> [Vec<u32>; 7] {
        let mut lists: [Vec<u32>; 7] = Default::default();
        for (i, r) in self.recs.iter().enumerate() {
            let s = r.get(F_SCAN).as_i64();
            if (3..10).contains(&s) {
                if let Some(l) = lists.get_mut(s as usize - 3) {
                    l.push(i as u32);
                }
            }
        }
        lists
    }

    // ------------------------------------------------------------------
    // Processing

    /// `dbProcess` of a record, then the posts are flushed to the PVs.
    pub(crate) fn process_and_flush(&mut self, ri: u32) {
        self.process(ri, 0);
        self.flush();
    }

    fn post(&mut self, rec: u32, field: Option<u16>, mask: u16) {
        if mask != 0 {
            self.posts.push(Post { rec, field, mask });
        }
    }

    fn touch(&mut self, ri: u32) {
        if !self.touched.contains(&ri) {
            self.touched.push(ri);
        }
    }

    /// `dbProcess`; true when the device support failed (an INP that
    /// cannot be read, an OUT that cannot be written): the status a
    /// `dbPutField` returns to a CA WRITE.
    fn process(&mut self, ri: u32, depth: u32) -> bool {
        let mut failed = false;
        self.process_inner(ri, depth, &mut failed);
        failed
    }

    fn process_inner(&mut self, ri: u32, depth: u32, failed: &mut bool) {
        if depth > 64 {
            return;
        }
        let Some(r) = self.rec(ri) else { return };
        if r.pact {
            return;
        }
        let kind = r.kind;
        // Disabled?
        let disa = r.get(F_DISA).as_i64();
        let disv = r.get(F_DISV).as_i64();
        self.touch(ri);
        if disa == disv {
            let Some(r) = self.rec_mut(ri) else { return };
            if r.stat == STAT_DISABLE {
                return;
            }
            r.sevr = r.get(F_DISS).as_i64() as u16;
            r.stat = STAT_DISABLE;
            r.nsta = 0;
            r.nsev = 0;
            self.post(ri, Some(F_STAT), DBE_VALUE);
            self.post(ri, Some(F_SEVR), DBE_VALUE);
            self.post(ri, Some(vi(kind)), DBE_VALUE | DBE_ALARM);
            return;
        }
        if let Some(r) = self.rec_mut(ri) {
            r.pact = true;
        }
        let mut keep_time = false;
        let time_last = self.rec(ri).map_or(EpicsTime::EPOCH, |r| r.time);
        // Soft device support: an input record reads INP; an output record
        // in closed loop (OMSL) reads DOL. Constants were loaded at init.
        let source = match kind {
            Kind::Ai | Kind::Bi | Kind::Mbbi | Kind::Longin => Some("INP"),
            Kind::Ao | Kind::Bo | Kind::Mbbo | Kind::Longout if self.get_f64(ri, "OMSL") == 1.0 => {
                Some("DOL")
            }
            _ => None,
        };
        let link = source.and_then(|n| {
            let r = self.rec(ri)?;
            r.link(fi(kind, n)?).cloned()
        });
        if let Some(link) = link.filter(|l| matches!(l, Link::Db { .. } | Link::Ca { .. })) {
            match self.read_link(ri, &link, depth) {
                Ok(Some(v)) => {
                    if let Some(r) = self.rec_mut(ri) {
                        r.val = match kind {
                            Kind::Ai | Kind::Ao => FVal::F(v),
                            _ => FVal::I(value::wrap_int(
                                fdef(kind, vi(kind)).map_or(Dbf::Long, |d| d.dbf),
                                value::c_f64_to_i32(v).into(),
                            )),
                        };
                        if kind != Kind::Ai {
                            r.udf = 0;
                        }
                    }
                }
                Ok(None) => {}
                Err(()) => {
                    *failed = true;
                    if let Some(r) = self.rec_mut(ri) {
                        set_sevr(r, STAT_LINK, SEV_INVALID);
                    }
                }
            }
        }
        // stringin and waveform read INP as a string / an array.
        if matches!(kind, Kind::Stringin | Kind::Waveform) {
            let link = self
                .rec(ri)
                .and_then(|r| r.link(fi(kind, "INP")?).cloned())
                .filter(|l| matches!(l, Link::Db { .. } | Link::Ca { .. }));
            if let Some(link) = link {
                let native = match kind {
                    Kind::Stringin => NativeType::String,
                    _ => self
                        .field_type(ri, vi(kind))
                        .and_then(|(d, _)| fields::native_type(d))
                        .unwrap_or(NativeType::Char),
                };
                match self.read_link_values(ri, &link, depth, native) {
                    Ok(Some(mut v)) => {
                        if let Some(r) = self.rec_mut(ri) {
                            if kind == Kind::Stringin {
                                let text = v
                                    .as_strings()
                                    .and_then(|s| s.first().cloned())
                                    .unwrap_or_default();
                                r.val = FVal::S(text.into());
                                r.udf = 0;
                            } else {
                                let nelm = r.f("NELM").max(1.0) as usize;
                                v.truncate(nelm);
                                let n = v.len();
                                r.val = FVal::A(Box::new(v));
                                if r.f("NORD") != n as f64 {
                                    r.set_f("NORD", n as f64);
                                    if let Some(nord) = fi(kind, "NORD") {
                                        self.post(ri, Some(nord), DBE_VALUE | DBE_LOG);
                                    }
                                }
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(()) => {
                        *failed = true;
                        if let Some(r) = self.rec_mut(ri) {
                            set_sevr(r, STAT_LINK, SEV_INVALID);
                        }
                    }
                }
            }
        }
        // Read / compute the value.
        match kind {
            Kind::Calc => self.process_calc(ri, depth),
            _ => {
                let Some(r) = self.rec_mut(ri) else { return };
                match kind {
                    Kind::Ai => r.udf = u8::from(r.val.as_f64().is_nan()),
                    Kind::Ao => {
                        let mut v = r.val.as_f64();
                        let (drvh, drvl) = (r.f("DRVH"), r.f("DRVL"));
                        if drvh > drvl {
                            if v > drvh {
                                v = drvh;
                            } else if v < drvl {
                                v = drvl;
                            }
                        }
                        r.val = FVal::F(v);
                        r.set_f("PVAL", v);
                        let oval = r.f("OVAL");
                        if oval != v {
                            r.set_f("OVAL", v);
                        }
                        match ao_rval(r, v) {
                            Some(rval) => r.set_f("RVAL", rval),
                            // cvtEngToRawBpt fails: a SOFT alarm, RVAL kept.
                            None => {
                                set_sevr(r, STAT_SOFT, SEV_MAJOR);
                            }
                        }
                        r.udf = u8::from(v.is_nan());
                    }
                    Kind::Longout => {
                        let mut v = r.val.as_i64();
                        let (drvh, drvl) = (r.f("DRVH") as i64, r.f("DRVL") as i64);
                        if drvh > drvl {
                            v = v.clamp(drvl, drvh);
                        }
                        r.val = FVal::I(v);
                        r.set_f("PVAL", v as f64);
                    }
                    // Soft bi/mbbi/longin read a constant INP as a success
                    // (dbConstLink): UDF is cleared.
                    Kind::Longin | Kind::Waveform | Kind::Bi | Kind::Mbbi => r.udf = 0,
                    Kind::Bo => {
                        let rval = bo_rval(r);
                        r.set_f("RVAL", rval);
                    }
                    Kind::Mbbo => {
                        if r.udf != 0 {
                            // Undefined: an alarm, no output, no new time.
                            let udfs = r.get(F_UDFS).as_i64() as u16;
                            set_sevr(r, STAT_UDF, udfs);
                            keep_time = true;
                        } else {
                            mbbo_convert(r);
                        }
                    }
                    _ => {}
                }
            }
        }
        // Timestamp (recGblGetTimeStamp): TSE 0 is the current time, -2
        // the best time (the same here); -1 is "device time", which soft
        // records lack, and event times 1..255 have no provider in a soft
        // IOC: the time stays as it was.
        if let Some(r) = self.rec_mut(ri).filter(|_| !keep_time) {
            if matches!(r.get(F_TSE).as_i64(), 0 | -2) {
                r.time = caproto_server::now();
            }
        }
        self.check_alarms(ri, time_last);
        if self.write_output(ri, kind, depth) {
            *failed = true;
        }
        self.monitor(ri);
        // Forward link.
        let flnk = self.rec(ri).and_then(|r| r.link(F_FLNK).cloned());
        if let Some(Link::Db { rec, .. }) = flnk {
            if self.rec(rec).is_some_and(|t| t.get(F_SCAN).as_i64() == 0) {
                self.process(rec, depth + 1);
            }
        }
        if let Some(r) = self.rec_mut(ri) {
            r.pact = false;
            if matches!(kind, Kind::Ai | Kind::Ao) {
                r.set_f("INIT", 0.0);
            }
        }
    }

    /// The soft device support of an output record: writes OVAL (ao) or
    /// VAL to OUT (`dbPutLink`), unless the new severity is INVALID and
    /// IVOA says not to drive outputs.
    fn write_output(&mut self, ri: u32, kind: Kind, depth: u32) -> bool {
        let Some(r) = self.rec(ri) else { return false };
        let values = match kind {
            Kind::Ao => DbrValues::Double(vec![r.f("OVAL")]),
            Kind::Longout => DbrValues::Long(vec![r.val.as_i64() as i32]),
            Kind::Bo | Kind::Mbbo => DbrValues::Enum(vec![r.val.as_i64() as u16]),
            Kind::Stringout => DbrValues::String(vec![r.val.as_str().to_owned()]),
            _ => return false,
        };
        let Some(link) = fi(kind, "OUT").and_then(|i| r.link(i).cloned()) else {
            return false;
        };
        // menuIvoa: Continue normally (0), Don't drive outputs (1).
        if r.nsev >= SEV_INVALID && r.f("IVOA") == 1.0 {
            return false;
        }
        match link {
            Link::Db { rec, field, pp, .. } => {
                if depth > 64 {
                    return false;
                }
                let mut processes = false;
                let _ = self.put_store(rec, field, &values, &mut processes, true);
                let passive = self.rec(rec).is_some_and(|t| t.get(F_SCAN).as_i64() == 0);
                if field == F_PROC || (pp && passive) {
                    self.process(rec, depth + 1);
                }
                false
            }
            Link::Ca { .. } => {
                if let Some(r) = self.rec_mut(ri) {
                    set_sevr(r, STAT_LINK, SEV_INVALID);
                }
                true
            }
            Link::None | Link::Const(_) => false,
        }
    }

    /// Reads a DB link as a double (processing a passive target for PP);
    /// `None` when it cannot be read (the caller raises LINK/INVALID).
    fn read_link(&mut self, ri: u32, link: &Link, depth: u32) -> Result<Option<f64>, ()> {
        match link {
            Link::None | Link::Const(_) => Ok(None),
            Link::Ca { .. } => Err(()),
            Link::Db {
                rec, field, pp, ms, ..
            } => {
                let (rec, field, pp, ms) = (*rec, *field, *pp, *ms);
                if pp && self.rec(rec).is_some_and(|t| t.get(F_SCAN).as_i64() == 0) {
                    self.process(rec, depth + 1);
                }
                let Some(t) = self.rec(rec) else {
                    return Err(());
                };
                let v = match t.get(field) {
                    FVal::A(a) => a.to_f64(0).unwrap_or(0.0),
                    FVal::S(s) => value::parse_c_double(s.trim()).unwrap_or(0.0),
                    other => {
                        let f = other.as_f64();
                        if let Some(FieldDef {
                            dbf: Dbf::ULong, ..
                        }) = fdef(t.kind, field)
                        {
                            (f as i64 as u32) as f64
                        } else {
                            f
                        }
                    }
                };
                let (tstat, tsevr) = (t.stat, t.sevr);
                if let Some(r) = self.rec_mut(ri) {
                    match ms {
                        Ms::Maximize if tsevr > 0 => {
                            set_sevr(r, STAT_LINK, tsevr);
                        }
                        Ms::MaximizeInvalid if tsevr == SEV_INVALID => {
                            set_sevr(r, STAT_LINK, tsevr);
                        }
                        Ms::MaximizeStatus => {
                            set_sevr(r, tstat, tsevr);
                        }
                        _ => {}
                    }
                }
                Ok(Some(v))
            }
        }
    }

    /// Reads a DB link as values of `native` (`dbGetLink` with a string
    /// or array buffer: stringin and waveform INP), as a client reading the
    /// target field would get them; alarms as [`Db::read_link`].
    fn read_link_values(
        &mut self,
        ri: u32,
        link: &Link,
        depth: u32,
        native: NativeType,
    ) -> Result<Option<DbrValues>, ()> {
        let Link::Db { rec, field, .. } = link else {
            return self.read_link(ri, link, depth).map(|_| None);
        };
        let (rec, field) = (*rec, *field);
        // PP processing and severity: as for a number.
        self.read_link(ri, link, depth)?;
        let Some((snap, fm)) = self.field_snapshot(rec, field) else {
            return Err(());
        };
        let mode = self.string_mode(rec, field);
        let values = match mode.convert(&snap, native, fm.string_precision) {
            Some(v) => v.map_err(|_| ())?,
            None => {
                let ctx = ConvertContext {
                    precision: fm.string_precision,
                    enum_strings: &snap.meta.enum_strings,
                };
                convert(&snap.values, native, &ctx).map_err(|_| ())?
            }
        };
        Ok(Some(values))
    }

    fn process_calc(&mut self, ri: u32, depth: u32) {
        let Some(r) = self.rec(ri) else { return };
        let cf = calc_fields();
        let links: Vec<(usize, Link)> = cf
            .inp
            .iter()
            .enumerate()
            .filter_map(|(i, idx)| r.link((*idx)?).cloned().map(|l| (i, l)))
            .collect();
        let mut failed = false;
        for (i, link) in links {
            match self.read_link(ri, &link, depth) {
                Ok(Some(v)) => {
                    if let (Some(r), Some(Some(idx))) = (self.rec_mut(ri), cf.val.get(i)) {
                        r.set_f_at(*idx, v);
                    }
                }
                Ok(None) => {}
                Err(()) => {
                    failed = true;
                    if let Some(r) = self.rec_mut(ri) {
                        set_sevr(r, STAT_LINK, SEV_INVALID);
                    }
                }
            }
        }
        if failed {
            return;
        }
        let mut rng = self.rng;
        let Some(r) = self.rec_mut(ri) else { return };
        let mut inputs = [0.0; NUM_INPUTS];
        for (slot, idx) in inputs.iter_mut().zip(cf.val) {
            *slot = r.get_f(idx);
        }
        let prev = r.val.as_f64();
        let result = r
            .ext
            .as_ref()
            .and_then(|e| e.program.as_ref())
            .map(|p| p.eval(&mut inputs, prev, &mut rng));
        match result {
            Some(Ok(v)) => {
                r.val = FVal::F(v);
                r.udf = u8::from(v.is_nan());
                for (v, idx) in inputs.iter().zip(cf.val) {
                    if let Some(idx) = idx {
                        if r.get_f(Some(idx)) != *v {
                            r.set_f_at(idx, *v);
                        }
                    }
                }
            }
            _ => {
                set_sevr(r, STAT_CALC, SEV_INVALID);
            }
        }
        self.rng = rng;
    }

    fn check_alarms(&mut self, ri: u32, time_last: EpicsTime) {
        let Some(r) = self.rec_mut(ri) else { return };
        let udfs = r.get(F_UDFS).as_i64() as u16;
        match r.kind {
            Kind::Ai | Kind::Ao | Kind::Longin | Kind::Longout | Kind::Calc => {
                if r.udf != 0 {
                    set_sevr(r, STAT_UDF, udfs);
                    if r.kind != Kind::Ao && r.kind != Kind::Longout {
                        r.set_f("AFVL", 0.0);
                    }
                    return;
                }
                let val = r.val.as_f64();
                let hyst = r.f("HYST");
                let lalm = r.f("LALM");
                // (range, severity field, limit field, upper): the ranges
                // of aiRecord.c (LOLO 1, LOW 2, normal 3, HIGH 4, HIHI 5).
                let checks = [
                    (5, "HHSV", "HIHI", true),
                    (1, "LLSV", "LOLO", false),
                    (4, "HSV", "HIGH", true),
                    (2, "LSV", "LOW", false),
                ];
                let mut found = (3, 0u16, val);
                for (range, sv, lim, upper) in checks {
                    let asev = r.f(sv) as u16;
                    let alev = r.f(lim);
                    if asev == 0 {
                        continue;
                    }
                    let hit = if upper {
                        val >= alev || (lalm == alev && val >= alev - hyst)
                    } else {
                        val <= alev || (lalm == alev && val <= alev + hyst)
                    };
                    if hit {
                        found = (range, asev, alev);
                        break;
                    }
                }
                let (mut range, mut asev, mut alev) = found;
                // Alarm filter (AFTC): ai, longin and calc.
                if matches!(r.kind, Kind::Ai | Kind::Longin | Kind::Calc) {
                    let aftc = r.f("AFTC");
                    let mut afvl = 0.0;
                    if aftc > 0.0 {
                        afvl = r.f("AFVL");
                        if afvl == 0.0 {
                            afvl = f64::from(range);
                        } else {
                            let t = time_diff(r.time, time_last);
                            let alpha = aftc / (t + aftc);
                            let pull = if afvl > 0.0 { 1.0 - alpha } else { alpha - 1.0 };
                            afvl = alpha * afvl + pull * f64::from(range);
                            if afvl - afvl.floor() > ALARM_FILTER_THRESHOLD {
                                afvl = -afvl;
                            }
                            range = afvl.floor().abs() as i32;
                            let by_range = match range {
                                5 => Some(("HHSV", "HIHI")),
                                4 => Some(("HSV", "HIGH")),
                                2 => Some(("LSV", "LOW")),
                                1 => Some(("LLSV", "LOLO")),
                                _ => None,
                            };
                            match by_range {
                                Some((sv, lim)) => {
                                    asev = r.f(sv) as u16;
                                    alev = r.f(lim);
                                }
                                None if range == 3 => asev = 0,
                                None => {}
                            }
                        }
                    }
                    r.set_f("AFVL", afvl);
                }
                if asev != 0 {
                    let stat = match range {
                        5 => STAT_HIHI,
                        4 => STAT_HIGH,
                        2 => STAT_LOW,
                        1 => STAT_LOLO,
                        3 => 0,
                        _ => STAT_SOFT,
                    };
                    if set_sevr(r, stat, asev) {
                        r.set_f("LALM", alev);
                    }
                } else {
                    r.set_f("LALM", val);
                }
            }
            Kind::Bi | Kind::Bo => {
                // biRecord.c / boRecord.c test `udf == TRUE`.
                if r.udf == 1 {
                    set_sevr(r, STAT_UDF, udfs);
                    if r.kind == Kind::Bi {
                        return;
                    }
                }
                let val = r.val.as_i64() as u16;
                if r.kind == Kind::Bi && val > 1 {
                    return;
                }
                let sv = if val == 0 { r.f("ZSV") } else { r.f("OSV") } as u16;
                set_sevr(r, STAT_STATE, sv);
                if f64::from(val) == r.f("LALM") {
                    return;
                }
                let cosv = r.f("COSV") as u16;
                set_sevr(r, STAT_COS, cosv);
                r.set_f("LALM", f64::from(val));
            }
            Kind::Mbbi | Kind::Mbbo => {
                if r.kind == Kind::Mbbi && r.udf != 0 {
                    set_sevr(r, STAT_UDF, udfs);
                    return;
                }
                let val = r.val.as_i64() as u16;
                let sev = if val > 15 {
                    r.f("UNSV")
                } else {
                    MBB_SEVS.get(usize::from(val)).map_or(0.0, |n| r.f(n))
                } as u16;
                set_sevr(r, STAT_STATE, sev);
                if f64::from(val) == r.f("LALM") {
                    return;
                }
                let cosv = r.f("COSV") as u16;
                if set_sevr(r, STAT_COS, cosv) {
                    return;
                }
                r.set_f("LALM", f64::from(val));
            }
            Kind::Stringout => {
                // stringoutRecord.c tests `udf == TRUE`.
                if r.udf == 1 {
                    set_sevr(r, STAT_UDF, udfs);
                }
            }
            Kind::Stringin | Kind::Waveform => {}
        }
    }

    /// `recGblResetAlarms`: returns the VAL mask and queues STAT/SEVR/ACKS posts.
    fn reset_alarms(&mut self, ri: u32) -> u16 {
        let Some(r) = self.rec_mut(ri) else { return 0 };
        let (prev_stat, prev_sevr) = (r.stat, r.sevr);
        let new_stat = r.nsta;
        let new_sevr = r.nsev.min(SEV_INVALID);
        r.stat = new_stat;
        r.sevr = new_sevr;
        r.nsta = 0;
        r.nsev = 0;
        let mut stat_mask = 0;
        let mut val_mask = 0;
        let mut posts = Vec::new();
        if prev_sevr != new_sevr {
            stat_mask = DBE_ALARM;
            posts.push((F_SEVR, DBE_VALUE));
        }
        if prev_stat != new_stat {
            stat_mask |= DBE_VALUE;
        }
        if stat_mask != 0 {
            posts.push((F_STAT, stat_mask));
            val_mask = DBE_ALARM;
            let ackt = r.get(F_ACKT).as_i64() != 0;
            if !ackt || new_sevr >= r.acks {
                r.acks = new_sevr;
                posts.push((F_ACKS, DBE_VALUE));
            }
        }
        for (f, m) in posts {
            self.post(ri, Some(f), m);
        }
        val_mask
    }

    fn monitor(&mut self, ri: u32) {
        let mut mask = self.reset_alarms(ri);
        let Some(r) = self.rec_mut(ri) else { return };
        let kind = r.kind;
        let mut extra: Vec<(u16, u16)> = Vec::new();
        match kind {
            Kind::Ai | Kind::Ao | Kind::Calc => {
                let val = r.val.as_f64();
                let mut mlst = r.f("MLST");
                let mut alst = r.f("ALST");
                check_deadband(&mut mlst, val, r.f("MDEL"), &mut mask, DBE_VALUE);
                check_deadband(&mut alst, val, r.f("ADEL"), &mut mask, DBE_LOG);
                r.set_f("MLST", mlst);
                r.set_f("ALST", alst);
                if kind == Kind::Ao && mask != 0 {
                    if let Some(i) = fi(kind, "OVAL") {
                        extra.push((i, mask | DBE_VALUE | DBE_LOG));
                    }
                    let (rval, oraw) = (r.f("RVAL"), r.f("ORAW"));
                    if rval != oraw {
                        if let Some(i) = fi(kind, "RVAL") {
                            extra.push((i, mask | DBE_VALUE | DBE_LOG));
                        }
                        r.set_f("ORAW", rval);
                    }
                }
                if kind == Kind::Calc {
                    let cf = calc_fields();
                    for (n, l) in cf.val.iter().zip(cf.prev) {
                        let (Some(n), Some(l)) = (*n, l) else {
                            continue;
                        };
                        let (new, prev) = (r.get_f(Some(n)), r.get_f(Some(l)));
                        if new != prev || mask & DBE_ALARM != 0 {
                            extra.push((n, mask | DBE_VALUE | DBE_LOG));
                            r.set_f_at(l, new);
                        }
                    }
                }
            }
            Kind::Longin | Kind::Longout => {
                let val = r.val.as_i64();
                let (mdel, adel) = (r.f("MDEL") as i64, r.f("ADEL") as i64);
                let (mlst, alst) = (r.f("MLST") as i64, r.f("ALST") as i64);
                let delta = |a: i64, b: i64| (a as i32).wrapping_sub(b as i32).unsigned_abs();
                if mdel < 0 || delta(mlst, val) > mdel as u32 {
                    mask |= DBE_VALUE;
                    r.set_f("MLST", val as f64);
                }
                if adel < 0 || delta(alst, val) > adel as u32 {
                    mask |= DBE_LOG;
                    r.set_f("ALST", val as f64);
                }
            }
            Kind::Bi | Kind::Bo | Kind::Mbbi | Kind::Mbbo => {
                let val = r.val.as_f64();
                if r.f("MLST") != val {
                    mask |= DBE_VALUE | DBE_LOG;
                    r.set_f("MLST", val);
                }
                let (rval, oraw) = (r.f("RVAL"), r.f("ORAW"));
                if rval != oraw {
                    if let Some(i) = fi(kind, "RVAL") {
                        extra.push((i, mask | DBE_VALUE | DBE_LOG));
                    }
                    r.set_f("ORAW", rval);
                }
            }
            Kind::Stringin | Kind::Stringout => {
                let val = r.val.as_str().to_owned();
                let oval = fi(kind, "OVAL").map(|i| r.get(i));
                if oval.as_ref().map(FVal::as_str) != Some(val.as_str()) {
                    mask |= DBE_VALUE | DBE_LOG;
                    if let Some(i) = fi(kind, "OVAL") {
                        r.put(i, FVal::S(val.into()));
                    }
                }
                if r.f("MPST") == 1.0 {
                    // menu "Always" is index 1 for stringin/stringout POST.
                    mask |= DBE_VALUE;
                }
                if r.f("APST") == 1.0 {
                    mask |= DBE_LOG;
                }
            }
            Kind::Waveform => {
                // waveformPOST: Always (0), On Change (1).
                if r.f("MPST") == 0.0 {
                    mask |= DBE_VALUE;
                }
                if r.f("APST") == 0.0 {
                    mask |= DBE_LOG;
                }
                if r.f("MPST") == 1.0 || r.f("APST") == 1.0 {
                    let h = hash_values(&r.val);
                    if h != r.f("HASH") as u32 as u64 {
                        if r.f("MPST") == 1.0 {
                            mask |= DBE_VALUE;
                        }
                        if r.f("APST") == 1.0 {
                            mask |= DBE_LOG;
                        }
                        r.set_f("HASH", h as f64);
                    }
                }
            }
        }
        self.post(ri, Some(vi(kind)), mask);
        for (f, m) in extra {
            self.post(ri, Some(f), m);
        }
    }

    // ------------------------------------------------------------------
    // Puts

    /// A put of a CA client (or the Rust API) into field `key`: with
    /// `notify` as rsrv's put-notify (`dbPutNotify`), else `dbPutField`.
    pub(crate) fn put_field(
        &mut self,
        ri: u32,
        key: u16,
        values: &DbrValues,
        notify: bool,
    ) -> Result<(), WriteError> {
        let mut processes = false;
        let result = self.put_store(ri, key, values, &mut processes, false);
        // dbPut posts the field as written, before any processing changes
        // it again (a calc input re-read from its link).
        self.flush();
        // dbPutField processes only after a successful dbPut; put-notify
        // (`db_put_process` reports the put as done whatever dbPut
        // returned) processes anyway.
        if processes && (result.is_ok() || notify) {
            let failed = self.process(ri, 0);
            self.flush();
            if failed && !notify && result.is_ok() {
                return Err(WriteError::new("the record's device support failed"));
            }
        }
        result
    }

    /// Stores a put; `processes` says whether the record is to be processed
    /// afterwards (a pp field of a Passive record, or PROC); it stays false
    /// for puts refused before dbPut (DISP, access, RTYP).
    fn put_store(
        &mut self,
        ri: u32,
        key: u16,
        values: &DbrValues,
        processes: &mut bool,
        from_link: bool,
    ) -> Result<(), WriteError> {
        let Some(r) = self.rec(ri) else {
            return Err(WriteError::new("no such record"));
        };
        let kind = r.kind;
        let val = vi(kind);
        let (idx, long) = key_field(kind, key);
        let rname = r.name.to_string();
        if key == KEY_RTYP {
            return Err(WriteError::new(format!("{rname}.RTYP cannot be changed")));
        }
        // `FIELD$`: the characters are the string.
        let text;
        let values = if long {
            text = DbrValues::String(vec![match values {
                DbrValues::Char(c) => caproto_core::dbr::chars_to_text(c),
                DbrValues::String(v) => v.first().cloned().unwrap_or_default(),
                _ => {
                    return Err(WriteError::new(format!(
                        "{rname}: a long string takes characters"
                    )))
                }
            }]);
            &text
        } else {
            values
        };
        let Some((dbf, def)) = self.field_type(ri, idx) else {
            return Err(WriteError::new("no such field"));
        };
        if def.is_read_only() && !(kind == Kind::Waveform && idx == val) {
            return Err(
                WriteError::new(format!("{rname}.{} is read-only", def.name))
                    .with_status(EcaStatus::ECA_NOWTACCESS),
            );
        }
        if !from_link && r.get(F_DISP).as_i64() != 0 && idx != F_DISP {
            return Err(WriteError::new(format!("{rname}: puts disabled (DISP)")));
        }
        let nelm = r.f("NELM").max(1.0) as usize;
        let scan = r.get(F_SCAN).as_i64();
        *processes = idx == F_PROC || (def.pp && scan == 0);
        self.touch(ri);
        if def.dbf.is_link() {
            let text = match values {
                DbrValues::String(v) => v.first().cloned().unwrap_or_default(),
                DbrValues::Char(c) => caproto_core::dbr::chars_to_text(c),
                _ => return Err(WriteError::new("a link takes a string")),
            };
            let (norm, _, _) =
                parse_link_of(&text, def.dbf == Dbf::FwdLink).map_err(WriteError::new)?;
            let link = self.resolve_link(&text);
            let r = self
                .rec_mut(ri)
                .ok_or_else(|| WriteError::new("no record"))?;
            r.put(idx, FVal::S(norm.into()));
            // A constant is loaded at init only (dbConstLink): a new
            // constant does not change the input.
            set_link(r, idx, link);
            self.index_cp(ri);
            self.post(ri, Some(idx), DBE_VALUE | DBE_LOG);
            *processes = false;
            return Ok(());
        }
        // Convert and store.
        if kind == Kind::Waveform && idx == val {
            let native = fields::native_type(dbf).unwrap_or(NativeType::Char);
            let ctx = ConvertContext::default();
            let mut v = convert(values, native, &ctx)
                .map_err(|e| WriteError::new(format!("{rname}: {e}")))?;
            v.truncate(nelm);
            let n = v.len();
            let r = self
                .rec_mut(ri)
                .ok_or_else(|| WriteError::new("no record"))?;
            r.val = FVal::A(Box::new(v));
            let old = r.f("NORD");
            r.set_f("NORD", n as f64);
            r.udf = 0;
            if old != n as f64 {
                if let Some(nord) = fi(kind, "NORD") {
                    self.post(ri, Some(nord), DBE_VALUE | DBE_LOG);
                }
            }
        } else {
            let meta = rset::field_meta(self, ri, dbf, def, 0);
            let mut v = value::from_put(dbf, values, &meta.enum_strings)
                .map_err(|e| WriteError::new(format!("{rname}.{}: {}", def.name, e.0)))?;
            if let (FVal::I(i), Dbf::UShort) = (&v, dbf) {
                v = FVal::I(i64::from(*i as u16));
            }
            let mut calc_err = None;
            if def.special == Special::Calc {
                match crate::calc::compile(v.as_str()) {
                    Ok(p) => {
                        if let Some(r) = self.rec_mut(ri) {
                            r.ext().program = Some(p);
                        }
                    }
                    Err(e) => {
                        // postfix() leaves an empty program: every
                        // process then fails with a CALC alarm.
                        if let Some(r) = self.rec_mut(ri) {
                            r.ext().program = None;
                        }
                        calc_err = Some(e)
                    }
                }
            }
            let r = self
                .rec_mut(ri)
                .ok_or_else(|| WriteError::new("no record"))?;
            r.put(idx, v);
            if idx == val {
                r.udf = 0;
            }
            if let Some(e) = calc_err {
                return Err(WriteError::new(format!(
                    "{rname}.CALC: {}",
                    e.kind.message()
                )));
            }
            if def.special == Special::Scan {
                // scanAdd: soft records have no I/O Intr support.
                if idx == F_SCAN {
                    if let Some(r) = self.rec_mut(ri) {
                        if r.get(F_SCAN).as_i64() == SCAN_IO_INTR {
                            r.put(F_SCAN, FVal::I(0));
                        }
                    }
                }
                self.scan_generation += 1;
            }
        }
        // Monitors of the field itself, unless it is a VAL that processes.
        if !(idx == val && def.pp) {
            self.post(ri, Some(idx), DBE_VALUE | DBE_LOG);
        }
        if def.prop {
            self.post(ri, None, DBE_PROPERTY);
        }
        if (kind == Kind::Mbbi || kind == Kind::Mbbo)
            && (MBB_STATES.contains(&def.name) || MBB_VALUES.contains(&def.name))
        {
            if let Some(r) = self.rec_mut(ri) {
                let sdef = mbb_states_defined(r);
                r.set_f("SDEF", f64::from(u8::from(sdef)));
            }
            self.post(ri, Some(val), DBE_PROPERTY);
        }
        Ok(())
    }

    // ------------------------------------------------------------------
    // Field PVs

    /// The native type and element count of a field PV, if served.
    pub(crate) fn field_native(&self, ri: u32, key: u16) -> Option<(NativeType, usize, bool)> {
        let r = self.rec(ri)?;
        if key == KEY_RTYP {
            return Some((NativeType::String, 1, false));
        }
        let (idx, long) = key_field(r.kind, key);
        let (dbf, def) = self.field_type(ri, idx)?;
        if long {
            let size = match dbf {
                Dbf::String { size } => usize::from(size),
                _ => LINK_STRING_SIZE,
            };
            return Some((NativeType::Char, size, def.special == Special::NoMod));
        }
        let native = fields::native_type(dbf)?;
        let count = if r.kind == Kind::Waveform && idx == vi(r.kind) {
            r.f("NELM").max(1.0) as usize
        } else {
            1
        };
        let read_only = def.special == Special::NoMod;
        Some((native, count, read_only))
    }

    /// The current state of a field PV.
    pub(crate) fn field_snapshot(&self, ri: u32, key: u16) -> Option<(Snapshot, FieldMeta)> {
        let r = self.rec(ri)?;
        let (native, capacity, _) = self.field_native(ri, key)?;
        let (idx, long) = key_field(r.kind, key);
        let (values, fm) = if key == KEY_RTYP {
            (
                DbrValues::String(vec![r.kind.name().to_owned()]),
                FieldMeta {
                    alarm: [f64::NAN; 4],
                    string_precision: 6,
                    ..FieldMeta::default()
                },
            )
        } else {
            let (dbf, def) = self.field_type(ri, idx)?;
            let v = r.get(idx);
            let values = match &v {
                FVal::A(a) => (**a).clone(),
                FVal::S(text) if long => {
                    let mut bytes = text.as_bytes().to_vec();
                    bytes.truncate(capacity.saturating_sub(1));
                    bytes.push(0);
                    DbrValues::Char(bytes)
                }
                other => value::to_values(dbf, other, native),
            };
            (values, rset::field_meta(self, ri, dbf, def, 0))
        };
        let meta = Metadata {
            status: AlarmStatus(r.stat),
            severity: AlarmSeverity(r.sevr),
            timestamp: r.time,
            units: fm.units.clone(),
            precision: fm.precision,
            limits: Limits {
                upper_disp: fm.disp.1,
                lower_disp: fm.disp.0,
                upper_alarm: fm.alarm[3],
                upper_warning: fm.alarm[2],
                lower_warning: fm.alarm[1],
                lower_alarm: fm.alarm[0],
                upper_ctrl: fm.ctrl.1,
                lower_ctrl: fm.ctrl.0,
            },
            enum_strings: fm.enum_strings.clone(),
            ackt: r.get(F_ACKT).as_i64() as u16,
            acks: r.acks,
        };
        Some((Snapshot { values, meta }, fm))
    }

    /// How a field PV prints itself as DBR_STRING.
    pub(crate) fn string_mode(&self, ri: u32, key: u16) -> StringMode {
        let Some(r) = self.rec(ri) else {
            return StringMode::Default;
        };
        let (idx, long) = key_field(r.kind, key);
        if long {
            return StringMode::Default;
        }
        let Some((dbf, _)) = self.field_type(ri, idx) else {
            return StringMode::Default;
        };
        match dbf {
            Dbf::Menu(m) => StringMode::Menu(m.choices),
            Dbf::Device => StringMode::Device(fields::device_choices(r.kind.name())),
            Dbf::Enum if idx == vi(r.kind) => match r.kind {
                Kind::Bi | Kind::Bo => StringMode::Binary,
                _ => StringMode::Multi,
            },
            Dbf::Float | Dbf::Double => StringMode::Precision,
            Dbf::InLink | Dbf::OutLink | Dbf::FwdLink => StringMode::Link,
            Dbf::String { .. } => {
                // Read as ENUM, a string field goes through the record's
                // put_enum_str (dbFastLinkConv cvt_st_e): only bi/bo/mbbi/
                // mbbo have one, and their state strings match themselves.
                let name = fdef(r.kind, idx).map_or("", |d| d.name);
                let state = match r.kind {
                    Kind::Bi | Kind::Bo => matches!(name, "ZNAM" | "ONAM"),
                    Kind::Mbbi | Kind::Mbbo => MBB_STATES.contains(&name) && mbb_states_defined(r),
                    _ => false,
                };
                StringMode::Text { state }
            }
            _ => StringMode::Default,
        }
    }

    /// A cached live PV of a field.
    pub(crate) fn cached_pv(&mut self, ri: u32, key: u16) -> Option<Pv> {
        let r = self.rec_mut(ri)?;
        r.pvs.retain(|(_, w)| w.upgrade().is_some());
        r.pvs
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, w)| w.upgrade())
    }

    pub(crate) fn cache_pv(&mut self, ri: u32, key: u16, pv: &Pv) {
        if let Some(r) = self.rec_mut(ri) {
            r.pvs.push((key, pv.downgrade()));
        }
    }

    /// Sends every change since the last flush to the records' live PVs,
    /// then processes the records whose CP/CPP links saw a monitor (and
    /// sends their changes, and so on; bounded against CP loops).
    pub(crate) fn flush(&mut self) {
        for _ in 0..64 {
            let posts = self.publish();
            let mut triggered: Vec<u32> = Vec::new();
            for p in &posts {
                if p.mask & (DBE_VALUE | DBE_ALARM) == 0 {
                    continue;
                }
                let Some(subs) = self.cp_index.get(&p.rec) else {
                    continue;
                };
                for (target, field, cpp) in subs {
                    if p.field.is_some_and(|f| f != *field) {
                        continue;
                    }
                    let passive = self
                        .rec(*target)
                        .is_some_and(|t| t.get(F_SCAN).as_i64() == 0);
                    if (!cpp || passive) && !triggered.contains(target) {
                        triggered.push(*target);
                    }
                }
            }
            if triggered.is_empty() {
                return;
            }
            for t in triggered {
                self.process(t, 0);
            }
        }
        self.publish();
    }

    /// Publishes the pending changes; returns the posts.
    fn publish(&mut self) -> Vec<Post> {
        let touched = std::mem::take(&mut self.touched);
        let posts = std::mem::take(&mut self.posts);
        let mut recs: Vec<u32> = touched;
        for p in &posts {
            if !recs.contains(&p.rec) {
                recs.push(p.rec);
            }
        }
        for ri in recs {
            let Some(r) = self.rec_mut(ri) else { continue };
            // Forget the PVs no client uses any more.
            r.pvs.retain(|(_, w)| w.upgrade().is_some());
            if r.pvs.is_empty() {
                continue;
            }
            let pvs: Vec<(u16, Pv)> = r
                .pvs
                .iter()
                .filter_map(|(k, w)| w.upgrade().map(|p| (*k, p)))
                .collect();
            let kind = r.kind;
            for (key, pv) in pvs {
                let (field, _) = key_field(kind, key);
                let mask = posts
                    .iter()
                    .filter(|p| p.rec == ri && (p.field.is_none() || p.field == Some(field)))
                    .fold(0u16, |m, p| m | p.mask);
                if let Some((snap, _)) = self.field_snapshot(ri, key) {
                    pv.publish(snap, EventMask(mask));
                }
            }
        }
        posts
    }
}

/// How a field's value reads as DBR_STRING (the record's `get_enum_str`,
/// menus, precision).
#[derive(Debug, Clone, Copy)]
pub(crate) enum StringMode {
    Default,
    Menu(&'static [&'static str]),
    Device(&'static [&'static str]),
    Binary,
    Multi,
    Precision,
    /// A link field: text as DBR_STRING, NaN as FLOAT/DOUBLE, no other type.
    Link,
    /// A string field: reads as ENUM only through the record's
    /// `put_enum_str` (`state`: the field is one of its state strings).
    Text {
        state: bool,
    },
}

impl StringMode {
    /// The DBR_STRING form of the snapshot's values, if this mode differs
    /// from the standard conversion.
    pub(crate) fn convert(
        self,
        snap: &Snapshot,
        to: NativeType,
        string_precision: i16,
    ) -> Option<Result<DbrValues, EcaStatus>> {
        match self {
            StringMode::Link => {
                // dbGetLinkValue-style reads: the text as STRING, a
                // NUL-terminated char array as CHAR (0 for one element),
                // NaN as DOUBLE; other types fail (as the C IOC answers).
                let n = snap.values.len();
                return match to {
                    NativeType::String => None,
                    NativeType::Double => Some(Ok(DbrValues::Double(vec![f64::NAN; n]))),
                    NativeType::Char => Some(Ok(DbrValues::Char(vec![0; n]))),
                    _ => Some(Err(EcaStatus::ECA_GETFAIL)),
                };
            }
            StringMode::Text { state } => {
                return (to == NativeType::Enum).then(|| {
                    if state {
                        Ok(DbrValues::Enum(vec![0; snap.values.len()]))
                    } else {
                        Err(EcaStatus::ECA_GETFAIL)
                    }
                });
            }
            _ => {}
        }
        if to != NativeType::String {
            return None;
        }
        let idx = |i: usize| match &snap.values {
            DbrValues::Enum(v) => v.get(i).copied(),
            _ => None,
        };
        let text = |i: usize| -> Option<String> {
            let v = idx(i)?;
            Some(match self {
                StringMode::Menu(c) => c
                    .get(usize::from(v))
                    .map_or_else(|| v.to_string(), |s| (*s).to_owned()),
                StringMode::Device(c) => {
                    if c.is_empty() {
                        String::new()
                    } else {
                        c.get(usize::from(v))?.to_string()
                    }
                }
                StringMode::Binary => match v {
                    0 | 1 => snap
                        .meta
                        .enum_strings
                        .get(usize::from(v))
                        .cloned()
                        .unwrap_or_default(),
                    _ => "Illegal_Value".into(),
                },
                StringMode::Multi => {
                    if v <= 15 {
                        snap.meta
                            .enum_strings
                            .get(usize::from(v))
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        "Illegal Value".into()
                    }
                }
                _ => return None,
            })
        };
        match self {
            StringMode::Default | StringMode::Link | StringMode::Text { .. } => None,
            StringMode::Precision => Some(Ok(DbrValues::String(match &snap.values {
                DbrValues::Double(v) => v
                    .iter()
                    .map(|x| double_to_string(*x, string_precision))
                    .collect(),
                DbrValues::Float(v) => v
                    .iter()
                    .map(|x| float_to_string(*x, string_precision))
                    .collect(),
                _ => return None,
            }))),
            _ => {
                let n = snap.values.len();
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    match text(i) {
                        Some(s) => out.push(s),
                        None => return Some(Err(EcaStatus::ECA_GETFAIL)),
                    }
                }
                Some(Ok(DbrValues::String(out)))
            }
        }
    }
}

fn set_link(r: &mut Rec, idx: u16, link: Link) {
    let ext = r.ext();
    ext.links.retain(|(i, _)| *i != idx);
    if link != Link::None {
        ext.links.push((idx, link));
    }
    if ext.links.is_empty() && ext.program.is_none() {
        r.ext = None;
    }
}

/// ao's RVAL from the output value (aoRecord.c `convert`, without
/// breakpoint tables): engineering to raw, offsets, rounded to 32 bits.
fn ao_rval(r: &Rec, value: f64) -> Option<f64> {
    let mut v = value;
    // menuConvert: NO CONVERSION 0, SLOPE 1, LINEAR 2.
    let linr = r.f("LINR") as i64;
    if linr > 2 {
        // Breakpoint tables: none are loaded in a soft IOC.
        return None;
    }
    if linr == 1 || linr == 2 {
        let eslo = r.f("ESLO");
        v = if eslo == 0.0 {
            0.0
        } else {
            (v - r.f("EOFF")) / eslo
        };
    }
    v -= r.f("AOFF");
    let aslo = r.f("ASLO");
    if aslo != 0.0 {
        v /= aslo;
    }
    v -= r.f("ROFF");
    let raw = if v >= 0.0 {
        if v >= f64::from(i32::MAX) - 0.5 {
            i32::MAX
        } else {
            (v + 0.5) as i32
        }
    } else if v > 0.5 - 2147483648.0 {
        (v - 0.5) as i32
    } else {
        i32::MIN
    };
    Some(f64::from(raw))
}

/// mbbo `convert`: RVAL from the state values (or VAL without states),
/// shifted by SHFT; an unknown state is a SOFT alarm.
fn mbbo_convert(r: &mut Rec) {
    let val = r.val.as_i64();
    let rval = if mbb_states_defined(r) {
        if val > 15 {
            set_sevr(r, STAT_SOFT, SEV_INVALID);
            return;
        }
        MBB_VALUES
            .get(val as usize)
            .map_or(0, |n| r.f(n) as i64 as u32)
    } else {
        val as u32
    };
    let shft = r.f("SHFT") as u32;
    let rval = if shft > 0 {
        rval.checked_shl(shft).unwrap_or(0)
    } else {
        rval
    };
    r.set_f("RVAL", f64::from(rval));
}

/// bo's RVAL from VAL: MASK when set and VAL is not 0, else VAL.
fn bo_rval(r: &Rec) -> f64 {
    let val = r.val.as_i64();
    let mask = r.f("MASK") as i64;
    if mask != 0 {
        if val == 0 {
            0.0
        } else {
            mask as f64
        }
    } else {
        (val as u32) as f64
    }
}

fn mbb_states_defined(r: &Rec) -> bool {
    MBB_STATES
        .iter()
        .any(|n| fi(r.kind, n).is_some_and(|i| !r.get(i).as_str().is_empty()))
        || MBB_VALUES.iter().any(|n| r.f(n) != 0.0)
}

/// menuFtype index to field type (waveform FTVL).
pub(crate) fn ftvl_dbf(ftvl: u16) -> Dbf {
    match ftvl {
        0 => Dbf::String { size: 40 },
        1 => Dbf::Char,
        2 => Dbf::UChar,
        3 => Dbf::Short,
        4 => Dbf::UShort,
        5 => Dbf::Long,
        6 => Dbf::ULong,
        7 => Dbf::Int64,
        8 => Dbf::UInt64,
        9 => Dbf::Float,
        10 => Dbf::Double,
        11 => Dbf::Enum,
        _ => Dbf::UChar,
    }
}

fn hash_values(v: &FVal) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{v:?}").hash(&mut h);
    h.finish() & 0xffff_ffff
}

/// calc input link fields, A first.
pub(crate) const INP_NAMES: [&str; 12] = [
    "INPA", "INPB", "INPC", "INPD", "INPE", "INPF", "INPG", "INPH", "INPI", "INPJ", "INPK", "INPL",
];
/// calc input value fields.
pub(crate) const INPUT_NAMES: [&str; 12] =
    ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"];
/// Field indices of the calc record's inputs, looked up once: processing
/// reads and writes them on every pass.
struct CalcFields {
    /// INPA..INPL.
    inp: [Option<u16>; 12],
    /// A..L.
    val: [Option<u16>; 12],
    /// LA..LL.
    prev: [Option<u16>; 12],
}

fn calc_fields() -> &'static CalcFields {
    static C: OnceLock<CalcFields> = OnceLock::new();
    C.get_or_init(|| CalcFields {
        inp: INP_NAMES.map(|n| fi(Kind::Calc, n)),
        val: INPUT_NAMES.map(|n| fi(Kind::Calc, n)),
        prev: PREV_NAMES.map(|n| fi(Kind::Calc, n)),
    })
}

/// calc previous input value fields.
const PREV_NAMES: [&str; 12] = [
    "LA", "LB", "LC", "LD", "LE", "LF", "LG", "LH", "LI", "LJ", "LK", "LL",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_index_finds_every_field_and_nothing_else() {
        for kind in Kind::ALL {
            for (i, f) in kind.def().fields.iter().enumerate() {
                assert_eq!(fi(kind, f.name), Some(i as u16), "{}", f.name);
            }
            for bad in ["", "NOPE", "VALX", "val", "A\0", "FAR_TOO_LONG"] {
                assert_eq!(fi(kind, bad), None, "{bad:?}");
            }
        }
    }

    #[test]
    fn common_field_indices_match_the_tables() {
        for k in Kind::ALL {
            for (idx, name) in [
                (F_NAME, "NAME"),
                (F_SCAN, "SCAN"),
                (F_PINI, "PINI"),
                (F_TSE, "TSE"),
                (F_DISV, "DISV"),
                (F_DISA, "DISA"),
                (F_DISP, "DISP"),
                (F_PROC, "PROC"),
                (F_STAT, "STAT"),
                (F_SEVR, "SEVR"),
                (F_NSTA, "NSTA"),
                (F_NSEV, "NSEV"),
                (F_ACKS, "ACKS"),
                (F_ACKT, "ACKT"),
                (F_DISS, "DISS"),
                (F_PACT, "PACT"),
                (F_UDF, "UDF"),
                (F_UDFS, "UDFS"),
                (F_FLNK, "FLNK"),
            ] {
                assert_eq!(fi(k, name), Some(idx), "{} {name}", k.name());
            }
        }
    }

    #[test]
    fn links_are_normalised_like_c() {
        assert_eq!(parse_link("t:li").unwrap().0, "t:li NPP NMS");
        assert_eq!(parse_link("t:ao NPP NMS").unwrap().0, "t:ao NPP NMS");
        assert_eq!(parse_link("x.B PP MS").unwrap().0, "x.B PP MS");
        assert_eq!(parse_link("1e2").unwrap().0, "1e2");
        assert_eq!(parse_link("1e2").unwrap().2, Some(100.0));
        assert!(parse_link("x BOGUS").is_err());
    }
}
