//! Record emulation through the Rust API (no network): alarms with
//! hysteresis, drive limits, forward links, calc inputs and links, UDF and
//! timestamps, load errors with locations, and field PVs made on demand.

use caproto_core::dbr::{DbrType, DbrValues, EpicsTime};
use caproto_server::PvSource;
use caproto_softioc::db::{parse_str, Macros};
use caproto_softioc::Records;

fn load(text: &str) -> Records {
    let db = parse_str(text, &Macros::new(), &|_| None).expect("parses");
    Records::from_database(&db).unwrap_or_else(|e| panic!("loads: {e:?}"))
}

#[test]
fn ai_alarm_levels_follow_the_severities_and_hysteresis() {
    let r = load(
        r#"record(ai, "a") {
            field(HIHI, "10") field(HIGH, "5") field(LOW, "-5") field(LOLO, "-10")
            field(HHSV, "MAJOR") field(HSV, "MINOR") field(LSV, "MINOR") field(LLSV, "INVALID")
            field(HYST, "1")
        }"#,
    );
    let a = r.get("a").expect("record");
    a.set(5.5).unwrap();
    assert_eq!(a.alarm(), ("HIGH", "MINOR"));
    // Within HYST of the limit that raised the alarm: stays in alarm.
    a.set(4.5).unwrap();
    assert_eq!(a.alarm(), ("HIGH", "MINOR"));
    a.set(3.9).unwrap();
    assert_eq!(a.alarm(), ("NO_ALARM", "NO_ALARM"));
    a.set(10.0).unwrap();
    assert_eq!(a.alarm(), ("HIHI", "MAJOR"));
    a.set(-10.5).unwrap();
    assert_eq!(a.alarm(), ("LOLO", "INVALID"));
    a.set(-5.0).unwrap();
    assert_eq!(a.alarm(), ("LOW", "MINOR"));
}

#[test]
fn a_zero_severity_disables_its_limit() {
    let r =
        load(r#"record(longin, "l") { field(HIGH, "5") field(HIHI, "8") field(HHSV, "MAJOR") }"#);
    let l = r.get("l").expect("record");
    l.set(6).unwrap();
    assert_eq!(l.alarm(), ("NO_ALARM", "NO_ALARM"));
    l.set(9).unwrap();
    assert_eq!(l.alarm(), ("HIHI", "MAJOR"));
}

#[test]
fn drive_limits_clamp_ao_and_longout_only_when_drvh_above_drvl() {
    let r = load(
        r#"record(ao, "ao") { field(DRVH, "10") field(DRVL, "-10") }
           record(ao, "free") { field(DRVH, "0") field(DRVL, "0") }
           record(longout, "lo") { field(DRVH, "100") field(DRVL, "-5") }"#,
    );
    let ao = r.get("ao").unwrap();
    ao.set(20.0).unwrap();
    assert_eq!(ao.get_f64(), 10.0);
    ao.set(-11.0).unwrap();
    assert_eq!(ao.get_f64(), -10.0);
    let free = r.get("free").unwrap();
    free.set(1e6).unwrap();
    assert_eq!(free.get_f64(), 1e6);
    let lo = r.get("lo").unwrap();
    lo.set(-50).unwrap();
    assert_eq!(lo.get_f64(), -5.0);
    // A DRVH change takes effect at the next processing.
    lo.put_field("DRVH", "3").unwrap();
    lo.set(7).unwrap();
    assert_eq!(lo.get_f64(), 3.0);
}

#[test]
fn forward_links_process_passive_records_in_a_chain() {
    let r = load(
        r#"record(ao, "p:ch1") { field(FLNK, "p:ch2") }
           record(calc, "p:ch2") { field(CALC, "A*2") field(INPA, "p:ch1") field(FLNK, "p:ch3") }
           record(calc, "p:ch3") { field(CALC, "A+B") field(INPA, "p:ch2") field(INPB, "p:ch1.VAL NPP MS") }"#,
    );
    r.get("p:ch1").unwrap().set(5.0).unwrap();
    assert_eq!(r.get("p:ch2").unwrap().get_f64(), 10.0);
    assert_eq!(r.get("p:ch3").unwrap().get_f64(), 15.0);
    assert_eq!(r.field("p:ch2.FLNK").as_deref(), Some("p:ch3"));
    assert_eq!(r.field("p:ch3.INPB").as_deref(), Some("p:ch1.VAL NPP MS"));
}

#[test]
fn forward_link_loops_stop_at_the_active_record() {
    let r = load(
        r#"record(calc, "x") { field(CALC, "VAL+1") field(FLNK, "y") }
           record(calc, "y") { field(CALC, "VAL+1") field(FLNK, "x") }"#,
    );
    r.get("x").unwrap().process();
    assert_eq!(r.get("x").unwrap().get_f64(), 1.0);
    assert_eq!(r.get("y").unwrap().get_f64(), 1.0);
}

#[test]
fn calc_constants_initialise_inputs_and_pp_links_process_their_source() {
    let r = load(
        r#"record(calc, "k") { field(CALC, "A*B") field(INPA, "6") field(INPB, "7") }
           record(calc, "src") { field(CALC, "VAL+1") }
           record(calc, "pp") { field(CALC, "A") field(INPA, "src PP") }
           record(calc, "npp") { field(CALC, "A") field(INPA, "src") }"#,
    );
    // Not processed yet: VAL 0, but the inputs hold the constants.
    assert_eq!(r.field("k").as_deref(), Some("0"));
    assert_eq!(r.field("k.A").as_deref(), Some("6"));
    r.get("k").unwrap().process();
    assert_eq!(r.get("k").unwrap().get_f64(), 42.0);
    r.get("pp").unwrap().process();
    r.get("pp").unwrap().process();
    assert_eq!(r.get("src").unwrap().get_f64(), 2.0);
    assert_eq!(r.get("pp").unwrap().get_f64(), 2.0);
    r.get("npp").unwrap().process();
    assert_eq!(r.get("src").unwrap().get_f64(), 2.0);
    assert_eq!(r.get("npp").unwrap().get_f64(), 2.0);
}

#[test]
fn a_link_to_a_missing_record_raises_an_invalid_link_alarm() {
    let r = load(r#"record(calc, "c") { field(CALC, "A") field(INPA, "nowhere") }"#);
    let c = r.get("c").unwrap();
    c.process();
    assert_eq!(c.alarm(), ("LINK", "INVALID"));
}

#[test]
fn a_bad_calc_put_is_refused_and_leaves_the_record_failing() {
    let r = load(r#"record(calc, "c") { field(CALC, "A+1") }"#);
    let c = r.get("c").unwrap();
    c.process();
    assert_eq!(c.get_f64(), 1.0);
    assert!(c.put_field("CALC", "A+").is_err());
    c.process();
    assert_eq!(c.alarm(), ("CALC", "INVALID"));
    assert_eq!(c.get_f64(), 1.0);
    c.put_field("CALC", "A+2").unwrap();
    assert_eq!(c.get_f64(), 2.0);
}

#[test]
fn never_processed_records_are_undefined_until_processed() {
    let r = load(r#"record(ai, "u") {} record(ai, "v") { field(VAL, "1") }"#);
    let u = r.get("u").unwrap();
    assert_eq!(u.alarm(), ("UDF", "INVALID"));
    assert_eq!(u.timestamp(), EpicsTime::EPOCH);
    // VAL set in the database clears UDF: severity stays NO_ALARM.
    assert_eq!(r.get("v").unwrap().alarm(), ("UDF", "NO_ALARM"));
    u.set(1.0).unwrap();
    assert_eq!(u.alarm(), ("NO_ALARM", "NO_ALARM"));
    assert_ne!(u.timestamp(), EpicsTime::EPOCH);
}

#[test]
fn disp_refuses_puts_except_to_disp() {
    let r = load(r#"record(ao, "d") { field(DISP, "1") field(VAL, "1.5") }"#);
    let d = r.get("d").unwrap();
    assert!(d.set(4.0).is_err());
    assert!(d.put_field("DESC", "x").is_err());
    d.put_field("DISP", "0").unwrap();
    d.set(4.0).unwrap();
    assert_eq!(d.get_f64(), 4.0);
}

#[test]
fn field_pvs_have_the_field_types_and_follow_changes() {
    let r = load(
        r#"record(ao, "m") { field(EGU, "mm") field(PREC, "2") field(HOPR, "10") }
           record(waveform, "w") { field(FTVL, "SHORT") field(NELM, "4") }
           record(mbbo, "s") { field(ZRST, "Low") field(ONST, "High") }"#,
    );
    let val = r.resolve("m").expect("VAL PV");
    assert_eq!(val.snapshot().meta.units, "mm");
    let egu = r.resolve("m.EGU").expect("EGU PV");
    assert_eq!(egu.values(), DbrValues::String(vec!["mm".into()]));
    // The same PV for every client while it lives.
    assert!(std::ptr::eq(
        &*r.resolve("m.EGU").unwrap().snapshot(),
        &*egu.snapshot()
    ));
    r.get("m").unwrap().put_field("EGU", "cm").unwrap();
    assert_eq!(val.snapshot().meta.units, "cm");
    assert_eq!(egu.values(), DbrValues::String(vec!["cm".into()]));
    // PREC is SHORT, STAT a read-only ENUM, RTYP the type name.
    assert_eq!(r.resolve("m.PREC").unwrap().native_type().code(), 1);
    assert!(r.resolve("m.STAT").unwrap().is_read_only());
    assert_eq!(r.field("m.RTYP").as_deref(), Some("ao"));
    let cls = r.resolve("m.HOPR").unwrap();
    let (_, data) = cls
        .encode_read(&cls.snapshot(), DbrType::ClassName, 1)
        .unwrap();
    assert!(data.starts_with(b"ao\0"));
    // A waveform's VAL has FTVL's type and NELM elements.
    let w = r.resolve("w").unwrap();
    assert_eq!((w.native_type().code(), w.capacity()), (1, 4));
    r.get("w").unwrap().set(vec![1i16, 2, 3]).unwrap();
    assert_eq!(r.field("w.NORD").as_deref(), Some("3"));
    // mbbo states as enum strings; a string put selects by name.
    let s = r.resolve("s").unwrap();
    assert_eq!(s.snapshot().meta.enum_strings, vec!["Low", "High"]);
    r.get("s").unwrap().set("High").unwrap();
    assert_eq!(r.field("s").as_deref(), Some("High"));
    assert!(!r.contains("m.NOSUCH"));
    assert!(r.contains("m.VAL") && r.contains("m"));
}

#[test]
fn load_errors_name_the_file_line_and_column() {
    let text = "record(ai, \"a\") {\n  field(BOGUS, \"1\")\n}\nrecord(foo, \"b\") {}\n\
                record(calc, \"c\") {\n  field(CALC, \"A+\")\n}\nrecord(ai, \"d\") { field(PREC, \"abc\") }\n";
    let db = parse_str(text, &Macros::new(), &|_| None).unwrap();
    let errors = Records::from_database(&db).expect_err("four errors");
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 4, "{shown:#?}");
    assert!(
        shown[0].starts_with("<string>:2:") && shown[0].contains("BOGUS"),
        "{shown:?}"
    );
    assert!(shown[1].starts_with("<string>:4:") && shown[1].contains("unknown type \"foo\""));
    assert!(shown[2].starts_with("<string>:6:") && shown[2].contains("Incomplete expression"));
    assert!(shown[3].starts_with("<string>:8:") && shown[3].contains("PREC"));
}

#[test]
fn records_declared_in_rust() {
    let r = Records::new();
    let t = r
        .add(
            "t",
            "ai",
            &[("EGU", "degC"), ("HIGH", "30"), ("HSV", "MINOR")],
        )
        .unwrap();
    let c = r
        .add("c", "calc", &[("CALC", "A*2"), ("INPA", "t")])
        .unwrap();
    t.set(31.0).unwrap();
    assert_eq!(t.alarm(), ("HIGH", "MINOR"));
    c.process();
    assert_eq!(c.get_f64(), 62.0);
    assert!(r.add("t", "ai", &[]).is_err());
    assert!(r.add("x", "bogus", &[]).is_err());
    assert!(r.add("y", "ai", &[("NOPE", "1")]).is_err());
    // A record that does not configure is not added at all.
    assert!(r.get("y").is_none());
    assert!(r.add("y", "ai", &[]).is_ok());
}

#[test]
fn long_string_fields_read_and_write_as_char_arrays() {
    let r = load(r#"record(calc, "c") { field(CALC, "A+B") field(DESC, "a calc") }"#);
    let calc = r.resolve("c.CALC$").expect("CALC$");
    assert_eq!((calc.native_type().code(), calc.capacity()), (4, 80));
    assert_eq!(calc.values(), DbrValues::Char(b"A+B\0".to_vec()));
    // `$` on a field that is no string is the field itself.
    assert_eq!(r.resolve("c.VAL$").unwrap().native_type().code(), 6);
    // An expression longer than a DBR_STRING (39 bytes) fits CALC (79).
    let long = "A+B+A+B+A+B+A+B+A+B+A+B+A+B+A+B+A+B+A+B+A+B+A+B";
    let h = r.get("c").unwrap();
    h.put_field("B", "1").unwrap();
    h.put_field("CALC", long).unwrap();
    assert_eq!(h.get_f64(), 12.0);
    let mut bytes = long.as_bytes().to_vec();
    bytes.push(0);
    assert_eq!(calc.values(), DbrValues::Char(bytes));
}

#[test]
fn cp_links_process_their_record_when_the_source_changes() {
    let r = load(
        r#"record(ao, "src") {}
           record(calc, "cp") { field(CALC, "A*10") field(INPA, "src CP") }
           record(calc, "cpp") { field(CALC, "A*100") field(INPA, "src CPP") field(SCAN, "10 second") }"#,
    );
    r.get("src").unwrap().set(2.0).unwrap();
    assert_eq!(r.get("cp").unwrap().get_f64(), 20.0);
    // CPP processes only a Passive record.
    assert_eq!(r.get("cpp").unwrap().get_f64(), 0.0);
    assert_eq!(r.field("cp.INPA").as_deref(), Some("src CP NMS"));
}

#[test]
fn soft_channel_inp_and_out_links() {
    let r = load(
        r#"record(ao, "src") { field(VAL, "3") field(HIHI, "5") field(HHSV, "MAJOR") }
           record(ai, "in") { field(INP, "src MS") }
           record(ai, "konst") { field(INP, "42") }
           record(ao, "out") { field(OUT, "dst PP") }
           record(ao, "dst") { field(FLNK, "twice") }
           record(calc, "twice") { field(CALC, "A*2") field(INPA, "dst") }
           record(ao, "broken") { field(OUT, "nowhere") }"#,
    );
    assert_eq!(r.get("konst").unwrap().get_f64(), 42.0);
    r.get("src").unwrap().set(7.0).unwrap();
    let input = r.get("in").unwrap();
    input.process();
    assert_eq!(input.get_f64(), 7.0);
    // MS carries the source's MAJOR HIHI as a LINK alarm.
    assert_eq!(input.alarm(), ("LINK", "MAJOR"));
    r.get("out").unwrap().set(2.5).unwrap();
    assert_eq!(r.get("dst").unwrap().get_f64(), 2.5);
    assert_eq!(r.get("twice").unwrap().get_f64(), 5.0);
    // An OUT that cannot be written fails the put (as dbPutField does).
    assert!(r.get("broken").unwrap().set(1.0).is_err());
    assert_eq!(r.get("broken").unwrap().alarm(), ("LINK", "INVALID"));
}
