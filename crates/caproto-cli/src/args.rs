//! Command-line options of `caproto-get`, `caproto-put`, `caproto-monitor`
//! and `caproto-info`: the options of EPICS base 7.0 `caget`, `caput`,
//! `camonitor` and `cainfo` (see their `usage()`), plus `--format json`,
//! `--timeout` and `-v`/`-vv`.
//!
//! Parsing is pure: argv and the value of `EPICS_CLI_TIMEOUT` come in, a
//! resolved option set and the warnings the C tool would print come out.
//! As in C, a malformed option *value* (`-w abc`, `-# x`, `-d BOGUS`,
//! `-f 99`, `-lq`) is a warning and the option is ignored; an unknown
//! option, a missing argument or a missing PV name is an [`ArgsError`]:
//! one line, exit status 1. `-h`/`--help` is an [`ArgsError`] whose
//! [`ArgsError::is_help`] is true: print it on stdout, exit 0.
//!
//! Intentional differences from C: `-d DBR_INT` (and the other `_INT`
//! spellings the C usage lists) is rejected as C's `dbr_text_to_type`
//! does, but the help text does not list them; GNU-style long options
//! (`--timeout`, `--format`) exist.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Parser, ValueEnum};

use caproto_core::dbr::DbrType;
use caproto_core::wire::EventMask;

use crate::format::{FloatFormat, IntFormat, Style, TimeMode, TimestampOptions};
use crate::messages;

/// `DEFAULT_TIMEOUT` of `tool_lib.h`: 1 second.
pub const DEFAULT_TIMEOUT: f64 = 1.0;

/// `CA_PRIORITY_MAX` (`cadef.h`).
pub const MAX_PRIORITY: u16 = 99;

/// `VALID_DOUBLE_DIGITS` (`caget.c`): the largest `-e/-f/-g` precision.
const MAX_DIGITS: i32 = 18;

/// Output format beyond the C tools: `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Text: what the C tools print (caproto-shark: one line per message). The default.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A command line that cannot run: one line to print on stderr (or the
/// help text on stdout) and the exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgsError {
    /// The text to print (newline included).
    pub message: String,
    /// True for `-h`/`--help` (print on stdout, exit 0).
    pub is_help: bool,
}

impl ArgsError {
    /// The process exit status: 0 for help, else 1.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.is_help)
    }
}

impl std::fmt::Display for ArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message.trim_end())
    }
}

impl std::error::Error for ArgsError {}

/// A parsed command line: the options and the warnings to print on stderr
/// (in order) before running.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed<T> {
    /// The options.
    pub options: T,
    /// Warnings the C tool prints for ignored option values.
    pub warnings: Vec<String>,
}

/// What `caproto-get` prints (caget's `-t`, `-a`, `-d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetFormat {
    /// `name value` (default).
    Plain,
    /// `-t`: the value only.
    Terse,
    /// `-a`: name, timestamp, value, status, severity.
    Wide,
    /// `-d TYPE`: the multi-line block of that DBR type.
    Dbr(DbrType),
}

/// Options common to the four tools.
#[derive(Clone, Debug, PartialEq)]
pub struct Common {
    /// `-w`/`--timeout`: CA timeout in seconds.
    pub timeout: f64,
    /// `-p`: CA priority (0..=99).
    pub priority: u16,
    /// `--format`.
    pub output: OutputFormat,
    /// `-v` (1) / `-vv` (2): show CA messages.
    pub verbose: u8,
    /// `-V`: print the version and exit.
    pub version: bool,
}

/// Resolved options of `caproto-get`.
#[derive(Clone, Debug, PartialEq)]
pub struct GetOptions {
    /// The PV names.
    pub pvs: Vec<String>,
    /// Output format.
    pub format: GetFormat,
    /// `-c`: read with a callback (`ca_array_get_callback`).
    pub callback: bool,
    /// `-#`: element count (0: all).
    pub count: u32,
    /// `-s`: read FLOAT/DOUBLE as DBR_STRING (server-side precision).
    pub float_as_string: bool,
    /// Value formatting.
    pub style: Style,
    /// Common options.
    pub common: Common,
}

/// Resolved options of `caproto-put`.
#[derive(Clone, Debug, PartialEq)]
pub struct PutOptions {
    /// The PV name.
    pub pv: String,
    /// The value arguments: with `-a`, the values after the count; else
    /// one value, the remaining arguments joined by blanks (as caput does).
    pub values: Vec<String>,
    /// `-a`: write an array.
    pub array: bool,
    /// `-c`: write with completion (`ca_array_put_callback`).
    pub callback: bool,
    /// `-t`: print only the new value.
    pub terse: bool,
    /// `-l`: print in the wide format.
    pub wide: bool,
    /// `-n`: enum values are numbers.
    pub enum_as_number: bool,
    /// `-s`: enum values are strings.
    pub enum_as_string: bool,
    /// `-#`: accepted and ignored as in caput (the count comes from the
    /// values).
    pub count: i32,
    /// Value formatting (`-S`, `-F`).
    pub style: Style,
    /// Common options.
    pub common: Common,
}

/// Resolved options of `caproto-monitor`.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorOptions {
    /// The PV names.
    pub pvs: Vec<String>,
    /// `-m`: the event mask (default value | alarm).
    pub mask: EventMask,
    /// `-t`: which timestamps to print.
    pub timestamps: TimestampOptions,
    /// `-#`: element count (0: all, dynamic).
    pub count: u32,
    /// `-s`: FLOAT/DOUBLE as DBR_STRING.
    pub float_as_string: bool,
    /// Value formatting.
    pub style: Style,
    /// Common options.
    pub common: Common,
}

/// Resolved options of `caproto-info`.
#[derive(Clone, Debug, PartialEq)]
pub struct InfoOptions {
    /// The PV names.
    pub pvs: Vec<String>,
    /// `-s`: `ca_client_status` interest level (0: per-channel report).
    pub interest_level: u32,
    /// Common options.
    pub common: Common,
}

// ---------------------------------------------------------------------------
// clap definitions (raw strings: values are checked the way the C tools do)
// ---------------------------------------------------------------------------

#[derive(Parser, Debug)]
#[command(
    name = "caproto-get",
    about = "Read Channel Access PVs (drop-in for EPICS base caget)",
    args_override_self = true,
    disable_version_flag = true,
    after_help = "Examples:\n  caproto-get my:pv other:pv\n  caproto-get -a -f8 my:pv\n  \
                  caproto-get -d DBR_CTRL_DOUBLE my:pv\n  caproto-get --format json my:pv"
)]
struct GetCli {
    /// Terse mode: print only the value, without the name.
    #[arg(short = 't', action = clap::ArgAction::Count)]
    terse: u8,
    /// Wide mode "name timestamp value stat sevr" (read PVs as DBR_TIME_xxx).
    #[arg(short = 'a', action = clap::ArgAction::Count)]
    wide: u8,
    /// Request a specific DBR type, by name (DBR_ prefix optional) or number.
    #[arg(short = 'd', value_name = "TYPE", action = clap::ArgAction::Append)]
    dbr_type: Vec<String>,
    /// Asynchronous get (wait for the callback).
    #[arg(short = 'c')]
    callback: bool,
    /// Print DBF_ENUM values as numbers.
    #[arg(short = 'n')]
    enum_as_number: bool,
    /// Print only the first COUNT elements of an array.
    #[arg(short = '#', value_name = "COUNT")]
    count: Option<String>,
    /// Print an array of char as a string (long string).
    #[arg(short = 'S')]
    char_as_string: bool,
    #[command(flatten)]
    floats: FloatArgs,
    /// Get the value as a string (honours server-side precision).
    #[arg(short = 's')]
    float_as_string: bool,
    #[command(flatten)]
    ints: IntArgs,
    /// Use OFS as the output field separator.
    #[arg(short = 'F', value_name = "OFS")]
    separator: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// PV names.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct FloatArgs {
    /// Use %e format with NR digits.
    #[arg(short = 'e', value_name = "NR", overrides_with_all = ["fixed", "general"])]
    exp: Option<String>,
    /// Use %f format with NR digits.
    #[arg(short = 'f', value_name = "NR", overrides_with_all = ["exp", "general"])]
    fixed: Option<String>,
    /// Use %g format with NR digits.
    #[arg(short = 'g', value_name = "NR", overrides_with_all = ["exp", "fixed"])]
    general: Option<String>,
}

#[derive(clap::Args, Debug)]
struct IntArgs {
    /// Round floats to a long and print as hex (-lx), octal (-lo) or binary (-lb).
    #[arg(short = 'l', value_name = "x|o|b")]
    float_as_int: Option<String>,
    /// Print integers as hex (-0x), octal (-0o) or binary (-0b).
    #[arg(short = '0', value_name = "x|o|b")]
    int: Option<String>,
}

#[derive(clap::Args, Debug)]
struct CommonArgs {
    /// Wait time (CA timeout) in seconds, default 1.
    #[arg(
        short = 'w',
        long = "timeout",
        value_name = "SEC",
        allow_hyphen_values = true
    )]
    timeout: Option<String>,
    /// CA priority (0-99, default 0 = lowest).
    #[arg(short = 'p', value_name = "PRIO")]
    priority: Option<String>,
    /// Output format: the C tools' text, or one JSON object per line.
    #[arg(long = "format", value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Show every CA message sent and received (-vv: with payloads).
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,
    /// Show the EPICS and CA versions.
    #[arg(short = 'V')]
    version: bool,
}

#[derive(Parser, Debug)]
#[command(
    name = "caproto-put",
    about = "Write a Channel Access PV (drop-in for EPICS base caput)",
    args_override_self = true,
    disable_version_flag = true,
    after_help = "Examples:\n  caproto-put my:pv 1.2\n  caproto-put -a my:wf 3 1 2 3\n  \
                  caproto-put -S my:charwf 'long string'"
)]
struct PutCli {
    /// Asynchronous put (use a put callback and wait for completion).
    #[arg(short = 'c')]
    callback: bool,
    /// Force interpretation of values as numbers.
    #[arg(short = 'n')]
    enum_as_number: bool,
    /// Force interpretation of values as strings.
    #[arg(short = 's')]
    enum_as_string: bool,
    /// Long mode "name timestamp value stat sevr".
    #[arg(short = 'l')]
    wide: bool,
    /// Terse mode: print only the successfully written value.
    #[arg(short = 't')]
    terse: bool,
    /// Put an array: PV, number of values, values.
    #[arg(short = 'a')]
    array: bool,
    /// Put a string as an array of chars (long string).
    #[arg(short = 'S')]
    char_as_string: bool,
    /// Array count (ignored, as by caput).
    #[arg(short = '#', value_name = "COUNT")]
    count: Option<String>,
    /// Use OFS as the output field separator.
    #[arg(short = 'F', value_name = "OFS")]
    separator: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// PV name, then value(s). Options must come first (POSIXLY_CORRECT).
    #[arg(
        value_name = "PV VALUE",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    args: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(
    name = "caproto-monitor",
    about = "Monitor Channel Access PVs (drop-in for EPICS base camonitor)",
    args_override_self = true,
    disable_version_flag = true,
    after_help = "Examples:\n  caproto-monitor my:pv\n  caproto-monitor -m va -t sI my:pv other:pv"
)]
struct MonitorCli {
    /// Event mask: any of v (value), a (alarm), l (log), p (property). Default va.
    #[arg(short = 'm', value_name = "MASK")]
    mask: Option<String>,
    /// Timestamps: s (server), c (client), n (none), r (relative), i / I (incremental).
    #[arg(short = 't', value_name = "KEY")]
    timestamps: Option<String>,
    /// Print DBF_ENUM values as numbers.
    #[arg(short = 'n')]
    enum_as_number: bool,
    /// Request and print up to NUM elements.
    #[arg(short = '#', value_name = "NUM")]
    count: Option<String>,
    /// Print arrays of char as a string (long string).
    #[arg(short = 'S')]
    char_as_string: bool,
    #[command(flatten)]
    floats: FloatArgs,
    /// Get the value as a string (honours server-side precision).
    #[arg(short = 's')]
    float_as_string: bool,
    #[command(flatten)]
    ints: IntArgs,
    /// Use OFS to separate fields in the output.
    #[arg(short = 'F', value_name = "OFS")]
    separator: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
    /// PV names.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

#[derive(Parser, Debug)]
#[command(
    name = "caproto-info",
    about = "Show Channel Access channel information (drop-in for EPICS base cainfo)",
    args_override_self = true,
    disable_version_flag = true,
    after_help = "Example:\n  caproto-info my:pv other:pv"
)]
struct InfoCli {
    /// Call ca_client_status with this interest level.
    #[arg(short = 's', value_name = "LEVEL")]
    level: Option<String>,
    /// Accepted and ignored (as by cainfo).
    #[arg(short = 'n')]
    _n: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// PV names.
    #[arg(value_name = "PV")]
    pvs: Vec<String>,
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// Parses `caproto-get` arguments (`argv[0]` included). `tool` names the
/// program in hints (`"caget"` to match the C texts); `env_timeout` is
/// `EPICS_CLI_TIMEOUT`.
pub fn parse_get<I, S>(
    argv: I,
    tool: &str,
    env_timeout: Option<&str>,
) -> Result<Parsed<GetOptions>, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let (cli, m) = clap_parse::<GetCli, _, _>(argv, tool)?;
    let mut w = Vec::new();
    let common = common(&cli.common, tool, env_timeout, &mut w);
    let mut style = Style {
        enum_as_number: cli.enum_as_number,
        char_array_as_string: cli.char_as_string,
        ..Style::default()
    };
    float_format(&cli.floats, &mut style, &mut w);
    let (int_fmt, float_int) = int_formats(&cli.ints, &mut w);
    style.int = int_fmt.unwrap_or(IntFormat::Dec);
    style.float_as_int = float_int.unwrap_or(IntFormat::Dec);
    style.separator = separator(cli.separator.as_deref());

    // -t, -a, -d: the last one wins; a warning for each one after the first.
    // Every occurrence counts, in command-line order.
    let mut given: Vec<(usize, Option<&str>)> = Vec::new();
    for id in ["terse", "wide"] {
        // clap keeps the position of the last occurrence of a flag only;
        // earlier ones are placed there too (only their number matters
        // unless they are interleaved with -d).
        if let Some(i) = last_index(&m, id) {
            for _ in 0..m.get_count(id) {
                given.push((i, Some(id)));
            }
        }
    }
    if let Some(all) = m.indices_of("dbr_type") {
        given.extend(all.map(|i| (i, None)));
    }
    given.sort_unstable();
    let mut d_values = cli.dbr_type.iter();
    let mut format = GetFormat::Plain;
    for &(_, id) in &given {
        if format != GetFormat::Plain {
            w.push(messages::exclusive_formats(tool));
        }
        format = match id {
            Some("terse") => GetFormat::Terse,
            Some(_) => GetFormat::Wide,
            None => match d_values.next().map(String::as_str).and_then(parse_dbr_type) {
                Some(t) => GetFormat::Dbr(t),
                None => {
                    w.push(messages::invalid_dbr_type(tool));
                    GetFormat::Plain
                }
            },
        };
    }
    // caget.c: -0x/-0o/-0b also set the requested type to DBR_LONG, which
    // overrides an earlier -d.
    if let (GetFormat::Dbr(_), Some(d), Some(z)) =
        (format, last_index(&m, "dbr_type"), last_index(&m, "int"))
    {
        if z > d && int_fmt.is_some() {
            format = GetFormat::Dbr(DbrType::Long);
        }
    }
    let count = count_arg(cli.count.as_deref(), tool, &mut w);
    if cli.pvs.is_empty() && !common.version {
        return Err(one_line(messages::no_pv_name(tool)));
    }
    Ok(Parsed {
        options: GetOptions {
            pvs: cli.pvs,
            format,
            callback: cli.callback,
            count,
            float_as_string: cli.float_as_string,
            style,
            common,
        },
        warnings: w,
    })
}

/// Parses `caproto-put` arguments (see [`parse_get`]).
pub fn parse_put<I, S>(
    argv: I,
    tool: &str,
    env_timeout: Option<&str>,
) -> Result<Parsed<PutOptions>, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let (cli, m) = clap_parse::<PutCli, _, _>(argv, tool)?;
    let mut w = Vec::new();
    let common = common(&cli.common, tool, env_timeout, &mut w);
    // -n / -s and -a / -S: the later one wins.
    let later = |a: &str, b: &str| last_index(&m, a) > last_index(&m, b);
    let enum_as_number = cli.enum_as_number && later("enum_as_number", "enum_as_string");
    let enum_as_string = cli.enum_as_string && !enum_as_number;
    let array = cli.array && later("array", "char_as_string");
    let char_as_string = cli.char_as_string && !array;
    let count = match cli.count.as_deref() {
        None => 1,
        Some(v) => scan_int(v).unwrap_or_else(|| {
            w.push(messages::invalid_count(tool, v));
            0
        }) as i32,
    };
    let style = Style {
        enum_as_number,
        char_array_as_string: char_as_string,
        separator: separator(cli.separator.as_deref()),
        ..Style::default()
    };
    let mut args = cli.args.into_iter();
    let Some(pv) = args.next() else {
        if common.version {
            return Ok(Parsed {
                options: PutOptions {
                    pv: String::new(),
                    values: Vec::new(),
                    array,
                    callback: cli.callback,
                    terse: cli.terse,
                    wide: cli.wide,
                    enum_as_number,
                    enum_as_string,
                    count,
                    style,
                    common,
                },
                warnings: w,
            });
        }
        return Err(one_line(messages::no_pv_name(tool)));
    };
    let rest: Vec<String> = args.collect();
    if rest.is_empty() {
        return Err(one_line(messages::no_value(tool)));
    }
    let values = if array {
        // The first value is the count; caput uses the actual number.
        rest.into_iter().skip(1).collect()
    } else {
        vec![rest.join(" ")]
    };
    Ok(Parsed {
        options: PutOptions {
            pv,
            values,
            array,
            callback: cli.callback,
            terse: cli.terse,
            wide: cli.wide,
            enum_as_number,
            enum_as_string,
            count,
            style,
            common,
        },
        warnings: w,
    })
}

/// Parses `caproto-monitor` arguments (see [`parse_get`]).
pub fn parse_monitor<I, S>(
    argv: I,
    tool: &str,
    env_timeout: Option<&str>,
) -> Result<Parsed<MonitorOptions>, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let (cli, _) = clap_parse::<MonitorCli, _, _>(argv, tool)?;
    let mut w = Vec::new();
    let common = common(&cli.common, tool, env_timeout, &mut w);
    let mut style = Style {
        enum_as_number: cli.enum_as_number,
        char_array_as_string: cli.char_as_string,
        ..Style::default()
    };
    float_format(&cli.floats, &mut style, &mut w);
    let (int_fmt, float_int) = int_formats(&cli.ints, &mut w);
    style.int = int_fmt.unwrap_or(IntFormat::Dec);
    style.float_as_int = float_int.unwrap_or(IntFormat::Dec);
    style.separator = separator(cli.separator.as_deref());
    let default_mask = EventMask::VALUE | EventMask::ALARM;
    let mask = match cli.mask.as_deref() {
        None => default_mask,
        Some(spec) => {
            let mut mask = EventMask(0);
            let mut bad = false;
            for c in spec.chars() {
                match c {
                    'v' => mask = mask | EventMask::VALUE,
                    'a' => mask = mask | EventMask::ALARM,
                    'l' => mask = mask | EventMask::LOG,
                    'p' => mask = mask | EventMask::PROPERTY,
                    _ => {
                        bad = true;
                        break;
                    }
                }
            }
            if bad {
                w.push(messages::invalid_option_argument('m', spec));
                default_mask
            } else {
                mask
            }
        }
    };
    let mut timestamps = TimestampOptions::default();
    if let Some(key) = cli.timestamps.as_deref() {
        timestamps.server = false;
        timestamps.client = false;
        for c in key.chars() {
            match c {
                's' => timestamps.server = true,
                'c' => timestamps.client = true,
                'n' => {}
                'r' => timestamps.mode = TimeMode::Relative,
                'i' => timestamps.mode = TimeMode::Incremental,
                'I' => timestamps.mode = TimeMode::IncrementalByChannel,
                other => w.push(messages::invalid_timestamp_key(other)),
            }
        }
    }
    let count = count_arg(cli.count.as_deref(), tool, &mut w);
    if cli.pvs.is_empty() && !common.version {
        return Err(one_line(messages::no_pv_name(tool)));
    }
    Ok(Parsed {
        options: MonitorOptions {
            pvs: cli.pvs,
            mask,
            timestamps,
            count,
            float_as_string: cli.float_as_string,
            style,
            common,
        },
        warnings: w,
    })
}

/// Parses `caproto-info` arguments (see [`parse_get`]).
pub fn parse_info<I, S>(
    argv: I,
    tool: &str,
    env_timeout: Option<&str>,
) -> Result<Parsed<InfoOptions>, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let (cli, _) = clap_parse::<InfoCli, _, _>(argv, tool)?;
    let mut w = Vec::new();
    let common = common(&cli.common, tool, env_timeout, &mut w);
    let interest_level = match cli.level.as_deref() {
        None => 0,
        Some(v) => scan_uint(v).unwrap_or_else(|| {
            w.push(messages::invalid_interest_level(tool, v));
            0
        }),
    };
    if interest_level == 0 && cli.pvs.is_empty() && !common.version {
        return Err(one_line(messages::no_pv_name(tool)));
    }
    Ok(Parsed {
        options: InfoOptions {
            pvs: cli.pvs,
            interest_level,
            common,
        },
        warnings: w,
    })
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn one_line(message: String) -> ArgsError {
    ArgsError {
        message,
        is_help: false,
    }
}

/// Runs clap and turns its errors into one line in the C tools' words.
fn clap_parse<T, I, S>(argv: I, tool: &str) -> Result<(T, ArgMatches), ArgsError>
where
    T: Parser,
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    let m = T::command()
        .try_get_matches_from(&argv)
        .map_err(|e| clap_error::<T>(&e, tool, &argv))?;
    let cli = T::from_arg_matches(&m).map_err(|e| clap_error::<T>(&e, tool, &argv))?;
    Ok((cli, m))
}

fn clap_error<T: Parser>(e: &clap::Error, tool: &str, argv: &[std::ffi::OsString]) -> ArgsError {
    let arg = || {
        let name = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(s)) => s.split_whitespace().next().unwrap_or("").to_owned(),
            _ => String::new(),
        };
        // clap names an option by its long form; say `-w` if that is
        // what was typed.
        let Some(long) = name.strip_prefix("--") else {
            return name;
        };
        let short = T::command()
            .get_arguments()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_short());
        match short {
            Some(c) if !argv.iter().any(|a| a.to_str() == Some(name.as_str())) => format!("-{c}"),
            _ => name,
        }
    };
    let message = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return ArgsError {
                message: e.render().to_string(),
                is_help: true,
            }
        }
        ErrorKind::UnknownArgument => messages::unrecognized_option(tool, &arg()),
        ErrorKind::InvalidValue if matches!(e.get(ContextKind::InvalidValue), Some(ContextValue::String(v)) if v.is_empty()) => {
            messages::option_requires_argument(tool, &arg())
        }
        _ => {
            // clap's first line, without its "error: " prefix.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            format!("{}\n", first.trim_start_matches("error: "))
        }
    };
    one_line(message)
}

/// The position of the last occurrence of argument `id`, if given.
fn last_index(m: &ArgMatches, id: &str) -> Option<usize> {
    if m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
        return None;
    }
    m.indices_of(id).and_then(|i| i.max())
}

fn common(c: &CommonArgs, tool: &str, env_timeout: Option<&str>, w: &mut Vec<String>) -> Common {
    let mut timeout = DEFAULT_TIMEOUT;
    if let Some(v) = env_timeout {
        match scan_double(v) {
            Some(t) => timeout = t,
            None => w.push(messages::invalid_timeout_env(v)),
        }
    }
    if let Some(v) = c.timeout.as_deref() {
        match scan_double(v) {
            Some(t) => timeout = t,
            None => w.push(messages::invalid_timeout(tool, v, timeout)),
        }
    }
    let priority = match c.priority.as_deref() {
        None => 0,
        Some(v) => match scan_uint(v) {
            Some(p) => p.min(u32::from(MAX_PRIORITY)) as u16,
            None => {
                w.push(messages::invalid_priority(tool, v));
                0
            }
        },
    };
    Common {
        timeout,
        priority,
        output: c.format,
        verbose: c.verbose,
        version: c.version,
    }
}

fn float_format(f: &FloatArgs, style: &mut Style, w: &mut Vec<String>) {
    // overrides_with_all leaves at most one of the three.
    let (opt, value) = match (&f.exp, &f.fixed, &f.general) {
        (Some(v), _, _) => ('e', v),
        (_, Some(v), _) => ('f', v),
        (_, _, Some(v)) => ('g', v),
        _ => return,
    };
    match scan_int(value) {
        None => w.push(messages::invalid_precision(opt, value)),
        Some(d) if !(0..=i64::from(MAX_DIGITS)).contains(&d) => {
            w.push(messages::precision_out_of_range(opt, d as i32));
        }
        Some(d) => {
            let d = d as u8;
            style.float = match opt {
                'e' => FloatFormat::Exp(d),
                'f' => FloatFormat::Fixed(d),
                _ => FloatFormat::General(d),
            };
        }
    }
}

/// `-0` and `-l`: (integer format, float-as-integer format).
fn int_formats(i: &IntArgs, w: &mut Vec<String>) -> (Option<IntFormat>, Option<IntFormat>) {
    let one = |opt: char, v: &Option<String>, w: &mut Vec<String>| {
        let v = v.as_deref()?;
        match v.chars().next() {
            Some('x') => Some(IntFormat::Hex),
            Some('o') => Some(IntFormat::Oct),
            Some('b') => Some(IntFormat::Bin),
            _ => {
                w.push(messages::invalid_option_argument(opt, v));
                None
            }
        }
    };
    let l = one('l', &i.float_as_int, w);
    let z = one('0', &i.int, w);
    (z, l)
}

fn count_arg(v: Option<&str>, tool: &str, w: &mut Vec<String>) -> u32 {
    match v {
        None => 0,
        Some(v) => match scan_int(v) {
            // A negative count wraps as C's int -> unsigned long does,
            // then means "all".
            Some(n) if n < 0 => u32::MAX,
            Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
            None => {
                w.push(messages::invalid_count(tool, v));
                0
            }
        },
    }
}

/// `-F`: the first character; an empty argument is a NUL as in C.
fn separator(v: Option<&str>) -> char {
    match v {
        None => ' ',
        Some(s) => s.chars().next().unwrap_or('\0'),
    }
}

/// `sscanf("%d")`: optional blanks, sign, digits; what follows is ignored.
pub fn scan_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits.get(..end)?.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// `sscanf("%u")`: as [`scan_int`], negative values wrapping.
fn scan_uint(s: &str) -> Option<u32> {
    scan_int(s).map(|n| n as u32)
}

/// `epicsScanDouble`: the whole text (blanks around allowed) is a number.
pub fn scan_double(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

/// caget `-d`: a number, a DBR name, or a DBR name without its `DBR_`
/// prefix; PUT_ACKT / PUT_ACKS are refused. Only the exact names of
/// `dbr_text[]` are known (not the `_INT` aliases).
pub fn parse_dbr_type(s: &str) -> Option<DbrType> {
    let t = match scan_int(s) {
        Some(n) => u16::try_from(n).ok().and_then(DbrType::from_u16)?,
        None => DbrType::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s)
            .or_else(|| {
                // strncat(str, optarg, 25) after "DBR_".
                let cut: String = s.chars().take(25).collect();
                let full = format!("DBR_{cut}");
                DbrType::ALL.iter().copied().find(|t| t.name() == full)
            })?,
    };
    (!t.is_put_only()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(args: &[&str]) -> Result<Parsed<GetOptions>, ArgsError> {
        let mut v = vec!["caproto-get"];
        v.extend_from_slice(args);
        parse_get(v, "caget", None)
    }

    #[test]
    fn defaults() {
        let p = get(&["pv1", "pv2"]).unwrap();
        assert_eq!(p.options.pvs, ["pv1", "pv2"]);
        assert_eq!(p.options.format, GetFormat::Plain);
        assert_eq!(p.options.common.timeout, 1.0);
        assert_eq!(p.options.style, Style::default());
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn attached_and_separate_values() {
        let p = get(&["-f8", "-#", "10", "-w", "2.5", "-lx", "-0b", "-F,", "pv"]).unwrap();
        let o = p.options;
        assert_eq!(o.style.float, FloatFormat::Fixed(8));
        assert_eq!(o.count, 10);
        assert_eq!(o.common.timeout, 2.5);
        assert_eq!(o.style.float_as_int, IntFormat::Hex);
        assert_eq!(o.style.int, IntFormat::Bin);
        assert_eq!(o.style.separator, ',');
        assert_eq!(
            get(&["--timeout", "3", "pv"])
                .unwrap()
                .options
                .common
                .timeout,
            3.0
        );
    }

    #[test]
    fn dbr_types_by_name_number_and_short_name() {
        for (arg, t) in [
            ("DBR_CTRL_DOUBLE", DbrType::CtrlDouble),
            ("CTRL_DOUBLE", DbrType::CtrlDouble),
            ("20", DbrType::TimeDouble),
            ("DBR_CLASS_NAME", DbrType::ClassName),
        ] {
            assert_eq!(
                get(&["-d", arg, "pv"]).unwrap().options.format,
                GetFormat::Dbr(t)
            );
        }
        for bad in ["DBR_PUT_ACKT", "35", "39", "BOGUS", "DBR_INT"] {
            let p = get(&["-d", bad, "pv"]).unwrap();
            assert_eq!(p.options.format, GetFormat::Plain, "{bad}");
            assert_eq!(p.warnings, [messages::invalid_dbr_type("caget")]);
        }
    }

    #[test]
    fn exclusive_formats_warn_and_last_wins() {
        let p = get(&["-t", "-a", "pv"]).unwrap();
        assert_eq!(p.options.format, GetFormat::Wide);
        assert_eq!(p.warnings, [messages::exclusive_formats("caget")]);
        let p = get(&["-t", "-t", "pv"]).unwrap();
        assert_eq!(p.options.format, GetFormat::Terse);
        assert_eq!(p.warnings, [messages::exclusive_formats("caget")]);
    }

    #[test]
    fn zero_x_after_d_requests_long() {
        let p = get(&["-d", "DBR_DOUBLE", "-0x", "pv"]).unwrap();
        assert_eq!(p.options.format, GetFormat::Dbr(DbrType::Long));
        let p = get(&["-0x", "-d", "DBR_DOUBLE", "pv"]).unwrap();
        assert_eq!(p.options.format, GetFormat::Dbr(DbrType::Double));
    }

    #[test]
    fn bad_values_are_warnings() {
        let p = get(&["-w", "abc", "-#", "x", "-f", "99", "-lq", "-p", "200", "pv"]).unwrap();
        assert_eq!(
            p.warnings,
            [
                messages::invalid_timeout("caget", "abc", 1.0),
                messages::precision_out_of_range('f', 99),
                messages::invalid_option_argument('l', "q"),
                messages::invalid_count("caget", "x"),
            ]
        );
        assert_eq!(p.options.common.priority, 99);
        assert_eq!(p.options.common.timeout, 1.0);
    }

    #[test]
    fn bad_command_lines_are_one_line_errors() {
        let e = get(&["-x", "pv"]).unwrap_err();
        assert_eq!(
            e.message,
            "Unrecognized option: '-x'. ('caget -h' for help.)\n"
        );
        assert_eq!(e.exit_code(), 1);
        let e = get(&[]).unwrap_err();
        assert_eq!(e.message, "No pv name specified. ('caget -h' for help.)\n");
        let e = get(&["pv", "-w"]).unwrap_err();
        assert_eq!(
            e.message,
            "Option '-w' requires an argument. ('caget -h' for help.)\n"
        );
        let e = get(&["pv", "--timeout"]).unwrap_err();
        assert_eq!(
            e.message,
            "Option '--timeout' requires an argument. ('caget -h' for help.)\n"
        );
        let e = get(&["--format", "xml", "pv"]).unwrap_err();
        assert_eq!(e.message.lines().count(), 1, "{}", e.message);
        let h = get(&["-h"]).unwrap_err();
        assert!(h.is_help);
        assert_eq!(h.exit_code(), 0);
        assert!(h.message.contains("-d <TYPE>"));
    }

    #[test]
    fn env_timeout() {
        let p = parse_get(["g", "pv"], "caget", Some("4")).unwrap();
        assert_eq!(p.options.common.timeout, 4.0);
        let p = parse_get(["g", "pv"], "caget", Some("x")).unwrap();
        assert_eq!(p.warnings, [messages::invalid_timeout_env("x")]);
    }

    #[test]
    fn put_values_and_modes() {
        let p = parse_put(["p", "-c", "pv", "a", "b", "-5"], "caput", None).unwrap();
        assert_eq!(p.options.pv, "pv");
        assert_eq!(p.options.values, ["a b -5"]);
        assert!(p.options.callback);
        let p = parse_put(["p", "-a", "pv", "3", "1", "2", "3"], "caput", None).unwrap();
        assert!(p.options.array);
        assert_eq!(p.options.values, ["1", "2", "3"]);
        let p = parse_put(["p", "-a", "-S", "pv", "text"], "caput", None).unwrap();
        assert!(!p.options.array);
        assert!(p.options.style.char_array_as_string);
        let e = parse_put(["p", "pv"], "caput", None).unwrap_err();
        assert_eq!(e.message, "No value specified. ('caput -h' for help.)\n");
        let e = parse_put(["p"], "caput", None).unwrap_err();
        assert_eq!(e.message, "No pv name specified. ('caput -h' for help.)\n");
    }

    #[test]
    fn monitor_mask_and_timestamps() {
        let p = parse_monitor(["m", "-m", "vp", "-t", "cI", "pv"], "camonitor", None).unwrap();
        assert_eq!(p.options.mask, EventMask::VALUE | EventMask::PROPERTY);
        assert!(!p.options.timestamps.server);
        assert!(p.options.timestamps.client);
        assert_eq!(p.options.timestamps.mode, TimeMode::IncrementalByChannel);
        let p = parse_monitor(["m", "-m", "vq", "-t", "sz", "pv"], "camonitor", None).unwrap();
        assert_eq!(p.options.mask, EventMask::VALUE | EventMask::ALARM);
        assert_eq!(
            p.warnings,
            [
                messages::invalid_option_argument('m', "vq"),
                messages::invalid_timestamp_key('z')
            ]
        );
    }

    #[test]
    fn info_level() {
        let p = parse_info(["i", "-s", "3"], "cainfo", None).unwrap();
        assert_eq!(p.options.interest_level, 3);
        assert!(parse_info(["i"], "cainfo", None).is_err());
    }

    #[test]
    fn scanners_follow_sscanf() {
        assert_eq!(scan_int(" 10abc"), Some(10));
        assert_eq!(scan_int("-3"), Some(-3));
        assert_eq!(scan_int("x"), None);
        assert_eq!(scan_double(" 2.5 "), Some(2.5));
        assert_eq!(scan_double("2.5s"), None);
    }
}
