//! `CanonicalSystem`: the Python handle on a checked system in canonical form.
//!
//! Built from text (parsed here, no SymPy) or from SymPy trees (walked by `sympy_walk`), or a
//! mix; `parse_equations` keeps one on every `ParsedEquations`.  Other Rust code reads the
//! pure [`System`] through [`CanonicalSystem::system`]: a `#[pyfunction]` taking
//! `PyRef<'_, CanonicalSystem>` needs nothing else.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::bindings::{constant_value, mapping_items, name_of, names, system_digest};
use super::canonical::{parse_text, Canonical, Lowered};
use super::checks::{Declared, Item};
use super::encoding::Expr;
use super::sympy_walk::Walker;
use super::system::System;
use super::text::{parse_rhs, py_strip};
use crate::errors::{EquationError, InputTypeError};

/// An equation as handed over, before the text ones are parsed (without the GIL).
enum Pending {
    Text(String),
    Rhs {
        lhs: String,
        rhs: String,
        label: String,
    },
    Done(Lowered),
}

fn parse_pending(pending: Vec<Pending>) -> Result<Vec<Lowered>, String> {
    super::text::lower::new_system();
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        match p {
            Pending::Text(text) => out.extend(parse_text(&text)?),
            Pending::Rhs { lhs, rhs, label } => {
                let eq = parse_rhs(&lhs, py_strip(&rhs)).map_err(|e| e.describe(&label))?;
                out.push(Lowered::from_text(eq, label));
            }
            Pending::Done(l) => out.push(l),
        }
    }
    Ok(out)
}

fn entry(walker: &mut Walker, item: &Bound<'_, PyAny>) -> PyResult<Pending> {
    if let Ok(text) = item.cast::<PyString>() {
        return Ok(Pending::Text(text.to_str()?.to_owned()));
    }
    let parts = item.cast::<PyTuple>().map_err(|_| {
        InputTypeError::new_err(format!(
            "an equation entry is a str or a tuple, got {}",
            item.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let lhs = name_of(&parts.get_item(0)?)?;
    let rhs = parts.get_item(1)?;
    // The line an equation came from, where it came from one; else `lhs = rhs` as given.
    let label: Option<String> = parts.get_item(2)?.extract()?;
    if let Ok(text) = rhs.cast::<PyString>() {
        let rhs = text.to_str()?.to_owned();
        return Ok(Pending::Rhs {
            label: label.unwrap_or_else(|| format!("{lhs} = {rhs}")),
            lhs,
            rhs,
        });
    }
    walker.take_symbols(); // from here on, this right-hand side's only
    let expr = walker.walk(&rhs).map_err(|e| {
        EquationError::new_err(format!("equation for {lhs}: {}", e.value(rhs.py())))
    })?;
    let symbols = walker.take_symbols();
    let shown = shown(&rhs)?;
    let label = label.unwrap_or_else(|| format!("{lhs} = {shown}"));
    Ok(Pending::Done(Lowered {
        item: Item {
            lhs,
            label,
            symbols,
            shown,
        },
        rhs: expr,
        from_text: false,
    }))
}

/// A SymPy right-hand side as messages show it: its `str`, or a placeholder where SymPy's
/// printer, which recurses, gives up on a deep tree (the walk itself does not recurse).
fn shown(rhs: &Bound<'_, PyAny>) -> PyResult<String> {
    match rhs.str() {
        Ok(text) => Ok(text.to_str()?.to_owned()),
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyException>(rhs.py()) => {
            Ok("<an expression too deep for SymPy to print>".to_owned())
        }
        Err(err) => Err(err),
    }
}

fn constants(
    walker: &mut Walker,
    constants: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<(String, Expr)>> {
    let mut out = Vec::new();
    for (k, v) in mapping_items(constants)? {
        let name = name_of(&k)?;
        let value = constant_value(walker, &name, &v)?;
        out.push((name, value));
    }
    Ok(out)
}

/// A checked ODE system in canonical form (see ``cubie_hash.ode.parse_equations``).
#[pyclass(frozen, module = "cubie_hash._core")]
pub struct CanonicalSystem {
    canonical: Canonical,
}

impl CanonicalSystem {
    /// The canonical form, for Rust code reading the system (hash, rendering, code).
    pub fn system(&self) -> &System {
        self.canonical.system()
    }

    fn with_layouts(
        &self,
        walker: &mut Walker,
        consts: Option<&Bound<'_, PyAny>>,
        layouts: [&Bound<'_, PyAny>; 4],
    ) -> PyResult<System> {
        Ok(System {
            states: names(layouts[0])?,
            parameters: names(layouts[1])?,
            drivers: names(layouts[2])?,
            observables: names(layouts[3])?,
            constants: constants(walker, consts)?,
            equations: self.system().equations.clone(),
        })
    }
}

#[pymethods]
impl CanonicalSystem {
    /// Parse, walk and check a system.
    ///
    /// ``equations`` is a ``str`` (lines of ``lhs = rhs``) or a list of entries: a ``str``
    /// (lines) or ``(lhs, rhs, label)`` with ``rhs`` a ``str``, a SymPy expression or a
    /// number, and ``label`` the line it came from or None (then ``lhs = rhs``, SymPy's
    /// ``str`` printed once).  Text is parsed in Rust with the GIL released; the symbols of a
    /// SymPy right-hand side are those its walk meets.
    #[new]
    #[pyo3(signature = (equations, states, parameters, constants, drivers, observables))]
    fn new(
        py: Python<'_>,
        equations: &Bound<'_, PyAny>,
        states: &Bound<'_, PyAny>,
        parameters: &Bound<'_, PyAny>,
        constants: Option<&Bound<'_, PyAny>>,
        drivers: &Bound<'_, PyAny>,
        observables: &Bound<'_, PyAny>,
    ) -> PyResult<CanonicalSystem> {
        let mut walker = Walker::new();
        let consts = self::constants(&mut walker, constants)?;
        let declared = Declared {
            states: names(states)?,
            parameters: names(parameters)?,
            constants: consts.iter().map(|(n, _)| n.clone()).collect(),
            drivers: names(drivers)?,
            observables: names(observables)?,
        };
        let pending = if let Ok(text) = equations.cast::<PyString>() {
            vec![Pending::Text(text.to_str()?.to_owned())]
        } else {
            let list = equations.cast::<PyList>()?;
            let mut pending = Vec::with_capacity(list.len());
            for item in list.iter() {
                pending.push(entry(&mut walker, &item)?);
            }
            pending
        };
        let canonical = py
            .detach(|| {
                let lowered = parse_pending(pending)?;
                Canonical::assemble(declared, consts, lowered)
            })
            .map_err(EquationError::new_err)?;
        Ok(CanonicalSystem { canonical })
    }

    /// Hex digest of the canonical encoding (``ParsedEquations.fn_hash``).
    #[pyo3(signature = (algorithm = "blake3"))]
    fn fn_hash(&self, py: Python<'_>, algorithm: &str) -> PyResult<String> {
        system_digest(py, self.system(), algorithm)
    }

    /// The hash of these equations with other constants and layouts
    /// (``hash_system_definition`` of a parsed system).
    // One argument per hashed part, as `hash_system_definition` takes them.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (constants, states, parameters, drivers, observables, algorithm = "blake3"))]
    fn fn_hash_with(
        &self,
        py: Python<'_>,
        constants: Option<&Bound<'_, PyAny>>,
        states: &Bound<'_, PyAny>,
        parameters: &Bound<'_, PyAny>,
        drivers: &Bound<'_, PyAny>,
        observables: &Bound<'_, PyAny>,
        algorithm: &str,
    ) -> PyResult<String> {
        let system = self.with_layouts(
            &mut Walker::new(),
            constants,
            [states, parameters, drivers, observables],
        )?;
        system_digest(py, &system, algorithm)
    }

    /// ``[(name, canonical tree)]`` of the equations, sorted by name: the very expressions
    /// ``fn_hash`` digests (``cubie_hash.ode.trees``).
    fn trees<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        super::tree::named_trees(py, &self.system().equations)
    }

    /// Readable rendering of the canonical form (``canonical_text``).
    fn canonical_text(&self) -> PyResult<String> {
        self.system()
            .render()
            .map_err(|e| EquationError::new_err(e.to_string()))
    }

    /// Left-hand sides, in evaluation order.
    #[getter]
    fn lhs(&self) -> Vec<&str> {
        self.canonical.lhs().collect()
    }

    /// The label of each equation (the line it came from), in evaluation order.
    #[getter]
    fn labels(&self) -> Vec<&str> {
        self.canonical
            .given()
            .iter()
            .map(|g| g.label.as_str())
            .collect()
    }

    /// The sorted names of the symbols each right-hand side uses, in evaluation order.
    #[getter]
    fn symbols(&self) -> Vec<Vec<&str>> {
        self.canonical
            .given()
            .iter()
            .map(|g| {
                let mut s: Vec<&str> = g.symbols.iter().map(String::as_str).collect();
                s.sort_unstable();
                s
            })
            .collect()
    }

    /// Each right-hand side's text (``None`` where it was given as SymPy), in evaluation
    /// order.
    #[getter]
    fn rhs_texts(&self) -> Vec<Option<&str>> {
        self.canonical
            .given()
            .iter()
            .map(|g| g.rhs_text())
            .collect()
    }

    fn __len__(&self) -> usize {
        self.canonical.given().len()
    }

    fn __repr__(&self) -> String {
        format!("<CanonicalSystem of {} equations>", self.__len__())
    }
}

/// Canonical encoding of one right-hand side given as text (for tests and diagnostics).
#[pyfunction]
pub fn ode_encode_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyBytes>> {
    let eq = parse_rhs("", py_strip(text)).map_err(|e| EquationError::new_err(e.describe(text)))?;
    Ok(PyBytes::new(py, &eq.rhs.encoding()))
}

/// Readable canonical form of one right-hand side given as text.
#[pyfunction]
pub fn ode_render_text(text: &str) -> PyResult<String> {
    let eq = parse_rhs("", py_strip(text)).map_err(|e| EquationError::new_err(e.describe(text)))?;
    Ok(eq.rhs.render())
}
