//! Python entry points of the ODE canonical form: `ode_hash_system`, `ode_canonical_text`,
//! `ode_generate_source`, `ode_encode_expr`, `ode_render_expr` and `ode_prehash`.  The public, documented API is
//! `cubie_hash.ode`, which calls these.

use std::collections::HashMap;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString, PyTuple};

use pyo3::exceptions::PyValueError;

use super::canonical_py::CanonicalSystem;
use super::emit::{generate, Options, Precision, Target};
use super::encoding::{Expr, View};
use super::names::normalised;
use super::number::Number;
use super::prehash::RawSystem;
use super::sympy_walk::Walker;
use super::system::System;
use crate::digest::parse_algorithm;
use crate::errors::{EquationError, InputTypeError};

/// A short description of a value for an error message.  `repr()` of a deep SymPy tree
/// recurses and of a huge int meets Python's digit limit, so a failing or long `repr()` gives
/// way to the type name.
fn describe(obj: &Bound<'_, PyAny>) -> String {
    const LONGEST: usize = 120;
    match obj.repr() {
        Ok(r) if r.len().is_ok_and(|n| n <= LONGEST) => r.to_string(),
        _ => format!(
            "a {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ),
    }
}

/// The spelling of a name given as a `str` or as an object with a `name` (a SymPy Symbol).
fn spelling_of<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.clone());
    }
    let not_a_name = || {
        InputTypeError::new_err(format!(
            "expected a name (str or Symbol), got {}",
            describe(obj)
        ))
    };
    let name = obj.getattr("name").map_err(|_| not_a_name())?;
    name.cast_into::<PyString>().map_err(|_| not_a_name())
}

/// The name of a symbol, NFKC-normalised as Python normalises identifiers.
pub(crate) fn name_of(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    normalised(&spelling_of(obj)?)
}

pub(crate) fn names(seq: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    seq.try_iter()?.map(|item| name_of(&item?)).collect()
}

/// Refuses two declarations of one name, also when they are spelled differently but equal
/// under NFKC (`H` and `ℌ`): generated code would make them one variable.  `declared` holds
/// the Python inputs the system's names were read from, to find the spellings for the message.
fn check_declared(system: &System, declared: &[Option<&Bound<'_, PyAny>>; 5]) -> PyResult<()> {
    let kinds = ["state", "parameter", "driver", "observable", "constant"];
    let lists: [Vec<&str>; 5] = [
        system.states.iter().map(String::as_str).collect(),
        system.parameters.iter().map(String::as_str).collect(),
        system.drivers.iter().map(String::as_str).collect(),
        system.observables.iter().map(String::as_str).collect(),
        system.constants.iter().map(|(n, _)| n.as_str()).collect(),
    ];
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (what, names) in kinds.iter().zip(&lists) {
        for name in names {
            let Some(first) = seen.insert(name, what) else {
                continue;
            };
            // Rare: only now are the spellings looked up again.
            let mut spellings = Vec::new();
            for seq in declared.iter().flatten().filter(|s| !s.is_none()) {
                for item in seq.try_iter()? {
                    let item = item?;
                    if name_of(&item)? == *name {
                        spellings.push(format!("{:?}", spelling_of(&item)?.to_str()?));
                    }
                }
            }
            spellings.dedup();
            let how = if spellings.len() > 1 {
                format!(
                    " (spelled {}, one name under NFKC)",
                    spellings.join(" and ")
                )
            } else {
                String::new()
            };
            return Err(EquationError::new_err(format!(
                "{name:?} is declared twice{how}: as {first} and as {what}"
            )));
        }
    }
    Ok(())
}

/// An error met while reading one equation or constant, as an `EquationError` naming it; a
/// `KeyboardInterrupt` (or any other non-`Exception`) passes through untouched.
fn in_context(py: Python<'_>, context: &str, err: PyErr) -> PyErr {
    if err.is_instance_of::<PyException>(py) && !err.is_instance_of::<InputTypeError>(py) {
        EquationError::new_err(format!("{context}: {}", err.value(py)))
    } else {
        err
    }
}

/// (key, value) items of a mapping in a fixed order (sorted later), or none for `None`.
pub(crate) fn mapping_items<'py>(
    obj: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let items = if let Ok(d) = obj.cast::<PyDict>() {
        d.items().into_any()
    } else {
        obj.cast::<PyMapping>()?.items()?.into_any()
    };
    items
        .try_iter()?
        .map(|kv| {
            let kv = kv?;
            let kv = kv.cast::<PyTuple>()?;
            Ok((kv.get_item(0)?, kv.get_item(1)?))
        })
        .collect()
}

pub(crate) fn constant_value(
    walker: &mut Walker,
    name: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<Expr> {
    let expr = walker
        .walk(value)
        .map_err(|e| in_context(value.py(), &format!("constant {name}"), e))?;
    if matches!(expr.view(), View::Num(_)) {
        Ok(expr)
    } else {
        Err(EquationError::new_err(format!(
            "constant {name} must be a number, got {}",
            describe(value)
        )))
    }
}

fn build_system(
    equations: &Bound<'_, PyAny>,
    constants: Option<&Bound<'_, PyAny>>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
) -> PyResult<System> {
    let mut walker = Walker::new();
    let mut system = System {
        states: names(states)?,
        parameters: names(parameters)?,
        drivers: names(drivers)?,
        observables: names(observables)?,
        ..System::default()
    };
    for (k, v) in mapping_items(constants)? {
        let name = name_of(&k)?;
        let value = constant_value(&mut walker, &name, &v)?;
        system.constants.push((name, value));
    }
    check_declared(
        &system,
        &[
            Some(states),
            Some(parameters),
            Some(drivers),
            Some(observables),
            constants,
        ],
    )?;
    for item in equations.try_iter()? {
        let item = item?;
        let pair: Vec<Bound<'_, PyAny>> = if item.is_instance_of::<PyString>() {
            Vec::new()
        } else {
            item.try_iter()
                .map(|it| it.collect::<PyResult<Vec<_>>>())
                .unwrap_or(Ok(Vec::new()))?
        };
        let [lhs, rhs] = &pair[..] else {
            return Err(InputTypeError::new_err(format!(
                "equations must be (lhs, rhs) pairs, got {}",
                describe(&item)
            )));
        };
        let name = name_of(lhs)?;
        let expr = walker
            .walk(rhs)
            .map_err(|e| in_context(rhs.py(), &format!("equation for {name}"), e))?;
        system.equations.push((name, expr));
    }
    Ok(system)
}

/// Hex digest of the canonical encoding of a system (see ``cubie_hash.ode``).
// Mirrors the Python signature: one argument per hashed part of the system.
#[allow(clippy::too_many_arguments)]
#[pyfunction]
#[pyo3(signature = (equations, constants, states, parameters, drivers, observables, algorithm = "blake3"))]
pub fn ode_hash_system(
    py: Python<'_>,
    equations: &Bound<'_, PyAny>,
    constants: Option<&Bound<'_, PyAny>>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
    algorithm: &str,
) -> PyResult<String> {
    let system = build_system(
        equations,
        constants,
        states,
        parameters,
        drivers,
        observables,
    )?;
    system_digest(py, &system, algorithm)
}

/// Hex digest (`algorithm`) of a system's canonical encoding, hashed without the GIL: the one
/// place every front end's `fn_hash` is computed.
pub(crate) fn system_digest(py: Python<'_>, system: &System, algorithm: &str) -> PyResult<String> {
    let alg = parse_algorithm(algorithm)?;
    let bytes = system
        .encode()
        .map_err(|e| EquationError::new_err(e.to_string()))?;
    Ok(py.detach(|| alg.hexdigest(&bytes, alg.hex_len())))
}

/// Readable rendering of a system's canonical form (see ``cubie_hash.ode.canonical_text``).
#[pyfunction]
pub fn ode_canonical_text(
    equations: &Bound<'_, PyAny>,
    constants: Option<&Bound<'_, PyAny>>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
) -> PyResult<String> {
    build_system(
        equations,
        constants,
        states,
        parameters,
        drivers,
        observables,
    )?
    .render()
    .map_err(|e| EquationError::new_err(e.to_string()))
}

/// Python source of the Numba module for a checked system (see
/// ``cubie_hash.codegen.generate_source``), printed from its canonical form: the very
/// `System` its ``fn_hash`` is the digest of.
#[pyfunction]
#[pyo3(signature = (system, target, precision, *, cse = true))]
pub fn ode_generate_source(
    py: Python<'_>,
    system: PyRef<'_, CanonicalSystem>,
    target: &str,
    precision: &str,
    cse: bool,
) -> PyResult<String> {
    let target = Target::parse(target).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let precision =
        Precision::parse(precision).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let system = system.system();
    py.detach(|| generate(system, target, precision, Options { cse }))
        .map_err(|e| EquationError::new_err(e.to_string()))
}

/// Canonical encoding of one expression (for tests and diagnostics).
#[pyfunction]
pub fn ode_encode_expr<'py>(expr: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let e = Walker::new().walk(expr)?;
    Ok(PyBytes::new(expr.py(), &e.encoding()))
}

/// Readable canonical form of one expression.
#[pyfunction]
pub fn ode_render_expr(expr: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(Walker::new().walk(expr)?.render())
}

fn raw_number(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Expr> {
    use num_bigint::BigInt;
    use pyo3::types::{PyBool, PyFloat, PyInt};
    if value.is_instance_of::<PyBool>() {
        return Err(InputTypeError::new_err(format!(
            "constant {name} must be a number, got a bool"
        )));
    }
    if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyFloat>() {
        let i = value.extract::<BigInt>()?;
        return Ok(Expr::number(Number::integer(i)));
    }
    // Any other number-like value (float, NumPy or SymPy numbers) as the double it is;
    // a SymPy Integer thus keys differently from an int, which costs a cache miss, never a
    // wrong hit.
    match value.extract::<f64>() {
        Ok(f) if f.is_finite() => Ok(Expr::number(Number::Float(f))),
        _ => Err(InputTypeError::new_err(format!(
            "constant {name} must be a finite number, got {}",
            describe(value)
        ))),
    }
}

/// Raw-input prehash (see ``cubie_hash.ode.prehash``).
#[pyfunction]
pub fn ode_prehash(
    py: Python<'_>,
    lines: Vec<String>,
    states: &Bound<'_, PyAny>,
    parameters: &Bound<'_, PyAny>,
    drivers: &Bound<'_, PyAny>,
    observables: &Bound<'_, PyAny>,
    constants: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let mut raw = RawSystem {
        lines,
        states: names(states)?,
        parameters: names(parameters)?,
        drivers: names(drivers)?,
        observables: names(observables)?,
        constants: Vec::new(),
    };
    for (k, v) in mapping_items(constants)? {
        let name = name_of(&k)?;
        let value = raw_number(&name, &v)?;
        raw.constants.push((name, value));
    }
    let alg = crate::algorithm::Algorithm::Blake3;
    let bytes = raw.encode();
    Ok(py.detach(|| alg.hexdigest(&bytes, alg.hex_len())))
}
