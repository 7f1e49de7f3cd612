//! The EPICS calc expression language.
//!
//! This is the language of the `CALC` field of EPICS base 7.0 `calc` records
//! (`modules/libcom/src/calc/postfix.c` compiles it, `calcPerform.c` runs it).
//! [`compile`] turns an infix expression into a [`Program`] once, when the
//! record is configured; [`Program::eval`] runs it on every process and
//! allocates nothing.
//!
//! # The language
//!
//! * Operands: inputs `A`..`L`, `VAL` (the record's previous value), the
//!   constants `PI`, `D2R`, `R2D`, `RNDM` (a pseudo-random number in
//!   `[0, 1]`), decimal literals (`1`, `.5`, `2.5e-3`, `INF`, `INFINITY`,
//!   `NAN`) and hexadecimal literals (`0x1F`, read as an unsigned 32-bit
//!   integer and then reinterpreted as signed, so `0xFFFFFFFF` is `-1`).
//! * Binary operators, from loosest to tightest binding; all are
//!   left-associative, so `2^3^2` is `(2^3)^2`:
//!
//!   | priority | operators |
//!   |---|---|
//!   | 0 | `?:` (right-associative), `:=`, `;` |
//!   | 1 | <code>&#124;&#124;</code> <code>&#124;</code> `OR` `XOR` |
//!   | 2 | `&&` `&` `AND` `<<` `>>` `>>>` |
//!   | 3 | `<` `<=` `>` `>=` `=` `==` `!=` `#` |
//!   | 4 | `+` `-` |
//!   | 5 | `*` `/` `%` |
//!   | 6 | `^` `**` |
//!   | 7 | unary `-` `!` `~` `NOT` and every function |
//!
//!   Unary operators bind tighter than `^`, so `-2^2` is `4`.
//! * Functions: `ABS SQRT SQR EXP LOG LN LOGE CEIL FLOOR NINT SIN COS TAN
//!   ASIN ACOS ATAN SINH COSH TANH ISINF`, two-argument `ATAN2 FMOD`,
//!   variadic `MIN MAX FINITE ISNAN`. A one-argument function needs no
//!   parentheses (`SIN A`). `ATAN2(x, y)` is C's `atan2(y, x)`, as in EPICS.
//! * Statements: `A:=expr` stores into an input; statements are separated
//!   by `;` and exactly one statement (usually the last) leaves the result.
//!   `A:=1` alone is incomplete: write `A:=1;A`.
//! * Keywords and names are case-insensitive; names are matched by prefix
//!   with no word boundary, exactly as EPICS does (`AORB` is `A OR B`).
//!
//! Bitwise operators, `%` and `NINT` convert their operands to 32-bit
//! integers the way `calcPerform.c` does on x86-64 Linux: negative values
//! convert as signed, non-negative ones as unsigned (so `2863311530 OR 0` is
//! `-1431655766`), `%` and `NINT` truncate, and out-of-range or NaN values
//! give what the x86-64 conversion instructions give.
//!
//! # Differences from EPICS base
//!
//! * A hexadecimal literal whose encoded bytes happen to look like an input
//!   fetch is not accepted as an assignment target (`postfix.c` inspects the
//!   last output byte and would accept it).
//! * 80 or more pending operators (e.g. 80 nested parentheses) is
//!   [`CalcErrorKind::Overflow`]; EPICS's translation stack holds 79 and
//!   `postfix.c` overruns it unchecked.
//! * `S2R`, `R2S` and the inputs `AA`..`LL` belong to sCalc/calcout
//!   extensions, not base `postfix.c`, and are syntax errors here too.
//! * `INT_MIN % -1` gives `0` where C traps.
//! * Evaluation that would read below the runtime stack (possible only with
//!   malformed programs such as `MAX(1?2,3:4)` taking the short branch) is an
//!   [`EvalError`] rather than undefined behaviour.

use std::f64::consts::PI;
use std::fmt;

/// Number of inputs, `A`..`L` (`CALCPERFORM_NARGS` in `postfix.h`).
pub const NUM_INPUTS: usize = 12;

/// Depth of the evaluation stack (`CALCPERFORM_STACK` in `postfix.h`).
pub const STACK_SIZE: usize = 80;

/// Compiles an infix calc expression.
///
/// Errors carry the [`CalcErrorKind`] `postfix()` would report and the byte
/// offset in `expr` where it was detected.
pub fn compile(expr: &str) -> Result<Program, CalcError> {
    let src = expr.as_bytes();
    if src.is_empty() {
        return Err(CalcError {
            kind: CalcErrorKind::Empty,
            position: 0,
        });
    }
    let mut c = Compiler {
        src,
        pos: 0,
        out: Vec::new(),
        stack: Vec::new(),
        operand_needed: true,
        depth: 0,
        max_depth: 0,
        cond_count: 0,
    };
    c.run()?;
    let mut ops = c.out;
    resolve_jumps(&mut ops);
    let (inputs, stores) = arg_usage(&ops);
    let uses_random = ops.iter().any(|op| matches!(op, Op::Random));
    Ok(Program {
        ops: ops.into_boxed_slice(),
        inputs,
        stores,
        uses_random,
        small_stack: c.max_depth <= SMALL_STACK as i32,
    })
}

/// A compiled calc expression, ready to evaluate any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    ops: Box<[Op]>,
    inputs: u16,
    stores: u16,
    uses_random: bool,
    /// Whether the compile-time stack depth fits the small stack.
    small_stack: bool,
}

/// Stack size tried first: clearing 80 entries on every call costs more than
/// evaluating a typical expression.
const SMALL_STACK: usize = 16;

impl Program {
    /// Evaluates the program.
    ///
    /// `inputs` are the values of `A`..`L`; assignments (`A:=...`) write to
    /// them, as they write to the record's fields in EPICS. `prev_val` is
    /// what `VAL` reads. `rng` supplies `RNDM`. No allocation happens here.
    pub fn eval(
        &self,
        inputs: &mut [f64; NUM_INPUTS],
        prev_val: f64,
        rng: &mut CalcRng,
    ) -> Result<f64, EvalError> {
        if self.small_stack {
            // Malformed conditionals can need more than the compile-time
            // depth; then start again, from the same state, on the full stack.
            let saved = (*inputs, *rng);
            match self.run::<SMALL_STACK>(inputs, prev_val, rng) {
                Err(EvalError::StackOverflow) => (*inputs, *rng) = saved,
                result => return result,
            }
        }
        self.run::<STACK_SIZE>(inputs, prev_val, rng)
    }

    fn run<const N: usize>(
        &self,
        inputs: &mut [f64; NUM_INPUTS],
        prev_val: f64,
        rng: &mut CalcRng,
    ) -> Result<f64, EvalError> {
        let mut st = Stack::<N> {
            data: [0.0; N],
            len: 0,
        };
        let mut pc = 0usize;
        while let Some(op) = self.ops.get(pc) {
            pc += 1;
            match *op {
                Op::Lit(v) => st.push(v)?,
                Op::Val => st.push(prev_val)?,
                Op::Fetch(i) => {
                    let v = inputs.get(usize::from(i)).copied().unwrap_or(f64::NAN);
                    st.push(v)?;
                }
                Op::Store(i) => {
                    let v = st.pop()?;
                    if let Some(slot) = inputs.get_mut(usize::from(i)) {
                        *slot = v;
                    }
                }
                Op::Pi => st.push(PI)?,
                Op::D2r => st.push(PI / 180.0)?,
                Op::R2d => st.push(180.0 / PI)?,
                Op::Random => st.push(rng.next_value())?,
                Op::Neg => st.unary(|x| -x)?,
                Op::Add => st.binary(|a, b| a + b)?,
                Op::Sub => st.binary(|a, b| a - b)?,
                Op::Mul => st.binary(|a, b| a * b)?,
                Op::Div => st.binary(|a, b| a / b)?,
                Op::Mod => st.binary(|a, b| {
                    let d = cvt_i32(b);
                    if d == 0 {
                        f64::NAN
                    } else {
                        f64::from(cvt_i32(a).wrapping_rem(d))
                    }
                })?,
                Op::Pow => st.binary(f64::powf)?,
                Op::Abs => st.unary(f64::abs)?,
                Op::Exp => st.unary(f64::exp)?,
                Op::Log10 => st.unary(f64::log10)?,
                // The C softIoc's LN of a negative number is a positive
                // NaN (caget prints "nan"); Rust's ln gives one with the
                // sign bit set, which prints "-nan".
                Op::Ln => st.unary(|x| if x < 0.0 { f64::NAN } else { x.ln() })?,
                Op::Sqrt => st.unary(f64::sqrt)?,
                Op::Max(n) => {
                    for _ in 1..n {
                        let b = st.pop()?;
                        let a = st.top()?;
                        if *a < b || b.is_nan() {
                            *a = b;
                        }
                    }
                }
                Op::Min(n) => {
                    for _ in 1..n {
                        let b = st.pop()?;
                        let a = st.top()?;
                        if *a > b || b.is_nan() {
                            *a = b;
                        }
                    }
                }
                Op::Acos => st.unary(f64::acos)?,
                Op::Asin => st.unary(f64::asin)?,
                Op::Atan => st.unary(f64::atan)?,
                // calcPerform.c: atan2(top, next), arguments backwards.
                Op::Atan2 => st.binary(|a, b| b.atan2(a))?,
                Op::Cos => st.unary(f64::cos)?,
                Op::Cosh => st.unary(f64::cosh)?,
                Op::Sin => st.unary(f64::sin)?,
                Op::Sinh => st.unary(f64::sinh)?,
                Op::Tan => st.unary(f64::tan)?,
                Op::Tanh => st.unary(f64::tanh)?,
                Op::Ceil => st.unary(f64::ceil)?,
                Op::Floor => st.unary(f64::floor)?,
                Op::Fmod => st.binary(|a, b| a % b)?,
                Op::Finite(n) => {
                    let mut r = st.top()?.is_finite();
                    for _ in 1..n {
                        st.pop()?;
                        r = r && st.top()?.is_finite();
                    }
                    *st.top()? = bool_f64(r);
                }
                Op::IsNan(n) => {
                    let mut r = st.top()?.is_nan();
                    for _ in 1..n {
                        st.pop()?;
                        r = r || st.top()?.is_nan();
                    }
                    *st.top()? = bool_f64(r);
                }
                // glibc's isinf() (GCC's __builtin_isinf_sign) gives -1 for -inf.
                Op::IsInf => st.unary(|x| {
                    if x == f64::INFINITY {
                        1.0
                    } else if x == f64::NEG_INFINITY {
                        -1.0
                    } else {
                        0.0
                    }
                })?,
                Op::Nint => {
                    st.unary(|x| f64::from(cvt_i32(if x >= 0.0 { x + 0.5 } else { x - 0.5 })))?
                }
                Op::RelOr => st.binary(|a, b| bool_f64(a != 0.0 || b != 0.0))?,
                Op::RelAnd => st.binary(|a, b| bool_f64(a != 0.0 && b != 0.0))?,
                Op::RelNot => st.unary(|x| bool_f64(x == 0.0))?,
                Op::BitOr => st.binary(|a, b| f64::from(d2i(a) | d2i(b)))?,
                Op::BitAnd => st.binary(|a, b| f64::from(d2i(a) & d2i(b)))?,
                Op::BitXor => st.binary(|a, b| f64::from(d2i(a) ^ d2i(b)))?,
                Op::BitNot => st.unary(|x| f64::from(!d2i(x)))?,
                Op::Shr => st.binary(|a, b| f64::from(d2i(a) >> (d2i(b) & 31)))?,
                Op::Shl => st.binary(|a, b| {
                    let n = u32::try_from(d2i(b) & 31).unwrap_or(0);
                    f64::from(d2i(a).wrapping_shl(n))
                })?,
                Op::ShrLogic => st.binary(|a, b| f64::from(d2ui(a) >> (d2ui(b) & 31)))?,
                Op::Ne => st.binary(|a, b| bool_f64(a != b))?,
                Op::Lt => st.binary(|a, b| bool_f64(a < b))?,
                Op::Le => st.binary(|a, b| bool_f64(a <= b))?,
                Op::Eq => st.binary(|a, b| bool_f64(a == b))?,
                Op::Ge => st.binary(|a, b| bool_f64(a >= b))?,
                Op::Gt => st.binary(|a, b| bool_f64(a > b))?,
                Op::CondIf(target) => {
                    if st.pop()? == 0.0 {
                        pc = jump(target)?;
                    }
                }
                Op::CondElse(target) => pc = jump(target)?,
                Op::CondEnd => {}
            }
        }
        if st.len != 1 {
            return Err(EvalError::ResultDepth(st.len));
        }
        st.pop()
    }

    /// Bitmask of the inputs the program reads before assigning them: bit 0
    /// is `A`, bit 11 is `L` (`calcArgUsage()`'s `inputs`).
    pub fn inputs_used(&self) -> u16 {
        self.inputs
    }

    /// Bitmask of the inputs the program assigns with `:=` (bit 0 is `A`).
    pub fn inputs_stored(&self) -> u16 {
        self.stores
    }

    /// Whether the program uses `RNDM` (and so is not a pure function of its
    /// inputs).
    pub fn uses_random(&self) -> bool {
        self.uses_random
    }
}

/// Why an expression did not compile: the `CALC_ERR_*` code of `postfix.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CalcErrorKind {
    /// More than one result left by a statement (`CALC_ERR_TOOMANY`).
    TooMany,
    /// A numeric literal that does not parse or is out of range
    /// (`CALC_ERR_BAD_LITERAL`).
    BadLiteral,
    /// `:=` after something other than a bare input (`CALC_ERR_BAD_ASSIGNMENT`).
    BadAssignment,
    /// A comma outside function parentheses (`CALC_ERR_BAD_SEPERATOR`).
    BadSeparator,
    /// A `)` with no matching `(` (`CALC_ERR_PAREN_NOT_OPEN`).
    ParenNotOpen,
    /// A `(` still open at the end of a statement (`CALC_ERR_PAREN_OPEN`).
    ParenOpen,
    /// Unbalanced `?` and `:` (`CALC_ERR_CONDITIONAL`).
    Conditional,
    /// An operand is missing (`CALC_ERR_INCOMPLETE`).
    Incomplete,
    /// An operator lacks operands (`CALC_ERR_UNDERFLOW`).
    Underflow,
    /// The expression needs more than [`STACK_SIZE`] stack entries
    /// (`CALC_ERR_OVERFLOW`).
    Overflow,
    /// An unknown operator or operand (`CALC_ERR_SYNTAX`).
    Syntax,
    /// The expression is empty (`CALC_ERR_NULL_ARG`).
    Empty,
}

impl CalcErrorKind {
    /// The numeric `CALC_ERR_*` code from `postfix.h`.
    pub fn code(self) -> i16 {
        match self {
            Self::TooMany => 1,
            Self::BadLiteral => 2,
            Self::BadAssignment => 3,
            Self::BadSeparator => 4,
            Self::ParenNotOpen => 5,
            Self::ParenOpen => 6,
            Self::Conditional => 7,
            Self::Incomplete => 8,
            Self::Underflow => 9,
            Self::Overflow => 10,
            Self::Syntax => 11,
            Self::Empty => 12,
        }
    }

    /// The message `calcErrorStr()` gives for this code.
    pub fn message(self) -> &'static str {
        match self {
            Self::TooMany => "Too many results returned",
            Self::BadLiteral => "Badly formed numeric literal",
            Self::BadAssignment => "Bad assignment target",
            Self::BadSeparator => "Comma without enclosing parentheses",
            Self::ParenNotOpen => "Close parenthesis found without open",
            Self::ParenOpen => "Parenthesis still open at end of expression",
            Self::Conditional => "Unbalanced conditional ?: operators",
            Self::Incomplete => "Incomplete expression, operand missing",
            Self::Underflow => "Not enough operands provided",
            Self::Overflow => "Runtime stack overflow",
            Self::Syntax => "Syntax error, unknown operator/operand",
            Self::Empty => "NULL or empty input argument to postfix()",
        }
    }
}

/// A compile error: what went wrong and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CalcError {
    /// What went wrong.
    pub kind: CalcErrorKind,
    /// Byte offset in the expression where the error was detected; the
    /// expression's length for errors found at its end.
    pub position: usize,
}

impl fmt::Display for CalcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.kind.message(), self.position)
    }
}

impl std::error::Error for CalcError {}

/// A runtime failure of [`Program::eval`] (where `calcPerform()` returns -1).
///
/// Programs that [`compile`] accepts only fail with malformed conditionals
/// whose branches leave different numbers of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvalError {
    /// An operator found too few values on the stack.
    StackUnderflow,
    /// More than [`STACK_SIZE`] values on the stack.
    StackOverflow,
    /// A `?` or `:` has no matching `:` or end of conditional.
    UnmatchedConditional,
    /// The program left this many values instead of one.
    ResultDepth(usize),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StackUnderflow => f.write_str("calc stack underflow"),
            Self::StackOverflow => f.write_str("calc stack overflow"),
            Self::UnmatchedConditional => f.write_str("unmatched conditional"),
            Self::ResultDepth(n) => write!(f, "calc left {n} values instead of 1"),
        }
    }
}

impl std::error::Error for EvalError {}

/// The generator behind `RNDM`: the 16-bit linear congruential generator of
/// `calcPerform.c` (`seed = seed * 1533 + 0x3141`, result `seed / 65535`).
///
/// EPICS keeps one global generator; an IOC that wants the same sequence
/// shares one `CalcRng` among its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalcRng {
    seed: u16,
}

impl CalcRng {
    /// A generator starting from `seed`.
    pub fn new(seed: u16) -> Self {
        Self { seed }
    }

    /// The next value, in `[0, 1]`.
    pub fn next_value(&mut self) -> f64 {
        const MULT: u16 = 191 * 8 + 5;
        const ADD: u16 = 0x3141;
        self.seed = self.seed.wrapping_mul(MULT).wrapping_add(ADD);
        f64::from(self.seed) / 65535.0
    }
}

impl Default for CalcRng {
    /// The generator with EPICS's initial seed, `0xa3bf`.
    fn default() -> Self {
        Self::new(0xa3bf)
    }
}

// ---------------------------------------------------------------------------
// Instructions

/// One instruction; jump targets are indices into the program, resolved at
/// compile time (`u32::MAX` when `cond_search()` would find no match).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Lit(f64),
    Val,
    Fetch(u8),
    Store(u8),
    Pi,
    D2r,
    R2d,
    Random,
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Abs,
    Exp,
    Log10,
    Ln,
    Max(u16),
    Min(u16),
    Sqrt,
    Acos,
    Asin,
    Atan,
    Atan2,
    Cos,
    Cosh,
    Sin,
    Sinh,
    Tan,
    Tanh,
    Ceil,
    Floor,
    Fmod,
    Finite(u16),
    IsInf,
    IsNan(u16),
    Nint,
    RelOr,
    RelAnd,
    RelNot,
    BitOr,
    BitAnd,
    BitXor,
    BitNot,
    Shr,
    Shl,
    ShrLogic,
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    CondIf(u32),
    CondElse(u32),
    CondEnd,
}

const NO_TARGET: u32 = u32::MAX;

fn jump(target: u32) -> Result<usize, EvalError> {
    if target == NO_TARGET {
        Err(EvalError::UnmatchedConditional)
    } else {
        usize::try_from(target).map_err(|_| EvalError::UnmatchedConditional)
    }
}

fn bool_f64(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// `(epicsInt32) x` as x86-64 `cvttsd2si` does it: NaN and out-of-range
/// values give `INT_MIN`.
fn cvt_i32(x: f64) -> i32 {
    let t = x.trunc();
    if t.is_nan() || !(-2_147_483_648.0..=2_147_483_647.0).contains(&t) {
        i32::MIN
    } else {
        t as i32
    }
}

/// `(epicsUInt32) x` for `x >= 0` or NaN as x86-64 compiles it (a 64-bit
/// `cvttsd2si`, keeping the low 32 bits).
fn cvt_u32(x: f64) -> u32 {
    let t = x.trunc();
    if t.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
        0
    } else {
        // Truncation to the low 32 bits is the point.
        (t as i64) as u32
    }
}

/// `d2i()` of `calcPerform.c`.
fn d2i(x: f64) -> i32 {
    if x < 0.0 {
        cvt_i32(x)
    } else {
        cvt_u32(x) as i32
    }
}

/// `d2ui()` of `calcPerform.c`.
fn d2ui(x: f64) -> u32 {
    if x < 0.0 {
        cvt_i32(x) as u32
    } else {
        cvt_u32(x)
    }
}

struct Stack<const N: usize> {
    data: [f64; N],
    len: usize,
}

impl<const N: usize> Stack<N> {
    #[inline(always)]
    fn push(&mut self, v: f64) -> Result<(), EvalError> {
        let slot = self
            .data
            .get_mut(self.len)
            .ok_or(EvalError::StackOverflow)?;
        *slot = v;
        self.len += 1;
        Ok(())
    }

    #[inline(always)]
    fn pop(&mut self) -> Result<f64, EvalError> {
        let i = self.len.checked_sub(1).ok_or(EvalError::StackUnderflow)?;
        let v = *self.data.get(i).ok_or(EvalError::StackUnderflow)?;
        self.len = i;
        Ok(v)
    }

    #[inline(always)]
    fn top(&mut self) -> Result<&mut f64, EvalError> {
        let i = self.len.checked_sub(1).ok_or(EvalError::StackUnderflow)?;
        self.data.get_mut(i).ok_or(EvalError::StackUnderflow)
    }

    #[inline(always)]
    fn unary(&mut self, f: impl FnOnce(f64) -> f64) -> Result<(), EvalError> {
        let t = self.top()?;
        *t = f(*t);
        Ok(())
    }

    #[inline(always)]
    fn binary(&mut self, f: impl FnOnce(f64, f64) -> f64) -> Result<(), EvalError> {
        let b = self.pop()?;
        let a = self.top()?;
        *a = f(*a, b);
        Ok(())
    }
}

/// `cond_search()` of `calcPerform.c`, done once at compile time.
fn resolve_jumps(ops: &mut [Op]) {
    for i in 0..ops.len() {
        let want_else = match ops.get(i) {
            Some(Op::CondIf(_)) => true,
            Some(Op::CondElse(_)) => false,
            _ => continue,
        };
        let mut count = 1u32;
        let mut target = NO_TARGET;
        for (j, op) in ops.iter().enumerate().skip(i + 1) {
            let matched = match op {
                Op::CondElse(_) => want_else,
                Op::CondEnd => !want_else,
                _ => false,
            };
            if matched {
                count -= 1;
                if count == 0 {
                    target = u32::try_from(j + 1).unwrap_or(NO_TARGET);
                    break;
                }
            } else if matches!(op, Op::CondIf(_)) {
                count += 1;
            }
        }
        if let Some(op) = ops.get_mut(i) {
            *op = if want_else {
                Op::CondIf(target)
            } else {
                Op::CondElse(target)
            };
        }
    }
}

/// `calcArgUsage()`: inputs read before being stored, and inputs stored.
fn arg_usage(ops: &[Op]) -> (u16, u16) {
    let mut inputs = 0u16;
    let mut stores = 0u16;
    for op in ops {
        match *op {
            Op::Fetch(i) => inputs |= (1u16 << (i & 15)) & !stores,
            Op::Store(i) => stores |= 1u16 << (i & 15),
            _ => {}
        }
    }
    (inputs, stores)
}

// ---------------------------------------------------------------------------
// Compiler: the operator-precedence translation of postfix.c

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Operand,
    Literal,
    Store,
    Unary,
    Vararg,
    Binary,
    Separator,
    CloseParen,
    Conditional,
    Terminator,
}

#[derive(Debug, Clone, Copy)]
enum Lit {
    Double,
    Hex,
}

/// What an element generates.
#[derive(Debug, Clone, Copy)]
enum Code {
    Op(Op),
    Lit(Lit),
    None,
}

/// A row of the element tables of `postfix.c`.
#[derive(Debug, Clone, Copy)]
struct Element {
    name: &'static str,
    stack_pri: u8,
    coming_pri: u8,
    effect: i8,
    kind: Kind,
    code: Code,
}

const fn el(name: &'static str, sp: u8, cp: u8, effect: i8, kind: Kind, code: Code) -> Element {
    Element {
        name,
        stack_pri: sp,
        coming_pri: cp,
        effect,
        kind,
        code,
    }
}

const fn un(name: &'static str, effect: i8, op: Op) -> Element {
    el(name, 7, 8, effect, Kind::Unary, Code::Op(op))
}

const fn var(name: &'static str, op: Op) -> Element {
    el(name, 7, 8, 0, Kind::Vararg, Code::Op(op))
}

const fn opnd(name: &'static str, op: Op) -> Element {
    el(name, 0, 0, 1, Kind::Operand, Code::Op(op))
}

const fn lit(name: &'static str, l: Lit) -> Element {
    el(name, 0, 0, 1, Kind::Literal, Code::Lit(l))
}

const fn bin(name: &'static str, pri: u8, op: Op) -> Element {
    el(name, pri, pri, -1, Kind::Binary, Code::Op(op))
}

/// Elements valid where an operand is expected. Searched from the end, so a
/// name sorts after any name that is its prefix.
const OPERANDS: &[Element] = &[
    un("!", 0, Op::RelNot),
    el("(", 0, 8, 0, Kind::Unary, Code::None),
    un("-", 0, Op::Neg),
    lit(".", Lit::Double),
    lit("0", Lit::Double),
    lit("0X", Lit::Hex),
    lit("1", Lit::Double),
    lit("2", Lit::Double),
    lit("3", Lit::Double),
    lit("4", Lit::Double),
    lit("5", Lit::Double),
    lit("6", Lit::Double),
    lit("7", Lit::Double),
    lit("8", Lit::Double),
    lit("9", Lit::Double),
    opnd("A", Op::Fetch(0)),
    un("ABS", 0, Op::Abs),
    un("ACOS", 0, Op::Acos),
    un("ASIN", 0, Op::Asin),
    un("ATAN", 0, Op::Atan),
    un("ATAN2", -1, Op::Atan2),
    opnd("B", Op::Fetch(1)),
    opnd("C", Op::Fetch(2)),
    un("CEIL", 0, Op::Ceil),
    un("COS", 0, Op::Cos),
    un("COSH", 0, Op::Cosh),
    opnd("D", Op::Fetch(3)),
    opnd("D2R", Op::D2r),
    opnd("E", Op::Fetch(4)),
    un("EXP", 0, Op::Exp),
    opnd("F", Op::Fetch(5)),
    var("FINITE", Op::Finite(0)),
    un("FLOOR", 0, Op::Floor),
    un("FMOD", -1, Op::Fmod),
    opnd("G", Op::Fetch(6)),
    opnd("H", Op::Fetch(7)),
    opnd("I", Op::Fetch(8)),
    lit("INF", Lit::Double),
    un("ISINF", 0, Op::IsInf),
    var("ISNAN", Op::IsNan(0)),
    opnd("J", Op::Fetch(9)),
    opnd("K", Op::Fetch(10)),
    opnd("L", Op::Fetch(11)),
    un("LN", 0, Op::Ln),
    un("LOG", 0, Op::Log10),
    un("LOGE", 0, Op::Ln),
    var("MAX", Op::Max(0)),
    var("MIN", Op::Min(0)),
    un("NINT", 0, Op::Nint),
    lit("NAN", Lit::Double),
    un("NOT", 0, Op::BitNot),
    opnd("PI", Op::Pi),
    opnd("R2D", Op::R2d),
    opnd("RNDM", Op::Random),
    un("SIN", 0, Op::Sin),
    un("SINH", 0, Op::Sinh),
    un("SQR", 0, Op::Sqrt),
    un("SQRT", 0, Op::Sqrt),
    un("TAN", 0, Op::Tan),
    un("TANH", 0, Op::Tanh),
    opnd("VAL", Op::Val),
    un("~", 0, Op::BitNot),
];

/// Elements valid after an operand, searched from the end like [`OPERANDS`].
const OPERATORS: &[Element] = &[
    bin("!=", 3, Op::Ne),
    bin("#", 3, Op::Ne),
    bin("%", 5, Op::Mod),
    bin("&", 2, Op::BitAnd),
    bin("&&", 2, Op::RelAnd),
    el(")", 0, 0, 0, Kind::CloseParen, Code::None),
    bin("*", 5, Op::Mul),
    bin("**", 6, Op::Pow),
    bin("+", 4, Op::Add),
    el(",", 0, 0, 0, Kind::Separator, Code::None),
    bin("-", 4, Op::Sub),
    bin("/", 5, Op::Div),
    el(":", 0, 0, -1, Kind::Conditional, Code::Op(Op::CondElse(0))),
    el(":=", 0, 0, -1, Kind::Store, Code::Op(Op::Store(0))),
    el(";", 0, 0, 0, Kind::Terminator, Code::None),
    bin("<", 3, Op::Lt),
    bin("<<", 2, Op::Shl),
    bin("<=", 3, Op::Le),
    bin("=", 3, Op::Eq),
    bin("==", 3, Op::Eq),
    bin(">", 3, Op::Gt),
    bin(">=", 3, Op::Ge),
    bin(">>", 2, Op::Shr),
    bin(">>>", 2, Op::ShrLogic),
    el("?", 0, 0, -1, Kind::Conditional, Code::Op(Op::CondIf(0))),
    bin("AND", 2, Op::BitAnd),
    bin("OR", 1, Op::BitOr),
    bin("XOR", 1, Op::BitXor),
    bin("^", 6, Op::Pow),
    bin("|", 1, Op::BitOr),
    bin("||", 1, Op::RelOr),
];

/// An element on the translation stack.
#[derive(Debug, Clone, Copy)]
struct Pending {
    stack_pri: u8,
    effect: i32,
    kind: Kind,
    code: Code,
    is_paren: bool,
    position: usize,
}

struct Compiler<'a> {
    src: &'a [u8],
    pos: usize,
    out: Vec<Op>,
    stack: Vec<Pending>,
    operand_needed: bool,
    depth: i32,
    max_depth: i32,
    cond_count: i32,
}

fn err<T>(kind: CalcErrorKind, position: usize) -> Result<T, CalcError> {
    Err(CalcError { kind, position })
}

fn lookup(operand: bool, rest: &[u8]) -> Option<&'static Element> {
    let table = if operand { OPERANDS } else { OPERATORS };
    table.iter().rev().find(|e| {
        let n = e.name.as_bytes();
        rest.get(..n.len())
            .is_some_and(|r| r.eq_ignore_ascii_case(n))
    })
}

impl Compiler<'_> {
    fn skip_space(&mut self) {
        while self
            .src
            .get(self.pos)
            .is_some_and(|&c| c.is_ascii_whitespace() || c == 0x0b)
        {
            self.pos += 1;
        }
    }

    /// Moves the top of the translation stack to the output.
    fn emit_top(&mut self) {
        if let Some(p) = self.stack.pop() {
            if let Code::Op(op) = p.code {
                let nargs = u16::try_from(1 - p.effect).unwrap_or(1);
                self.out.push(match op {
                    Op::Max(_) => Op::Max(nargs),
                    Op::Min(_) => Op::Min(nargs),
                    Op::Finite(_) => Op::Finite(nargs),
                    Op::IsNan(_) => Op::IsNan(nargs),
                    other => other,
                });
            }
            self.depth += p.effect;
        }
    }

    /// Emits stacked operators while their stack priority passes `pred`.
    fn emit_while(&mut self, pred: impl Fn(u8) -> bool) {
        while self.stack.last().is_some_and(|p| pred(p.stack_pri)) {
            self.emit_top();
        }
    }

    /// Emits operators down to the innermost `(`, which stays.
    fn emit_to_paren(&mut self, kind: CalcErrorKind, at: usize) -> Result<(), CalcError> {
        loop {
            match self.stack.last() {
                None => return err(kind, at),
                Some(p) if p.is_paren => return Ok(()),
                Some(_) if self.stack.len() <= 1 => return err(kind, at),
                Some(_) => self.emit_top(),
            }
        }
    }

    /// Emits everything on the translation stack (at `;` and at the end).
    fn emit_all(&mut self) -> Result<(), CalcError> {
        while let Some(p) = self.stack.last() {
            if p.is_paren {
                return err(CalcErrorKind::ParenOpen, p.position);
            }
            self.emit_top();
        }
        Ok(())
    }

    fn push(&mut self, e: &Element, start: usize) {
        self.stack.push(Pending {
            stack_pri: e.stack_pri,
            effect: i32::from(e.effect),
            kind: e.kind,
            code: e.code,
            is_paren: e.name == "(",
            position: start,
        });
    }

    fn run(&mut self) -> Result<(), CalcError> {
        loop {
            self.skip_space();
            let start = self.pos;
            let Some(rest) = self.src.get(start..) else {
                break;
            };
            if rest.is_empty() {
                break;
            }
            let Some(e) = lookup(self.operand_needed, rest) else {
                break;
            };
            self.pos += e.name.len();
            self.element(e, start)?;
            self.max_depth = self.max_depth.max(self.depth);
            if self.depth < 0 {
                return err(CalcErrorKind::Underflow, start);
            }
            if self.depth >= STACK_SIZE as i32 || self.stack.len() >= STACK_SIZE {
                return err(CalcErrorKind::Overflow, start);
            }
        }
        let end = self.src.len();
        if self.pos < end {
            return err(CalcErrorKind::Syntax, self.pos);
        }
        self.emit_all()?;
        if self.cond_count != 0 {
            return err(CalcErrorKind::Conditional, end);
        }
        if self.operand_needed || self.depth != 1 {
            return err(CalcErrorKind::Incomplete, end);
        }
        Ok(())
    }

    fn element(&mut self, e: &Element, start: usize) -> Result<(), CalcError> {
        match e.kind {
            Kind::Operand => {
                if let Code::Op(op) = e.code {
                    self.out.push(op);
                }
                self.depth += i32::from(e.effect);
                self.operand_needed = false;
            }
            Kind::Literal => {
                self.depth += i32::from(e.effect);
                let parsed = match e.code {
                    Code::Lit(Lit::Hex) => parse_hex(self.src, start),
                    _ => parse_double(self.src, start),
                };
                let Some((value, end)) = parsed else {
                    return err(CalcErrorKind::BadLiteral, start);
                };
                self.pos = end;
                self.out.push(Op::Lit(value));
                self.operand_needed = false;
            }
            Kind::Store => {
                let target = match self.out.last() {
                    Some(Op::Fetch(i)) if self.stack.is_empty() => *i,
                    _ => return err(CalcErrorKind::BadAssignment, start),
                };
                self.out.pop();
                self.stack.push(Pending {
                    stack_pri: e.stack_pri,
                    effect: i32::from(e.effect),
                    kind: e.kind,
                    code: Code::Op(Op::Store(target)),
                    is_paren: false,
                    position: start,
                });
                self.depth -= 1;
                self.operand_needed = true;
            }
            Kind::Unary | Kind::Vararg => {
                self.emit_while(|sp| sp >= e.coming_pri);
                self.push(e, start);
            }
            Kind::Binary => {
                self.emit_while(|sp| sp >= e.coming_pri);
                self.push(e, start);
                self.operand_needed = true;
            }
            Kind::Separator => {
                self.emit_to_paren(CalcErrorKind::BadSeparator, start)?;
                if let Some(paren) = self.stack.last_mut() {
                    paren.effect -= 1;
                }
                self.operand_needed = true;
            }
            Kind::CloseParen => {
                self.emit_to_paren(CalcErrorKind::ParenNotOpen, start)?;
                let paren_effect = self.stack.pop().map_or(0, |p| p.effect);
                // A variadic function before the `(` takes its argument count.
                if let Some(f) = self.stack.last_mut() {
                    if f.kind == Kind::Vararg {
                        f.effect = paren_effect;
                        if f.effect > 0 {
                            return err(CalcErrorKind::Incomplete, start);
                        }
                    }
                }
            }
            Kind::Conditional => {
                self.emit_while(|sp| sp > e.coming_pri);
                if let Code::Op(op) = e.code {
                    self.out.push(op);
                }
                self.depth += i32::from(e.effect);
                if matches!(e.code, Code::Op(Op::CondElse(_))) {
                    self.cond_count -= 1;
                    if self.cond_count < 0 {
                        return err(CalcErrorKind::Conditional, start);
                    }
                    self.stack.push(Pending {
                        stack_pri: e.stack_pri,
                        effect: 0,
                        kind: e.kind,
                        code: Code::Op(Op::CondEnd),
                        is_paren: false,
                        position: start,
                    });
                } else {
                    self.cond_count += 1;
                }
                self.operand_needed = true;
            }
            Kind::Terminator => {
                self.emit_all()?;
                if self.cond_count != 0 {
                    return err(CalcErrorKind::Conditional, start);
                }
                if self.depth > 1 {
                    return err(CalcErrorKind::TooMany, start);
                }
                self.operand_needed = true;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Literals

fn starts_with_ci(src: &[u8], at: usize, word: &[u8]) -> bool {
    src.get(at..at + word.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(word))
}

/// `epicsParseUInt32(s, .., 0, ..)` on text starting `0x`: the value as the
/// signed 32-bit integer it is stored as, and where the literal ends.
fn parse_hex(src: &[u8], start: usize) -> Option<(f64, usize)> {
    let mut pos = start + 2;
    let mut value: u64 = 0;
    while let Some(d) = src.get(pos).and_then(|&c| char::from(c).to_digit(16)) {
        value = value.checked_mul(16)?.checked_add(u64::from(d))?;
        if value > 0xffff_ffff {
            return None;
        }
        pos += 1;
    }
    if pos == start + 2 {
        // strtoul reads just the "0" when no hex digit follows the "x".
        return Some((0.0, start + 1));
    }
    let v = u32::try_from(value).ok()?;
    Some((f64::from(v as i32), pos))
}

/// `epicsParseDouble()` (glibc `strtod`) on text starting with a digit, `.`,
/// `INF` or `NAN`: the value and where the literal ends. Overflow and
/// underflow (ERANGE) are errors.
fn parse_double(src: &[u8], start: usize) -> Option<(f64, usize)> {
    if starts_with_ci(src, start, b"INFINITY") {
        return Some((f64::INFINITY, start + 8));
    }
    if starts_with_ci(src, start, b"INF") {
        return Some((f64::INFINITY, start + 3));
    }
    if starts_with_ci(src, start, b"NAN") {
        let mut end = start + 3;
        if src.get(end) == Some(&b'(') {
            let mut p = end + 1;
            while src
                .get(p)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                p += 1;
            }
            if src.get(p) == Some(&b')') {
                end = p + 1;
            }
        }
        return Some((f64::NAN, end));
    }
    let digits = |mut p: usize| {
        while src.get(p).is_some_and(u8::is_ascii_digit) {
            p += 1;
        }
        p
    };
    let int_end = digits(start);
    let mut end = int_end;
    let mut mantissa_digits = int_end - start;
    if src.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        mantissa_digits += frac_end - (end + 1);
        end = frac_end;
    }
    if mantissa_digits == 0 {
        return None;
    }
    let mantissa_end = end;
    if matches!(src.get(end), Some(b'e' | b'E')) {
        let mut p = end + 1;
        if matches!(src.get(p), Some(b'+' | b'-')) {
            p += 1;
        }
        let exp_end = digits(p);
        if exp_end > p {
            end = exp_end;
        }
    }
    let text = std::str::from_utf8(src.get(start..end)?).ok()?;
    let value: f64 = text.parse().ok()?;
    let nonzero_mantissa = src
        .get(start..mantissa_end)?
        .iter()
        .any(|c| (b'1'..=b'9').contains(c));
    if value.is_infinite() || value.is_subnormal() || (value == 0.0 && nonzero_mantissa) {
        return None;
    }
    Some((value, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(expr: &str) -> Vec<Op> {
        compile(expr).map(|p| p.ops.to_vec()).unwrap_or_default()
    }

    #[test]
    fn table_names_sort_after_their_prefixes() {
        for table in [OPERANDS, OPERATORS] {
            for (i, a) in table.iter().enumerate() {
                for b in table.iter().skip(i + 1) {
                    assert!(
                        !a.name.starts_with(b.name) || a.name == b.name,
                        "{} shadows {}",
                        b.name,
                        a.name
                    );
                }
            }
        }
    }

    #[test]
    fn conditional_jumps_resolve_to_after_the_match() {
        assert_eq!(
            ops("A?B:C"),
            vec![
                Op::Fetch(0),
                Op::CondIf(4),
                Op::Fetch(1),
                Op::CondElse(6),
                Op::Fetch(2),
                Op::CondEnd
            ]
        );
    }

    #[test]
    fn varargs_count_their_arguments() {
        assert_eq!(
            ops("MAX(1,2,3)"),
            vec![Op::Lit(1.0), Op::Lit(2.0), Op::Lit(3.0), Op::Max(3)]
        );
        assert_eq!(ops("MIN 1"), vec![Op::Lit(1.0), Op::Min(1)]);
    }

    #[test]
    fn integer_conversions_match_x86_64() {
        assert_eq!(d2i(2_863_311_530.1), -1_431_655_766);
        assert_eq!(d2i(-1.5), -1);
        assert_eq!(d2i(f64::NAN), 0);
        assert_eq!(d2i(-1e20), i32::MIN);
        assert_eq!(d2ui(-1.0), u32::MAX);
        assert_eq!(cvt_i32(f64::NAN), i32::MIN);
        assert_eq!(cvt_i32(3e9), i32::MIN);
    }
}
