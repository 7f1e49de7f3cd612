//! Parses the shared capture database and checks its records and fields.

use std::path::Path;

use caproto_softioc::db::{load_file, Macros};

#[test]
fn captures_db() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures/captures.db");
    let path = if path.exists() {
        path
    } else {
        Path::new("/work/shared/captures/captures.db").to_path_buf()
    };
    if !path.exists() {
        eprintln!("skipping: {} not present", path.display());
        return;
    }
    let db = match load_file(&path, &Macros::new(), &[]) {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    };
    assert!(db.warnings().is_empty(), "{:?}", db.warnings());
    let summary: Vec<(&str, &str, usize)> = db
        .records()
        .iter()
        .map(|r| (r.name.as_str(), r.rtype.as_str(), r.fields.len()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("t:ao", "ao", 15),
            ("t:ai", "ai", 5),
            ("t:ro", "ai", 3),
            ("t:bo", "bo", 2),
            ("t:mbbo", "mbbo", 4),
            ("t:str", "stringout", 1),
            ("t:long", "longout", 3),
            ("t:short", "waveform", 2),
            ("t:float", "waveform", 2),
            ("t:char", "waveform", 2),
            ("t:wf", "waveform", 2),
            ("t:cwf", "waveform", 2),
            ("t:big", "waveform", 2),
            ("t:calc", "calc", 3),
        ]
    );
    let get = |r: &str, f: &str| db.get(r).and_then(|r| r.field(f));
    assert_eq!(get("t:ao", "VAL"), Some("3.14"));
    assert_eq!(get("t:ao", "LOPR"), Some("-10"));
    assert_eq!(get("t:ao", "LLSV"), Some("MAJOR"));
    assert_eq!(get("t:ai", "EGU"), Some("V"));
    assert_eq!(get("t:ro", "ASG"), Some("RO"));
    assert_eq!(get("t:bo", "ONAM"), Some("On"));
    assert_eq!(get("t:mbbo", "TWST"), Some("two"));
    assert_eq!(get("t:str", "VAL"), Some("hello"));
    assert_eq!(get("t:long", "EGU"), Some("counts"));
    assert_eq!(get("t:big", "NELM"), Some("100000"));
    assert_eq!(get("t:calc", "SCAN"), Some(".1 second"));
    assert_eq!(get("t:calc", "CALC"), Some("A+1"));
    assert_eq!(get("t:calc", "INPA"), Some("t:calc"));
    let ao = db.get("t:ao").map(|r| &r.fields);
    let order: Vec<&str> = ao.into_iter().flatten().map(|f| f.name.as_str()).collect();
    assert_eq!(order.first().copied(), Some("VAL"));
    assert_eq!(order.last().copied(), Some("LLSV"));
    let calc = db.get("t:calc").map(|r| r.location.line);
    assert_eq!(calc, Some(14));
}
