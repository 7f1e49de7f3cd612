//! Arbitrary input never panics the `.db` parser or the macro expander.

use caproto_softioc::db::{parse_str, Macros};
use proptest::prelude::*;

/// Fragments that steer random text towards the interesting paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("record(".to_owned()),
        Just("grecord(".to_owned()),
        Just("field(".to_owned()),
        Just("info(".to_owned()),
        Just("alias(".to_owned()),
        Just("include ".to_owned()),
        Just("path ".to_owned()),
        Just("\"*\"".to_owned()),
        Just("\"#\"".to_owned()),
        Just("$(".to_owned()),
        Just("${".to_owned()),
        Just("$(A=".to_owned()),
        Just("$(A,".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        "[ (){},:\\[\\]\"'#=a-z0-9.]{0,6}",
        any::<String>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics(input in text(), defs in "[A-Z=,$(){}'\" ]{0,20}") {
        let macros = Macros::parse(&defs);
        let inc = |name: &str| Some(format!("record(ai, \"{name}\") $(A)"));
        match parse_str(&input, &macros, &inc) {
            Ok(db) => {
                for r in db.records() {
                    prop_assert!(db.get(&r.name).is_some());
                }
            }
            Err(e) => {
                let s = e.to_string();
                prop_assert!(!s.contains('\n'), "one line: {s:?}");
            }
        }
    }

    #[test]
    fn expander_never_panics(input in text(), defs in any::<String>()) {
        let _ = Macros::parse(&defs).expand(&input);
    }
}
