//! Walking a SymPy expression tree through PyO3 into the canonical form.
//!
//! Nodes are recognised by their class, once per class per walk: SymPy's class-level flags
//! (`is_Add`, `is_Integer`, …) and class names.  Nothing is printed: `str()`/`srepr()` output
//! is a SymPy implementation detail, and reading `args`, `p`, `q` and `name` is what makes the
//! walk fast.  Python `int`/`float`/`bool` are accepted where SymPy would sympify them.

use std::collections::HashMap;

use num_bigint::BigInt;
use num_rational::BigRational;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyTuple, PyType};

use super::encoding::{BoolOp, Expr, RelOp};
use super::number::Number;
use crate::errors::EquationError;

/// The functions the canonical form accepts: those Numba can compile (SymPy class names).
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

#[derive(Clone, Debug)]
enum Class {
    Integer,
    Rational,
    Float,
    Symbol,
    Const(&'static str),
    NegativeInfinity,
    Add,
    Mul,
    Pow,
    Func(String),
    Piecewise,
    Rel(RelOp),
    Bool(BoolOp),
    Truth(bool),
    Unsupported(String),
}

/// Converts SymPy trees to canonical expressions, remembering each class it has seen.
pub struct Walker {
    classes: HashMap<usize, Class>,
}

fn flag(ty: &Bound<'_, PyType>, name: &str) -> bool {
    ty.getattr(name)
        .and_then(|v| v.extract::<bool>())
        .unwrap_or(false)
}

fn classify(ty: &Bound<'_, PyType>) -> PyResult<Class> {
    let name = ty.name()?.to_string();
    let by_name = match name.as_str() {
        "BooleanTrue" => Some(Class::Truth(true)),
        "BooleanFalse" => Some(Class::Truth(false)),
        "Infinity" => Some(Class::Const("oo")),
        "NegativeInfinity" => Some(Class::NegativeInfinity),
        "ComplexInfinity" => Some(Class::Const("zoo")),
        "NaN" => Some(Class::Const("nan")),
        "ImaginaryUnit" => Some(Class::Const("I")),
        "Exp1" => Some(Class::Const("E")),
        "Pi" => Some(Class::Const("pi")),
        "EulerGamma" => Some(Class::Const("EulerGamma")),
        "GoldenRatio" => Some(Class::Const("GoldenRatio")),
        "Piecewise" => Some(Class::Piecewise),
        "StrictLessThan" => Some(Class::Rel(RelOp::Lt)),
        "LessThan" => Some(Class::Rel(RelOp::Le)),
        "StrictGreaterThan" => Some(Class::Rel(RelOp::Gt)),
        "GreaterThan" => Some(Class::Rel(RelOp::Ge)),
        "Equality" => Some(Class::Rel(RelOp::Eq)),
        "Unequality" => Some(Class::Rel(RelOp::Ne)),
        "And" => Some(Class::Bool(BoolOp::And)),
        "Or" => Some(Class::Bool(BoolOp::Or)),
        "Not" => Some(Class::Bool(BoolOp::Not)),
        "Xor" => Some(Class::Bool(BoolOp::Xor)),
        _ => None,
    };
    if let Some(class) = by_name {
        return Ok(class);
    }
    // Order matters: an Integer is also Rational, a Rational is a Number.
    let class = if flag(ty, "is_Integer") {
        Class::Integer
    } else if flag(ty, "is_Rational") {
        Class::Rational
    } else if flag(ty, "is_Float") {
        Class::Float
    } else if flag(ty, "is_Symbol") {
        Class::Symbol
    } else if flag(ty, "is_Add") {
        Class::Add
    } else if flag(ty, "is_Mul") {
        Class::Mul
    } else if flag(ty, "is_Pow") {
        Class::Pow
    } else if FUNCTIONS.contains(&name.as_str()) {
        Class::Func(name)
    } else {
        Class::Unsupported(name)
    };
    Ok(class)
}

fn big_int(obj: &Bound<'_, PyAny>) -> PyResult<BigInt> {
    match obj.extract::<i64>() {
        Ok(small) => Ok(BigInt::from(small)),
        Err(_) => obj.extract::<BigInt>(),
    }
}

/// The double a SymPy Float rounds to, read from its mpmath tuple `(sign, man, exp, bc)`
/// when the mantissa fits a double exactly (every Float made from a double), else via
/// `float()`.
fn sympy_float(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    let py = obj.py();
    if let Ok(mpf) = obj.getattr(intern!(py, "_mpf_")) {
        // Special values (inf, nan) have a zero mantissa and a negative bit count, which
        // fails the u64 extraction; zero is (0, 0, 0, 0).
        if let Ok((sign, man, exp, _)) = mpf.extract::<(u8, u64, i64, u64)>() {
            if (man == 0 && exp == 0) || (man < (1u64 << 53) && (-1022..=971).contains(&exp)) {
                // man < 2**53 and a power of two within the normal range: the product is
                // exact (at least 2**-1022, below 2**1024).
                let scale = f64::from_bits(((exp + 1023) as u64) << 52);
                let value = man as f64 * scale;
                return Ok(if sign == 1 { -value } else { value });
            }
        }
    }
    obj.extract::<f64>()
}

fn float(value: f64) -> Expr {
    if value.is_finite() {
        Expr::number(Number::Float(value))
    } else if value.is_nan() {
        Expr::constant("nan")
    } else if value > 0.0 {
        Expr::constant("oo")
    } else {
        Expr::mul(vec![Expr::int(-1), Expr::constant("oo")])
    }
}

impl Walker {
    pub fn new() -> Walker {
        Walker {
            classes: HashMap::new(),
        }
    }

    fn args<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        // `_args` is the slot behind SymPy's `args` property: reading it directly skips a
        // Python-level property call per node.
        let py = obj.py();
        let args = match obj.getattr(intern!(py, "_args")) {
            Ok(a) => a,
            Err(_) => obj.getattr(intern!(py, "args"))?,
        };
        Ok(args.cast_into::<PyTuple>()?)
    }

    fn walk_args(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Vec<Expr>> {
        Walker::args(obj)?.iter().map(|a| self.walk(&a)).collect()
    }

    /// The canonical form of one SymPy expression (or Python number or bool).
    pub fn walk(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Expr> {
        let py = obj.py();
        // Plain Python values, as they appear in (Symbol, 0) pairs and constant dicts.
        if obj.is_instance_of::<PyBool>() {
            return Ok(Expr::truth(obj.extract::<bool>()?));
        }
        if obj.is_instance_of::<PyInt>() {
            return Ok(Expr::number(Number::integer(big_int(obj)?)));
        }
        if obj.is_instance_of::<PyFloat>() {
            return Ok(float(obj.extract::<f64>()?));
        }
        if obj.is_instance_of::<PyString>() {
            return Err(EquationError::new_err(format!(
                "expected a SymPy expression, got the string {:?}; parse strings with \
                 parse_equations",
                obj.extract::<String>()?
            )));
        }
        let ty = obj.get_type();
        let key = ty.as_ptr() as usize;
        let class = match self.classes.get(&key) {
            Some(c) => c.clone(),
            None => {
                let c = classify(&ty)?;
                self.classes.insert(key, c.clone());
                c
            }
        };
        Ok(match class {
            Class::Integer => {
                let p = obj.getattr(intern!(py, "p"))?;
                match p.extract::<i64>() {
                    Ok(small) => Expr::number(Number::Int(small)),
                    Err(_) => Expr::number(Number::integer(big_int(&p)?)),
                }
            }
            Class::Rational => {
                let p = big_int(&obj.getattr(intern!(py, "p"))?)?;
                let q = big_int(&obj.getattr(intern!(py, "q"))?)?;
                Expr::number(Number::exact(BigRational::new(p, q)))
            }
            // The double the value rounds to: what generated code computes with.
            Class::Float => float(sympy_float(obj)?),
            Class::Symbol => Expr::symbol(
                obj.getattr(intern!(py, "name"))?
                    .cast::<PyString>()?
                    .to_str()?,
            ),
            Class::Const(name) => Expr::constant(name),
            Class::NegativeInfinity => Expr::mul(vec![Expr::int(-1), Expr::constant("oo")]),
            Class::Add => Expr::add(self.walk_args(obj)?),
            Class::Mul => Expr::mul(self.walk_args(obj)?),
            Class::Pow => {
                let mut args = self.walk_args(obj)?;
                let exp = args.pop();
                match (args.pop(), exp) {
                    (Some(b), Some(e)) if args.is_empty() => Expr::pow(b, e),
                    _ => return Err(EquationError::new_err("Pow needs two arguments")),
                }
            }
            Class::Func(name) => Expr::func(&name, self.walk_args(obj)?),
            Class::Piecewise => {
                let mut pairs = Vec::new();
                for pair in Walker::args(obj)?.iter() {
                    let parts = Walker::args(&pair)?;
                    if parts.len() != 2 {
                        return Err(EquationError::new_err(
                            "Piecewise arguments must be (expression, condition) pairs",
                        ));
                    }
                    pairs.push((
                        self.walk(&parts.get_item(0)?)?,
                        self.walk(&parts.get_item(1)?)?,
                    ));
                }
                Expr::piecewise(pairs)
            }
            Class::Rel(op) => {
                let mut args = self.walk_args(obj)?;
                if args.len() != 2 {
                    return Err(EquationError::new_err("a relation needs two sides"));
                }
                let right = args.pop().expect("two sides");
                let left = args.pop().expect("two sides");
                Expr::relation(op, left, right)
            }
            Class::Bool(op) => Expr::boolean(op, self.walk_args(obj)?),
            Class::Truth(v) => Expr::truth(v),
            Class::Unsupported(name) => {
                return Err(EquationError::new_err(format!(
                    "unsupported function or object {name} (allowed functions: {})",
                    FUNCTIONS.join(", ")
                )))
            }
        })
    }
}

impl Default for Walker {
    fn default() -> Self {
        Walker::new()
    }
}
