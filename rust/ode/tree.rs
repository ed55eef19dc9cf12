//! The canonical form as a Python tree, for consumers that rebuild it in their own terms
//! (unevaluated SymPy, CuBIE's IR, a pickle reduction).
//!
//! Every node is a `(tag, payload)` tuple:
//!
//! | tag | payload |
//! | --- | --- |
//! | `"int"` | `int` |
//! | `"rat"` | `(p, q)`, lowest terms, `q > 1` |
//! | `"float"` | `float`: the double the canonical form encodes |
//! | `"sym"` / `"const"` | name (`"pi"`, `"E"`, `"oo"`, … for a constant) |
//! | `"add"` / `"mul"` | tuple of children, in canonical order |
//! | `"pow"` | `(base, exponent)` |
//! | `"func"` | `(name, tuple of arguments)` |
//! | `"piecewise"` | tuple of `(expression, condition)` |
//! | `"rel"` | `(op, left, right)`, op one of `"<"`, `"<="`, `"=="`, `"!="` |
//! | `"bool"` | `(op, tuple of arguments)`, op one of `"and"`, `"or"`, `"not"`, `"xor"` |
//! | `"truth"` | `bool` |

use num_traits::One;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use super::bindings::name_of;
use super::encoding::{BoolOp, Expr, RelOp, View};
use super::number::Number;
use super::sympy_walk::Walker;
use crate::errors::{EquationError, InputTypeError};

fn node<'py>(
    py: Python<'py>,
    tag: &str,
    payload: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyTuple::new(py, [PyString::new(py, tag).into_any(), payload])?.into_any())
}

fn children<'py>(py: Python<'py>, args: &[Expr]) -> PyResult<Bound<'py, PyAny>> {
    let items = args
        .iter()
        .map(|a| to_tree(py, a))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyTuple::new(py, items)?.into_any())
}

/// A rational's node: `("rat", (p, q))`, whichever way the number holds it.
fn rational<'py>(
    py: Python<'py>,
    p: Bound<'py, PyAny>,
    q: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    node(py, "rat", PyTuple::new(py, [p, q])?.into_any())
}

/// The `(tag, payload)` tree of one canonical expression.
pub fn to_tree<'py>(py: Python<'py>, e: &Expr) -> PyResult<Bound<'py, PyAny>> {
    match e.view() {
        View::Num(Number::Int(i)) => node(py, "int", i.into_pyobject(py)?.into_any()),
        View::Num(Number::Exact(r)) if r.denom().is_one() => {
            node(py, "int", r.numer().into_pyobject(py)?.into_any())
        }
        View::Num(Number::Ratio(q)) => rational(
            py,
            q.numer().into_pyobject(py)?.into_any(),
            q.denom().into_pyobject(py)?.into_any(),
        ),
        View::Num(Number::Exact(r)) => rational(
            py,
            r.numer().into_pyobject(py)?.into_any(),
            r.denom().into_pyobject(py)?.into_any(),
        ),
        View::Num(Number::Float(f) | Number::Approx(_, f)) => {
            node(py, "float", f.into_pyobject(py)?.into_any())
        }
        View::Sym(name) => node(py, "sym", PyString::new(py, name).into_any()),
        View::Const(name) => node(py, "const", PyString::new(py, name).into_any()),
        View::Add(args) => node(py, "add", children(py, args)?),
        View::Mul(args) => node(py, "mul", children(py, args)?),
        View::Pow(b, x) => node(py, "pow", children(py, &[b.clone(), x.clone()])?),
        View::Func(name, args) => {
            let payload = PyTuple::new(
                py,
                [PyString::new(py, name).into_any(), children(py, args)?],
            )?;
            node(py, "func", payload.into_any())
        }
        View::Piecewise(pairs) => {
            let items = pairs
                .iter()
                .map(|(v, c)| Ok(PyTuple::new(py, [to_tree(py, v)?, to_tree(py, c)?])?.into_any()))
                .collect::<PyResult<Vec<_>>>()?;
            node(py, "piecewise", PyTuple::new(py, items)?.into_any())
        }
        View::Rel(op, l, r) => {
            let op = match op {
                RelOp::Lt => "<",
                RelOp::Le => "<=",
                RelOp::Eq => "==",
                RelOp::Ne => "!=",
                RelOp::Gt => ">",
                RelOp::Ge => ">=",
            };
            let payload = PyTuple::new(
                py,
                [
                    PyString::new(py, op).into_any(),
                    to_tree(py, l)?,
                    to_tree(py, r)?,
                ],
            )?;
            node(py, "rel", payload.into_any())
        }
        View::Bool(op, args) => {
            let op = match op {
                BoolOp::And => "and",
                BoolOp::Or => "or",
                BoolOp::Not => "not",
                BoolOp::Xor => "xor",
            };
            let payload =
                PyTuple::new(py, [PyString::new(py, op).into_any(), children(py, args)?])?;
            node(py, "bool", payload.into_any())
        }
        View::Truth(v) => node(py, "truth", v.into_pyobject(py)?.to_owned().into_any()),
    }
}

/// `[(name, canonical tree), ...]` of (lhs, SymPy rhs) pairs, sorted by name.
#[pyfunction]
pub fn ode_canonical_trees<'py>(
    py: Python<'py>,
    equations: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let mut walker = Walker::new();
    let mut items: Vec<(String, Expr)> = Vec::new();
    for item in equations.try_iter()? {
        let item = item?;
        let pair: Vec<Bound<'_, PyAny>> = item
            .try_iter()
            .and_then(|it| it.collect::<PyResult<Vec<_>>>())
            .map_err(|_| InputTypeError::new_err("equations must be (lhs, rhs) pairs"))?;
        let [lhs, rhs] = &pair[..] else {
            return Err(InputTypeError::new_err(
                "equations must be (lhs, rhs) pairs",
            ));
        };
        let name = name_of(lhs)?;
        let expr = walker
            .walk(rhs)
            .map_err(|e| EquationError::new_err(format!("equation for {name}: {}", e.value(py))))?;
        items.push((name, expr));
    }
    named_trees(py, &items)
}

/// `[(name, tree), ...]` of named canonical expressions, sorted by name.
pub fn named_trees<'py>(py: Python<'py>, items: &[(String, Expr)]) -> PyResult<Bound<'py, PyList>> {
    let mut sorted: Vec<&(String, Expr)> = items.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let out = sorted
        .iter()
        .map(|(name, e)| PyTuple::new(py, [PyString::new(py, name).into_any(), to_tree(py, e)?]))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, out)
}
