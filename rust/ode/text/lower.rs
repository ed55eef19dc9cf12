//! Building canonical expressions from parsed text, node by node, as today's SymPy-based
//! parser builds them unevaluated and `sympy_walk` then lowers them.
//!
//! Arithmetic is plain: `a - b` is `Expr::add([a, Expr::mul([-1, b])])`, `a/b` is
//! `Expr::mul([a, Expr::pow(b, -1)])`, `-a` is `Expr::mul([-1, a])`, `a // b` is
//! `floor(a/b)`, `a % b` is `Mod(a, b)`, `sqrt(x)` is `x**(1/2)`, `cbrt(x)` is `x**(1/3)`,
//! `exp2(x)` is `2**x`, `Heaviside(x)` is `Heaviside(x, 1/2)`, `Min()`/`Max()` are `oo`/`-oo`.
//!
//! Logic follows what SymPy does even unevaluated: `And`/`Or` drop their identity, stop at
//! their absorbing element, flatten, drop repeated arguments and a relation and its
//! negation make `False` (`And`) or `True` (`Or`); `Xor` cancels repeated arguments and
//! turns a `True` into `Not(Xor(rest))`; `Piecewise` drops pairs whose condition is `False`
//! and everything after a `True` condition, and a lone `(e, True)` pair is `e`; the integer
//! literals `1` and `0` are `True` and `False` where a condition is expected.
//!
//! Two things SymPy would build are refused, as their meaning is lost later: a condition
//! (a comparison, `and`/`or`/`not`, `True`/`False`) used as a number, and a number used as
//! a condition other than the literals `1` and `0`.  A condition containing a `Piecewise`
//! is refused too (SymPy rewrites it to an `ITE` the canonical form does not accept).
//! Relations are compared by their canonical form, where SymPy compares its own canonical
//! relations: the two differ only for relations SymPy equates by moving a minus sign
//! (`-x > 0` and `x < 0`), which the text front end keeps apart.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{One, Zero};

use super::super::encoding::{BoolOp, Expr, RelOp};
use super::super::number::Number;

/// The functions the canonical form accepts (SymPy class names), as `sympy_walk` does.
pub const FUNCTIONS: [&str; 35] = [
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "Abs",
    "Min",
    "Max",
    "floor",
    "ceiling",
    "sign",
    "erf",
    "erfc",
    "gamma",
    "loggamma",
    "Mod",
    "Heaviside",
    "expm1",
    "log1p",
    "log10",
    "log2",
    "hypot",
];

/// Other names text may call: spellings of the functions above, relations and logic.
pub const ALIASES: [&str; 17] = [
    "sqrt", "cbrt", "abs", "min", "max", "ceil", "exp2", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And",
    "Or", "Not", "Xor",
];

/// What SymPy object a value stands for, as far as building its parents needs to know.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A bare numeric literal (`1`, `0.5`): SymPy's `Integer(1)` equals `True`.
    Int(BigInt),
    Float(f64),
    Symbol,
    /// Any other arithmetic expression (sums, calls, `Piecewise`, …).
    Arith,
    Truth(bool),
    /// A relation, with its sides as written (for recognising negations).
    Rel(RelOp, Box<Expr>, Box<Expr>),
    And(Vec<Value>),
    Or(Vec<Value>),
    Xor(Vec<Value>),
    Not(Box<Value>),
    /// A parenthesised tuple: only a `Piecewise` argument may be one.
    Tuple(Vec<Value>),
}

/// A built node: its canonical form, its shape, and the symbols it uses.
#[derive(Clone, Debug)]
pub struct Value {
    pub expr: Expr,
    pub shape: Shape,
    /// Indices into the parser's name table; may repeat.
    pub names: Vec<u32>,
    /// Whether a `Piecewise` is part of this value.
    pub has_piecewise: bool,
    /// Byte offset where the node starts, for errors.
    pub start: usize,
    /// For a relation: whether both sides are numeric literals.
    pub literal_sides: bool,
}

/// A refusal, with the byte offset of the node it concerns.
pub type Refusal = (usize, String);

fn refuse<T>(at: usize, message: impl Into<String>) -> Result<T, Refusal> {
    Err((at, message.into()))
}

fn truth(value: bool, start: usize) -> Value {
    Value {
        expr: Expr::truth(value),
        shape: Shape::Truth(value),
        names: Vec::new(),
        has_piecewise: false,
        start,
        literal_sides: false,
    }
}

impl Value {
    fn combine(expr: Expr, shape: Shape, parts: &[&Value], start: usize) -> Value {
        let mut names = Vec::with_capacity(parts.iter().map(|p| p.names.len()).sum());
        for p in parts {
            names.extend_from_slice(&p.names);
        }
        Value {
            expr,
            shape,
            names,
            has_piecewise: parts.iter().any(|p| p.has_piecewise),
            start,
            literal_sides: false,
        }
    }

    fn is_condition(&self) -> bool {
        matches!(
            self.shape,
            Shape::Symbol
                | Shape::Truth(_)
                | Shape::Rel(..)
                | Shape::And(_)
                | Shape::Or(_)
                | Shape::Xor(_)
                | Shape::Not(_)
        )
    }

    /// Refuses a tuple where a single expression is expected.
    pub fn plain(self) -> Result<Value, Refusal> {
        match self.shape {
            Shape::Tuple(_) => refuse(self.start, "unsupported syntax Tuple"),
            _ => Ok(self),
        }
    }

    /// Refuses anything but a number, symbol or arithmetic expression.
    fn number(self) -> Result<Value, Refusal> {
        match self.shape {
            Shape::Int(_) | Shape::Float(_) | Shape::Symbol | Shape::Arith => Ok(self),
            Shape::Tuple(_) => refuse(self.start, "unsupported syntax Tuple"),
            _ => refuse(
                self.start,
                "a condition (comparison, and/or/not, True/False) cannot be used as a number",
            ),
        }
    }

    /// What SymPy's `as_Boolean` accepts: a condition, or the integer literals 1 and 0.
    fn condition(self) -> Result<Value, Refusal> {
        if let Shape::Int(i) = &self.shape {
            if i.is_one() || i.is_zero() {
                return Ok(truth(i.is_one(), self.start));
            }
        }
        if self.is_condition() {
            Ok(self)
        } else if let Shape::Tuple(_) = self.shape {
            refuse(self.start, "unsupported syntax Tuple")
        } else {
            refuse(
                self.start,
                "expected a condition (a comparison, and/or/not, True/False), got a number",
            )
        }
    }

    fn is_relation(&self) -> bool {
        matches!(self.shape, Shape::Rel(..))
    }

    /// What SymPy compares when it drops repeated arguments of `And`/`Or`/`Xor`: for a
    /// relation, its canonical form; SymPy does not reverse a relation whose sides are equal
    /// or both free of symbols (`a < a`, `1 + 1 < 2`), so those keep the operator as written.
    fn key(&self) -> Vec<u8> {
        match &self.shape {
            Shape::Rel(op, left, right) => relation_key(*op, left, right, self.keeps_sides()),
            _ => self.expr.encoding().to_vec(),
        }
    }

    fn keeps_sides(&self) -> bool {
        let Shape::Rel(_, left, right) = &self.shape else {
            return false;
        };
        left.encoding() == right.encoding() || (self.names.is_empty() && !self.literal_sides)
    }

    /// The key of this relation's negation.
    fn negated(&self) -> Option<Vec<u8>> {
        let Shape::Rel(op, left, right) = &self.shape else {
            return None;
        };
        Some(relation_key(negate(*op), left, right, self.keeps_sides()))
    }
}

fn relation_key(op: RelOp, left: &Expr, right: &Expr, as_written: bool) -> Vec<u8> {
    if as_written {
        let mut key = vec![b'r', op as u8];
        key.extend_from_slice(left.encoding());
        key.extend_from_slice(right.encoding());
        return key;
    }
    Expr::relation(op, left.clone(), right.clone())
        .encoding()
        .to_vec()
}

pub fn symbol(name: &str, id: u32, start: usize) -> Value {
    Value {
        expr: Expr::symbol(name),
        shape: Shape::Symbol,
        names: vec![id],
        has_piecewise: false,
        start,
        literal_sides: false,
    }
}

pub fn int(value: BigInt, start: usize) -> Value {
    Value {
        expr: Expr::number(Number::integer(value.clone())),
        shape: Shape::Int(value),
        names: Vec::new(),
        has_piecewise: false,
        start,
        literal_sides: false,
    }
}

/// A float literal: the double it denotes; one that overflows is SymPy's `oo`.
pub fn float(value: f64, start: usize) -> Value {
    let expr = if value.is_finite() {
        Expr::number(Number::Float(value))
    } else {
        Expr::constant("oo")
    };
    Value {
        expr,
        shape: Shape::Float(value),
        names: Vec::new(),
        has_piecewise: false,
        start,
        literal_sides: false,
    }
}

pub fn boolean(value: bool, start: usize) -> Value {
    truth(value, start)
}

pub fn tuple(items: Vec<Value>, start: usize) -> Value {
    Value {
        expr: Expr::truth(false),
        shape: Shape::Tuple(items),
        names: Vec::new(),
        has_piecewise: false,
        start,
        literal_sides: false,
    }
}

fn arith(expr: Expr, parts: &[&Value], start: usize) -> Value {
    Value::combine(expr, Shape::Arith, parts, start)
}

/// An arithmetic node of two numbers, their expressions moved into `build`.
fn binary(a: Value, b: Value, build: impl FnOnce(Expr, Expr) -> Expr) -> Result<Value, Refusal> {
    let (a, b) = (a.number()?, b.number()?);
    let mut names = a.names;
    names.extend_from_slice(&b.names);
    Ok(Value {
        expr: build(a.expr, b.expr),
        shape: Shape::Arith,
        names,
        has_piecewise: a.has_piecewise || b.has_piecewise,
        start: a.start,
        literal_sides: false,
    })
}

fn neg_expr(e: Expr) -> Expr {
    Expr::mul(vec![Expr::int(-1), e])
}

fn div_expr(a: Expr, b: Expr) -> Expr {
    Expr::mul(vec![a, Expr::pow(b, Expr::int(-1))])
}

pub fn add(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, |a, b| Expr::add(vec![a, b]))
}

pub fn sub(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, |a, b| Expr::add(vec![a, neg_expr(b)]))
}

pub fn mul(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, |a, b| Expr::mul(vec![a, b]))
}

pub fn div(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, div_expr)
}

pub fn floordiv(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, |a, b| Expr::func("floor", vec![div_expr(a, b)]))
}

pub fn modulo(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, |a, b| Expr::func("Mod", vec![a, b]))
}

pub fn pow(a: Value, b: Value) -> Result<Value, Refusal> {
    binary(a, b, Expr::pow)
}

pub fn neg(a: Value, start: usize) -> Result<Value, Refusal> {
    let a = a.number()?;
    Ok(Value {
        expr: neg_expr(a.expr),
        shape: Shape::Arith,
        start,
        ..a
    })
}

/// `not x` and `~x`: SymPy's `Not`, never evaluated.
pub fn not(a: Value, start: usize) -> Result<Value, Refusal> {
    let a = a.plain()?;
    // SymPy keeps `Not(1)` as it is (the literal is not made True here).
    let zero_or_one = matches!(&a.shape, Shape::Int(i) if i.is_one() || i.is_zero());
    if !a.is_condition() && !zero_or_one {
        return refuse(
            a.start,
            "expected a condition (a comparison, and/or/not, True/False), got a number",
        );
    }
    let expr = Expr::boolean(BoolOp::Not, vec![a.expr.clone()]);
    let mut v = Value::combine(expr, Shape::Arith, &[&a], start);
    v.shape = Shape::Not(Box::new(a));
    Ok(v)
}

fn negate(op: RelOp) -> RelOp {
    match op {
        RelOp::Lt => RelOp::Ge,
        RelOp::Le => RelOp::Gt,
        RelOp::Gt => RelOp::Le,
        RelOp::Ge => RelOp::Lt,
        RelOp::Eq => RelOp::Ne,
        RelOp::Ne => RelOp::Eq,
    }
}

/// SymPy's evaluated `Not(a)`, which `Xor` builds: `Not(True)` is False, `Not(Not(a))` is
/// `a`, the negation of a relation is the negated relation.
fn evaluated_not(a: Value, start: usize) -> Value {
    match a.shape {
        Shape::Truth(b) => truth(!b, start),
        Shape::Not(inner) => *inner,
        Shape::Rel(op, left, right) => {
            let neg = negate(op);
            let expr = Expr::relation(neg, (*left).clone(), (*right).clone());
            Value {
                expr,
                shape: Shape::Rel(neg, left, right),
                ..a
            }
        }
        _ => {
            let expr = Expr::boolean(BoolOp::Not, vec![a.expr.clone()]);
            let mut v = Value::combine(expr, Shape::Arith, &[&a], start);
            v.shape = Shape::Not(Box::new(a));
            v
        }
    }
}

pub fn relation(op: RelOp, a: Value, b: Value) -> Result<Value, Refusal> {
    let (a, b) = (a.number()?, b.number()?);
    let expr = Expr::relation(op, a.expr.clone(), b.expr.clone());
    let shape = Shape::Rel(op, Box::new(a.expr.clone()), Box::new(b.expr.clone()));
    let literal = |v: &Value| matches!(v.shape, Shape::Int(_) | Shape::Float(_));
    let mut v = Value::combine(expr, shape, &[&a, &b], a.start);
    v.literal_sides = literal(&a) && literal(&b);
    Ok(v)
}

fn dedup(args: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(args.len());
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args {
        let key = a.key();
        if !keys.contains(&key) {
            keys.push(key);
            out.push(a);
        }
    }
    out
}

fn lattice(op: BoolOp, mut args: Vec<Value>, start: usize) -> Value {
    match args.len() {
        0 => truth(op == BoolOp::And, start),
        1 => args.pop().expect("one argument"),
        _ => {
            let expr = Expr::boolean(op, args.iter().map(|a| a.expr.clone()).collect());
            let parts: Vec<&Value> = args.iter().collect();
            let mut v = Value::combine(expr, Shape::Arith, &parts, start);
            v.shape = if op == BoolOp::And {
                Shape::And(args)
            } else {
                Shape::Or(args)
            };
            v
        }
    }
}

/// Relations repeated (dropped) or negated (`Some(())`) among `args`, in order.
fn relations(args: Vec<Value>) -> Option<Vec<Value>> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        if a.is_relation() {
            let c = a.key();
            if seen.contains(&c) {
                continue;
            }
            if a.negated().is_some_and(|n| seen.contains(&n)) {
                return None;
            }
            seen.push(c);
        }
        out.push(a);
    }
    Some(out)
}

/// SymPy's `And(*args)`.
pub fn and(args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    let mut flat = Vec::with_capacity(args.len());
    for a in args {
        let a = a.condition()?;
        match a.shape {
            Shape::Truth(false) => return Ok(truth(false, start)),
            Shape::Truth(true) => {}
            Shape::And(children) => flat.extend(children),
            _ => flat.push(a),
        }
    }
    let Some(kept) = relations(flat) else {
        return Ok(truth(false, start));
    };
    Ok(lattice(BoolOp::And, dedup(kept), start))
}

/// SymPy's `Or(*args)`.
pub fn or(args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    let args = args
        .into_iter()
        .map(Value::condition)
        .collect::<Result<Vec<_>, _>>()?;
    let Some(kept) = relations(args) else {
        return Ok(truth(true, start));
    };
    let mut flat = Vec::with_capacity(kept.len());
    for a in kept {
        match a.shape {
            Shape::Truth(true) => return Ok(truth(true, start)),
            Shape::Truth(false) => {}
            Shape::Or(children) => flat.extend(children),
            _ => flat.push(a),
        }
    }
    Ok(lattice(BoolOp::Or, dedup(flat), start))
}

fn toggle(set: &mut Vec<Value>, v: Value) {
    let key = v.key();
    match set.iter().position(|o| o.key() == key) {
        Some(i) => {
            set.remove(i);
        }
        None => set.push(v),
    }
}

/// SymPy's `Xor(*args)`: repeated arguments cancel, numbers count by truth.
pub fn xor(args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    let mut set: Vec<Value> = Vec::new();
    for a in args {
        let a = a.plain()?;
        match &a.shape {
            Shape::Int(i) if i.is_zero() => {}
            Shape::Float(f) if *f == 0.0 => {}
            Shape::Int(_) | Shape::Float(_) | Shape::Truth(true) => {
                toggle(&mut set, truth(true, a.start))
            }
            Shape::Truth(false) => {}
            Shape::Xor(_) => {
                let Shape::Xor(children) = a.shape else {
                    unreachable!("matched")
                };
                for c in children {
                    toggle(&mut set, c);
                }
            }
            _ if a.is_condition() => toggle(&mut set, a),
            _ => {
                return refuse(
                    a.start,
                    "expected a condition (a comparison, and/or/not, True/False), got a number",
                )
            }
        }
    }
    // A relation and its negation cancel to True, a relation repeated to False.
    let mut odd = false;
    let mut remove: Vec<(usize, usize)> = Vec::new();
    let rels: Vec<usize> = (0..set.len()).filter(|&i| set[i].is_relation()).collect();
    for (k, &i) in rels.iter().enumerate() {
        let c = set[i].key();
        let nc = set[i].negated().expect("a relation");
        for &j in &rels[k + 1..] {
            let cj = set[j].key();
            if cj == nc {
                odd = !odd;
                remove.push((i, j));
                break;
            }
            if cj == c {
                remove.push((i, j));
                break;
            }
        }
    }
    let mut gone: Vec<usize> = remove.iter().flat_map(|&(i, j)| [i, j]).collect();
    gone.sort_unstable();
    if gone.windows(2).any(|w| w[0] == w[1]) {
        return refuse(start, "Xor of relations that cancel more than once");
    }
    for i in gone.into_iter().rev() {
        set.remove(i);
    }
    if odd {
        toggle(&mut set, truth(true, start));
    }
    Ok(xor_set(set, start))
}

fn xor_set(mut set: Vec<Value>, start: usize) -> Value {
    if let Some(i) = set
        .iter()
        .position(|v| matches!(v.shape, Shape::Truth(true)))
    {
        if set.len() > 1 {
            set.remove(i);
            return evaluated_not(xor_set(set, start), start);
        }
    }
    match set.len() {
        0 => truth(false, start),
        1 => set.pop().expect("one argument"),
        _ => {
            let expr = Expr::boolean(BoolOp::Xor, set.iter().map(|a| a.expr.clone()).collect());
            let parts: Vec<&Value> = set.iter().collect();
            let mut v = Value::combine(expr, Shape::Arith, &parts, start);
            v.shape = Shape::Xor(set);
            v
        }
    }
}

/// SymPy's `Piecewise(*pairs)` (unevaluated).
pub fn piecewise(pairs: Vec<(Value, Value)>, start: usize) -> Result<Value, Refusal> {
    if pairs.is_empty() {
        return refuse(
            start,
            "Piecewise takes at least one (expression, condition) pair",
        );
    }
    let mut kept: Vec<(Value, Value)> = Vec::with_capacity(pairs.len());
    for (e, c) in pairs {
        let e = e.plain()?;
        let c = match &c.shape {
            Shape::Int(i) if i.is_one() => truth(true, c.start),
            Shape::Int(i) if i.is_zero() => truth(false, c.start),
            Shape::Truth(_) => c,
            _ if c.has_piecewise => {
                return refuse(
                    c.start,
                    "a condition cannot contain a Piecewise or conditional expression",
                )
            }
            _ => c.condition()?,
        };
        match c.shape {
            Shape::Truth(false) => continue,
            Shape::Truth(true) => {
                kept.push((e, c));
                break;
            }
            _ => kept.push((e, c)),
        }
    }
    if kept.len() == 1 && matches!(kept[0].1.shape, Shape::Truth(true)) {
        return Ok(kept.pop().expect("one pair").0);
    }
    let expr = Expr::piecewise(
        kept.iter()
            .map(|(e, c)| (e.expr.clone(), c.expr.clone()))
            .collect(),
    );
    let parts: Vec<&Value> = kept.iter().flat_map(|(e, c)| [e, c]).collect();
    let mut v = arith(expr, &parts, start);
    v.has_piecewise = true;
    Ok(v)
}

/// `body if test else orelse`: `Piecewise((body, test), (orelse, True))`.
pub fn conditional(body: Value, test: Value, orelse: Value) -> Result<Value, Refusal> {
    let start = body.start;
    let t = truth(true, orelse.start);
    piecewise(vec![(body, test), (orelse, t)], start)
}

fn arity(name: &str) -> Option<(usize, usize)> {
    Some(match name {
        "atan2" | "Mod" | "hypot" | "Eq" | "Ne" | "Lt" | "Le" | "Gt" | "Ge" => (2, 2),
        "log" | "Heaviside" => (1, 2),
        "Min" | "Max" | "min" | "max" | "And" | "Or" | "Xor" => (0, usize::MAX),
        _ if FUNCTIONS.contains(&name) || ALIASES.contains(&name) => (1, 1),
        _ => return None,
    })
}

fn allowed() -> String {
    let mut names: Vec<&str> = FUNCTIONS.iter().chain(ALIASES.iter()).copied().collect();
    names.sort_by_key(|n| n.to_lowercase());
    names.join(", ")
}

fn rational(p: i64, q: i64) -> Expr {
    Expr::number(Number::exact(BigRational::new(p.into(), q.into())))
}

/// A call of a whitelisted function (or `Piecewise`, whose arguments are pairs).
pub fn call(name: &str, args: Vec<Value>, start: usize) -> Result<Value, Refusal> {
    if name == "Piecewise" {
        let mut pairs = Vec::with_capacity(args.len());
        for a in args {
            match a.shape {
                Shape::Tuple(mut items) if items.len() == 2 => {
                    let c = items.pop().expect("two items");
                    pairs.push((items.pop().expect("two items"), c));
                }
                _ => return refuse(a.start, "Piecewise takes (expression, condition) pairs"),
            }
        }
        return piecewise(pairs, start);
    }
    let Some((min, max)) = arity(name) else {
        return refuse(
            start,
            format!("unknown function {name}() (allowed: {})", allowed()),
        );
    };
    if args.len() < min || args.len() > max {
        let takes = match (min, max) {
            (m, n) if m == n => format!("{m}"),
            (m, n) => format!("{m} or {n}"),
        };
        return refuse(
            start,
            format!(
                "bad call to {name}(): takes {takes} argument{} ({} given)",
                if max == 1 { "" } else { "s" },
                args.len()
            ),
        );
    }
    match name {
        "And" => return and(args, start),
        "Or" => return or(args, start),
        "Xor" => return xor(args, start),
        "Not" => {
            let a = args.into_iter().next().expect("one argument");
            return not(a, start);
        }
        "Eq" | "Ne" | "Lt" | "Le" | "Gt" | "Ge" => {
            let op = match name {
                "Eq" => RelOp::Eq,
                "Ne" => RelOp::Ne,
                "Lt" => RelOp::Lt,
                "Le" => RelOp::Le,
                "Gt" => RelOp::Gt,
                _ => RelOp::Ge,
            };
            let mut it = args.into_iter();
            let a = it.next().expect("two arguments");
            let b = it.next().expect("two arguments");
            let mut v = relation(op, a, b)?;
            v.start = start;
            return Ok(v);
        }
        _ => {}
    }
    let args = args
        .into_iter()
        .map(Value::number)
        .collect::<Result<Vec<_>, _>>()?;
    let mut exprs: Vec<Expr> = args.iter().map(|a| a.expr.clone()).collect();
    let expr = match name {
        "sqrt" => Expr::pow(exprs.remove(0), rational(1, 2)),
        "cbrt" => Expr::pow(exprs.remove(0), rational(1, 3)),
        "exp2" => Expr::pow(Expr::int(2), exprs.remove(0)),
        "Min" | "Max" | "min" | "max" => {
            let head = if name.eq_ignore_ascii_case("min") {
                "Min"
            } else {
                "Max"
            };
            match exprs.len() {
                // A lone argument is returned as it is, shape and all.
                1 => return Ok(args.into_iter().next().expect("one argument")),
                0 if head == "Min" => Expr::constant("oo"),
                0 => Expr::mul(vec![Expr::int(-1), Expr::constant("oo")]),
                _ => Expr::func(head, exprs),
            }
        }
        "Heaviside" if exprs.len() == 1 => {
            exprs.push(rational(1, 2));
            Expr::func("Heaviside", exprs)
        }
        "abs" => Expr::func("Abs", exprs),
        "ceil" => Expr::func("ceiling", exprs),
        _ => Expr::func(name, exprs),
    };
    let parts: Vec<&Value> = args.iter().collect();
    Ok(arith(expr, &parts, start))
}
