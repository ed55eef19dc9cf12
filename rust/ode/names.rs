//! Names as Python sees them: NFKC-normalised, once, at the front door.
//!
//! Python normalises every identifier of source code with NFKC, so `ℌ` and `H`, or `µ`
//! (U+00B5) and `μ` (U+03BC), are one variable in generated code.  Every name that enters the
//! canonical form (declared names, left-hand sides, SymPy symbols) is normalised the same way,
//! with Python's own `unicodedata`, so that two spellings of one variable are one name and two
//! declarations that collide are caught instead of silently sharing a variable.

use std::collections::{HashMap, HashSet};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyMapping, PyString, PyTuple};

use crate::errors::{EquationError, InputTypeError};

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

/// Python's keywords (`keyword.kwlist`), read once: the list depends on the Python version.
static KEYWORDS: PyOnceLock<HashSet<String>> = PyOnceLock::new();

fn is_keyword(py: Python<'_>, name: &str) -> PyResult<bool> {
    let keywords = KEYWORDS.get_or_try_init(py, || {
        py.import(intern!(py, "keyword"))?
            .getattr(intern!(py, "kwlist"))?
            .extract::<Vec<String>>()
            .map(HashSet::from_iter)
    })?;
    Ok(keywords.contains(name))
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

/// The spelling of a declared item: a `str`, or the `name` of an object that has one (a SymPy
/// Symbol), else the item itself (refused by [`identifier`]).
fn spelling_of<'py>(item: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if item.is_instance_of::<PyString>() {
        return Ok(item);
    }
    Ok(item
        .getattr_opt(intern!(item.py(), "name"))?
        .unwrap_or(item))
}

/// One declared layout as given: each item's spelling and checked name, and the values when
/// it was a mapping.
struct Layout<'py> {
    spellings: Vec<Bound<'py, PyAny>>,
    names: Vec<Bound<'py, PyString>>,
    values: Option<Vec<Bound<'py, PyAny>>>,
}

fn is_iterable(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = obj.py();
    let iterable = py
        .import(intern!(py, "collections.abc"))?
        .getattr(intern!(py, "Iterable"))?;
    obj.is_instance(&iterable)
}

fn layout<'py>(declared: &Bound<'py, PyAny>, what: &str) -> PyResult<Layout<'py>> {
    let mut out = Layout {
        spellings: Vec::new(),
        names: Vec::new(),
        values: None,
    };
    if declared.is_none() {
        return Ok(out);
    }
    if declared.is_instance_of::<PyString>() {
        return Err(EquationError::new_err(format!(
            "{what}s must be a list of names or a dict, got the string {}",
            declared.repr()?
        )));
    }
    // A list or a tuple (never a mapping) first: `collections.abc` checks cost more than
    // reading a few names.
    let is_sequence =
        declared.is_exact_instance_of::<PyList>() || declared.is_exact_instance_of::<PyTuple>();
    let items: Vec<Bound<'py, PyAny>> = if is_sequence {
        declared.try_iter()?.collect::<PyResult<_>>()?
    } else if let Ok(mapping) = declared.cast::<PyMapping>() {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for pair in mapping.items()?.iter() {
            let (k, v) = pair.extract()?;
            keys.push(k);
            values.push(v);
        }
        out.values = Some(values);
        keys
    } else if is_iterable(declared)? {
        declared.try_iter()?.collect::<PyResult<_>>()?
    } else {
        return Err(InputTypeError::new_err(format!(
            "{what}s must be a list of names or a dict, got {}",
            declared.get_type().name()?
        )));
    };
    for item in items {
        let spelling = spelling_of(item)?;
        out.names.push(identifier(&spelling, what)?);
        out.spellings.push(spelling);
    }
    Ok(out)
}

/// Refuses the first name declared twice (by its normal form), naming both spellings.
fn refuse_twice(kinds: &[(&str, Layout<'_>)]) -> PyResult<()> {
    let mut seen: HashMap<String, (&str, &Bound<'_, PyAny>)> = HashMap::new();
    for (what, layout) in kinds {
        for (name, spelling) in layout.names.iter().zip(&layout.spellings) {
            let Some(&(first_what, first)) = seen.get(name.to_str()?) else {
                seen.insert(name.to_str()?.to_owned(), (what, spelling));
                continue;
            };
            let spellings = if first.eq(spelling)? {
                String::new()
            } else {
                format!(" (spelled {} and {})", first.repr()?, spelling.repr()?)
            };
            return Err(EquationError::new_err(format!(
                "{} is declared twice{spellings}: as {first_what} and as {what}",
                name.repr()?
            )));
        }
    }
    Ok(())
}

/// What a layout gives back to Python: its checked names, and its values if it was a mapping.
type Given<'py> = (Bound<'py, PyTuple>, Option<Bound<'py, PyList>>);

/// The declarations read and checked (``cubie_hash.ode.declarations.declare``): each layout
/// (a mapping, an iterable of names, or None) as (NFKC names, values or None), in the order
/// of the arguments.  Refuses a string for a layout, a non-identifier, and a name declared
/// twice, with the messages ``declare`` documents.
#[pyfunction]
pub fn ode_declare<'py>(
    py: Python<'py>,
    states: &Bound<'py, PyAny>,
    parameters: &Bound<'py, PyAny>,
    constants: &Bound<'py, PyAny>,
    observables: &Bound<'py, PyAny>,
    drivers: &Bound<'py, PyAny>,
) -> PyResult<Vec<Given<'py>>> {
    let kinds = [
        ("state", layout(states, "state")?),
        ("parameter", layout(parameters, "parameter")?),
        ("constant", layout(constants, "constant")?),
        ("observable", layout(observables, "observable")?),
        ("driver", layout(drivers, "driver")?),
    ];
    let count: usize = kinds.iter().map(|(_, l)| l.names.len()).sum();
    let mut unique = HashSet::with_capacity(count);
    for (_, layout) in &kinds {
        for name in &layout.names {
            unique.insert(name.to_str()?);
        }
    }
    if unique.len() != count {
        refuse_twice(&kinds)?;
    }
    kinds
        .into_iter()
        .map(|(_, layout)| {
            let values = layout.values.map(|v| PyList::new(py, v)).transpose()?;
            Ok((PyTuple::new(py, layout.names)?, values))
        })
        .collect()
}
