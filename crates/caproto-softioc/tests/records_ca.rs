//! The `caproto-softioc` binary seen through the C CA tools: property
//! monitors on a metadata write, periodic scanning, forward links, and
//! load errors (exit 1, `file:line:column`, nothing served). Loopback
//! only, own ports, bounded waits, every process killed at the end.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use caproto_testkit::peers::{epics, epics_tool, run, spawn_until, stdout, Guard, Ports};

const LIMIT: Duration = Duration::from_secs(20);

fn write_db(ports: Ports, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "caproto-records-ca-{}-{}.db",
        std::process::id(),
        ports.server
    ));
    std::fs::write(&path, text).expect("temp db");
    path
}

/// Starts our IOC on a database; returns once it serves.
fn start(ports: Ports, db: &str) -> Guard {
    let path = write_db(ports, db);
    let mut cmd = ports.command(env!("CARGO_BIN_EXE_caproto-softioc"));
    cmd.arg("-S").arg("-d").arg(&path);
    let (guard, _) = spawn_until(cmd, "iocRun: All initialization complete", LIMIT);
    guard
}

/// A `camonitor` whose lines arrive on a channel.
struct Monitor {
    _guard: Guard,
    lines: mpsc::Receiver<String>,
}

impl Monitor {
    fn start(ports: Ports, args: &[&str]) -> Monitor {
        let mut cmd = ports.command(epics_tool("camonitor"));
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("camonitor starts");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Monitor {
            _guard: Guard::new(child, "camonitor"),
            lines,
        }
    }

    /// The next line, within the limit.
    fn next(&self) -> String {
        self.lines
            .recv_timeout(LIMIT)
            .expect("camonitor printed a line in time")
    }
}

fn caput(ports: Ports, args: &[&str]) {
    let out = epics(ports, "caput", args);
    assert!(out.status.success(), "caput {args:?}: {out:?}");
}

#[test]
fn an_egu_write_fires_property_monitors_and_shows_in_ctrl_reads() {
    let ports = Ports::allocate();
    let mut ioc = start(
        ports,
        r#"record(ao, "r:m") { field(EGU, "mm") field(PREC, "1") }"#,
    );
    let mon = Monitor::start(ports, &["-m", "p", "r:m"]);
    let first = mon.next();
    assert!(first.starts_with("r:m "), "{first}");
    // Value writes are no property change; EGU and PREC writes are. A
    // leaked value event would show up as an extra line before the next
    // property event.
    caput(ports, &["r:m", "2"]);
    caput(ports, &["r:m.EGU", "cm"]);
    caput(ports, &["r:m", "3"]);
    caput(ports, &["r:m.DESC", "not a property"]);
    caput(ports, &["r:m.PREC", "3"]);
    caput(ports, &["r:m.PREC", "4"]);
    let values: Vec<String> = (0..3)
        .map(|_| {
            mon.next()
                .split_whitespace()
                .last()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(values, ["2", "3", "3"]);
    let get = epics(ports, "caget", &["-d", "DBR_CTRL_DOUBLE", "r:m"]);
    assert!(
        stdout(&get).contains("Units:            cm"),
        "{}",
        stdout(&get)
    );
    drop(mon);
    ioc.kill();
}

#[test]
fn a_value_past_hihi_raises_the_configured_severity() {
    let ports = Ports::allocate();
    let mut ioc = start(
        ports,
        r#"record(ai, "r:a") { field(HIHI, "8") field(HHSV, "MAJOR") field(HIGH, "6") field(HSV, "MINOR") }"#,
    );
    let mon = Monitor::start(ports, &["-m", "a", "r:a"]);
    let _initial = mon.next();
    caput(ports, &["r:a", "9"]);
    let line = mon.next();
    assert!(line.contains("HIHI") && line.contains("MAJOR"), "{line}");
    caput(ports, &["r:a", "7"]);
    let line = mon.next();
    assert!(line.contains("HIGH") && line.contains("MINOR"), "{line}");
    drop(mon);
    ioc.kill();
}

#[test]
fn periodic_scan_processes_and_forward_links_follow() {
    let ports = Ports::allocate();
    let mut ioc = start(
        ports,
        r#"record(calc, "r:tick") { field(SCAN, ".1 second") field(CALC, "VAL+1") field(FLNK, "r:twice") }
           record(calc, "r:twice") { field(CALC, "A*2") field(INPA, "r:tick") }"#,
    );
    let mon = Monitor::start(ports, &["-t", "n", "r:twice"]);
    // Three distinct, increasing values: the scan runs and FLNK follows.
    let mut values = Vec::new();
    while values.len() < 3 {
        let line = mon.next();
        if let Some(v) = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<f64>().ok())
        {
            if values.last().map_or(true, |l| v > *l) {
                values.push(v);
            }
        }
    }
    assert!(values.iter().all(|v| v % 2.0 == 0.0), "{values:?}");
    drop(mon);
    ioc.kill();
}

#[test]
fn a_bad_database_is_one_error_line_per_problem_and_exit_1() {
    let ports = Ports::allocate();
    let path = write_db(
        ports,
        "record(ai, \"ok\") {}\nrecord(ai, \"x\") {\n    field(NOSUCH, \"1\")\n}\nrecord(what, \"y\") {}\n",
    );
    let mut cmd = ports.command(env!("CARGO_BIN_EXE_caproto-softioc"));
    cmd.arg("-S").arg("-d").arg(&path);
    let out = run(cmd, LIMIT);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    let shown = path.display().to_string();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!("{shown}:3:")) && lines[0].contains("NOSUCH"),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("{shown}:5:")) && lines[1].contains("\"what\""),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("iocRun"));
}

#[test]
fn macros_apply_to_the_following_database() {
    let ports = Ports::allocate();
    let path = write_db(
        ports,
        r#"record(stringin, "$(P)name") { field(VAL, "$(V=none)") }"#,
    );
    let mut cmd = ports.command(env!("CARGO_BIN_EXE_caproto-softioc"));
    cmd.arg("-S")
        .arg("-m")
        .arg("P=m1:,V=given")
        .arg("-d")
        .arg(&path);
    let (mut ioc, _) = spawn_until(cmd, "iocRun: All initialization complete", LIMIT);
    let get = epics(ports, "caget", &["-t", "m1:name"]);
    assert_eq!(stdout(&get).trim(), "given");
    ioc.kill();
}
