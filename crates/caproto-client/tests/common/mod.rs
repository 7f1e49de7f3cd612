//! Helpers shared by the interop tests: a client context confined to a
//! test's ports, and `caget -d` output parsed into fields.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::time::Duration;

use caproto_client::{Context, ContextBuilder};
use caproto_testkit::peers::{epics_tool, run, stderr, stdout, Ports};

/// The lookup a test's client uses: loopback only, the test's ports.
pub fn lookup(ports: Ports) -> impl Fn(&str) -> Option<String> {
    move |name| match name {
        "EPICS_CA_ADDR_LIST" => Some("127.0.0.1".into()),
        "EPICS_CA_AUTO_ADDR_LIST" => Some("NO".into()),
        "EPICS_CA_SERVER_PORT" => Some(ports.server.to_string()),
        "EPICS_CA_REPEATER_PORT" => Some(ports.repeater.to_string()),
        _ => None,
    }
}

/// A builder for a client on the test's ports.
pub fn builder(ports: Ports) -> ContextBuilder {
    ContextBuilder::from_lookup(lookup(ports))
        .unwrap_or_else(|e| panic!("{e}"))
        .timeout(Duration::from_secs(5))
}

/// A client context on the test's ports.
pub async fn context(ports: Ports) -> Context {
    builder(ports)
        .build()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What `caget -d TYPE PV` printed: `Key -> value` for every `Key: value`
/// line, the enum states under `"Enums list"`, and the stderr.
#[derive(Debug, Default)]
pub struct Caget {
    pub fields: BTreeMap<String, String>,
    pub enums: Vec<String>,
    pub stderr: String,
}

impl Caget {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Runs C `caget -d TYPE pv` (timestamps in UTC) and parses its output.
pub fn caget_d(ports: Ports, dbr: &str, pv: &str) -> Caget {
    let mut cmd = ports.command(epics_tool("caget"));
    cmd.env("TZ", "UTC").args(["-w", "2", "-d", dbr, pv]);
    let out = run(cmd, Duration::from_secs(20));
    let mut c = Caget {
        stderr: stderr(&out),
        ..Caget::default()
    };
    for line in stdout(&out).lines() {
        // The unindented line is the PV name.
        if !line.starts_with(' ') {
            continue;
        }
        let t = line.trim();
        if let Some(rest) = t.strip_prefix('[') {
            // "[ 0] zero"
            if let Some((_, s)) = rest.split_once(']') {
                c.enums.push(s.trim().to_owned());
            }
            continue;
        }
        if let Some((k, v)) = t.split_once(':') {
            c.fields.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    c
}

/// Days since 1970-01-01 to (year, month, day) (the proleptic Gregorian
/// calendar; H. Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses caget's "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) into microseconds
/// since 1970.
pub fn parse_caget_time(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    // days_from_civil
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut micros: i64 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    micros += ((days * 24 + h) * 60 + mi) * 60 * 1_000_000 + se * 1_000_000;
    Some(micros)
}
