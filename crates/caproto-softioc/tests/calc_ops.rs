//! The calc language operator by operator and function by function. Expected
//! values follow EPICS base `modules/libcom/test/epicsCalcTest.cpp` (inputs
//! `A`..`L` are 1..12 there and here) and `calcPerform.c`.

use caproto_softioc::calc::{compile, CalcErrorKind, CalcRng, EvalError, NUM_INPUTS};
use std::f64::consts::PI;

const INF: f64 = f64::INFINITY;
const NAN: f64 = f64::NAN;

fn args() -> [f64; NUM_INPUTS] {
    [
        1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0,
    ]
}

fn calc(expr: &str) -> f64 {
    let prog = compile(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
    prog.eval(&mut args(), 0.0, &mut CalcRng::default())
        .unwrap_or_else(|e| panic!("{expr:?}: {e}"))
}

#[track_caller]
fn check(expr: &str, expected: f64) {
    let got = calc(expr);
    let ok = if expected.is_nan() {
        got.is_nan()
    } else if expected.is_finite() && got.is_finite() {
        (expected - got).abs() <= 1e-12 * expected.abs().max(1.0)
    } else {
        got == expected
    };
    assert!(ok, "{expr:?}: expected {expected}, got {got}");
}

/// The result as `testUInt32Calc` reads it.
#[track_caller]
fn check_u32(expr: &str, expected: u32) {
    let r = calc(expr);
    let u = if r < 0.0 { r as i32 as u32 } else { r as u32 };
    assert_eq!(u, expected, "{expr:?}: got {r} = {u:#x}");
}

#[track_caller]
fn bad(expr: &str, kind: CalcErrorKind, position: usize) {
    match compile(expr) {
        Ok(p) => panic!("{expr:?} compiled: {p:?}"),
        Err(e) => assert_eq!((e.kind, e.position), (kind, position), "{expr:?}: {e}"),
    }
}

#[test]
fn literals() {
    for (s, v) in [
        ("0", 0.0),
        ("9", 9.0),
        (".1", 0.1),
        ("0.1", 0.1),
        ("5.", 5.0),
        ("2.5e3", 2500.0),
        ("2.5E-3", 0.0025),
        ("1e+2", 100.0),
        ("0X0", 0.0),
        ("0x10", 16.0),
        ("0x7fffffff", 2_147_483_647.0),
        ("0x80000000", -2_147_483_648.0),
        ("0xffffffff", -1.0),
        ("Inf", INF),
        ("Infinity", INF),
        ("NaN", NAN),
        ("nan(123)", NAN),
    ] {
        check(s, v);
    }
}

#[test]
fn operands_and_constants() {
    for (i, name) in "ABCDEFGHIJKL".chars().enumerate() {
        check(&name.to_string(), (i + 1) as f64);
        check(&name.to_ascii_lowercase().to_string(), (i + 1) as f64);
    }
    check("PI", PI);
    check("D2R", PI / 180.0);
    check("R2D", 180.0 / PI);
    let p = compile("VAL+1").unwrap();
    assert_eq!(p.eval(&mut args(), 41.0, &mut CalcRng::default()), Ok(42.0));
}

#[test]
fn rndm_is_the_epics_lcg_and_deterministic() {
    let p = compile("RNDM").unwrap();
    let mut rng = CalcRng::default();
    // seed = 0xa3bf * 1533 + 0x3141 (mod 2^16)
    let seed = 0xa3bfu16.wrapping_mul(1533).wrapping_add(0x3141);
    assert_eq!(
        p.eval(&mut args(), 0.0, &mut rng),
        Ok(f64::from(seed) / 65535.0)
    );
    let mut a = CalcRng::new(7);
    let mut b = CalcRng::new(7);
    for _ in 0..100 {
        let x = p.eval(&mut args(), 0.0, &mut a).unwrap();
        assert!((0.0..=1.0).contains(&x));
        assert_eq!(Ok(x), p.eval(&mut args(), 0.0, &mut b));
    }
    assert!(p.uses_random());
    assert!(!compile("A").unwrap().uses_random());
}

#[test]
fn unary_minus() {
    check("-1", -1.0);
    check("-Inf", -INF);
    check("- -1", 1.0);
    check("--1", 1.0);
    check("-0x80000000", 2_147_483_648.0);
    check("-A", -1.0);
}

#[test]
fn arithmetic() {
    check("2 + 3", 5.0);
    check("Inf + -Inf", NAN);
    check("2 - 3", -1.0);
    check("2 * 3", 6.0);
    check("0 * Inf", NAN);
    check("3 / 2", 1.5);
    check("1 / 0", INF);
    check("-1 / 0", -INF);
    check("2 ^ 10", 1024.0);
    check("2 ** 10", 1024.0);
    check("2 ^ 0.2", 2f64.powf(0.2));
    check("(-0.2) ^ -2", (-0.2f64).powf(-2.0));
    check("(-8) ^ (1/3)", NAN);
}

#[test]
fn modulo_is_integer() {
    check("7 % 4", 3.0);
    check("-7 % 4", -3.0);
    check("63 % 16 % 6", 3.0);
    check("7.9 % 4.9", 3.0);
    check("1 % 0", NAN);
    check("1 % 0.5", NAN);
    check("-0x80000000 % 3", -2.0); // 2147483648 converts to INT_MIN
    check("0x80000000 % -1", 0.0); // INT_MIN % -1 traps in C
}

#[test]
fn comparisons() {
    for (op, results) in [
        ("<", [1.0, 0.0, 0.0]),
        ("<=", [1.0, 1.0, 0.0]),
        (">", [0.0, 0.0, 1.0]),
        (">=", [0.0, 1.0, 1.0]),
        ("=", [0.0, 1.0, 0.0]),
        ("==", [0.0, 1.0, 0.0]),
        ("!=", [1.0, 0.0, 1.0]),
        ("#", [1.0, 0.0, 1.0]),
    ] {
        for ((a, b), r) in [(1, 2), (2, 2), (3, 2)].into_iter().zip(results) {
            check(&format!("{a} {op} {b}"), r);
        }
        let nan_result = if op == "!=" || op == "#" { 1.0 } else { 0.0 };
        check(&format!("NaN {op} NaN"), nan_result);
    }
    check("3 >= 2 >= 3", 0.0);
    check("1 # 0 # 2", 1.0);
    check("-Inf < Inf", 1.0);
}

#[test]
fn logical() {
    for (a, b) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        check(
            &format!("{a} && {b}"),
            f64::from(u8::from(a != 0 && b != 0)),
        );
        check(
            &format!("{a} || {b}"),
            f64::from(u8::from(a != 0 || b != 0)),
        );
    }
    check("2 && 0.5", 1.0);
    check("NaN && 1", 1.0);
    check("!0", 1.0);
    check("!1", 0.0);
    check("!!0", 0.0);
    check("!NaN", 0.0);
    check("!2.5", 0.0);
}

#[test]
fn bitwise_on_32_bit_integers() {
    check("7 & 4", 4.0);
    check("7 AND 4", 4.0);
    check("7 and 4", 4.0);
    check("1 | 8", 9.0);
    check("1 OR 8", 9.0);
    check("3 XOR 9", 10.0);
    check("~5", -6.0);
    check("NOT 5", -6.0);
    check("~~5", 5.0);
    check("8 >> 1", 4.0);
    check("-8 >> 1", -4.0);
    check("8 >>> 1", 4.0);
    check("-8 >>> 1", 2_147_483_644.0);
    check("1 << 4", 16.0);
    check("1 << 31", -2_147_483_648.0);
    check("1 << 33", 2.0); // shift count is masked with 31
    check("1 << -1", -2_147_483_648.0);
    check("3.7 & 7", 3.0);
    check("-1.5 | 0", -1.0);
    check("NaN | 0", 0.0);
    check("3 AND -2", 2.0);
    check_u32("0xaaaaaaaa AND 0xffff0000", 0xaaaa_0000);
    check_u32("0xaaaaaaaa OR 0xffff0000", 0xffff_aaaa);
    check_u32("0xaaaaaaaa XOR 0xffff0000", 0x5555_aaaa);
    check_u32("~0xaaaaaaaa", 0x5555_5555);
    check_u32("0xaaaaaaaa >> 8", 0xffaa_aaaa);
    check_u32("0xaaaaaaaa >>> 8", 0x00aa_aaaa);
    check_u32("0xaaaaaaaa << 8", 0xaaaa_aa00);
    check_u32("0x55555555 >>> 8", 0x0055_5555);
    check_u32("a:=0xaaaaaaaa; b:=0xffff0000; a AND b", 0xaaaa_0000);
    check_u32("-1431655766.1 OR 0", 0xaaaa_aaaa);
    check_u32("2863311530.1 OR 0", 0xaaaa_aaaa);
    check_u32("0xffffffff AND 2863311530.1", 0xaaaa_aaaa);
    check_u32("~ 2863311530.1", 0x5555_5555);
    check_u32("2863311530.1 >>> 0.1", 0xaaaa_aaaa);
    check_u32("-1431655766.1 << 0.1", 0xaaaa_aaaa);
}

#[test]
fn conditional() {
    check("0 ? 1 : 2", 2.0);
    check("1 ? 1 : 2", 1.0);
    check("Inf ? 1 : 2", 1.0);
    check("NaN ? 1 : 2", 1.0);
    check("0 ? 0 ? 2 : 3 : 4", 4.0);
    check("1 ? 0 ? 2 : 3 : 4", 3.0);
    check("1 ? 1 ? 2 : 3 : 4", 2.0);
    check("0 ? 2 : 0 ? 3 : 4", 4.0);
    check("0 ? 2 : 1 ? 3 : 4", 3.0);
    check("1 ? 2 : 0 ? 3 : 4", 2.0);
    check("1+(1?(1<2):(1>2))*2", 3.0);
    check("MAX(A?B:C, 0 ? 5 : D)", 4.0);
}

#[test]
fn assignment_and_statements() {
    for (i, name) in "abcdefghijkl".chars().enumerate() {
        check(&format!("{name} := 0; {name}"), 0.0);
        check(&format!("{name}; {name} := 0"), (i + 1) as f64);
    }
    let p = compile("A:=A+1; B:=A*2; B").unwrap();
    let mut a = args();
    assert_eq!(p.eval(&mut a, 0.0, &mut CalcRng::default()), Ok(4.0));
    assert_eq!((a[0], a[1]), (2.0, 4.0));
    check("(A):=5;A", 5.0);
}

#[test]
fn functions() {
    check("ABS(-1.5)", 1.5);
    check("ABS(1)", 1.0);
    check("SQRT(16)", 4.0);
    check("SQR(10)", 10f64.sqrt());
    check("SQRT(-1)", NAN);
    check("EXP(1)", 1f64.exp());
    check("LOG(5)", 5f64.log10());
    check("LN(5)", 5f64.ln());
    check("LOGE(2)", 2f64.ln());
    // A positive NaN, as the C softIoc's (caget prints "nan", not "-nan").
    for expr in ["LN(-2)", "LOGE(-2)"] {
        let v = compile(expr)
            .unwrap()
            .eval(&mut args(), 0.0, &mut CalcRng::default())
            .unwrap();
        assert!(v.is_nan() && v.is_sign_positive(), "{expr}: {v}");
    }
    check("LOG(0)", -INF);
    check("CEIL(0.5)", 1.0);
    check("CEIL(-0.5)", -0.0);
    check("FLOOR(1.5)", 1.0);
    check("FLOOR(-1.5)", -2.0);
    check("SIN(0.5)", 0.5f64.sin());
    check("COS(0.5)", 0.5f64.cos());
    check("TAN(0.5)", 0.5f64.tan());
    check("ASIN(0.5)", 0.5f64.asin());
    check("ACOS(1)", 0.0);
    check("ACOS(2)", NAN);
    check("ATAN(0.5)", 0.5f64.atan());
    check("ATAN2(1, 2)", 2f64.atan2(1.0)); // arguments backwards, as in EPICS
    check("SINH(0.5)", 0.5f64.sinh());
    check("COSH(0.5)", 0.5f64.cosh());
    check("TANH(0.5)", 0.5f64.tanh());
    check("FMOD(1.5, 1)", 0.5);
    check("FMOD(-1.5, 1)", -0.5);
    check("FMOD(1.5, -1)", 0.5);
    check("FMOD(1.5, 0)", NAN);
    check("SIN A", 1f64.sin());
    check("sin(pi/2)", 1.0);
}

#[test]
fn nint_rounds_half_away_from_zero() {
    check("NINT(0.4)", 0.0);
    check("NINT(0.5)", 1.0);
    check("NINT(0.6)", 1.0);
    check("NINT(-0.4)", 0.0);
    check("NINT(-0.5)", -1.0);
    check("NINT(-0.6)", -1.0);
    check("NINT(1e10)", -2_147_483_648.0);
    check("NINT(NaN)", -2_147_483_648.0);
}

#[test]
fn classification_functions() {
    check("FINITE(0)", 1.0);
    check("FINITE(Inf)", 0.0);
    check("FINITE(-Inf)", 0.0);
    check("FINITE(NaN)", 0.0);
    check("FINITE(0,1,2)", 1.0);
    check("FINITE(0,1,NaN)", 0.0);
    check("FINITE(NaN,1,2)", 0.0);
    check("FINITE(0,-Inf,2)", 0.0);
    check("ISINF(0)", 0.0);
    check("ISINF(Inf)", 1.0);
    check("ISINF(-Inf)", -1.0); // glibc's isinf() keeps the sign
    check("ISINF(NaN)", 0.0);
    check("ISNAN(0)", 0.0);
    check("ISNAN(Inf)", 0.0);
    check("ISNAN(NaN)", 1.0);
    check("ISNAN(0,1,NaN)", 1.0);
    check("ISNAN(NaN,1,2)", 1.0);
    check("ISNAN(0,Inf,2)", 0.0);
}

#[test]
fn min_max_are_variadic_and_propagate_nan() {
    check("MAX(-99)", -99.0);
    check("MAX(1, 2)", 2.0);
    check("MAX(1, Inf)", INF);
    check("MAX(1, NaN)", NAN);
    check("MAX(NaN, 1)", NAN);
    check("MAX(1, 2, NaN, 3)", NAN);
    check("MAX(1,2,3,4,5,6,7,8,9,10,11,12)", 12.0);
    check("MAX(5,4,3,2,1,0,-1,-2,-3,-4,-5,-6)", 5.0);
    check("MIN(99)", 99.0);
    check("MIN(1, 2)", 1.0);
    check("MIN(1, -Inf)", -INF);
    check("MIN(1, NaN)", NAN);
    check("MIN(NaN, 1, 2)", NAN);
    check("MIN(3,2,1,4)", 1.0);
    check("MAX(MIN(0,2),MAX(0),MIN(3,2,1))", 1.0);
    check("MAX A", 1.0);
}

#[test]
fn precedence() {
    // Pairs from epicsCalcTest.cpp; the comment gives the two priorities.
    check("0 ? 1 : 2 | 4", 6.0); // 0 1
    check("1 ? 2 | 4 : 1", 6.0);
    check("0 ? 1 : 2 & 3", 2.0); // 0 2
    check("0 ? 2 : 3 >= 1", 1.0); // 0 3
    check("1 ? 0 == 1 : 2", 0.0);
    check("0 ? 1 : 2 + 4", 6.0); // 0 4
    check("0 ? 1 : 2 * 4", 8.0); // 0 5
    check("0 ? 1 : 2 ** 3", 8.0); // 0 6
    check("1 | 3 XOR 1", 2.0); // 1 1
    check("1 XOR 3 | 1", 3.0);
    check("3 | 1 & 2", 3.0); // 1 2
    check("2 | 4 > 3", 3.0); // 1 3
    check("2 OR 4 > 3", 3.0);
    check("2 | 1 - 3", -2.0); // 1 4
    check("2 | 4 / 2", 2.0); // 1 5
    check("1 | 2 ** 3", 9.0); // 1 6
    check("3 << 2 & 10", 8.0); // 2 2
    check("18 & 6 << 2", 8.0);
    check("18 & 20 >> 2", 4.0);
    check("3 & 4 == 4", 1.0); // 2 3
    check("1 << 2 != 4", 2.0);
    check("16 >>> 2 != 4", 8.0);
    check("0 < 1 ? 2 : 3", 2.0); // 3 0
    check("0 + -1", -1.0); // 4 8
    check("0 - -1", 1.0);
    check("10 + 10 * 2", 30.0); // 4 5
    check("20 + 20 / 2", 30.0);
    check("-1 + 1", 0.0); // 7 4
    check("-1 - 2", -3.0);
    check("-2 ** 2", 4.0); // 7 6: unary minus binds tighter than power
    check("-2 ^ 2", 4.0);
    check("2 ^ 2 ^ 3", 64.0); // power is left-associative
    check("(1 | 2) ** 3", 27.0);
    check("1+(1|2)**3", 28.0);
    check("10 - 4 - 3", 3.0);
    check("24 / 4 / 3", 2.0);
    check("1 || 0 && 0", 1.0); // && (2) binds tighter than || (1)
    check("0 && 0 || 1", 1.0);
    check("1 + 2 < 4", 1.0);
    check("!0 + 1", 2.0); // unary ! binds tightest
    check("SIN 0 + 1", 1.0);
    check("A+B*C>D?SIN(E):F", 5f64.sin());
    check("AORB", 3.0); // names match by prefix, as in EPICS
    check("0XOR1", 1.0); // "0x" with no hex digit reads as 0
}

#[test]
fn inputs_used_follows_calc_arg_usage() {
    let usage = |e: &str| {
        let p = compile(e).unwrap();
        (p.inputs_used(), p.inputs_stored())
    };
    assert_eq!(usage("a"), (0x001, 0));
    assert_eq!(usage("L"), (0x800, 0));
    assert_eq!(usage("A+B+C+D+E+F+G+H+I+J+K+L"), (0xfff, 0));
    assert_eq!(usage("0.1;A:=0"), (0, 0x001));
    assert_eq!(usage("11.1;L:=0"), (0, 0x800));
    assert_eq!(usage("12.1;A:=0;B:=A;C:=B;D:=C"), (0, 0x00f));
    assert_eq!(usage("13.1;B:=A;A:=B;C:=D;D:=C"), (0x009, 0x00f));
    assert_eq!(usage("PI+VAL"), (0, 0));
}

#[test]
fn compile_errors_with_positions() {
    bad("", CalcErrorKind::Empty, 0);
    bad("   ", CalcErrorKind::Incomplete, 3);
    bad("0x0.1", CalcErrorKind::Syntax, 3);
    bad("1*", CalcErrorKind::Incomplete, 2);
    bad("*1", CalcErrorKind::Syntax, 0);
    bad("MIN", CalcErrorKind::Incomplete, 3);
    bad("MIN()", CalcErrorKind::Syntax, 4);
    bad("MIN(A,)", CalcErrorKind::Syntax, 6);
    bad("MAX(A,B,)", CalcErrorKind::Syntax, 8);
    bad("1?", CalcErrorKind::Conditional, 2);
    bad("1?1", CalcErrorKind::Conditional, 3);
    bad("1:2", CalcErrorKind::Conditional, 1);
    bad(":1", CalcErrorKind::Syntax, 0);
    bad("0,", CalcErrorKind::BadSeparator, 1);
    bad("0)", CalcErrorKind::ParenNotOpen, 1);
    bad("1+(2", CalcErrorKind::ParenOpen, 2);
    bad("(1;2)", CalcErrorKind::ParenOpen, 0);
    bad("1 2", CalcErrorKind::Syntax, 2);
    bad("A B", CalcErrorKind::Syntax, 2);
    bad("S2R", CalcErrorKind::Syntax, 0); // sCalc only, not in base
    bad("AA", CalcErrorKind::Syntax, 1); // calcout/sCalc only
    bad("1e999", CalcErrorKind::BadLiteral, 0);
    bad("1e-999", CalcErrorKind::BadLiteral, 0);
    bad("0x100000000", CalcErrorKind::BadLiteral, 0);
    bad("2 + .", CalcErrorKind::BadLiteral, 4);
    bad("1+1;2", CalcErrorKind::Incomplete, 5);
    bad("(1,2);3", CalcErrorKind::TooMany, 5);
    bad("A:=1", CalcErrorKind::Incomplete, 4);
    bad("A:=1;", CalcErrorKind::Incomplete, 5);
    bad("1:=2", CalcErrorKind::BadAssignment, 1);
    bad("VAL:=2;1", CalcErrorKind::BadAssignment, 3);
    bad("PI:=2;1", CalcErrorKind::BadAssignment, 2);
    bad("B+A:=1;A", CalcErrorKind::BadAssignment, 3);
    bad("(A:=1);A", CalcErrorKind::BadAssignment, 2);
    bad("ATAN2(1)", CalcErrorKind::Incomplete, 8);
    bad("SIN(1,2)", CalcErrorKind::Incomplete, 8);
    bad("1 $ 2", CalcErrorKind::Syntax, 2);
    bad("é", CalcErrorKind::Syntax, 0);
    let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    bad(&deep, CalcErrorKind::Overflow, 79);
    let wide = format!("MAX({})", vec!["1"; 100].join(","));
    bad(&wide, CalcErrorKind::Overflow, 162);
    let e = compile("1 + * 2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Syntax error, unknown operator/operand at offset 4"
    );
    assert_eq!(e.kind.code(), 11);
}

#[test]
fn whitespace_and_case() {
    check(" \t1\n+\r2 ", 3.0);
    check("max(a, b)", 2.0);
    check("Sqrt(A+3)", 2.0);
}

#[test]
fn malformed_branches_fail_at_runtime_not_panic() {
    // postfix.c accepts this; the false branch leaves too few values for MAX.
    let p = compile("MAX(A?2,3:4)").unwrap();
    let mut a = args();
    assert_eq!(p.eval(&mut a, 0.0, &mut CalcRng::default()), Ok(3.0));
    a[0] = 0.0;
    assert_eq!(
        p.eval(&mut a, 0.0, &mut CalcRng::default()),
        Err(EvalError::StackUnderflow)
    );
}

#[test]
fn deep_expressions_use_the_whole_stack() {
    // Each "1+(" leaves a value waiting: 31 deep, beyond the 16-entry fast path.
    let n = 30;
    let expr = format!("{}1{}", "1+(".repeat(n), ")".repeat(n));
    check(&expr, (n + 1) as f64);
    // Each level also holds two pending operators; EPICS has room for 79.
    let too_deep = format!("{}1{}", "1+(".repeat(40), ")".repeat(40));
    bad(&too_deep, CalcErrorKind::Overflow, 39 * 3 + 2);
}
