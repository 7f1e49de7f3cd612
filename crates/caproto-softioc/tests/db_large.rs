//! A generated 100,000-record database parses correctly. (The timing is
//! measured separately, not asserted: see the report / BENCHMARKS.md.)

use caproto_softioc::db::{parse_str, Macros};

fn generate(n: usize) -> String {
    let mut s = String::with_capacity(n * 160);
    for i in 0..n {
        s.push_str(&format!(
            "record(ai, \"$(P)rec{i}\") {{\n    field(DESC, \"record {i}\")\n    field(EGU, \"mm\")\n    field(PREC, \"3\")\n    field(VAL, \"{i}.5\")\n}}\n"
        ));
    }
    s
}

#[test]
fn hundred_thousand_records() {
    let n = 100_000;
    let text = generate(n);
    let start = std::time::Instant::now();
    let db = match parse_str(&text, &Macros::parse("P=big:"), &|_| None) {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    };
    eprintln!(
        "parsed {n} records ({} bytes) in {:?}",
        text.len(),
        start.elapsed()
    );
    assert_eq!(db.records().len(), n);
    let r = db.get("big:rec99999").expect("last record");
    assert_eq!(r.field("VAL"), Some("99999.5"));
    assert_eq!(r.location.line, 99_999 * 6 + 1);
    assert!(db.warnings().is_empty());
}
