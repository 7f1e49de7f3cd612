//! What `caget`, `caput`, `camonitor` and `cainfo` of EPICS base 7.0 print,
//! byte for byte, as pure functions of decoded data
//! (`modules/ca/src/tools/tool_lib.c`, `caget.c`, `caput.c`, `camonitor.c`,
//! `cainfo.c`).
//!
//! Every function returns the exact text, newline included; the caller
//! writes it to stdout (or stderr for [`crate::messages`]). Nothing here
//! reads a clock or the environment: the client's "now" and the time zone
//! are arguments.
//!
//! Oddities of the C tools that are reproduced on purpose:
//! - the name column is `%-30s` only for one element and a blank field
//!   separator; otherwise the name is followed by the separator alone;
//! - `-d` blocks print no element count before the values, plain output does
//!   (for arrays, or whenever `-#` was given);
//! - a CHAR element prints as a *signed* `char` (200 prints `-56`);
//! - a failed read (`ca_array_get` whose reply is an error) prints the
//!   zero-filled buffer: use [`zeroed`] to build it;
//! - the wide format (`-a`, camonitor) ends with two separators when there
//!   is no alarm.

use caproto_core::dbr::{DbrData, DbrFamily, DbrType, DbrValues, EpicsTime, Metadata, NativeType};
use caproto_core::{AlarmSeverity, AlarmStatus, EcaStatus};

use crate::cfmt;
use crate::time::{diff_seconds, timestamp_text, TimeZone};

/// `MAX_ENUM_STATES` (`db_access.h`).
const MAX_ENUM_STATES: u16 = 16;

/// How integers are printed (`tool_lib.h` `IntFormatT`): `-0x/-0o/-0b`
/// for integer types, `-lx/-lo/-lb` for floating types rounded to a long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IntFormat {
    /// Decimal (`%d`), the default.
    #[default]
    Dec,
    /// `0x%X` (two's complement for negative values).
    Hex,
    /// `0o%o`.
    Oct,
    /// Binary digits without a prefix, leading zeros skipped; `0` for zero.
    Bin,
}

/// How floating-point values are printed (`-e/-f/-g <digits>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FloatFormat {
    /// `%g` (six significant digits), the default.
    #[default]
    Default,
    /// `%-.<n>e`.
    Exp(u8),
    /// `%-.<n>f`.
    Fixed(u8),
    /// `%-.<n>g`.
    General(u8),
}

/// The formatting options shared by all tools (the globals of `tool_lib.c`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// `-e/-f/-g`.
    pub float: FloatFormat,
    /// `-lx/-lo/-lb` (`outTypeF`): floating values rounded to a long.
    pub float_as_int: IntFormat,
    /// `-0x/-0o/-0b` (`outTypeI`): SHORT and LONG values.
    pub int: IntFormat,
    /// `-n`: enum values of GR/CTRL types as numbers.
    pub enum_as_number: bool,
    /// `-S`: CHAR arrays as (escaped) strings.
    pub char_array_as_string: bool,
    /// `-F <sep>`: the output field separator (a blank by default).
    pub separator: char,
    /// The time zone of printed timestamps.
    pub time_zone: TimeZone,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            float: FloatFormat::Default,
            float_as_int: IntFormat::Dec,
            int: IntFormat::Dec,
            enum_as_number: false,
            char_array_as_string: false,
            separator: ' ',
            time_zone: TimeZone::UTC,
        }
    }
}

/// The outcome of one read, as the C tools distinguish it when printing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReadOutcome<'a> {
    /// Data arrived (or, for a failed `ca_array_get`, the zero-filled
    /// buffer: see [`zeroed`]).
    Data(&'a DbrData),
    /// The channel is not connected (`ECA_DISCONN`).
    NotConnected,
    /// No read access (`ECA_NORDACCESS`).
    NoReadAccess,
    /// Another CA status.
    CaError(EcaStatus),
    /// No data arrived before the timeout (`-c` mode).
    NoData,
}

/// The buffer a C tool prints when a `ca_array_get` failed after being
/// issued: `count` zero elements (empty strings) and zero metadata.
pub fn zeroed(dbr_type: DbrType, count: usize) -> DbrData {
    let values = match dbr_type.native() {
        NativeType::String => DbrValues::String(vec![String::new(); count]),
        NativeType::Short => DbrValues::Short(vec![0; count]),
        NativeType::Float => DbrValues::Float(vec![0.0; count]),
        NativeType::Enum => DbrValues::Enum(vec![0; count]),
        NativeType::Char => DbrValues::Char(vec![0; count]),
        NativeType::Long => DbrValues::Long(vec![0; count]),
        NativeType::Double => DbrValues::Double(vec![0.0; count]),
    };
    DbrData::from_values(values)
}

/// The DBR type the C tools request for plain, terse and wide output of a
/// channel of native type `native`: `DBR_TIME_<native>`, enums as
/// `DBR_TIME_STRING` (or `DBR_TIME_SHORT` with `-n`), FLOAT/DOUBLE as
/// `DBR_TIME_STRING` with `-s`.
pub fn default_request_type(
    native: NativeType,
    enum_as_number: bool,
    float_as_string: bool,
) -> DbrType {
    let native = match native {
        NativeType::Enum if enum_as_number => NativeType::Short,
        NativeType::Enum => NativeType::String,
        NativeType::Float | NativeType::Double if float_as_string => NativeType::String,
        other => other,
    };
    DbrType::from_parts(DbrFamily::Time, native).unwrap_or(DbrType::TimeString)
}

/// `dbf_type_to_text`: `"DBF_DOUBLE"`, or `"TYPENOTCONN"` for a channel
/// that is not connected.
pub fn dbf_text(native: Option<NativeType>) -> &'static str {
    match native {
        None => "TYPENOTCONN",
        Some(NativeType::String) => "DBF_STRING",
        Some(NativeType::Short) => "DBF_SHORT",
        Some(NativeType::Float) => "DBF_FLOAT",
        Some(NativeType::Enum) => "DBF_ENUM",
        Some(NativeType::Char) => "DBF_CHAR",
        Some(NativeType::Long) => "DBF_LONG",
        Some(NativeType::Double) => "DBF_DOUBLE",
    }
}

/// `dbr_type_to_text`: `"DBR_TIME_DOUBLE"`, or `"DBR_invalid"` for none.
pub fn dbr_text(dbr_type: Option<DbrType>) -> &'static str {
    dbr_type.map_or("DBR_invalid", DbrType::name)
}

/// `epicsStrnEscapedFromRaw`: C escapes for control characters, quotes and
/// backslash, `\xhh` for other non-printable bytes (every byte of a
/// non-ASCII UTF-8 character).
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'"' => out.push_str("\\\""),
            0 => out.push_str("\\0"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\x");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
    }
    out
}

/// `sprint_long`: an integer in the given format.
pub fn int_text(v: i32, f: IntFormat) -> String {
    match f {
        IntFormat::Dec => v.to_string(),
        IntFormat::Hex => format!("0x{:X}", v as u32),
        IntFormat::Oct => format!("0o{:o}", v as u32),
        IntFormat::Bin => format!("{:b}", v as u32),
    }
}

/// A floating value as the tools print it: `dblFormatStr`, or rounded to a
/// long (`v + 0.5` / `v - 0.5`, truncated) in hex, octal or binary.
pub fn float_text(v: f64, style: &Style) -> String {
    if style.float_as_int != IntFormat::Dec {
        let rounded = if v > 0.0 { v + 0.5 } else { v - 0.5 };
        return int_text(cfmt::double_to_int(rounded), style.float_as_int);
    }
    match style.float {
        FloatFormat::Default => cfmt::general(v, 6),
        FloatFormat::Exp(p) => cfmt::exp(v, usize::from(p)),
        FloatFormat::Fixed(p) => cfmt::fixed(v, usize::from(p)),
        FloatFormat::General(p) => cfmt::general(v, usize::from(p)),
    }
}

/// `val2str`: element `index` of `data`, read as `dbr_type`.
///
/// Strings are escaped; enums of GR/CTRL types print their state string
/// (unless `-n`), `Illegal Value (n)` from 16 on and `Enum Index Overflow
/// (n)` past the last state; other enums print their index.
pub fn value_text(data: &DbrData, dbr_type: DbrType, index: usize, style: &Style) -> String {
    let missing = || "!!!".to_owned();
    match &data.values {
        DbrValues::String(v) => v.get(index).map_or_else(missing, |s| escape(s.as_bytes())),
        DbrValues::Float(v) => v
            .get(index)
            .map_or_else(missing, |&x| float_text(f64::from(x), style)),
        DbrValues::Double(v) => v.get(index).map_or_else(missing, |&x| float_text(x, style)),
        // `char ch = value; sprintf("%d", ch)`: char is signed on x86.
        DbrValues::Char(v) => v
            .get(index)
            .map_or_else(missing, |&x| (x as i8).to_string()),
        DbrValues::Short(v) => v
            .get(index)
            .map_or_else(missing, |&x| int_text(i32::from(x), style.int)),
        DbrValues::Long(v) => v
            .get(index)
            .map_or_else(missing, |&x| int_text(x, style.int)),
        DbrValues::Enum(v) => {
            let Some(&x) = v.get(index) else {
                return missing();
            };
            let with_strings = matches!(dbr_type.family(), DbrFamily::Gr | DbrFamily::Ctrl);
            if with_strings && !style.enum_as_number {
                if x >= MAX_ENUM_STATES {
                    format!("Illegal Value ({x})")
                } else if usize::from(x) >= data.meta.enum_strings.len() {
                    format!("Enum Index Overflow ({x})")
                } else {
                    data.meta
                        .enum_strings
                        .get(usize::from(x))
                        .cloned()
                        .unwrap_or_default()
                }
            } else {
                x.to_string()
            }
        }
    }
}

/// All elements joined by the field separator (no count).
fn values_joined(data: &DbrData, dbr_type: DbrType, n: usize, style: &Style) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(style.separator);
        }
        out.push_str(&value_text(data, dbr_type, i, style));
    }
    out
}

/// A CHAR array as an escaped string: the bytes up to the first NUL, at
/// most `limit`.
fn char_string(data: &DbrData, limit: usize) -> String {
    match &data.values {
        DbrValues::Char(v) => {
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len()).min(limit);
            escape(v.get(..end).unwrap_or_default())
        }
        _ => String::new(),
    }
}

/// Whether `-S` applies: a CHAR type, and an array or an explicit count.
fn as_long_string(dbr_type: DbrType, n: usize, req_elems: u32, style: &Style) -> bool {
    style.char_array_as_string
        && dbr_type.native() == NativeType::Char
        && matches!(
            dbr_type.family(),
            DbrFamily::Plain | DbrFamily::Sts | DbrFamily::Time | DbrFamily::Gr | DbrFamily::Ctrl
        )
        && (req_elems != 0 || n > 1)
}

/// The name column: `%-30s` for one element and a blank separator, else
/// the bare name; then the separator.
pub fn name_column(name: &str, n_elems: usize, style: &Style) -> String {
    let mut out = if n_elems <= 1 && style.separator == ' ' {
        format!("{name:<30}")
    } else {
        name.to_owned()
    };
    out.push(style.separator);
    out
}

/// `caget`'s plain (`terse == false`) and `-t` (`terse == true`) line.
///
/// `req_elems` is the `-#` count (0 if not given); the element count is
/// printed for arrays and whenever `-#` was given. `caput` prints the same
/// line after `"Old : "` / `"New : "` (see [`caput_line`]).
pub fn caget_line(
    name: &str,
    dbr_type: DbrType,
    outcome: ReadOutcome<'_>,
    req_elems: u32,
    terse: bool,
    style: &Style,
) -> String {
    let n = match outcome {
        ReadOutcome::Data(d) => d.values.len(),
        _ => 0,
    };
    let mut out = if terse {
        String::new()
    } else {
        name_column(name, n, style)
    };
    match outcome {
        ReadOutcome::NotConnected => out.push_str("*** not connected\n"),
        ReadOutcome::NoReadAccess => out.push_str("*** no read access\n"),
        ReadOutcome::CaError(s) => {
            out.push_str(&format!("*** CA error {}\n", s.message()));
        }
        ReadOutcome::NoData => out.push_str("*** no data available (timeout)\n"),
        ReadOutcome::Data(data) => {
            if as_long_string(dbr_type, n, req_elems, style) {
                out.push_str(&char_string(data, usize::MAX));
            } else {
                if req_elems != 0 || n > 1 {
                    out.push_str(&n.to_string());
                    out.push(style.separator);
                }
                out.push_str(&values_joined(data, dbr_type, n, style));
            }
            out.push('\n');
        }
    }
    out
}

/// Which of caput's two reads a line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutPhase {
    /// The value before the write: `"Old : "`.
    Old,
    /// The value read back after the write: `"New : "`.
    New,
}

/// `caput`'s plain line: `"Old : "` or `"New : "` and the [`caget_line`]
/// of the value (caput reads with the native count, no `-#`).
pub fn caput_line(
    phase: PutPhase,
    name: &str,
    dbr_type: DbrType,
    outcome: ReadOutcome<'_>,
    style: &Style,
) -> String {
    let prefix = match phase {
        PutPhase::Old => "Old : ",
        PutPhase::New => "New : ",
    };
    format!(
        "{prefix}{}",
        caget_line(name, dbr_type, outcome, 0, false, style)
    )
}

fn alarm_status_text(s: AlarmStatus) -> &'static str {
    s.name().unwrap_or("??")
}

fn alarm_severity_text(s: AlarmSeverity) -> &'static str {
    s.name().unwrap_or("??")
}

fn sts_text(m: &Metadata) -> String {
    format!(
        "    Status:           {}\n    Severity:         {}",
        alarm_status_text(m.status),
        alarm_severity_text(m.severity)
    )
}

/// The six display and alarm limits in `%8d`-style or `%g` form.
fn gr_limits(m: &Metadata, f: &dyn Fn(f64) -> String) -> String {
    let l = &m.limits;
    format!(
        "    Lo disp limit:    {}\n    Hi disp limit:    {}\n    Lo alarm limit:   {}\n    \
         Lo warn limit:    {}\n    Hi warn limit:    {}\n    Hi alarm limit:   {}",
        f(l.lower_disp),
        f(l.upper_disp),
        f(l.lower_alarm),
        f(l.lower_warning),
        f(l.upper_warning),
        f(l.upper_alarm)
    )
}

fn ctrl_limits(m: &Metadata, f: &dyn Fn(f64) -> String) -> String {
    format!(
        "    Lo ctrl limit:    {}\n    Hi ctrl limit:    {}",
        f(m.limits.lower_ctrl),
        f(m.limits.upper_ctrl)
    )
}

/// `dbr2str`: the metadata lines of an extended type (no trailing
/// newline), `None` for the plain types; timestamps in `tz`.
/// `DBR_CLASS_NAME` and the PUT_ACK types give `"can't print data type"`,
/// as in C.
pub fn metadata_text(data: &DbrData, dbr_type: DbrType, tz: TimeZone) -> Option<String> {
    let m = &data.meta;
    let int8 = |v: f64| format!("{:8}", (v as i64 as u8) as i8);
    let int = |v: f64| format!("{:8}", v as i64);
    let g = |v: f64| cfmt::general(v, 6);
    let native = dbr_type.native();
    let limit_fmt: &dyn Fn(f64) -> String = match native {
        NativeType::Char => &int8,
        NativeType::Short | NativeType::Long => &int,
        _ => &g,
    };
    let units = format!("    Units:            {}", m.units);
    let prec = format!("    Precision:        {}", m.precision);
    let enums = || {
        let mut s = format!(
            "{}\n    Enums:            ({:2})",
            sts_text(m),
            m.enum_strings.len()
        );
        for (i, e) in m.enum_strings.iter().enumerate() {
            s.push_str(&format!("\n                      [{i:2}] {e}"));
        }
        s
    };
    let has_prec = matches!(native, NativeType::Float | NativeType::Double);
    Some(match dbr_type.family() {
        DbrFamily::Plain => return None,
        DbrFamily::Sts => sts_text(m),
        DbrFamily::Time => format!(
            "    Timestamp:        {}\n{}",
            timestamp_text(m.timestamp, tz),
            sts_text(m)
        ),
        DbrFamily::Gr | DbrFamily::Ctrl if native == NativeType::String => sts_text(m),
        DbrFamily::Gr | DbrFamily::Ctrl if native == NativeType::Enum => enums(),
        DbrFamily::Gr => {
            let mut s = format!("{}\n{units}\n", sts_text(m));
            if has_prec {
                s.push_str(&prec);
                s.push('\n');
            }
            s.push_str(&gr_limits(m, limit_fmt));
            s
        }
        DbrFamily::Ctrl => {
            let mut s = format!("{}\n{units}\n", sts_text(m));
            if has_prec {
                s.push_str(&prec);
                s.push('\n');
            }
            s.push_str(&gr_limits(m, limit_fmt));
            s.push('\n');
            s.push_str(&ctrl_limits(m, limit_fmt));
            s
        }
        DbrFamily::StsackString => format!(
            "{}\n    Ack transient?:   {}\n    Ack severity:     {}",
            sts_text(m),
            if m.ackt != 0 { "YES" } else { "NO" },
            alarm_severity_text(AlarmSeverity(m.acks))
        ),
        DbrFamily::ClassName | DbrFamily::PutAckt | DbrFamily::PutAcks => {
            "can't print data type".to_owned()
        }
    })
}

/// `caget -d <type>`: the multi-line block for one channel.
///
/// `native` is the channel's native type (`None`: not connected),
/// `req_elems` the `-#` count (only used to decide whether `-S` applies).
pub fn caget_dbr_block(
    name: &str,
    native: Option<NativeType>,
    dbr_type: DbrType,
    outcome: ReadOutcome<'_>,
    req_elems: u32,
    style: &Style,
) -> String {
    let mut out = format!("{name}\n");
    let data = match outcome {
        ReadOutcome::NotConnected => {
            out.push_str("    *** not connected\n");
            return out;
        }
        ReadOutcome::NoReadAccess => {
            out.push_str("    *** no read access\n");
            return out;
        }
        ReadOutcome::CaError(s) => {
            out.push_str(&format!("    *** CA error {}\n", s.message()));
            return out;
        }
        // C prints the (empty) buffer in this case; an empty value is the
        // closest equivalent.
        ReadOutcome::NoData => None,
        ReadOutcome::Data(d) => Some(d),
    };
    out.push_str(&format!("    Native data type: {}\n", dbf_text(native)));
    out.push_str(&format!("    Request type:     {}\n", dbr_type.name()));
    let empty = zeroed(dbr_type, 0);
    let data = data.unwrap_or(&empty);
    if dbr_type == DbrType::ClassName {
        let class = data
            .values
            .as_strings()
            .and_then(|s| s.first())
            .map(String::as_str)
            .unwrap_or("");
        out.push_str(&format!("    Class Name:       {class}\n"));
        return out;
    }
    let n = data.values.len();
    out.push_str(&format!(
        "    Element count:    {n}\n    Value:            "
    ));
    if as_long_string(dbr_type, n, req_elems, style) {
        out.push_str(&char_string(data, usize::MAX));
    } else {
        out.push_str(&values_joined(data, dbr_type, n, style));
    }
    out.push('\n');
    if dbr_type.code() > DbrType::Double.code() {
        if let Some(meta) = metadata_text(data, dbr_type, style.time_zone) {
            out.push_str(&meta);
            out.push('\n');
        }
    }
    out
}

/// Which timestamps the wide format prints (camonitor `-t <key>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOptions {
    /// `s`: the server's timestamp (the default).
    pub server: bool,
    /// `c`: the client's time, in parentheses.
    pub client: bool,
    /// `r`, `i`, `I`: relative or incremental times instead of absolute.
    pub mode: TimeMode,
}

impl Default for TimestampOptions {
    fn default() -> Self {
        TimestampOptions {
            server: true,
            client: false,
            mode: TimeMode::Absolute,
        }
    }
}

/// The kinds of timestamp of the wide format (`tool_lib.h` `TimeT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeMode {
    /// Absolute calendar time (default).
    #[default]
    Absolute,
    /// `r`: seconds since the program started (client) or since the first
    /// update (server).
    Relative,
    /// `i`: seconds since the previous update of any channel.
    Incremental,
    /// `I`: seconds since the previous update of the same channel.
    IncrementalByChannel,
}

/// Per-channel state of the wide format (`pv.tsPreviousC/S`,
/// `firstStampPrinted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ChannelStamps {
    previous_client: EpicsTime,
    previous_server: EpicsTime,
    first_printed: bool,
}

/// What the wide format reports for a channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WideOutcome<'a> {
    /// Data of a TIME type.
    Data(DbrType, &'a DbrData),
    /// The channel never connected: `*** Not connected (PV not found)`.
    NeverConnected,
    /// The channel disconnected: `<now> *** disconnected`.
    Disconnected,
    /// `<now> *** no read access`.
    NoReadAccess,
    /// `<now> *** CA error <message>`.
    CaError(EcaStatus),
    /// `<now> *** no data available (timeout)`.
    NoData,
}

/// The wide format of `caget -a`, `caput -l` and `camonitor`
/// (`print_time_val_sts`), with the timestamp state it keeps across lines.
#[derive(Clone, Debug, PartialEq)]
pub struct WideFormatter {
    options: TimestampOptions,
    start: EpicsTime,
    first_server: Option<EpicsTime>,
    previous_client: EpicsTime,
    previous_server: EpicsTime,
}

impl WideFormatter {
    /// A formatter; `start` is the client's time at program start (for
    /// relative client times).
    pub fn new(options: TimestampOptions, start: EpicsTime) -> WideFormatter {
        WideFormatter {
            options,
            start,
            first_server: None,
            previous_client: EpicsTime::EPOCH,
            previous_server: EpicsTime::EPOCH,
        }
    }

    /// One line for channel `name`. `n_elems` is the element count of the
    /// channel when there is no data (it decides the name padding);
    /// `req_elems` the `-#` count; `now` the client's time.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        name: &str,
        stamps: &mut ChannelStamps,
        outcome: WideOutcome<'_>,
        n_elems: usize,
        req_elems: u32,
        now: EpicsTime,
        style: &Style,
    ) -> String {
        let n = match outcome {
            WideOutcome::Data(_, d) => d.values.len(),
            _ => n_elems,
        };
        let now_text = timestamp_text(now, style.time_zone);
        let mut out = name_column(name, n, style);
        let (dbr_type, data) = match outcome {
            WideOutcome::NeverConnected => {
                out.push_str("*** Not connected (PV not found)\n");
                return out;
            }
            WideOutcome::Disconnected => {
                out.push_str(&format!("{now_text} *** disconnected\n"));
                return out;
            }
            WideOutcome::NoReadAccess => {
                out.push_str(&format!("{now_text} *** no read access\n"));
                return out;
            }
            WideOutcome::CaError(s) => {
                out.push_str(&format!("{now_text} *** CA error {}\n", s.message()));
                return out;
            }
            WideOutcome::NoData => {
                out.push_str(&format!("{now_text} *** no data available (timeout)\n"));
                return out;
            }
            WideOutcome::Data(t, d) => (t, d),
        };
        if dbr_type.family() != DbrFamily::Time {
            out.push_str("can't print data type\n");
            return out;
        }
        let server = data.meta.timestamp;
        let first = *self.first_server.get_or_insert(server);
        let (ref_client, ref_server, print_abs) = match self.options.mode {
            TimeMode::Absolute => (self.start, first, true),
            TimeMode::Relative => (self.start, first, !stamps.first_printed),
            TimeMode::Incremental => (
                self.previous_client,
                self.previous_server,
                !stamps.first_printed,
            ),
            TimeMode::IncrementalByChannel => (
                stamps.previous_client,
                stamps.previous_server,
                !stamps.first_printed,
            ),
        };
        if print_abs {
            if self.options.server {
                out.push_str(&timestamp_text(server, style.time_zone));
            }
            if self.options.client {
                out.push_str(&format!("({now_text})"));
            }
            stamps.first_printed = true;
        } else {
            if self.options.server {
                out.push_str(&format!(
                    "              {:+12.6}",
                    diff_seconds(server, ref_server)
                ));
            }
            if self.options.client {
                out.push_str(&format!(
                    "              ({:+12.6})",
                    diff_seconds(now, ref_client)
                ));
            }
        }
        if self.options.mode == TimeMode::IncrementalByChannel {
            stamps.previous_client = now;
            stamps.previous_server = server;
        }
        self.previous_client = now;
        self.previous_server = server;

        if as_long_string(dbr_type, n, req_elems, style) {
            let limit = if req_elems != 0 && (req_elems as usize) < n {
                req_elems as usize
            } else {
                n
            };
            out.push(style.separator);
            out.push_str(&char_string(data, limit));
        } else {
            if req_elems != 0 || n > 1 {
                out.push(style.separator);
                out.push_str(&n.to_string());
            }
            for i in 0..n {
                out.push(style.separator);
                out.push_str(&value_text(data, dbr_type, i, style));
            }
        }
        let m = &data.meta;
        out.push(style.separator);
        if m.status.0 != 0 || m.severity.0 != 0 {
            out.push_str(alarm_status_text(m.status));
            out.push(style.separator);
            out.push_str(alarm_severity_text(m.severity));
        } else {
            out.push(style.separator);
        }
        out.push('\n');
        out
    }
}

/// The connection state `cainfo` prints (`ca_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelState {
    /// `never connected`.
    NeverConnected,
    /// `previously connected`.
    PreviouslyConnected,
    /// `connected`.
    Connected,
    /// `closed`.
    Closed,
}

impl ChannelState {
    /// The text cainfo prints.
    pub fn text(self) -> &'static str {
        match self {
            ChannelState::NeverConnected => "never connected",
            ChannelState::PreviouslyConnected => "previously connected",
            ChannelState::Connected => "connected",
            ChannelState::Closed => "closed",
        }
    }
}

/// What `cainfo` knows about a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfo<'a> {
    /// The PV name.
    pub name: &'a str,
    /// Connection state.
    pub state: ChannelState,
    /// `host:port` of the server (`ca_host_name`).
    pub host: &'a str,
    /// Read access.
    pub read: bool,
    /// Write access.
    pub write: bool,
    /// Native type (`None` when not connected).
    pub native: Option<NativeType>,
    /// Native element count.
    pub count: u32,
}

/// `cainfo`'s block for one channel.
pub fn cainfo_block(info: &ChannelInfo<'_>) -> String {
    let yes_no = |b: bool| if b { "" } else { "no " };
    let request = info.native.and_then(|n| DbrType::from_u16(n.code()));
    format!(
        "{}\n    State:            {}\n    Host:             {}\n    Access:           {}read, {}write\n    \
         Native data type: {}\n    Request type:     {}\n    Element count:    {}\n",
        info.name,
        info.state.text(),
        info.host,
        yes_no(info.read),
        yes_no(info.write),
        dbf_text(info.native),
        dbr_text(request),
        info.count
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(values: DbrValues) -> DbrData {
        DbrData::from_values(values)
    }

    #[test]
    fn plain_scalar_pads_name_to_30() {
        let d = data(DbrValues::Double(vec![3.5]));
        let s = Style::default();
        assert_eq!(
            caget_line(
                "t:ao",
                DbrType::TimeDouble,
                ReadOutcome::Data(&d),
                0,
                false,
                &s
            ),
            "t:ao                           3.5\n"
        );
        assert_eq!(
            caget_line(
                "t:ao",
                DbrType::TimeDouble,
                ReadOutcome::Data(&d),
                0,
                true,
                &s
            ),
            "3.5\n"
        );
        assert_eq!(
            caget_line(
                "t:ao",
                DbrType::TimeDouble,
                ReadOutcome::Data(&d),
                1,
                false,
                &s
            ),
            "t:ao                           1 3.5\n"
        );
    }

    #[test]
    fn arrays_print_count_and_separator() {
        let d = data(DbrValues::Short(vec![1, -2, 3]));
        let s = Style {
            separator: ',',
            ..Style::default()
        };
        assert_eq!(
            caget_line("w", DbrType::TimeShort, ReadOutcome::Data(&d), 0, false, &s),
            "w,3,1,-2,3\n"
        );
        let s = Style {
            int: IntFormat::Hex,
            ..Style::default()
        };
        assert_eq!(
            caget_line("w", DbrType::TimeShort, ReadOutcome::Data(&d), 0, true, &s),
            "3 0x1 0xFFFFFFFE 0x3\n"
        );
    }

    #[test]
    fn char_arrays_as_strings_are_escaped() {
        let d = data(DbrValues::Char(b"a\tb\"\xc3\xa9\0zz".to_vec()));
        let s = Style {
            char_array_as_string: true,
            ..Style::default()
        };
        assert_eq!(
            caget_line("c", DbrType::TimeChar, ReadOutcome::Data(&d), 0, false, &s),
            "c a\\tb\\\"\\xc3\\xa9\n"
        );
        // Without -S a CHAR prints as a signed char.
        let d = data(DbrValues::Char(vec![200, 1]));
        assert_eq!(
            caget_line(
                "c",
                DbrType::Char,
                ReadOutcome::Data(&d),
                0,
                true,
                &Style::default()
            ),
            "2 -56 1\n"
        );
    }

    #[test]
    fn int_formats_match_sprint_long() {
        assert_eq!(int_text(0, IntFormat::Bin), "0");
        assert_eq!(int_text(5, IntFormat::Bin), "101");
        assert_eq!(int_text(-1, IntFormat::Bin), "1".repeat(32));
        assert_eq!(int_text(8, IntFormat::Oct), "0o10");
        assert_eq!(int_text(255, IntFormat::Hex), "0xFF");
        let s = Style {
            float_as_int: IntFormat::Hex,
            ..Style::default()
        };
        assert_eq!(float_text(254.5, &s), "0xFF");
        assert_eq!(float_text(-1.4, &s), "0xFFFFFFFF");
    }

    #[test]
    fn float_formats() {
        let mut s = Style::default();
        assert_eq!(float_text(1.23456, &s), "1.23456");
        s.float = FloatFormat::Fixed(2);
        assert_eq!(float_text(1.23456, &s), "1.23");
        s.float = FloatFormat::Exp(3);
        assert_eq!(float_text(1.23456, &s), "1.235e+00");
        s.float = FloatFormat::General(2);
        assert_eq!(float_text(1.23456, &s), "1.2");
    }

    #[test]
    fn enum_strings_and_overflow() {
        let mut d = data(DbrValues::Enum(vec![1, 5, 20]));
        d.meta.enum_strings = vec!["Off".into(), "On".into()];
        let s = Style::default();
        assert_eq!(value_text(&d, DbrType::CtrlEnum, 0, &s), "On");
        assert_eq!(
            value_text(&d, DbrType::GrEnum, 1, &s),
            "Enum Index Overflow (5)"
        );
        assert_eq!(value_text(&d, DbrType::GrEnum, 2, &s), "Illegal Value (20)");
        assert_eq!(value_text(&d, DbrType::TimeEnum, 0, &s), "1");
        let n = Style {
            enum_as_number: true,
            ..s
        };
        assert_eq!(value_text(&d, DbrType::CtrlEnum, 0, &n), "1");
    }

    #[test]
    fn errors_of_plain_and_dbr_blocks() {
        let s = Style::default();
        assert_eq!(
            caget_line(
                "x",
                DbrType::TimeDouble,
                ReadOutcome::NotConnected,
                0,
                false,
                &s
            ),
            format!("{:<30} *** not connected\n", "x")
        );
        assert_eq!(
            caget_dbr_block(
                "x",
                Some(NativeType::Double),
                DbrType::Double,
                ReadOutcome::NoReadAccess,
                0,
                &s
            ),
            "x\n    *** no read access\n"
        );
    }

    #[test]
    fn wide_line_with_and_without_alarm() {
        let mut d = data(DbrValues::Double(vec![768.0]));
        d.meta.timestamp = EpicsTime::new(1_164_405_798, 450_520_467);
        let s = Style::default();
        let mut w = WideFormatter::new(TimestampOptions::default(), EpicsTime::EPOCH);
        let mut st = ChannelStamps::default();
        let line = w.line(
            "t:calc",
            &mut st,
            WideOutcome::Data(DbrType::TimeDouble, &d),
            1,
            1,
            EpicsTime::EPOCH,
            &s,
        );
        assert_eq!(
            line,
            "t:calc                         2026-11-24 22:03:18.450520 1 768  \n"
        );
        d.meta.status = AlarmStatus::HIHI;
        d.meta.severity = AlarmSeverity::MAJOR;
        let line = w.line(
            "t:calc",
            &mut st,
            WideOutcome::Data(DbrType::TimeDouble, &d),
            1,
            0,
            EpicsTime::EPOCH,
            &s,
        );
        assert!(line.ends_with(" 768 HIHI MAJOR\n"));
        assert_eq!(
            w.line(
                "nope",
                &mut st,
                WideOutcome::NeverConnected,
                0,
                0,
                EpicsTime::EPOCH,
                &s
            ),
            format!("{:<30} *** Not connected (PV not found)\n", "nope")
        );
    }

    #[test]
    fn incremental_times() {
        let s = Style::default();
        let opts = TimestampOptions {
            mode: TimeMode::Incremental,
            ..TimestampOptions::default()
        };
        let mut w = WideFormatter::new(opts, EpicsTime::EPOCH);
        let mut st = ChannelStamps::default();
        let mut d = data(DbrValues::Long(vec![1]));
        d.meta.timestamp = EpicsTime::new(100, 0);
        let first = w.line(
            "a",
            &mut st,
            WideOutcome::Data(DbrType::TimeLong, &d),
            1,
            0,
            EpicsTime::EPOCH,
            &s,
        );
        assert!(first.contains("1990-01-01 00:01:40.000000"));
        d.meta.timestamp = EpicsTime::new(101, 500_000_000);
        let second = w.line(
            "a",
            &mut st,
            WideOutcome::Data(DbrType::TimeLong, &d),
            1,
            0,
            EpicsTime::EPOCH,
            &s,
        );
        assert_eq!(
            second,
            format!("{:<30} {}   +1.500000 1  \n", "a", " ".repeat(14))
        );
    }

    #[test]
    fn hostile_metadata_never_panics() {
        let s = Style {
            char_array_as_string: true,
            separator: '\0',
            ..Style::default()
        };
        let opts = TimestampOptions {
            server: true,
            client: true,
            mode: TimeMode::IncrementalByChannel,
        };
        let mut w = WideFormatter::new(opts, EpicsTime::new(u32::MAX, u32::MAX));
        let mut st = ChannelStamps::default();
        for t in DbrType::ALL {
            for count in [0, 1, 3] {
                let mut d = zeroed(t, count);
                d.meta.status = AlarmStatus(999);
                d.meta.severity = AlarmSeverity(999);
                d.meta.timestamp = EpicsTime::new(u32::MAX, 2_000_000_000);
                d.meta.enum_strings = vec!["\u{e9}".into(); 20];
                d.meta.limits.upper_disp = f64::NAN;
                d.meta.limits.lower_disp = 1e300;
                d.meta.precision = -5;
                let _ = caget_line("n", t, ReadOutcome::Data(&d), u32::MAX, false, &s);
                let _ = caget_dbr_block("n", None, t, ReadOutcome::Data(&d), 7, &s);
                let _ = metadata_text(&d, t, TimeZone::fixed(i32::MIN));
                let _ = w.line(
                    "n",
                    &mut st,
                    WideOutcome::Data(t, &d),
                    0,
                    9,
                    EpicsTime::EPOCH,
                    &s,
                );
                for i in 0..4 {
                    let _ = value_text(&d, t, i, &s);
                }
            }
        }
        assert_eq!(
            metadata_text(
                &zeroed(DbrType::StsString, 0),
                DbrType::StsString,
                TimeZone::UTC
            ),
            Some("    Status:           NO_ALARM\n    Severity:         NO_ALARM".into())
        );
    }

    #[test]
    fn cainfo_not_connected() {
        let info = ChannelInfo {
            name: "x",
            state: ChannelState::NeverConnected,
            host: "<disconnected>",
            read: false,
            write: false,
            native: None,
            count: 0,
        };
        assert_eq!(
            cainfo_block(&info),
            "x\n    State:            never connected\n    Host:             <disconnected>\n    \
             Access:           no read, no write\n    Native data type: TYPENOTCONN\n    \
             Request type:     DBR_invalid\n    Element count:    0\n"
        );
    }
}
