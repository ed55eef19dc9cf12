//! Walking CuBIE's engine IR (`cubie.odesystems.symbolic.engine.expr`) into the canonical form.
//!
//! CuBIE 0.17 parses every input into its own interned IR: `Num` (an `int`, `float` or
//! `fractions.Fraction`), `Sym`, `Local`, `Arr`, `Add`, `Mul`, `Pow`, `Call`, `Piecewise`,
//! `Rel`, `BoolOp` and `BoolConst`.  Nodes are recognised by their class (name and module,
//! once per class per walk) and read through their slots (`value`, `name`, `args`, `base`,
//! `exp`, `pairs`, `op`, `lhs`, `rhs`, `kind`); each node becomes an [`Expr`] through the same
//! normalising constructors the SymPy walk uses, so the two walks agree wherever the trees
//! do.  Numbers are read exactly: a `Fraction` as its numerator and denominator, a `float` as
//! the double it is.  The IR is a DAG (interned, shared subexpressions), so each node is
//! converted once per walk.
//!
//! CuBIE names the derivative of state `X` with a registry symbol (`X_t`, or `X_t_` when
//! `X_t` is taken); the caller passes that registry's map back to `dX`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use num_bigint::BigInt;
use num_rational::BigRational;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::bindings::{constant_value, mapping_items, name_of, names, system_digest};
use super::encoding::{BoolOp, Expr, RelOp};
use super::number::Number;
use super::rules::FUNCTIONS;
use super::sympy_walk::{big_int, float, Walker};
use super::system::System;
use super::tree::to_tree;
use crate::errors::EquationError;

/// The module CuBIE's IR classes live in.
pub const IR_MODULE: &str = "cubie.odesystems.symbolic.engine.expr";

/// Deeper trees are refused with an error rather than risking the native stack (CuBIE's own
/// recursive `repr` and `sort_key` give up far earlier).
const MAX_DEPTH: usize = 2000;

#[derive(Clone, Debug)]
enum Node {
    Num,
    Sym,
    Local,
    Arr,
    Add,
    Mul,
    Pow,
    Call,
    Piecewise,
    Rel,
    BoolOp,
    BoolConst,
    Foreign(String),
}

fn classify(ty: &Bound<'_, pyo3::types::PyType>) -> PyResult<Node> {
    let name = ty.name()?.to_string();
    let module = ty.module()?.to_string();
    if module != IR_MODULE {
        return Ok(Node::Foreign(format!("{module}.{name}")));
    }
    Ok(match name.as_str() {
        "Num" => Node::Num,
        "Sym" => Node::Sym,
        "Local" => Node::Local,
        "Arr" => Node::Arr,
        "Add" => Node::Add,
        "Mul" => Node::Mul,
        "Pow" => Node::Pow,
        "Call" => Node::Call,
        "Piecewise" => Node::Piecewise,
        "Rel" => Node::Rel,
        "BoolOp" => Node::BoolOp,
        "BoolConst" => Node::BoolConst,
        _ => Node::Foreign(format!("{module}.{name}")),
    })
}

/// The exact value of a `Num` payload: `int`, `float` or `fractions.Fraction`.
fn number(value: &Bound<'_, PyAny>) -> PyResult<Expr> {
    let py = value.py();
    if value.is_instance_of::<PyBool>() {
        return Err(EquationError::new_err(
            "a CuBIE Num holds a bool, which is not a number",
        ));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Expr::number(Number::integer(big_int(value)?)));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(float(value.extract::<f64>()?));
    }
    match (
        value.getattr(intern!(py, "numerator")),
        value.getattr(intern!(py, "denominator")),
    ) {
        (Ok(p), Ok(q)) => {
            let (p, q) = (big_int(&p)?, big_int(&q)?);
            if q == BigInt::from(0) {
                return Err(EquationError::new_err("a CuBIE Num has a zero denominator"));
            }
            Ok(Expr::number(Number::exact(BigRational::new(p, q))))
        }
        _ => Err(EquationError::new_err(format!(
            "a CuBIE Num holds {}, which is not an int, float or Fraction",
            value.repr()?
        ))),
    }
}

/// The two sides of one equation: any (lhs, rhs) tuple or list.
fn pair_of<'py>(item: &Bound<'py, PyAny>) -> PyResult<[Bound<'py, PyAny>; 2]> {
    let sides: Option<Vec<Bound<'py, PyAny>>> = if item.is_instance_of::<PyString>() {
        None
    } else {
        item.try_iter()
            .ok()
            .and_then(|it| it.collect::<PyResult<Vec<_>>>().ok())
    };
    sides
        .and_then(|v| <[Bound<'py, PyAny>; 2]>::try_from(v).ok())
        .ok_or_else(|| EquationError::new_err("CuBIE equations must be (lhs, rhs) pairs"))
}

fn str_attr(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<String> {
    Ok(obj.getattr(name)?.cast::<PyString>()?.to_str()?.to_owned())
}

/// Hashes the object addresses the walk is keyed by: they are unique while the walk holds
/// the tree, so no keyed (DoS-resistant) hash is needed, and SipHash showed in profiles.
#[derive(Default)]
struct Address(u64);

impl Hasher for Address {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        // Fibonacci hashing; the low bits of an address are alignment zeros.
        self.0 = (n as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(26);
    }
}

type ByAddress<V> = HashMap<usize, V, BuildHasherDefault<Address>>;

/// Converts CuBIE IR to canonical expressions, remembering each class and each leaf (symbol,
/// number) it has seen: the IR is interned, so a symbol is one object however often it is
/// used.  Inner nodes are not remembered: copying a finished subtree costs more than
/// rebuilding it.
pub struct CubieWalker {
    classes: Vec<(usize, Node)>,
    leaves: ByAddress<Expr>,
    derivatives: HashMap<String, String>,
    depth: usize,
}

impl CubieWalker {
    /// A walker that renames the symbols in `derivatives` (CuBIE's `X_t` → `dX`).
    pub fn new(derivatives: HashMap<String, String>) -> CubieWalker {
        CubieWalker {
            classes: Vec::new(),
            leaves: ByAddress::default(),
            derivatives,
            depth: 0,
        }
    }

    fn node(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Node> {
        let ty = obj.get_type();
        let key = ty.as_ptr() as usize;
        // About a dozen classes: a scan beats hashing.
        if let Some((_, n)) = self.classes.iter().find(|(k, _)| *k == key) {
            return Ok(n.clone());
        }
        let n = classify(&ty)?;
        self.classes.push((key, n.clone()));
        Ok(n)
    }

    fn symbol(&self, name: String) -> Expr {
        match self.derivatives.get(&name) {
            Some(d) => Expr::symbol(d),
            None => Expr::symbol(&name),
        }
    }

    fn walk_all(&mut self, seq: &Bound<'_, PyAny>) -> PyResult<Vec<Expr>> {
        seq.cast::<PyTuple>()?
            .iter()
            .map(|a| self.walk(&a))
            .collect()
    }

    /// The name an equation assigns: a `Sym` left-hand side, renamed like any symbol.
    pub fn lhs_name(&mut self, lhs: &Bound<'_, PyAny>) -> PyResult<String> {
        match self.node(lhs)? {
            Node::Sym => {
                let name = str_attr(lhs, intern!(lhs.py(), "name"))?;
                Ok(self.derivatives.get(&name).cloned().unwrap_or(name))
            }
            _ => Err(EquationError::new_err(format!(
                "left-hand side {} is not a CuBIE Sym: implicit equations and array \
                 outputs have no canonical form",
                lhs.repr()?
            ))),
        }
    }

    /// The canonical form of one CuBIE IR expression.
    pub fn walk(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Expr> {
        if self.depth >= MAX_DEPTH {
            return Err(EquationError::new_err(format!(
                "expression nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth += 1;
        // A level takes a few hundred bytes of stack (kilobytes in a debug build): grow it on
        // the heap when the thread's own runs low (a Python thread may have 256 KiB), so the
        // limit, not the thread, decides.
        let result = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.convert(obj));
        self.depth -= 1;
        result
    }

    fn convert(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Expr> {
        let py = obj.py();
        let node = self.node(obj)?;
        if matches!(node, Node::Num | Node::Sym | Node::Local) {
            let key = obj.as_ptr() as usize;
            if let Some(e) = self.leaves.get(&key) {
                return Ok(e.clone());
            }
            let e = match node {
                Node::Num => number(&obj.getattr(intern!(py, "value"))?)?,
                // A generated local is a scalar like any symbol.
                _ => self.symbol(str_attr(obj, intern!(py, "name"))?),
            };
            self.leaves.insert(key, e.clone());
            return Ok(e);
        }
        Ok(match node {
            Node::Num | Node::Sym | Node::Local => unreachable!("leaves are handled above"),
            Node::Arr => {
                return Err(EquationError::new_err(format!(
                    "array element {} has no canonical form (symbols are names)",
                    obj.repr()?
                )))
            }
            Node::Add => Expr::add(self.walk_all(&obj.getattr(intern!(py, "args"))?)?),
            Node::Mul => Expr::mul(self.walk_all(&obj.getattr(intern!(py, "args"))?)?),
            Node::Pow => {
                let base = self.walk(&obj.getattr(intern!(py, "base"))?)?;
                let exp = self.walk(&obj.getattr(intern!(py, "exp"))?)?;
                Expr::pow(base, exp)
            }
            Node::Call => {
                let name = str_attr(obj, intern!(py, "name"))?;
                let mut args = self.walk_all(&obj.getattr(intern!(py, "args"))?)?;
                if name == "sqrt" && args.len() == 1 {
                    // SymPy's sqrt is a power, and so is the canonical one.
                    let half = Number::exact(BigRational::new(1.into(), 2.into()));
                    Expr::pow(args.pop().expect("one argument"), Expr::number(half))
                } else if FUNCTIONS.contains(&name.as_str()) {
                    Expr::func(&name, args)
                } else {
                    return Err(EquationError::new_err(format!(
                        "unsupported function {name} (allowed functions: sqrt, {})",
                        FUNCTIONS.join(", ")
                    )));
                }
            }
            Node::Piecewise => {
                let mut pairs = Vec::new();
                for pair in obj.getattr(intern!(py, "pairs"))?.cast::<PyTuple>()?.iter() {
                    let pair = pair.cast::<PyTuple>()?;
                    if pair.len() != 2 {
                        return Err(EquationError::new_err(
                            "Piecewise pairs must be (value, condition)",
                        ));
                    }
                    pairs.push((
                        self.walk(&pair.get_item(0)?)?,
                        self.walk(&pair.get_item(1)?)?,
                    ));
                }
                Expr::piecewise(pairs)
            }
            Node::Rel => {
                let op = match str_attr(obj, intern!(py, "op"))?.as_str() {
                    "<" => RelOp::Lt,
                    "<=" => RelOp::Le,
                    ">" => RelOp::Gt,
                    ">=" => RelOp::Ge,
                    "==" => RelOp::Eq,
                    "!=" => RelOp::Ne,
                    other => {
                        return Err(EquationError::new_err(format!(
                            "unsupported relation {other:?}"
                        )))
                    }
                };
                let left = self.walk(&obj.getattr(intern!(py, "lhs"))?)?;
                let right = self.walk(&obj.getattr(intern!(py, "rhs"))?)?;
                Expr::relation(op, left, right)
            }
            Node::BoolOp => {
                let op = match str_attr(obj, intern!(py, "kind"))?.as_str() {
                    "and" => BoolOp::And,
                    "or" => BoolOp::Or,
                    "not" => BoolOp::Not,
                    other => {
                        return Err(EquationError::new_err(format!(
                            "unsupported boolean operator {other:?}"
                        )))
                    }
                };
                Expr::boolean(op, self.walk_all(&obj.getattr(intern!(py, "args"))?)?)
            }
            Node::BoolConst => Expr::truth(obj.getattr(intern!(py, "value"))?.extract::<bool>()?),
            Node::Foreign(name) => {
                return Err(EquationError::new_err(format!(
                    "expected a CuBIE IR node, got a {name}"
                )))
            }
        })
    }

    /// (name, canonical right-hand side) of every (lhs, rhs) pair of `equations`.
    pub fn equations(&mut self, equations: &Bound<'_, PyAny>) -> PyResult<Vec<(String, Expr)>> {
        let mut out = Vec::new();
        for item in equations.try_iter()? {
            let pair = pair_of(&item?)?;
            let name = self.lhs_name(&pair[0])?;
            let rhs = &pair[1];
            let expr = self.walk(rhs).map_err(|e| {
                EquationError::new_err(format!("equation for {name}: {}", e.value(rhs.py())))
            })?;
            out.push((name, expr));
        }
        Ok(out)
    }
}

/// The derivative renames: a dict of names, or CuBIE's `DerivativeRegistry` (anything with
/// `lower_order`), asked about each left-hand side: a first derivative `X_t` becomes `dX`.
fn derivative_map(
    equations: &Bound<'_, PyAny>,
    derivatives: Option<&Bound<'_, PyAny>>,
) -> PyResult<HashMap<String, String>> {
    let mut map = HashMap::new();
    let Some(d) = derivatives.filter(|d| !d.is_none()) else {
        return Ok(map);
    };
    if let Ok(d) = d.cast::<PyDict>() {
        for (k, v) in d.iter() {
            map.insert(name_of(&k)?, name_of(&v)?);
        }
        return Ok(map);
    }
    let py = d.py();
    let lower_order = d.getattr(intern!(py, "lower_order"))?;
    for item in equations.try_iter()? {
        let Ok([lhs, _]) = pair_of(&item?) else {
            continue; // refused with its reason by the walk
        };
        let base = lower_order.call1((&lhs,))?;
        if !base.is_none() && lower_order.call1((&base,))?.is_none() {
            let name = str_attr(&lhs, intern!(py, "name"))?;
            let base = str_attr(&base, intern!(py, "name"))?;
            map.insert(name, format!("d{base}"));
        }
    }
    Ok(map)
}

// One argument per hashed part of the system, as in `ode_hash_system`.
#[allow(clippy::too_many_arguments)]
fn cubie_system(
    equations: &Bound<'_, PyAny>,
    derivatives: Option<&Bound<'_, PyAny>>,
    constants: Option<&Bound<'_, PyAny>>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
) -> PyResult<System> {
    let mut walker = CubieWalker::new(derivative_map(equations, derivatives)?);
    let mut numbers = Walker::new();
    let mut system = System {
        states: names(states)?,
        parameters: names(parameters)?,
        drivers: names(drivers)?,
        observables: names(observables)?,
        equations: walker.equations(equations)?,
        ..System::default()
    };
    for (k, v) in mapping_items(constants)? {
        let name = name_of(&k)?;
        let value = constant_value(&mut numbers, &name, &v)?;
        system.constants.push((name, value));
    }
    Ok(system)
}

/// Hex digest of the canonical form of a system given as CuBIE IR pairs.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (equations, derivatives, constants, states, parameters, drivers, observables, algorithm = "blake3"))]
pub fn ode_cubie_hash(
    py: Python<'_>,
    equations: &Bound<'_, PyAny>,
    derivatives: Option<&Bound<'_, PyAny>>,
    constants: Option<&Bound<'_, PyAny>>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
    algorithm: &str,
) -> PyResult<String> {
    let system = cubie_system(
        equations,
        derivatives,
        constants,
        states,
        parameters,
        drivers,
        observables,
    )?;
    system_digest(py, &system, algorithm)
}

/// Readable canonical form of a system given as CuBIE IR pairs.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
pub fn ode_cubie_canonical_text(
    equations: &Bound<'_, PyAny>,
    derivatives: Option<&Bound<'_, PyAny>>,
    constants: Option<&Bound<'_, PyAny>>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
) -> PyResult<String> {
    cubie_system(
        equations,
        derivatives,
        constants,
        states,
        parameters,
        drivers,
        observables,
    )?
    .render()
    .map_err(|e| EquationError::new_err(e.to_string()))
}

/// `[(name, canonical tree), ...]` of CuBIE IR pairs, in input order (see `tree`).
#[pyfunction]
pub fn ode_cubie_trees<'py>(
    py: Python<'py>,
    equations: &Bound<'py, PyAny>,
    derivatives: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let mut walker = CubieWalker::new(derivative_map(equations, derivatives)?);
    let items = walker
        .equations(equations)?
        .iter()
        .map(|(name, e)| PyTuple::new(py, [name.into_pyobject(py)?.into_any(), to_tree(py, e)?]))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}
