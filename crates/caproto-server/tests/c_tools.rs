//! C EPICS base tools (caget, caput, camonitor, cainfo) against an
//! in-process IOC on loopback.

mod common;

use caproto_core::dbr::{DbrFamily, DbrType};
use caproto_testkit::peers::{epics, epics_tool, stderr, stdout};
use common::{field, Lines, TestIoc};

/// Every PV whose value converts to every type.
const PVS: [&str; 8] = [
    "t:double", "t:float", "t:long", "t:short", "t:char", "t:enum", "t:array", "t:empty",
];

fn caget(ioc: &TestIoc, args: &[&str]) -> String {
    let mut a = vec!["-w", "5"];
    a.extend(args);
    let out = epics(ioc.ports, "caget", &a);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "caget {args:?}: {text}");
    text
}

#[test]
fn caget_reads_every_dbr_type_of_every_native_type() {
    let ioc = TestIoc::start();
    for t in DbrType::ALL.into_iter().filter(|t| !t.is_put_only()) {
        let mut args = vec!["-d", t.name()];
        args.extend(PVS);
        let numeric = t.native() != caproto_core::dbr::NativeType::String;
        if !numeric {
            args.push("t:string");
        }
        let out = caget(&ioc, &args);
        for pv in PVS {
            assert_eq!(
                field(&out, pv, "Request type").as_deref(),
                Some(t.name()),
                "{pv} as {t}: {out}"
            );
        }
        if t.family() == DbrFamily::ClassName {
            assert_eq!(field(&out, "t:double", "Class Name").as_deref(), Some("ao"));
            assert_eq!(
                field(&out, "t:array", "Class Name").as_deref(),
                Some("waveform")
            );
            assert_eq!(field(&out, "t:enum", "Class Name").as_deref(), Some("mbbo"));
            continue;
        }
        let value = |pv| field(&out, pv, "Value").unwrap_or_else(|| panic!("{pv} {t}: {out}"));
        let expected_long = match t.native() {
            caproto_core::dbr::NativeType::Float | caproto_core::dbr::NativeType::Double => "42",
            _ => "42",
        };
        if t.native() != caproto_core::dbr::NativeType::Enum {
            assert_eq!(value("t:long"), expected_long, "{t}");
        }
        if t.native() == caproto_core::dbr::NativeType::String {
            assert_eq!(value("t:double"), "3.250", "{t}"); // PREC 3
            assert_eq!(value("t:enum"), "On", "{t}");
            assert_eq!(value("t:string"), "hello", "{t}");
        }
        if t.native() == caproto_core::dbr::NativeType::Double {
            assert_eq!(value("t:double"), "3.25", "{t}");
            assert_eq!(value("t:array"), "1 2 3 0 0 0 0 0 0 0", "{t}");
            assert_eq!(value("t:empty"), "0 0 0 0 0", "{t}");
        }
        if matches!(
            t.family(),
            DbrFamily::Sts | DbrFamily::Time | DbrFamily::Gr | DbrFamily::Ctrl
        ) {
            assert_eq!(
                field(&out, "t:double", "Status").as_deref(),
                Some("NO_ALARM")
            );
        }
        if t.family() == DbrFamily::Time {
            let ts = field(&out, "t:double", "Timestamp").unwrap_or_default();
            assert!(ts.starts_with("20"), "timestamp {ts}");
        }
    }
}

#[test]
fn string_that_is_no_number_fails_to_read_as_number() {
    let ioc = TestIoc::start();
    // ECA_GETFAIL, as rsrv answers for a stringin read as DBR_DOUBLE; caget
    // reports the failed read and gives up waiting after -w.
    let out = epics(
        ioc.ports,
        "caget",
        &["-w", "1", "-d", "DBR_TIME_DOUBLE", "t:string"],
    );
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("channel=t:string") && text.contains("read failed"),
        "{text}"
    );
    // The circuit is still fine for the next request.
    let out = caget(&ioc, &["t:string"]);
    assert!(out.contains("hello"));
}

#[test]
fn ctrl_metadata_is_served() {
    let ioc = TestIoc::start();
    let out = caget(&ioc, &["-d", "DBR_CTRL_DOUBLE", "t:double"]);
    for (k, v) in [
        ("Units", "mm"),
        ("Precision", "3"),
        ("Lo disp limit", "-100"),
        ("Hi disp limit", "100"),
        ("Lo alarm limit", "-90"),
        ("Lo warn limit", "-80"),
        ("Hi warn limit", "80"),
        ("Hi alarm limit", "90"),
        ("Lo ctrl limit", "-50"),
        ("Hi ctrl limit", "50"),
    ] {
        assert_eq!(field(&out, "t:double", k).as_deref(), Some(v), "{k}: {out}");
    }
    let out = caget(&ioc, &["-d", "DBR_GR_ENUM", "t:enum"]);
    assert!(
        out.contains("[ 0] Off") && out.contains("[ 2] Fault"),
        "{out}"
    );
    let out = caget(&ioc, &["-d", "DBR_CTRL_LONG", "t:long"]);
    assert_eq!(field(&out, "t:long", "Units").as_deref(), Some("cts"));
    assert_eq!(
        field(&out, "t:long", "Hi disp limit").as_deref(),
        Some("1000")
    );
    let out = caget(&ioc, &["-d", "DBR_STS_DOUBLE", "t:alarm"]);
    assert_eq!(
        field(&out, "t:alarm", "Status").as_deref(),
        Some("HIGH"),
        "{out}"
    );
    assert_eq!(
        field(&out, "t:alarm", "Severity").as_deref(),
        Some("MINOR"),
        "{out}"
    );
}

#[test]
fn caput_with_and_without_callback() {
    let ioc = TestIoc::start();
    for (flags, pv, value, shown) in [
        (&[][..], "t:long", "17", "17"),
        (&["-c"][..], "t:long", "18", "18"),
        (&[][..], "t:double", "2.5", "2.5"),
        (&["-c"][..], "t:string", "bye", "bye"),
        (&["-c"][..], "t:enum", "Fault", "Fault"),
        (&[][..], "t:enum", "0", "Off"),
        (&["-c"][..], "t:double_it", "2", "4"),
        (
            &["-c", "-a"][..],
            "t:array",
            "4",
            "1.5 2.5 3.5 4.5 0 0 0 0 0 0",
        ),
    ] {
        let mut args = flags.to_vec();
        args.extend(["-w", "5", pv]);
        if pv == "t:array" {
            args.extend(["4", "1.5", "2.5", "3.5", "4.5"]);
        } else {
            args.push(value);
        }
        let out = epics(ioc.ports, "caput", &args);
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(out.status.success(), "caput {args:?}: {text}");
        let new = text
            .lines()
            .find(|l| l.starts_with("New"))
            .unwrap_or_default();
        assert!(new.ends_with(shown), "caput {args:?}: {text}");
    }
    // The array PV now holds 4 elements: a count-0 read gets the current
    // length (caget -# 0 is not offered, but the native count is 10).
    let out = caget(&ioc, &["t:array"]);
    assert!(out.contains("1.5 2.5 3.5 4.5"), "{out}");
}

#[test]
fn rejected_writes_report_errors_and_leave_the_value() {
    let ioc = TestIoc::start();
    // Read-only: libca refuses locally from the access rights.
    let out = epics(ioc.ports, "caput", &["-w", "5", "t:ro", "1"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !out.status.success() || text.to_lowercase().contains("write access"),
        "{text}"
    );
    assert!(
        caget(&ioc, &["t:ro"]).contains(" 5"),
        "read-only value changed"
    );
    // A write handler refusing: WRITE_NOTIFY gets ECA_PUTFAIL.
    let out = epics(ioc.ports, "caput", &["-c", "-w", "5", "t:even", "3"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("put failed") || text.contains("Put failed") || !out.status.success(),
        "{text}"
    );
    // Plain WRITE: an ERROR message naming the PV.
    let out = epics(ioc.ports, "caput", &["-w", "5", "t:even", "5"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    println!("plain caput refused: {text}");
    assert!(
        text.contains("write request failed") && text.contains("t:even"),
        "{text}"
    );
    let out = caget(&ioc, &["t:even"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("t:even") && l.trim_end().ends_with(" 0")),
        "{out}"
    );
    let out = epics(ioc.ports, "caput", &["-c", "-w", "5", "t:even", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = caget(&ioc, &["t:even"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("t:even") && l.trim_end().ends_with(" 4")),
        "{out}"
    );
}

#[test]
fn alarm_limits_set_status_and_severity_on_write() {
    let ioc = TestIoc::start();
    for (value, status, severity) in [
        ("85", "HIGH", "MINOR"),
        ("95", "HIHI", "MAJOR"),
        ("-85", "LOW", "MINOR"),
        ("-95", "LOLO", "MAJOR"),
        ("1", "NO_ALARM", "NO_ALARM"),
    ] {
        let out = epics(ioc.ports, "caput", &["-c", "-w", "5", "t:double", value]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = caget(&ioc, &["-d", "DBR_STS_DOUBLE", "t:double"]);
        assert_eq!(
            field(&out, "t:double", "Status").as_deref(),
            Some(status),
            "{out}"
        );
        assert_eq!(
            field(&out, "t:double", "Severity").as_deref(),
            Some(severity),
            "{out}"
        );
    }
}

#[test]
fn camonitor_receives_posted_values() {
    let ioc = TestIoc::start();
    let mut cmd = ioc.ports.command(epics_tool("camonitor"));
    cmd.args(["-w", "5", "t:counter"]);
    let mut mon = Lines::spawn(cmd);
    mon.until("initial value", |l| {
        l.starts_with("t:counter") && l.trim_end().ends_with(" 0")
    });
    for i in 1..=5 {
        ioc.counter.post(i).expect("post");
        let want = format!(" {i}");
        mon.until(&want.clone(), move |l| {
            l.starts_with("t:counter") && l.trim_end().ends_with(&want)
        });
    }
    // A client write fires the monitor too.
    let out = epics(ioc.ports, "caput", &["-w", "5", "t:counter", "99"]);
    assert!(out.status.success());
    mon.until("99", |l| {
        l.starts_with("t:counter") && l.trim_end().ends_with(" 99")
    });
}

#[test]
fn camonitor_alarm_only_mask_ignores_value_changes() {
    let ioc = TestIoc::start();
    let mut cmd = ioc.ports.command(epics_tool("camonitor"));
    // -m a: DBE_ALARM only.
    cmd.args(["-w", "5", "-m", "a", "t:double"]);
    let mut mon = Lines::spawn(cmd);
    mon.until("initial value", |l| l.starts_with("t:double"));
    // A value-only change (no alarm change) must not show; then a change
    // into HIGH must.
    let out = epics(ioc.ports, "caput", &["-c", "-w", "5", "t:double", "2"]);
    assert!(out.status.success());
    let out = epics(ioc.ports, "caput", &["-c", "-w", "5", "t:double", "85"]);
    assert!(out.status.success());
    let line = mon.until("the alarm update", |l| l.starts_with("t:double"));
    assert!(
        line.contains("85") && line.contains("HIGH"),
        "{line}; seen {:?}",
        mon.seen
    );
}

#[test]
fn cainfo_shows_type_count_and_rights() {
    let ioc = TestIoc::start();
    for (pv, ty, count, access) in [
        ("t:array", "DBF_DOUBLE", "10", "read, write"),
        ("t:empty", "DBF_LONG", "5", "read, write"),
        ("t:enum", "DBF_ENUM", "1", "read, write"),
        ("t:string", "DBF_STRING", "1", "read, write"),
        ("t:char", "DBF_CHAR", "1", "read, write"),
        ("t:short", "DBF_SHORT", "1", "read, write"),
        ("t:float", "DBF_FLOAT", "1", "read, write"),
        ("t:ro", "DBF_DOUBLE", "1", "read, no write"),
    ] {
        let out = epics(ioc.ports, "cainfo", &["-w", "5", pv]);
        let text = stdout(&out);
        assert!(out.status.success(), "{text}{}", stderr(&out));
        assert_eq!(
            field(&text, pv, "Native data type").as_deref(),
            Some(ty),
            "{text}"
        );
        assert_eq!(
            field(&text, pv, "Element count").as_deref(),
            Some(count),
            "{text}"
        );
        assert_eq!(
            field(&text, pv, "Access").as_deref(),
            Some(access),
            "{text}"
        );
        assert_eq!(
            field(&text, pv, "State").as_deref(),
            Some("connected"),
            "{text}"
        );
    }
}

#[test]
fn large_arrays_use_the_extended_header_both_ways() {
    let ioc = TestIoc::start();
    let mut cmd = ioc.ports.command(epics_tool("caget"));
    cmd.env("EPICS_CA_MAX_ARRAY_BYTES", "10000000")
        .args(["-w", "5", "-#", "100000", "t:big"]);
    let out = caproto_testkit::peers::run(cmd, std::time::Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words.len(), 2 + 100_000, "{}", &text[..200.min(text.len())]);
    assert_eq!(words[1], "100000");
    assert_eq!(words[2..5], ["0", "1", "2"]);
    assert_eq!(words[words.len() - 1], "99999");
    // Write 70000 elements back (more than 0xFFFF: extended header).
    let values: Vec<String> = (0..70_000).map(|i| (i * 2).to_string()).collect();
    let mut cmd = ioc.ports.command(epics_tool("caput"));
    cmd.env("EPICS_CA_MAX_ARRAY_BYTES", "10000000")
        .args(["-c", "-w", "5", "-a", "t:big", "70000"])
        .args(&values);
    let out = caproto_testkit::peers::run(cmd, std::time::Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr(&out));
    let mut cmd = ioc.ports.command(epics_tool("caget"));
    cmd.env("EPICS_CA_MAX_ARRAY_BYTES", "10000000")
        .args(["-w", "5", "-#", "3", "t:big"]);
    let out = caproto_testkit::peers::run(cmd, std::time::Duration::from_secs(30));
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["t:big", "3", "0", "2", "4"]
    );
}
