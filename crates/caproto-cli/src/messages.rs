//! The error and warning texts of the EPICS base tools (stderr), newline
//! included, and libca's exception report.
//!
//! `tool` is the program name the C tools put in their hints
//! (`"('caget -h' for help.)"`); pass the C name to match its output byte
//! for byte, or ours.

use caproto_core::dbr::{DbrType, EpicsTime};
use caproto_core::EcaStatus;

use crate::time::{exception_time_text, TimeZone};

/// `connect_pvs`: the channels did not all connect in time.
pub fn connect_timeout(names: &[&str]) -> String {
    match names {
        [one] => format!("Channel connect timed out: '{one}' not found.\n"),
        _ => "Channel connect timed out: some PV(s) not found.\n".to_owned(),
    }
}

/// caget / caput (its "Old"/"New" read): `ca_pend_io` timed out.
pub fn read_timeout(tool: &str) -> String {
    if tool.ends_with("put") {
        "Read operation timed out: PV data was not read.\n".to_owned()
    } else {
        "Read operation timed out: some PV data was not read.\n".to_owned()
    }
}

/// caput: the enum strings of an ENUM channel could not be read.
pub fn enum_read_timeout() -> String {
    "Read operation timed out: ENUM data was not read.\n".to_owned()
}

/// caput: the write was not acknowledged in time.
pub fn write_timeout() -> String {
    "Write operation timed out: Data was not written.\n".to_owned()
}

/// caput -c: the completion did not come in time.
pub fn write_callback_timeout() -> String {
    "Write callback operation timed out\n".to_owned()
}

/// `ERL_ERROR` of EPICS base `errlog.h`: "ERROR" in bold red.
pub const ERL_ERROR: &str = "\x1b[31;1mERROR\x1b[0m";

/// caput: the put request itself failed.
pub fn put_request_failed(status: EcaStatus) -> String {
    format!("{ERL_ERROR} from put operation: {}\n", status.message())
}

/// caput: the write completed with an error (the C text's spelling
/// "occured" is kept).
pub fn write_failed(status: EcaStatus) -> String {
    format!("{ERL_ERROR} occured writing data: {}\n", status.message())
}

/// caput: a value is not one of the enum states (nor a number).
pub fn enum_string_invalid(value: &str) -> String {
    format!("Enum string value '{value}' invalid.\n")
}

/// caput -n: an enum value is not a number.
pub fn enum_index_not_a_number(value: &str) -> String {
    format!("Enum index value '{value}' is not a number.\n")
}

/// caput: an enum index at or past the number of states (a warning).
pub fn enum_index_too_large(value: &str) -> String {
    format!("Warning: enum index value '{value}' may be too large.\n")
}

/// `-d` with an unknown type, or PUT_ACKT / PUT_ACKS (a warning; caget
/// then uses the plain format).
pub fn invalid_dbr_type(tool: &str) -> String {
    format!("Requested dbr type out of range or invalid - ignored. ('{tool} -h' for help.)\n")
}

/// caget: more than one of `-t`, `-d`, `-a` (a warning; the last wins).
pub fn exclusive_formats(tool: &str) -> String {
    format!("Options t,d,a are mutually exclusive. ('{tool} -h' for help.)\n")
}

/// `-w` with a value that is not a number (a warning).
pub fn invalid_timeout(tool: &str, value: &str, current: f64) -> String {
    format!(
        "'{value}' is not a valid timeout value - ignored, using '{current:.1}'. ('{tool} -h' for help.)\n"
    )
}

/// `EPICS_CLI_TIMEOUT` is not a number (a warning).
pub fn invalid_timeout_env(value: &str) -> String {
    format!(
        "'{value}' is not a valid timeout value (from 'EPICS_CLI_TIMEOUT' in the environment) - ignored. (use '-h' for help.)\n"
    )
}

/// `-#` with a value that is not a number (a warning).
pub fn invalid_count(tool: &str, value: &str) -> String {
    format!("'{value}' is not a valid array element count - ignored. ('{tool} -h' for help.)\n")
}

/// `-p` with a value that is not a number (a warning).
pub fn invalid_priority(tool: &str, value: &str) -> String {
    format!("'{value}' is not a valid CA priority - ignored. ('{tool} -h' for help.)\n")
}

/// cainfo `-s` with a value that is not a number (a warning).
pub fn invalid_interest_level(tool: &str, value: &str) -> String {
    format!("'{value}' is not a valid interest level - ignored. ('{tool} -h' for help.)\n")
}

/// `-e/-f/-g` with a value that is not a number (a warning).
pub fn invalid_precision(option: char, value: &str) -> String {
    format!("Invalid precision argument '{value}' for option '-{option}' - ignored.\n")
}

/// `-e/-f/-g` outside 0..=18 (a warning).
pub fn precision_out_of_range(option: char, digits: i32) -> String {
    format!("Precision {digits} for option '-{option}' out of range - ignored.\n")
}

/// `-l`/`-0` with something other than `x`, `o`, `b`; camonitor `-m`
/// with another letter than `v`, `a`, `l`, `p` (a warning).
pub fn invalid_option_argument(option: char, value: &str) -> String {
    format!("Invalid argument '{value}' for option '-{option}' - ignored.\n")
}

/// camonitor `-t` with an unknown letter (a warning, one per letter).
pub fn invalid_timestamp_key(key: char) -> String {
    format!("Invalid argument '{key}' for option '-t' - ignored.\n")
}

/// An unknown option (an error: exit 1).
pub fn unrecognized_option(tool: &str, option: &str) -> String {
    format!("Unrecognized option: '{option}'. ('{tool} -h' for help.)\n")
}

/// An option without its argument (an error: exit 1).
pub fn option_requires_argument(tool: &str, option: &str) -> String {
    format!("Option '{option}' requires an argument. ('{tool} -h' for help.)\n")
}

/// No PV name on the command line (an error: exit 1).
pub fn no_pv_name(tool: &str) -> String {
    format!("No pv name specified. ('{tool} -h' for help.)\n")
}

/// caput without a value (an error: exit 1).
pub fn no_value(tool: &str) -> String {
    format!("No value specified. ('{tool} -h' for help.)\n")
}

/// Creating a channel failed locally (e.g. a bad name).
pub fn create_channel_failed(status: EcaStatus, name: &str) -> String {
    format!(
        "CA error {} occurred while trying to create channel '{name}'.\n",
        status.message()
    )
}

/// `-V`: the version line (the C tools print EPICS base's version here).
pub fn version() -> String {
    format!(
        "\ncaproto-cli {}, CA Protocol version 4.{}\n",
        env!("CARGO_PKG_VERSION"),
        caproto_core::CA_MINOR_VERSION
    )
}

/// libca's exception report (`ca_client_context::vSignal`), as printed on
/// stderr when a request fails: e.g. for a failed read, `status`
/// ECA_GETFAIL, `context` from [`read_failure_context`], `source`
/// `("../getCopy.cpp", 91)`.
pub fn ca_exception(
    status: EcaStatus,
    context: Option<&str>,
    source: Option<(&str, u32)>,
    now: EpicsTime,
    tz: TimeZone,
) -> String {
    const SEVERITY: [&str; 8] = [
        "Warning", "Success", "Error", "Info", "Fatal", "Fatal", "Fatal", "Fatal",
    ];
    let sev = SEVERITY
        .get((status.0 & 7) as usize)
        .copied()
        .unwrap_or("Fatal");
    let mut out =
        String::from("CA.Client.Exception...............................................\n");
    out.push_str(&format!("    {sev}: \"{}\"\n", status.message()));
    if let Some(c) = context {
        out.push_str(&format!("    Context: \"{c}\"\n"));
    }
    if let Some((file, line)) = source {
        out.push_str(&format!("    Source File: {file} line {line}\n"));
    }
    out.push_str(&format!(
        "    Current Time: {}\n",
        exception_time_text(now, tz)
    ));
    out.push_str("..................................................................\n");
    out
}

/// The context libca gives a failed read or write (`op=0` read, `op=1`
/// write): `op=0, channel=t:str, type=DBR_SHORT, count=1, ctx="read
/// failed"`, where `ctx` is the text of the server's ERROR message.
pub fn request_failure_context(
    op: u32,
    channel: &str,
    dbr_type: DbrType,
    count: u32,
    ctx: &str,
) -> String {
    format!(
        "op={op}, channel={channel}, type={}, count={count}, ctx=\"{ctx}\"",
        dbr_type.name()
    )
}

/// [`request_failure_context`] of a read (`op=0`).
pub fn read_failure_context(channel: &str, dbr_type: DbrType, count: u32, ctx: &str) -> String {
    request_failure_context(0, channel, dbr_type, count, ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeout_texts() {
        assert_eq!(
            connect_timeout(&["nonexistent:pv"]),
            "Channel connect timed out: 'nonexistent:pv' not found.\n"
        );
        assert_eq!(
            connect_timeout(&["a", "b"]),
            "Channel connect timed out: some PV(s) not found.\n"
        );
    }

    #[test]
    fn exception_block() {
        let text = ca_exception(
            EcaStatus::ECA_DISCONN,
            Some("localhost:25064"),
            Some(("../cac.cpp", 1238)),
            EpicsTime::new(1_164_405_808, 903_648_641),
            TimeZone::UTC,
        );
        assert_eq!(
            text,
            "CA.Client.Exception...............................................\n    \
             Warning: \"Virtual circuit disconnect\"\n    Context: \"localhost:25064\"\n    \
             Source File: ../cac.cpp line 1238\n    Current Time: Tue Nov 24 2026 22:03:28.903648641\n\
             ..................................................................\n"
        );
    }

    #[test]
    fn hints_name_the_tool() {
        assert_eq!(
            invalid_dbr_type("caget"),
            "Requested dbr type out of range or invalid - ignored. ('caget -h' for help.)\n"
        );
        assert_eq!(
            invalid_timeout("caget", "abc", 1.0),
            "'abc' is not a valid timeout value - ignored, using '1.0'. ('caget -h' for help.)\n"
        );
    }
}
