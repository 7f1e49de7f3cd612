//! Property tests: arbitrary text never panics the compiler, and compiled
//! programs never panic the evaluator, whatever the inputs.

use caproto_softioc::calc::{compile, CalcRng, NUM_INPUTS};
use proptest::prelude::*;

/// Fragments of the calc language, so generated strings often compile.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "A", "B", "L", "VAL", "PI", "D2R", "R2D", "RNDM", "INF", "NAN", "0x", "0xff", "1",
            "2.5", ".", "1e", "+", "-", "*", "/", "%", "^", "**", "<", "<=", ">", ">=", "=", "==",
            "!=", "#", "&&", "||", "!", "&", "|", "~", "AND", "OR", "XOR", "NOT", "<<", ">>",
            ">>>", "?", ":", ":=", ";", "(", ")", ",", "ABS(", "SQRT(", "MIN(", "MAX(", "ATAN2(",
            "FMOD(", "FINITE(", "ISNAN(", "ISINF(", "NINT(", "SIN ", " ",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,3}",
    ]
}

fn expression() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..24).prop_map(|v| v.concat())
}

/// Well-formed programs: an expression, sometimes after an assignment.
fn well_formed() -> impl Strategy<Value = String> {
    (tree(), tree(), any::<bool>()).prop_map(
        |(a, b, assign)| {
            if assign {
                format!("C:=({a});{b}")
            } else {
                a
            }
        },
    )
}

/// Well-formed expressions built from the grammar.
fn tree() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "A", "b", "L", "VAL", "PI", "D2R", "RNDM", "NaN", "Inf"
        ])
        .prop_map(str::to_owned),
        (0u32..100_000).prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| format!("0x{n:x}")),
        (0.0..1e6f64).prop_map(|x| format!("{x}")),
    ];
    leaf.prop_recursive(5, 64, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "^", "**", "<", "<=", ">", ">=", "=", "==", "!=", "#",
                    "&&", "||", "&", "|", " AND ", " OR ", " XOR ", "<<", ">>", ">>>",
                ]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            (
                prop::sample::select(vec![
                    "-", "!", "~", "NOT ", "ABS", "SQRT", "EXP", "LOG", "LN", "CEIL", "FLOOR",
                    "NINT", "SIN", "ACOS", "TANH", "ISINF", "ISNAN", "FINITE",
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a}?{b}:{c})")),
            prop::collection::vec(inner.clone(), 1..5)
                .prop_map(|v| format!("MAX({})", v.join(","))),
            (inner.clone(), inner).prop_map(|(a, b)| format!("ATAN2({a},{b})")),
        ]
    })
}

fn input() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        -1e10..1e10f64,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
        let _ = compile(&s);
    }

    #[test]
    fn compiled_programs_never_panic(
        s in expression(),
        inputs in prop::array::uniform12(input()),
        prev in input(),
        seed in any::<u16>(),
    ) {
        if let Ok(p) = compile(&s) {
            let mut args: [f64; NUM_INPUTS] = inputs;
            let _ = p.eval(&mut args, prev, &mut CalcRng::new(seed));
            prop_assert_eq!(p.inputs_used() >> NUM_INPUTS, 0);
        }
    }

    #[test]
    fn well_formed_programs_compile_and_evaluate(
        s in well_formed(),
        inputs in prop::array::uniform12(input()),
    ) {
        let p = compile(&s);
        prop_assert!(p.is_ok(), "{:?}: {:?}", s, p);
        if let Ok(p) = p {
            let mut args: [f64; NUM_INPUTS] = inputs;
            let r = p.eval(&mut args, 0.0, &mut CalcRng::default());
            prop_assert!(r.is_ok(), "{:?}: {:?}", s, r);
        }
    }
}
