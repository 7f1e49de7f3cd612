//! What the record supports (`rset` entries `get_units`, `get_precision`,
//! `get_graphic_double`, `get_control_double`, `get_alarm_double`,
//! `get_enum_strs`, `get_enum_str`) answer for each field: the metadata
//! of `DBR_GR_*` / `DBR_CTRL_*` reads of field PVs, as `dbAccess.c`
//! `getOptions` assembles it (missing entries leave zeros, alarm limits
//! NaN).

use super::engine::{Db, Kind, Link};
use super::fields::{Dbf, FieldDef};

/// `boHIGHprecision` / `boHIGHlimit` (boRecord.c).
const BO_HIGH_PRECISION: i16 = 2;
const BO_HIGH_LIMIT: f64 = 100000.0;

/// Metadata of one field besides alarm state and time.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct FieldMeta {
    pub units: String,
    /// DBR_PRECISION (0 when the option is off).
    pub precision: i16,
    /// Precision used to print FLOAT/DOUBLE as DBR_STRING.
    pub string_precision: i16,
    pub disp: (f64, f64),
    pub ctrl: (f64, f64),
    /// LOLO, LOW, HIGH, HIHI.
    pub alarm: [f64; 4],
    pub enum_strings: Vec<String>,
}

fn has_units(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ai | Kind::Ao | Kind::Longin | Kind::Longout | Kind::Calc | Kind::Waveform | Kind::Bo
    )
}

fn has_precision(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ai | Kind::Ao | Kind::Calc | Kind::Waveform | Kind::Bo
    )
}

fn has_graphic(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ai | Kind::Ao | Kind::Longin | Kind::Longout | Kind::Calc | Kind::Waveform
    )
}

fn has_control(kind: Kind) -> bool {
    has_graphic(kind) || kind == Kind::Bo
}

fn has_alarm(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ai | Kind::Ao | Kind::Longin | Kind::Longout | Kind::Calc
    )
}

/// `getMaxRangeValues` (recGbl.c): (lower, upper) of a field type; (0, 0)
/// for types it does not know.
pub(crate) fn type_range(dbf: Dbf) -> (f64, f64) {
    match dbf {
        Dbf::Char => (-128.0, 127.0),
        Dbf::UChar => (0.0, 255.0),
        Dbf::Short => (-32768.0, 32767.0),
        Dbf::Enum | Dbf::UShort => (0.0, 65535.0),
        Dbf::Long => (-2147483648.0, 2147483647.0),
        Dbf::ULong => (0.0, 4294967295.0),
        Dbf::Int64 => (-9223372036854775808.0, 9223372036854775808.0),
        Dbf::UInt64 => (0.0, 18446744073709551615.0),
        Dbf::Float => (-1e30, 1e30),
        Dbf::Double => (-1e300, 1e300),
        _ => (0.0, 0.0),
    }
}

/// `recGblGetPrec`: integer fields 0, FLOAT/DOUBLE clamped to 0..=15.
fn gbl_prec(dbf: Dbf, p: i16) -> i16 {
    match dbf {
        Dbf::Float | Dbf::Double => {
            if !(0..=15).contains(&p) {
                15
            } else {
                p
            }
        }
        Dbf::String { .. } | Dbf::Menu(_) | Dbf::Device | Dbf::Enum => p,
        _ => 0,
    }
}

/// The calc input number (0 for A) of a field named `A`..`L`.
pub(crate) fn calc_input(name: &str) -> Option<usize> {
    match name.as_bytes() {
        [c @ b'A'..=b'L'] => Some(usize::from(c - b'A')),
        _ => None,
    }
}

/// The metadata of field `fidx` of record `ri` whose effective type is
/// `dbf` (for waveform `VAL`, the FTVL type). `depth` limits following
/// calc input links.
pub(crate) fn field_meta(db: &Db, ri: u32, dbf: Dbf, def: &FieldDef, depth: u8) -> FieldMeta {
    let Some(rec) = db.rec(ri) else {
        return FieldMeta::default();
    };
    let kind = rec.kind;
    let name = def.name;
    let f = |n: &str| db.get_f64(ri, n);
    let is_fp = matches!(dbf, Dbf::Float | Dbf::Double);
    // A calc input linked to a record: metadata of the linked field.
    let linked = if kind == Kind::Calc && depth == 0 {
        calc_input(name).and_then(|i| match db.calc_link(ri, i) {
            Some(Link::Db { rec, field, .. }) => Some((*rec, *field)),
            _ => None,
        })
    } else {
        None
    };
    let linked_meta = linked.and_then(|(tr, tf)| {
        let (tdbf, tdef) = db.field_type(tr, tf)?;
        Some(field_meta(db, tr, tdbf, tdef, depth + 1))
    });
    let is_input = kind == Kind::Calc && calc_input(name).is_some();

    let mut m = FieldMeta::default();
    // Units.
    if has_units(kind) {
        let egu = || db.get_string(ri, "EGU");
        m.units = match kind {
            Kind::Ai | Kind::Ao
                if dbf == Dbf::Double && !matches!(name, "ASLO" | "AOFF" | "SMOO") =>
            {
                egu()
            }
            Kind::Longin | Kind::Longout if dbf == Dbf::Long => egu(),
            Kind::Calc if dbf == Dbf::Double => {
                if is_input {
                    linked_meta
                        .as_ref()
                        .map(|l| l.units.clone())
                        .unwrap_or_default()
                } else {
                    egu()
                }
            }
            Kind::Waveform => match name {
                "VAL" if !matches!(dbf, Dbf::String { .. } | Dbf::Enum) => egu(),
                "HOPR" | "LOPR" => egu(),
                _ => String::new(),
            },
            Kind::Bo if name == "HIGH" => "s".into(),
            _ => String::new(),
        };
    }
    // Precision.
    let prec = f("PREC") as i16;
    let rset_prec = match kind {
        Kind::Ai | Kind::Waveform => {
            if name == "VAL" {
                prec
            } else {
                gbl_prec(dbf, prec)
            }
        }
        Kind::Ao => {
            if matches!(name, "VAL" | "OVAL" | "PVAL") {
                prec
            } else {
                gbl_prec(dbf, prec)
            }
        }
        Kind::Calc => {
            if name == "VAL" {
                prec
            } else if is_input {
                match &linked_meta {
                    Some(l) => l.precision,
                    None => prec,
                }
            } else {
                gbl_prec(dbf, prec)
            }
        }
        Kind::Bo if name == "HIGH" => BO_HIGH_PRECISION,
        _ => 0,
    };
    if has_precision(kind) && is_fp {
        m.precision = rset_prec;
    }
    // cvt_d_st starts from precision 6; bo's get_precision leaves it for
    // every field but HIGH.
    m.string_precision = match kind {
        Kind::Bo if name != "HIGH" => 6,
        _ if has_precision(kind) => rset_prec,
        _ => 6,
    };

    // Display limits.
    let hopr_lopr = || (f("LOPR"), f("HOPR"));
    let range = type_range(dbf);
    if has_graphic(kind) {
        let alarm_fields = ["VAL", "HIHI", "HIGH", "LOW", "LOLO", "LALM", "ALST", "MLST"];
        m.disp = match kind {
            Kind::Ai | Kind::Longin if alarm_fields.contains(&name) || name == "SVAL" => {
                hopr_lopr()
            }
            Kind::Ao
                if alarm_fields.contains(&name) || matches!(name, "OVAL" | "PVAL" | "IVOV") =>
            {
                hopr_lopr()
            }
            Kind::Longout if alarm_fields.contains(&name) => hopr_lopr(),
            Kind::Calc if alarm_fields.contains(&name) => hopr_lopr(),
            Kind::Calc if is_input => linked_meta.as_ref().map_or((0.0, 0.0), |l| l.disp),
            Kind::Waveform if name == "VAL" => hopr_lopr(),
            Kind::Waveform if name == "BUSY" => (0.0, 1.0),
            Kind::Waveform if name == "NORD" => (0.0, f("NELM")),
            _ => range,
        };
    }
    // Control limits.
    if has_control(kind) {
        let alarm_fields = ["VAL", "HIHI", "HIGH", "LOW", "LOLO", "LALM", "ALST", "MLST"];
        let drv = || (f("DRVL"), f("DRVH"));
        m.ctrl = match kind {
            Kind::Ai | Kind::Longin if alarm_fields.contains(&name) || name == "SVAL" => {
                hopr_lopr()
            }
            Kind::Ao if alarm_fields.contains(&name) || matches!(name, "OVAL" | "PVAL") => drv(),
            Kind::Longout if alarm_fields.contains(&name) => {
                let (l, h) = drv();
                if h > l {
                    (l, h)
                } else {
                    hopr_lopr()
                }
            }
            Kind::Calc if alarm_fields.contains(&name) => hopr_lopr(),
            Kind::Waveform if name == "VAL" => hopr_lopr(),
            Kind::Waveform if name == "BUSY" => (0.0, 1.0),
            Kind::Waveform if name == "NORD" => (0.0, f("NELM")),
            Kind::Bo if name == "HIGH" => (0.0, BO_HIGH_LIMIT),
            _ => range,
        };
    }
    // Alarm limits.
    m.alarm = [f64::NAN; 4];
    if has_alarm(kind) {
        if name == "VAL" {
            let lim = |sv: &str, l: &str| if f(sv) != 0.0 { f(l) } else { f64::NAN };
            m.alarm = [
                lim("LLSV", "LOLO"),
                lim("LSV", "LOW"),
                lim("HSV", "HIGH"),
                lim("HHSV", "HIHI"),
            ];
        } else if is_input {
            if let Some(l) = &linked_meta {
                m.alarm = l.alarm;
            }
        }
    }
    // Enum strings.
    m.enum_strings = match dbf {
        Dbf::Menu(menu) => menu
            .choices
            .iter()
            .take(16)
            .map(|s| (*s).to_owned())
            .collect(),
        Dbf::Device => super::fields::device_choices(kind.name())
            .iter()
            .take(16)
            .map(|s| (*s).to_owned())
            .collect(),
        Dbf::Enum if name == "VAL" => match kind {
            Kind::Bi | Kind::Bo => {
                let z = db.get_string(ri, "ZNAM");
                let o = db.get_string(ri, "ONAM");
                let n = if !o.is_empty() || z.is_empty() { 2 } else { 1 };
                let mut v = vec![z, o];
                v.truncate(n);
                v
            }
            Kind::Mbbi | Kind::Mbbo => {
                let states: Vec<String> = MBB_STATES.iter().map(|s| db.get_string(ri, s)).collect();
                let n = states
                    .iter()
                    .rposition(|s| !s.is_empty())
                    .map_or(0, |i| i + 1);
                states.into_iter().take(n).collect()
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    m
}

/// The state string fields of mbbi/mbbo, state 0 first.
pub(crate) const MBB_STATES: [&str; 16] = [
    "ZRST", "ONST", "TWST", "THST", "FRST", "FVST", "SXST", "SVST", "EIST", "NIST", "TEST", "ELST",
    "TVST", "TTST", "FTST", "FFST",
];

/// The state value fields of mbbi/mbbo.
pub(crate) const MBB_VALUES: [&str; 16] = [
    "ZRVL", "ONVL", "TWVL", "THVL", "FRVL", "FVVL", "SXVL", "SVVL", "EIVL", "NIVL", "TEVL", "ELVL",
    "TVVL", "TTVL", "FTVL", "FFVL",
];

/// The state severity fields of mbbi/mbbo.
pub(crate) const MBB_SEVS: [&str; 16] = [
    "ZRSV", "ONSV", "TWSV", "THSV", "FRSV", "FVSV", "SXSV", "SVSV", "EISV", "NISV", "TESV", "ELSV",
    "TVSV", "TTSV", "FTSV", "FFSV",
];
