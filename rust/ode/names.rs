//! Names as Python sees them: NFKC-normalised, once, at the front door.
//!
//! Python normalises every identifier of source code with NFKC, so `ℌ` and `H`, or `µ`
//! (U+00B5) and `μ` (U+03BC), are one variable in generated code.  Every name that enters the
//! canonical form (declared names, left-hand sides, SymPy symbols) is normalised the same way,
//! with Python's own `unicodedata`, so that two spellings of one variable are one name and two
//! declarations that collide are caught instead of silently sharing a variable.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple};

use crate::errors::EquationError;

/// The NFKC form of `name` (ASCII names, the common case, are their own form).
pub fn normalised(name: &Bound<'_, PyString>) -> PyResult<String> {
    let text = name.to_str()?;
    if text.is_ascii() {
        return Ok(text.to_owned());
    }
    let py = name.py();
    let unicodedata = py.import(intern!(py, "unicodedata"))?;
    let form = unicodedata.call_method1(intern!(py, "normalize"), (intern!(py, "NFKC"), name))?;
    Ok(form.cast_into::<PyString>()?.to_str()?.to_owned())
}

/// Python's keywords (`keyword.kwlist`, sorted), read once: the list depends on the Python
/// version.
static KEYWORDS: PyOnceLock<Vec<String>> = PyOnceLock::new();

fn is_keyword(py: Python<'_>, name: &str) -> PyResult<bool> {
    let keywords = KEYWORDS.get_or_try_init(py, || {
        let mut list: Vec<String> = py
            .import(intern!(py, "keyword"))?
            .getattr(intern!(py, "kwlist"))?
            .extract()?;
        list.sort_unstable();
        PyResult::Ok(list)
    })?;
    Ok(keywords.binary_search_by(|k| k.as_str().cmp(name)).is_ok())
}

/// `str.isidentifier()`, decided here for ASCII names (the common case).
fn is_identifier(name: &Bound<'_, PyString>, text: &str) -> PyResult<bool> {
    if !text.is_ascii() {
        return name
            .call_method0(intern!(name.py(), "isidentifier"))?
            .extract();
    }
    let mut bytes = text.bytes();
    Ok(bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// The NFKC form of `spelling` if it is a Python identifier (not a keyword), else an
/// `EquationError` "`what` name `spelling!r` is not an identifier".  An ASCII `str` comes
/// back as the very object given.
pub fn identifier<'py>(spelling: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyString>> {
    let py = spelling.py();
    let refuse = || -> PyResult<Bound<'py, PyString>> {
        Err(EquationError::new_err(format!(
            "{what} name {} is not an identifier",
            spelling.repr()?
        )))
    };
    let Ok(name) = spelling.cast::<PyString>() else {
        return refuse();
    };
    let text = name.to_str()?;
    if !is_identifier(name, text)? {
        return refuse();
    }
    let normal = if text.is_ascii() && name.is_exact_instance_of::<PyString>() {
        name.clone()
    } else {
        PyString::new(py, &normalised(name)?)
    };
    if is_keyword(py, normal.to_str()?)? {
        return refuse();
    }
    Ok(normal)
}

/// ``check_identifier`` of ``cubie_hash.ode.declarations``: the NFKC form of an identifier.
#[pyfunction]
pub fn ode_identifier<'py>(name: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyString>> {
    identifier(name, what)
}

/// The names of declared items (a `str`, or an object with a `name`, as a SymPy Symbol), each
/// checked by [`identifier`]: one call for a whole layout.
#[pyfunction]
pub fn ode_identifiers<'py>(
    items: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = items.py();
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let spelling = if item.is_instance_of::<PyString>() {
            item
        } else {
            match item.getattr_opt(intern!(py, "name"))? {
                Some(name) => name,
                None => item,
            }
        };
        out.push(identifier(&spelling, what)?);
    }
    PyTuple::new(py, out)
}
