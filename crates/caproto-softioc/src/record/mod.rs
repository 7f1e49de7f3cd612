//! Record emulation: EPICS records (`ai`, `ao`, `bi`, `bo`, `mbbi`, `mbbo`,
//! `longin`, `longout`, `stringin`, `stringout`, `waveform`, `calc`) served
//! with their field PVs (`rec.VAL`, `rec.EGU`, `rec.HIHI`, ...), the field
//! types, metadata and alarm behaviour of EPICS base 7.0.
//!
//! [`Records`] is a [`PvSource`]: a field becomes a [`Pv`] only when a
//! client opens a channel to it, and goes away when no client uses it, so
//! a database of 100,000 records costs a compact struct per record (the
//! hot state typed; fields set in the database or by puts in a small
//! sparse list; everything else read from the static [`fields`] tables).
//!
//! ```
//! use caproto_softioc::record::Records;
//! let records = Records::new();
//! let temp = records
//!     .add("lab:temp", "ai", &[("EGU", "degC"), ("PREC", "1"), ("HIGH", "30"), ("HSV", "MINOR")])
//!     .unwrap();
//! temp.set(31.5).unwrap(); // processes the record: a MINOR HIGH alarm
//! assert_eq!(temp.alarm().1, "MINOR");
//! assert_eq!(records.field("lab:temp.EGU").as_deref(), Some("degC"));
//! ```
//!
//! Serve them with [`Records::install`] on a [`caproto_server::Ioc`]
//! (which also starts periodic scans and PINI processing).
//!
//! # What is emulated
//!
//! As EPICS base 7.0.8.1 with the soft device supports (checked field by
//! field against the C `softIoc` with the C CA tools):
//!
//! - every field of the 12 types as a PV, with its DBF type as CA sees it,
//!   its element count and access (`SPC_NOMOD` fields are read-only,
//!   `RTYP` refuses puts); `FIELD$` for string and link fields (a CHAR
//!   array); `DBR_CLASS_NAME` is the record type for every field;
//! - metadata of every field as the record supports answer it (units,
//!   precision, display/control/alarm limits, enum strings; calc inputs
//!   take them from the linked record);
//! - puts with `dbPut` conversions, `DISP`, pp fields processing a Passive
//!   record, DBE_VALUE/DBE_LOG posts of written fields and DBE_PROPERTY
//!   posts for `prop(YES)` fields, `SCAN` changes (`I/O Intr` falls back to
//!   Passive as in a soft IOC); a CA WRITE that fails does not process, a
//!   WRITE_NOTIFY processes anyway (rsrv's `dbPutNotify`);
//! - processing: UDF, HIHI..LOLO with HYST and AFTC, state and COS alarms,
//!   DRVH/DRVL, MDEL/ADEL deadbands, MPST/APST, DISA/DISV/DISS, TSE, RVAL
//!   of ao/bo/mbbo, calc expressions with A..L from constants and links
//!   (`PP`, `NPP`, `MS`, `MSS`, `MSI`, `NMS`; `CA`/`CP`/`CPP` to records of
//!   this IOC, CP/CPP processing on changes), the "Soft Channel" device
//!   links (INP of ai/bi/mbbi/longin/stringin/waveform, DOL in closed
//!   loop, OUT of ao/bo/mbbo/longout/stringout with PP, IVOA), forward
//!   links, PINI and the periodic scans.
//!
//! Not emulated: `Event` and `I/O Intr` scanning, other device types
//! (`DTYP`), SIMM simulation, alarm acknowledgement puts, breakpoint
//! tables, access security.

pub mod fields;
pub mod menus;

mod engine;
mod rset;
mod value;

use std::sync::Arc;
use std::time::Duration;

use caproto_core::dbr::DbrValues;
use caproto_server::{IntoValues, Ioc, PutKind, Pv, PvSource, WriteError};

use crate::db::{Database, Location};
use engine::{Db, Kind, Rec, Shared, KEY_BARE, KEY_RTYP, SCAN_PERIODS};

/// Why a record could not be configured: the message and, for records
/// from a `.db` file, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where the offending record or field was written, if from a file.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(l) => write!(f, "{l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RecordError {}

impl RecordError {
    fn new(location: Option<&Location>, message: impl Into<String>) -> RecordError {
        RecordError {
            location: location.cloned(),
            message: message.into(),
        }
    }
}

/// A database of records, served as PVs made on demand.
#[derive(Clone, Default)]
pub struct Records {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records").field("len", &self.len()).finish()
    }
}

/// A handle to one record, to read and post values from Rust.
#[derive(Clone)]
pub struct RecordHandle {
    shared: Arc<Shared>,
    index: u32,
}

impl std::fmt::Debug for RecordHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordHandle")
            .field("name", &self.name())
            .finish()
    }
}

impl Records {
    /// An empty database.
    pub fn new() -> Records {
        Records::default()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.shared.lock().len()
    }

    /// True if there are no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a record of type `rtype` with fields set as in a `.db` file
    /// (`("EGU", "mm")`, `("SCAN", "1 second")`, `("INPA", "other.VAL PP")`).
    /// Links to records added later are resolved by [`Records::install`].
    ///
    /// # Errors
    ///
    /// An unknown record type or field, a value that does not fit its
    /// field, a bad CALC expression, or a name already used; the record is
    /// then not added.
    pub fn add(
        &self,
        name: &str,
        rtype: &str,
        fields: &[(&str, &str)],
    ) -> Result<RecordHandle, RecordError> {
        let mut db = self.shared.lock();
        let ri = add_record(&mut db, name, rtype, None)?;
        let configured = fields
            .iter()
            .try_for_each(|(f, v)| db.configure(ri, f, v))
            .and_then(|()| db.init_record(ri))
            .map_err(|e| RecordError::new(None, format!("record \"{name}\": {e}")));
        if let Err(e) = configured {
            // Nothing of a record that does not configure stays.
            db.remove_last(ri);
            return Err(e);
        }
        Ok(RecordHandle {
            shared: self.shared.clone(),
            index: ri,
        })
    }

    /// The records of a parsed database (`-d` files). Nothing is served
    /// unless every record loads: all errors are returned, each with the
    /// file, line and column of the record or field at fault.
    ///
    /// # Errors
    ///
    /// Unknown record types and fields, values that do not fit their
    /// fields, bad CALC expressions.
    pub fn from_database(database: &Database) -> Result<Records, Vec<RecordError>> {
        let records = Records::new();
        let mut errors = Vec::new();
        {
            let mut db = records.shared.lock();
            let mut added = Vec::new();
            for rec in database.records() {
                let ri = match add_record(&mut db, &rec.name, &rec.rtype, Some(&rec.location)) {
                    Ok(ri) => ri,
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                };
                for f in &rec.fields {
                    if let Err(e) = db.configure(ri, &f.name, &f.value) {
                        errors.push(RecordError::new(Some(&f.location), e));
                    }
                }
                for a in &rec.aliases {
                    db.add_alias(&a.name, ri);
                }
                added.push((ri, rec));
            }
            for (ri, rec) in added {
                if let Err(e) = db.init_record(ri) {
                    let loc = rec
                        .fields
                        .iter()
                        .find(|f| f.name == "CALC")
                        .map_or(&rec.location, |f| &f.location);
                    errors.push(RecordError::new(
                        Some(loc),
                        format!("record \"{}\": {e}", rec.name),
                    ));
                }
            }
            db.shrink();
        }
        if errors.is_empty() {
            Ok(records)
        } else {
            Err(errors)
        }
    }

    /// The record named `name` (or an alias).
    pub fn get(&self, name: &str) -> Option<RecordHandle> {
        let db = self.shared.lock();
        db.find(name).map(|index| RecordHandle {
            shared: self.shared.clone(),
            index,
        })
    }

    /// The value of a field (`rec.FIELD`, or `rec` for VAL) as text (its
    /// DBR_STRING form), if it exists.
    pub fn field(&self, name: &str) -> Option<String> {
        let pv = self.resolve(name)?;
        let snap = pv.snapshot();
        let (_, data) = pv
            .encode_read(&snap, caproto_core::dbr::DbrType::String, 1)
            .ok()?;
        Some(caproto_core::dbr::decode_text(&data))
    }

    /// Serves the records on `ioc` (under its prefix), processes the
    /// records with PINI=YES when it starts, and runs the periodic scans
    /// (`.1 second` ... `10 second`) while it runs.
    pub fn install(self, ioc: &mut Ioc) {
        self.relink();
        let source: Arc<dyn PvSource> = Arc::new(self.clone());
        ioc.add_source(source);
        let shared = self.shared.clone();
        ioc.on_startup(move || async move {
            let mut db = shared.lock();
            for ri in db.pini_records() {
                db.process_and_flush(ri);
            }
            for ri in db.cp_records() {
                db.process_and_flush(ri);
            }
        });
        ioc.spawn(scan_tasks(self.shared.clone()));
    }

    /// Re-resolves the links of every record (records added after the
    /// ones linking to them).
    pub fn relink(&self) {
        let mut db = self.shared.lock();
        for ri in 0..db.len() as u32 {
            db.relink(ri);
        }
    }

    fn split(name: &str) -> (&str, Option<&str>) {
        match name.split_once('.') {
            Some((r, f)) => (r, Some(f)),
            None => (name, None),
        }
    }

    fn key(db: &Db, ri: u32, field: Option<&str>) -> Option<u16> {
        let kind = db.rec(ri)?.kind;
        match field {
            None | Some("") => Some(KEY_BARE),
            Some("RTYP") => Some(KEY_RTYP),
            Some(f) => {
                let key = match f.strip_suffix('$') {
                    Some(f) => engine::long_key(kind, engine::fi(kind, f)?),
                    None => engine::fi(kind, f)?,
                };
                db.field_native(ri, key)?;
                Some(key)
            }
        }
    }
}

fn add_record(
    db: &mut Db,
    name: &str,
    rtype: &str,
    location: Option<&Location>,
) -> Result<u32, RecordError> {
    let Some(kind) = Kind::from_name(rtype) else {
        return Err(RecordError::new(
            location,
            format!("record \"{name}\" is of unknown type \"{rtype}\""),
        ));
    };
    if db.find(name).is_some() {
        return Err(RecordError::new(
            location,
            format!("record \"{name}\" is defined twice"),
        ));
    }
    Ok(db.push(Rec::new(name, kind)))
}

impl PvSource for Records {
    fn contains(&self, name: &str) -> bool {
        let db = self.shared.lock();
        let (rec, field) = Records::split(name);
        db.find(rec)
            .is_some_and(|ri| Records::key(&db, ri, field).is_some())
    }

    fn resolve(&self, name: &str) -> Option<Pv> {
        let mut db = self.shared.lock();
        let (rec, field) = Records::split(name);
        let ri = db.find(rec)?;
        let key = Records::key(&db, ri, field)?;
        if let Some(pv) = db.cached_pv(ri, key) {
            return Some(pv);
        }
        let (native, count, read_only) = db.field_native(ri, key)?;
        let (snap, fm) = db.field_snapshot(ri, key)?;
        let mode = db.string_mode(ri, key);
        let rtype = db.rec(ri)?.kind.name();
        let shared = self.shared.clone();
        let values = if snap.values.native_type() == native {
            snap.values.clone()
        } else {
            DbrValues::empty(native)
        };
        let string_precision = fm.string_precision;
        let mut builder = Pv::array(values, count)
            .metadata(snap.meta.clone())
            .class_name(rtype)
            .on_put(move |_pv, values, kind| {
                let notify = kind == PutKind::WriteNotify;
                shared.lock().put_field(ri, key, &values, notify)
            })
            .read_converter(move |snap, to| mode.convert(snap, to, string_precision));
        if read_only {
            builder = builder.read_only();
        }
        let pv = builder.build_named(name);
        // The builder stamps the current time; keep the record's.
        pv.publish(snap, caproto_core::wire::EventMask(0));
        db.cache_pv(ri, key, &pv);
        Some(pv)
    }

    fn max_capacity(&self) -> usize {
        let db = self.shared.lock();
        (0..db.len() as u32)
            .filter_map(|ri| db.field_native(ri, KEY_BARE).map(|(_, n, _)| n))
            .max()
            .unwrap_or(1)
    }

    fn names(&self) -> Vec<String> {
        self.shared.lock().names().map(str::to_owned).collect()
    }
}

impl RecordHandle {
    /// The record's name.
    pub fn name(&self) -> String {
        self.shared
            .lock()
            .rec(self.index)
            .map(|r| r.name.to_string())
            .unwrap_or_default()
    }

    /// Writes VAL as a CA put would (converted, DRVH/DRVL applied) and
    /// processes the record if it is Passive: alarms, monitors, forward
    /// link.
    ///
    /// # Errors
    ///
    /// A value that does not convert, or puts disabled by DISP.
    pub fn set(&self, value: impl IntoValues) -> Result<(), WriteError> {
        let values = value.into_values();
        self.shared
            .lock()
            .put_field(self.index, KEY_BARE, &values, false)
    }

    /// Writes a field from text as a CA put of a string (`"EGU"`, `"mm"`).
    ///
    /// # Errors
    ///
    /// An unknown or read-only field, a value that does not convert.
    pub fn put_field(&self, field: &str, value: &str) -> Result<(), WriteError> {
        let mut db = self.shared.lock();
        let kind = db
            .rec(self.index)
            .map(|r| r.kind)
            .ok_or_else(|| WriteError::new("no record"))?;
        let idx =
            engine::fi(kind, field).ok_or_else(|| WriteError::new(format!("no field {field}")))?;
        db.put_field(
            self.index,
            idx,
            &DbrValues::String(vec![value.to_owned()]),
            false,
        )
    }

    /// Processes the record now (as a scan or `PROC` put would).
    pub fn process(&self) {
        self.shared.lock().process_and_flush(self.index);
    }

    /// VAL as a number (first element; 0 for strings).
    pub fn get_f64(&self) -> f64 {
        self.shared
            .lock()
            .rec(self.index)
            .map_or(0.0, |r| r.val_f64())
    }

    /// VAL as text.
    pub fn get_string(&self) -> String {
        self.shared
            .lock()
            .rec(self.index)
            .map(|r| r.val_string())
            .unwrap_or_default()
    }

    /// Alarm status and severity names (`("HIGH", "MINOR")`).
    pub fn alarm(&self) -> (&'static str, &'static str) {
        let (stat, sevr) = self
            .shared
            .lock()
            .rec(self.index)
            .map_or((0, 0), |r| r.alarm());
        (
            menus::MENU_ALARM_STAT.choice(stat).unwrap_or("?"),
            menus::MENU_ALARM_SEVR.choice(sevr).unwrap_or("?"),
        )
    }

    /// The time of the last processing (the EPICS epoch if never).
    pub fn timestamp(&self) -> caproto_core::dbr::EpicsTime {
        self.shared
            .lock()
            .rec(self.index)
            .map_or(caproto_core::dbr::EpicsTime::EPOCH, |r| r.time())
    }
}

/// The periodic scan threads of `dbScan.c`: one loop per period, each
/// processing its records in order, the first time one period after the
/// start; lists are rebuilt when a SCAN changes.
async fn scan_tasks(shared: Arc<Shared>) {
    let mut set = tokio::task::JoinSet::new();
    for (i, period) in SCAN_PERIODS.iter().enumerate() {
        let shared = shared.clone();
        let period = Duration::from_secs_f64(*period);
        set.spawn(async move {
            // The scan threads start paused during iocInit, so their first
            // pass comes one period after the IOC runs (dbScan.c).
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut generation = u64::MAX;
            let mut list: Vec<u32> = Vec::new();
            loop {
                tick.tick().await;
                let mut db = shared.lock();
                if db.scan_generation != generation {
                    generation = db.scan_generation;
                    list = db.scan_lists().into_iter().nth(i).unwrap_or_default();
                }
                for &ri in &list {
                    db.process_and_flush(ri);
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}
