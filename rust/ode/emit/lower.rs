//! Stages 2 and 3 of the emitter: canonical nodes lowered to a hash-consed code graph of
//! fixed formulas, and which of its nodes are computed once (common subexpressions).

use std::collections::HashMap;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use super::{EmitError, TIME};
use crate::ode::encoding::{BoolOp, Expr, RelOp, View};
use crate::ode::number::{rational_to_f64, Number};

/// The double literal of a number, typed to the module's precision.
pub(super) fn float_literal(f: f64) -> String {
    if f.is_nan() {
        "_precision(math.nan)".to_owned()
    } else if f.is_infinite() {
        let sign = if f < 0.0 { "-" } else { "" };
        format!("_precision({sign}math.inf)")
    } else {
        // Debug is the shortest decimal that parses back to the same double, in a syntax
        // Python reads (`0.1`, `28.0`, `1e23`, `5e-324`).
        format!("_precision({f:?})")
    }
}

/// The double a number is, correctly rounded (an exact rational or a big integer may round
/// to infinity, never wrap).
pub(super) fn double(n: &Number) -> f64 {
    match n {
        Number::Float(f) | Number::Approx(_, f) => *f,
        // `as` rounds to nearest, ties to even: the correctly rounded double.
        Number::Int(i) => *i as f64,
        Number::Ratio(q) => q.to_f64(),
        Number::Exact(r) => rational_to_f64(r),
    }
}

pub(super) type Id = usize;

/// One node of generated code, with a fixed evaluation formula.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Op {
    /// A local name or a literal: printed as it is, never a temporary.
    Atom(String),
    /// `a + b - c` (a `Neg` term after the first is subtracted), left to right.
    Sum(Vec<Id>),
    /// `n0*n1/(d0*d1)`; no denominator: `n0*n1`; no numerator: `1.0/(d0*d1)`.
    Prod(Vec<Id>, Vec<Id>),
    Neg(Id),
    Pow(Id, Id),
    Mod(Id, Id),
    Call(&'static str, Vec<Id>),
    /// `v0 if c0 else (v1 if c1 else otherwise)`.
    Cond(Vec<(Id, Id)>, Id),
    Cmp(&'static str, Id, Id),
    /// `&`, `|` or `^` of booleans: every operand is evaluated.
    Logic(&'static str, Vec<Id>),
    Not(Id),
}

impl Op {
    pub(super) fn children(&self) -> Vec<Id> {
        match self {
            Op::Atom(_) => Vec::new(),
            Op::Sum(a) | Op::Call(_, a) | Op::Logic(_, a) => a.clone(),
            Op::Prod(n, d) => n.iter().chain(d).copied().collect(),
            Op::Neg(a) | Op::Not(a) => vec![*a],
            Op::Pow(a, b) | Op::Mod(a, b) | Op::Cmp(_, a, b) => vec![*a, *b],
            Op::Cond(pairs, otherwise) => pairs
                .iter()
                .flat_map(|(v, c)| [*c, *v])
                .chain([*otherwise])
                .collect(),
        }
    }
}

#[derive(Default)]
pub(super) struct Graph {
    pub(super) ops: Vec<Op>,
    ids: HashMap<Op, Id>,
}

impl Graph {
    fn add(&mut self, op: Op) -> Id {
        if let Some(&id) = self.ids.get(&op) {
            return id;
        }
        let id = self.ops.len();
        self.ops.push(op.clone());
        self.ids.insert(op, id);
        id
    }

    fn atom(&mut self, text: impl Into<String>) -> Id {
        self.add(Op::Atom(text.into()))
    }

    /// Which nodes become temporaries: those evaluated unconditionally at least twice, or
    /// unconditionally once and again inside a Piecewise branch (where the temporary, computed
    /// before the statement, is read instead of recomputed).
    pub(super) fn shared(&self, roots: &[Id]) -> Vec<bool> {
        // A negation costs nothing to repeat: it is never a temporary, and each of its uses
        // counts as a use of what it negates (so `-e` twice computes `e` once).
        let transparent = |id: Id| matches!(self.ops[id], Op::Neg(_));
        let n = self.ops.len();
        let mut uses = vec![0u32; n];
        let mut branches = Vec::new();
        let mut stack: Vec<Id> = roots.iter().rev().copied().collect();
        while let Some(id) = stack.pop() {
            uses[id] += 1;
            if uses[id] > 1 && !transparent(id) {
                continue;
            }
            match &self.ops[id] {
                Op::Cond(pairs, otherwise) => {
                    // Only the first condition is always evaluated.
                    stack.push(pairs[0].1);
                    branches.push(pairs[0].0);
                    branches.extend(pairs[1..].iter().flat_map(|(v, c)| [*v, *c]));
                    branches.push(*otherwise);
                }
                op => stack.extend(op.children()),
            }
        }
        let mut in_branch = vec![false; n];
        let mut seen = vec![false; n];
        while let Some(id) = branches.pop() {
            if uses[id] > 0 && !transparent(id) {
                in_branch[id] = true;
            } else if !std::mem::replace(&mut seen[id], true) {
                branches.extend(self.ops[id].children());
            }
        }
        (0..n)
            .map(|i| {
                !matches!(self.ops[i], Op::Atom(_) | Op::Neg(_))
                    && (uses[i] > 1 || (uses[i] == 1 && in_branch[i]))
            })
            .collect()
    }
}

pub(super) struct Lower<'g, 'l> {
    pub(super) graph: &'g mut Graph,
    pub(super) locals: &'l HashMap<&'l str, String>,
    pub(super) equation: &'l str,
}

/// (generated name, arity) of the functions Numba compiles directly.
fn math_function(name: &str) -> Option<(&'static str, usize)> {
    Some(match name {
        "exp" => ("math.exp", 1),
        "log" => ("math.log", 1),
        "sin" => ("math.sin", 1),
        "cos" => ("math.cos", 1),
        "tan" => ("math.tan", 1),
        "asin" => ("math.asin", 1),
        "acos" => ("math.acos", 1),
        "atan" => ("math.atan", 1),
        "atan2" => ("math.atan2", 2),
        "sinh" => ("math.sinh", 1),
        "cosh" => ("math.cosh", 1),
        "tanh" => ("math.tanh", 1),
        "asinh" => ("math.asinh", 1),
        "acosh" => ("math.acosh", 1),
        "atanh" => ("math.atanh", 1),
        "Abs" => ("abs", 1),
        "floor" => ("math.floor", 1),
        "ceiling" => ("math.ceil", 1),
        "erf" => ("math.erf", 1),
        "erfc" => ("math.erfc", 1),
        "gamma" => ("math.gamma", 1),
        "loggamma" => ("math.lgamma", 1),
        "expm1" => ("math.expm1", 1),
        "log1p" => ("math.log1p", 1),
        "log10" => ("math.log10", 1),
        "log2" => ("math.log2", 1),
        "hypot" => ("math.hypot", 2),
        _ => return None,
    })
}

impl Lower<'_, '_> {
    fn error(&self, what: String) -> EmitError {
        EmitError(format!("equation for {}: {what}", self.equation))
    }

    fn literal(&mut self, n: &Number) -> Id {
        self.graph.atom(float_literal(double(n)))
    }

    fn one(&mut self) -> Id {
        self.graph.atom(float_literal(1.0))
    }

    pub(super) fn expr(&mut self, e: &Expr) -> Result<Id, EmitError> {
        Ok(match e.view() {
            View::Num(n) => self.literal(n),
            View::Sym(name) => match self.locals.get(name) {
                Some(local) => self.graph.atom(local.clone()),
                None if name == TIME => self.graph.atom(TIME),
                None => return Err(self.error(format!("symbol {name:?} is not declared"))),
            },
            View::Const(name) => {
                let text = match name {
                    "pi" => "_precision(math.pi)".to_owned(),
                    "E" => "_precision(math.e)".to_owned(),
                    "oo" => "_precision(math.inf)".to_owned(),
                    "nan" => "_precision(math.nan)".to_owned(),
                    "EulerGamma" => float_literal(0.577_215_664_901_532_9),
                    "GoldenRatio" => float_literal(1.618_033_988_749_895),
                    _ => {
                        return Err(self.error(format!(
                            "cannot generate code for {}: Numba computes real numbers only",
                            e.render()
                        )))
                    }
                };
                self.graph.atom(text)
            }
            View::Add(terms) => {
                let items = terms
                    .iter()
                    .map(|t| self.expr(t))
                    .collect::<Result<_, _>>()?;
                self.graph.add(Op::Sum(items))
            }
            View::Mul(factors) => self.product(factors)?,
            View::Pow(base, exp) if integer_power(base, exp).is_some() => {
                let value = integer_power(base, exp).expect("checked");
                self.graph.atom(float_literal(value))
            }
            View::Pow(base, exp) => match negative_exponent(exp) {
                Some(positive) => {
                    let d = self.power(base, &positive)?;
                    let one = self.one();
                    self.graph.add(Op::Prod(vec![one], vec![d]))
                }
                None => self.power(base, exp)?,
            },
            View::Func(name, args) => self.call(e, name, args)?,
            View::Piecewise(pairs) => {
                let mut branches = Vec::new();
                let mut otherwise = None;
                for (value, cond) in pairs {
                    match cond.view() {
                        View::Truth(false) => continue,
                        View::Truth(true) => {
                            otherwise = Some(self.expr(value)?);
                            break;
                        }
                        _ => {
                            let c = self.expr(cond)?;
                            branches.push((self.expr(value)?, c));
                        }
                    }
                }
                // SymPy's Piecewise is undefined (nan) where no condition holds.
                let otherwise = match otherwise {
                    Some(o) => o,
                    None => self.graph.atom(float_literal(f64::NAN)),
                };
                if branches.is_empty() {
                    otherwise
                } else {
                    self.graph.add(Op::Cond(branches, otherwise))
                }
            }
            View::Rel(op, l, r) => {
                let sym = match op {
                    RelOp::Lt => "<",
                    RelOp::Le => "<=",
                    RelOp::Gt => ">",
                    RelOp::Ge => ">=",
                    RelOp::Eq => "==",
                    RelOp::Ne => "!=",
                };
                let (l, r) = (self.expr(l)?, self.expr(r)?);
                self.graph.add(Op::Cmp(sym, l, r))
            }
            View::Bool(op, args) => {
                let ids: Vec<Id> = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<_, _>>()?;
                match (op, &ids[..]) {
                    (BoolOp::Not, [a]) => self.graph.add(Op::Not(*a)),
                    (BoolOp::Not, _) => {
                        return Err(self.error(format!("Not takes one argument: {}", e.render())))
                    }
                    (_, [a]) => *a,
                    (BoolOp::And, _) => self.graph.add(Op::Logic("&", ids)),
                    (BoolOp::Or, _) => self.graph.add(Op::Logic("|", ids)),
                    (BoolOp::Xor, _) => self.graph.add(Op::Logic("^", ids)),
                }
            }
            View::Truth(v) => self.graph.atom(if v { "True" } else { "False" }),
        })
    }

    /// A product: its numeric coefficient first (a negative one becomes a negation), then
    /// the factors in canonical order; a factor with a negative exponent divides.
    fn product(&mut self, factors: &[Expr]) -> Result<Id, EmitError> {
        let mut coefficient = 1.0;
        let mut num = Vec::new();
        let mut den = Vec::new();
        for f in factors {
            if let View::Num(n) = f.view() {
                coefficient = double(n);
                continue;
            }
            match f.view() {
                View::Pow(base, exp) if integer_power(base, exp).is_some() => {
                    let value = integer_power(base, exp).expect("checked");
                    num.push(self.graph.atom(float_literal(value)));
                }
                View::Pow(base, exp) => match negative_exponent(exp) {
                    Some(positive) => den.push(self.power(base, &positive)?),
                    None => num.push(self.power(base, exp)?),
                },
                _ => num.push(self.expr(f)?),
            }
        }
        // (-c)*x is -(c*x) exactly, and 1.0*x is x: the sign moves out, a unit goes.
        let negative = coefficient.is_sign_negative() && !coefficient.is_nan();
        let magnitude = coefficient.abs();
        if magnitude != 1.0 {
            num.insert(0, self.graph.atom(float_literal(magnitude)));
        }
        let product = match (&num[..], &den[..]) {
            ([one], []) => *one,
            ([], _) => {
                let one = self.one();
                self.graph.add(Op::Prod(vec![one], den))
            }
            _ => self.graph.add(Op::Prod(num, den)),
        };
        Ok(if negative {
            self.graph.add(Op::Neg(product))
        } else {
            product
        })
    }

    /// `base**exp` for an exponent that is not a negative number.
    fn power(&mut self, base: &Expr, exp: &Expr) -> Result<Id, EmitError> {
        let b = self.expr(base)?;
        let e = match exp.view() {
            View::Num(Number::Int(1)) => return Ok(b),
            // An integer exponent stays an integer: Numba multiplies instead of calling pow.
            View::Num(Number::Int(n)) => self.graph.atom(n.to_string()),
            View::Num(Number::Ratio(q)) if (q.numer(), q.denom()) == (1, 2) => {
                return Ok(self.graph.add(Op::Call("math.sqrt", vec![b])));
            }
            View::Num(n) => self.literal(n),
            _ => self.expr(exp)?,
        };
        Ok(self.graph.add(Op::Pow(b, e)))
    }

    fn call(&mut self, e: &Expr, name: &str, args: &[Expr]) -> Result<Id, EmitError> {
        let ids: Vec<Id> = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<_, _>>()?;
        let arity = |n: usize| -> Result<(), EmitError> {
            if ids.len() == n {
                Ok(())
            } else {
                Err(self.error(format!(
                    "{name} takes {n} argument(s), got {}: {}",
                    ids.len(),
                    e.render()
                )))
            }
        };
        if let Some((function, n)) = math_function(name) {
            arity(n)?;
            return Ok(self.graph.add(Op::Call(function, ids)));
        }
        let zero = || float_literal(0.0);
        Ok(match name {
            "Min" | "Max" if !ids.is_empty() => {
                let f = if name == "Min" { "min" } else { "max" };
                self.graph.add(Op::Call(f, ids))
            }
            "cot" | "sec" | "csc" => {
                arity(1)?;
                let f = match name {
                    "cot" => "math.tan",
                    "sec" => "math.cos",
                    _ => "math.sin",
                };
                let d = self.graph.add(Op::Call(f, ids));
                let one = self.one();
                self.graph.add(Op::Prod(vec![one], vec![d]))
            }
            "Mod" => {
                arity(2)?;
                self.graph.add(Op::Mod(ids[0], ids[1]))
            }
            // SymPy's printer: 0.0 if x == 0 else math.copysign(1, x).
            "sign" => {
                arity(1)?;
                let z = self.graph.atom(zero());
                let one = self.one();
                let is_zero = self.graph.add(Op::Cmp("==", ids[0], z));
                let copysign = self.graph.add(Op::Call("math.copysign", vec![one, ids[0]]));
                self.graph.add(Op::Cond(vec![(z, is_zero)], copysign))
            }
            // SymPy's printer: 0 if x < 0 else (H0 if x == 0 else 1); H0 is 1/2 by default.
            "Heaviside" => {
                let h0 = match &ids[..] {
                    [_] => self.graph.atom(float_literal(0.5)),
                    [_, h0] => *h0,
                    _ => {
                        return Err(
                            self.error(format!("Heaviside takes 1 or 2 arguments: {}", e.render()))
                        )
                    }
                };
                let x = ids[0];
                let z = self.graph.atom(zero());
                let one = self.one();
                let below = self.graph.add(Op::Cmp("<", x, z));
                let at = self.graph.add(Op::Cmp("==", x, z));
                self.graph.add(Op::Cond(vec![(z, below), (h0, at)], one))
            }
            _ => {
                return Err(self.error(format!(
                    "cannot generate code for {}: Numba has no {name}",
                    e.render()
                )))
            }
        })
    }
}

/// `-e` for an exponent that is a negative exact number (`x**-2` divides by `x**2`).
fn negative_exponent(exp: &Expr) -> Option<Expr> {
    match exp.view() {
        View::Num(n @ (Number::Int(_) | Number::Ratio(_) | Number::Exact(_)))
            if n.is_negative() =>
        {
            Some(Expr::number(Number::exact(-n.value())))
        }
        _ => None,
    }
}

/// The correctly rounded double of `base**n` for a number base and an integer exponent the
/// canonical form left unfolded (it folds small exponents only), when that is cheap to know
/// exactly or certainly overflows (`10**400` → inf, `10**10**10` → inf); `None` leaves the
/// power to run time.
fn numeric_power(base: &Number, n: &BigInt) -> Option<f64> {
    // Exact expansion up to this many bits of result is cheap.
    const MAX_BITS: u64 = 1 << 16;
    let r = base.value();
    if r.is_zero() {
        return n.is_positive().then_some(0.0);
    }
    let negative = r.is_negative() && n.is_odd();
    let signed = |m: f64| if negative { -m } else { m };
    let (p_bits, q_bits) = (r.numer().bits(), r.denom().bits());
    let magnitude = n.magnitude().to_u64();
    if let Some(e) = magnitude.filter(|e| e.saturating_mul(p_bits.max(q_bits)) <= MAX_BITS) {
        let mut value = num_traits::pow(r, usize::try_from(e).ok()?);
        if n.is_negative() {
            value = value.recip();
        }
        return Some(rational_to_f64(&value));
    }
    // p/q lies in (2^(d-1), 2^(d+1)) for d = bits(p) - bits(q): |log2 |p/q|| > |d| - 1, so
    // beyond 1100 the power is certainly past the largest double (or below the smallest).
    let gap = p_bits.abs_diff(q_bits).saturating_sub(1);
    let certain = gap > 0 && magnitude.is_none_or(|e| e.saturating_mul(gap) > 1100);
    if !certain {
        return None;
    }
    let grows = (p_bits > q_bits) == n.is_positive();
    Some(signed(if grows { f64::INFINITY } else { 0.0 }))
}

/// [`numeric_power`] of a power whose base is a number and exponent an exact integer.
fn integer_power(base: &Expr, exp: &Expr) -> Option<f64> {
    let (View::Num(b), View::Num(e)) = (base.view(), exp.view()) else {
        return None;
    };
    numeric_power(b, &e.as_exact_integer()?)
}
