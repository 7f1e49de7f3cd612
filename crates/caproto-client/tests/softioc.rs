//! The async client against the C EPICS `softIoc` (rsrv), compared with what
//! C `caget` reads from the same PVs.

mod common;

use std::time::Duration;

use caproto_client::{
    AccessRights, AlarmSeverity, DbrData, DbrType, DbrValues, EcaStatus, Error, EventMask,
};
use caproto_core::dbr::{DbrFamily, NativeType};
use caproto_testkit::peers::{epics, epics_tool, spawn_until, stdout, Ports, SoftIoc};
use common::{caget_d, context, parse_caget_time, Caget};

const DB: &str = r#"
record(ai, "T:ai") { field(VAL, "3.25") field(PREC, "3") field(EGU, "mm") field(HOPR, "10") field(LOPR, "-10") field(HIHI, "9") field(HIGH, "8") field(LOW, "-8") field(LOLO, "-9") field(HHSV, "MAJOR") field(HSV, "MINOR") }
record(ao, "T:ao") { field(VAL, "1.5") field(PREC, "2") field(EGU, "V") field(DRVH, "100") field(DRVL, "-100") field(HOPR, "50") field(LOPR, "-50") }
record(bo, "T:bo") { field(ZNAM, "Off") field(ONAM, "On") field(VAL, "1") }
record(mbbo, "T:mbbo") { field(ZRST, "zero") field(ONST, "one") field(TWST, "two") field(VAL, "2") }
record(stringout, "T:so") { field(VAL, "12.5") }
record(stringout, "T:text") { field(VAL, "hello world") }
record(longout, "T:lo") { field(VAL, "42") field(EGU, "cts") field(HOPR, "1000") field(LOPR, "0") }
record(waveform, "T:wfd") { field(FTVL, "DOUBLE") field(NELM, "10") }
record(waveform, "T:wfc") { field(FTVL, "CHAR") field(NELM, "64") }
record(waveform, "T:big") { field(FTVL, "DOUBLE") field(NELM, "200000") }
record(calc, "T:calc") { field(SCAN, ".1 second") field(CALC, "A+1") field(INPA, "T:calc") }
record(ao, "T:disabled") { field(DISP, "1") field(VAL, "5") }
"#;

const COMPARED: [&str; 9] = [
    "T:ai", "T:ao", "T:bo", "T:mbbo", "T:so", "T:lo", "T:wfd", "T:wfc", "T:text",
];

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-5 * a.abs().max(b.abs())
}

fn num(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}

/// Differences between our decoded reply and what caget printed.
fn compare(pv: &str, t: DbrType, ours: &Result<DbrData, Error>, c: &Caget) -> Vec<String> {
    let mut bad = Vec::new();
    let ctx = format!("{pv} {t}");
    if c.stderr.contains("Channel read request failed") {
        match ours {
            Err(e) if e.eca_status() == Some(EcaStatus::ECA_GETFAIL) => {}
            other => bad.push(format!(
                "{ctx}: caget failed (ECA_GETFAIL), we got {other:?}"
            )),
        }
        return bad;
    }
    let d = match ours {
        Ok(d) => d,
        Err(e) => return vec![format!("{ctx}: caget read it, we failed: {e}")],
    };
    let m = &d.meta;
    for (key, val) in &c.fields {
        let ok = match key.as_str() {
            "Native data type" | "Request type" => true,
            "Element count" => num(val) == Some(d.values.len() as f64),
            "Class Name" => d.values.as_strings().and_then(|s| s.first()) == Some(val),
            "Value" => compare_value(t, d, val),
            "Status" => m.status.name() == Some(val.as_str()),
            "Severity" => m.severity.name() == Some(val.as_str()),
            "Units" => &m.units == val,
            "Precision" => num(val) == Some(f64::from(m.precision)),
            "Lo disp limit" => limit(t, val, m.limits.lower_disp),
            "Hi disp limit" => limit(t, val, m.limits.upper_disp),
            "Lo alarm limit" => limit(t, val, m.limits.lower_alarm),
            "Lo warn limit" => limit(t, val, m.limits.lower_warning),
            "Hi warn limit" => limit(t, val, m.limits.upper_warning),
            "Hi alarm limit" => limit(t, val, m.limits.upper_alarm),
            "Lo ctrl limit" => limit(t, val, m.limits.lower_ctrl),
            "Hi ctrl limit" => limit(t, val, m.limits.upper_ctrl),
            "Timestamp" => {
                if val == "<undefined>" {
                    m.timestamp.secs == 0 && m.timestamp.nanos == 0
                } else {
                    let ours = (i64::from(m.timestamp.secs) + 631_152_000) * 1_000_000
                        + i64::from(m.timestamp.nanos / 1000);
                    parse_caget_time(val).is_some_and(|theirs| (ours - theirs).abs() <= 1)
                }
            }
            "Enums" => {
                num(val.trim_matches(|c| c == '(' || c == ')')) == Some(m.enum_strings.len() as f64)
                    && c.enums == m.enum_strings
            }
            "Ack transient?" => (val == "YES") == (m.ackt != 0),
            "Ack severity" => AlarmSeverity(m.acks).name() == Some(val.as_str()),
            _ => false,
        };
        if !ok {
            let ours = format!("{d:?}");
            bad.push(format!(
                "{ctx}: {key}: caget {val:?}, ours {}",
                ours.get(..300).unwrap_or(&ours)
            ));
        }
    }
    if !c.fields.contains_key("Value") && !c.fields.contains_key("Class Name") {
        bad.push(format!("{ctx}: caget printed no value: {c:?}"));
    }
    bad
}

/// A limit as caget prints it. `dbr_char_t` limits are unsigned bytes on
/// the wire (`db_access.h`) but caget prints them as signed (-10 for 246),
/// so CHAR limits compare modulo 256.
fn limit(t: DbrType, val: &str, ours: f64) -> bool {
    match num(val) {
        Some(v) if t.native() == NativeType::Char => (v as i64).rem_euclid(256) == ours as i64,
        Some(v) => close(v, ours),
        None => false,
    }
}

fn compare_value(t: DbrType, d: &DbrData, val: &str) -> bool {
    let family = t.family();
    if t.native() == NativeType::Enum && matches!(family, DbrFamily::Gr | DbrFamily::Ctrl) {
        // caget prints state strings, or its texts for bad indexes
        // (tool_lib.c: "Illegal Value" at 16 and above, "Enum Index
        // Overflow" past the PV's states).
        let DbrValues::Enum(v) = &d.values else {
            return false;
        };
        let text: Vec<String> = v
            .iter()
            .map(|&i| match d.meta.enum_strings.get(usize::from(i)) {
                _ if i >= 16 => format!("Illegal Value ({i})"),
                Some(s) => s.clone(),
                None => format!("Enum Index Overflow ({i})"),
            })
            .collect();
        return text.join(" ") == val;
    }
    match &d.values {
        DbrValues::String(v) if v.len() == 1 => v.first().map(String::as_str) == Some(val),
        // Empty strings print as nothing.
        DbrValues::String(v) => val
            .split_whitespace()
            .eq(v.iter().filter(|s| !s.is_empty()).map(String::as_str)),
        values => {
            let tokens: Vec<&str> = val.split_whitespace().collect();
            tokens.len() == values.len()
                && tokens.iter().enumerate().all(|(i, tok)| {
                    num(tok)
                        .zip(values.to_f64(i))
                        .is_some_and(|(a, b)| close(a, b))
                })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dbr_type_reads_as_caget_shows_it() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = context(ports).await;
    // Give the arrays contents (and so timestamps) first, with completion.
    let wfd = ctx.connect("T:wfd").await.unwrap_or_else(|e| panic!("{e}"));
    wfd.put_wait(&[1.5f64, 2.5, 3.5][..])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let wfc = ctx.connect("T:wfc").await.unwrap_or_else(|e| panic!("{e}"));
    wfc.put_wait(&b"abc".to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut mismatches = Vec::new();
    let mut compared = 0;
    for pv in COMPARED {
        let ch = ctx.connect(pv).await.unwrap_or_else(|e| panic!("{e}"));
        let count = ch.native_count().unwrap_or(1);
        // Every readable type at once: they leave in one batch.
        // "hello world" converts to no number: caget waits for its timeout
        // on each failed read, so only one numeric type is tried there.
        let types: Vec<DbrType> = DbrType::ALL
            .into_iter()
            .filter(|t| !t.is_put_only())
            .filter(|t| pv != "T:text" || t.native() == NativeType::String || *t == DbrType::Double)
            .collect();
        let reads = types.iter().map(|t| {
            let ch = ch.clone();
            let t = *t;
            tokio::spawn(async move { ch.read(t, count).await })
        });
        let mut results = Vec::new();
        for r in reads.collect::<Vec<_>>() {
            results.push(r.await.unwrap_or_else(|e| panic!("{e}")));
        }
        for (t, ours) in types.iter().zip(&results) {
            let theirs = tokio::task::block_in_place(|| caget_d(ports, t.name(), pv));
            mismatches.extend(compare(pv, *t, ours, &theirs));
            compared += 1;
        }
    }
    assert_eq!(compared, (COMPARED.len() - 1) * 37 + 8);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_with_and_without_completion_and_typed_values() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = context(ports).await;
    let ao = ctx.connect("T:ao").await.unwrap_or_else(|e| panic!("{e}"));
    let info = ao.info().unwrap_or_else(|| panic!("no info"));
    assert_eq!(info.native_type, DbrType::Double);
    assert_eq!(info.native_count, 1);
    assert_eq!(info.access, AccessRights::READ_WRITE);

    // Fire-and-forget: a read on the same circuit is answered after it.
    ao.put(&7.25f64).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ao.get::<f64>().await.ok(), Some(7.25));
    // With completion; then C caget sees it.
    ao.put_wait(&-3.5f64)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let out = tokio::task::block_in_place(|| epics(ports, "caget", &["-t", "T:ao"]));
    assert_eq!(stdout(&out).trim(), "-3.5");
    assert_eq!(ao.get::<String>().await.ok().as_deref(), Some("-3.50"));
    // The IOC converts as a C cast: toward zero.
    assert_eq!(ao.get::<i32>().await.ok(), Some(-3));

    // Enums by index and by state string.
    let mbbo = ctx
        .connect("T:mbbo")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    mbbo.put_wait("one").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mbbo.get::<u16>().await.ok(), Some(1));
    mbbo.put_wait(&0u16).await.unwrap_or_else(|e| panic!("{e}"));
    let e = mbbo.get_enum().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((e.index, e.as_str()), (0, "zero"));
    assert_eq!(e.states, ["zero", "one", "two"]);
    assert_eq!(mbbo.get::<String>().await.ok().as_deref(), Some("zero"));
    assert!(matches!(
        mbbo.put_wait("seven").await,
        Err(Error::Server { .. })
    ));

    // Strings, longs, arrays.
    let so = ctx
        .connect("T:text")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    so.put_wait("written by rust")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        so.get::<String>().await.ok().as_deref(),
        Some("written by rust")
    );
    let long_text = "x".repeat(40);
    assert!(matches!(
        so.put_wait(long_text.as_str()).await,
        Err(Error::BadType { .. })
    ));
    let lo = ctx.connect("T:lo").await.unwrap_or_else(|e| panic!("{e}"));
    lo.put_wait(&-12i32).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lo.get::<i32>().await.ok(), Some(-12));
    let wfd = ctx.connect("T:wfd").await.unwrap_or_else(|e| panic!("{e}"));
    wfd.put_wait(&vec![1.0f64, 2.0, 3.0, 4.0])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        wfd.get::<Vec<f64>>().await.ok(),
        Some(vec![1.0, 2.0, 3.0, 4.0])
    );
    assert_eq!(wfd.get::<Vec<i32>>().await.ok(), Some(vec![1, 2, 3, 4]));
    let too_many = vec![0.0f64; 11];
    assert!(matches!(
        wfd.put_wait(&too_many).await,
        Err(Error::BadCount {
            requested: 11,
            native: 10,
            ..
        })
    ));

    // 1,000 reads issued together all complete.
    let reads: Vec<_> = (0..1000)
        .map(|_| {
            let lo = lo.clone();
            tokio::spawn(async move { lo.get::<i32>().await })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.ok().and_then(Result::ok), Some(-12));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_of_a_scanned_calc_counts_events() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = context(ports).await;
    let calc = ctx
        .connect("T:calc")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sub = calc
        .subscribe(DbrType::TimeDouble, 1, EventMask::VALUE | EventMask::ALARM)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut last: Option<(f64, caproto_client::EpicsTime)> = None;
    let mut events = 0;
    while events < 10 {
        let update = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap_or_else(|_| panic!("no monitor event within 5 s after {events}"))
            .unwrap_or_else(|| panic!("stream ended"))
            .unwrap_or_else(|e| panic!("{e}"));
        let v = update.values.to_f64(0).unwrap_or(f64::NAN);
        if let Some((prev, prev_time)) = last {
            assert!(v > prev, "calc counts up: {prev} then {v}");
            assert!(update.meta.timestamp > prev_time);
        }
        last = Some((v, update.meta.timestamp));
        events += 1;
    }
    // The same subscription is a futures `Stream`.
    let more = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut sub),
    )
    .await;
    assert!(matches!(more, Ok(Some(Ok(_)))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_to_a_disabled_record_fails() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = context(ports).await;
    let ch = ctx
        .connect("T:disabled")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = ch
        .put_wait(&1.0f64)
        .await
        .expect_err("a put to a DISP=1 record fails");
    assert_eq!(err.channel_name(), Some("T:disabled"));
    assert!(
        matches!(
            err,
            Error::Server {
                status: EcaStatus::ECA_PUTFAIL,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(ch.get::<f64>().await.ok(), Some(5.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_to_a_read_only_pv_says_no_write_access() {
    let ports = Ports::allocate();
    let dir = std::env::temp_dir();
    let db = dir.join(format!("caproto-client-ro-{}.db", ports.server));
    let acf = dir.join(format!("caproto-client-ro-{}.acf", ports.server));
    std::fs::write(
        &db,
        r#"record(ao, "T:ro") { field(ASG, "RO") field(VAL, "2") }"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &acf,
        "ASG(DEFAULT) { RULE(1, READ) RULE(1, WRITE) }\nASG(RO) { RULE(1, READ) }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = ports.command(epics_tool("softIoc"));
    cmd.arg("-S").arg("-a").arg(&acf).arg("-d").arg(&db);
    let (_ioc, _) = spawn_until(
        cmd,
        "iocRun: All initialization complete",
        Duration::from_secs(20),
    );
    let ctx = context(ports).await;
    let ch = ctx.connect("T:ro").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ch.access_rights(), Some(AccessRights::READ));
    let err = ch.put_wait(&1.0f64).await.expect_err("no write access");
    assert!(matches!(err, Error::NoWriteAccess { .. }), "{err}");
    assert!(matches!(
        ch.put(&1.0f64).await,
        Err(Error::NoWriteAccess { .. })
    ));
    assert_eq!(ch.get::<f64>().await.ok(), Some(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_pv_fails_with_not_found_within_its_timeout() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = context(ports).await;
    let ch = ctx
        .channel("T:does-not-exist")
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timeout(Duration::from_millis(700));
    let err = ch.get::<f64>().await.expect_err("not found");
    assert!(
        matches!(&err, Error::NotFound { name, timeout } if name == "T:does-not-exist" && *timeout == Duration::from_millis(700)),
        "{err}"
    );
    assert!(err.to_string().contains("not found"), "{err}");
    assert!(ctx.channel("").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_waveform_follows_max_array_bytes() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let big: Vec<f64> = (0..200_000).map(f64::from).collect();
    let ctx = common::builder(ports)
        .max_array_bytes(2_000_000)
        .build()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ch = ctx.connect("T:big").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ch.native_count(), Some(200_000));
    ch.put_wait(&big).await.unwrap_or_else(|e| panic!("{e}"));
    let back = ch
        .read(DbrType::TimeDouble, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.values, DbrValues::Double(big.clone()));

    // A client limited to 16384 bytes is refused the reply, and its
    // circuit stays usable.
    let small = common::builder(ports)
        .max_array_bytes(16384)
        .build()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ch = small
        .connect("T:big")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = ch.read(DbrType::Double, 0).await.expect_err("too large");
    assert_eq!(err.eca_status(), Some(EcaStatus::ECA_TOLARGE), "{err}");
    assert_eq!(
        ch.read(DbrType::Double, 100)
            .await
            .ok()
            .map(|d| d.values.len()),
        Some(100)
    );
}

#[test]
fn caget_time_parses_as_utc() {
    assert_eq!(
        parse_caget_time("1990-01-01 00:00:00.000001"),
        Some(631_152_000_000_001)
    );
    assert_eq!(common::civil_from_days(0), (1970, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_zero_monitor_follows_the_array_length() {
    let ports = Ports::allocate();
    let _ioc = SoftIoc::start(DB, ports);
    let ctx = context(ports).await;
    let wf = ctx.connect("T:wfd").await.unwrap_or_else(|e| panic!("{e}"));
    wf.put_wait(&[1.0f64, 2.0][..])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sub = wf
        .subscribe(DbrType::TimeDouble, 0, EventMask::VALUE)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        next_values(&mut sub).await,
        DbrValues::Double(vec![1.0, 2.0])
    );
    wf.put_wait(&[5.0f64, 6.0, 7.0, 8.0][..])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        next_values(&mut sub).await,
        DbrValues::Double(vec![5.0, 6.0, 7.0, 8.0])
    );
}

async fn next_values(sub: &mut caproto_client::Subscription) -> DbrValues {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap_or_else(|_| panic!("no update"))
        .unwrap_or_else(|| panic!("stream ended"))
        .unwrap_or_else(|e| panic!("{e}"))
        .values
}
