//! Python exception types raised from Rust.
//!
//! The hierarchy is defined once, in `python/cubie_hash/errors.py`, where it can use multiple
//! inheritance (`InputTypeError` is also a `TypeError`) and carry docstrings; Rust imports the
//! classes from there so both sides raise the very same types.

use pyo3::import_exception;
use pyo3::prelude::*;

import_exception!(cubie_hash.errors, AlgorithmError);
import_exception!(cubie_hash.errors, DigestLengthError);
import_exception!(cubie_hash.errors, InputTypeError);
import_exception!(cubie_hash.errors, BufferLayoutError);
import_exception!(cubie_hash.errors, IdentifierError);
import_exception!(cubie_hash.errors, EquationError);

/// `err` with its message prefixed (`row 3: ...`), of the same type where that type can be
/// built from a message alone, and as an [`InputTypeError`] otherwise (a `UnicodeError`'s
/// constructor, say, takes five arguments).  The cause is `err`'s own cause where it has one
/// (so prefixing twice, `row 3: argument 1: ...`, keeps the first error as the cause), else
/// `err`.
pub fn prefixed(py: Python<'_>, err: PyErr, prefix: &str) -> PyErr {
    let message = format!("{prefix}: {}", err.value(py));
    let new = match err.get_type(py).call1((message.as_str(),)) {
        Ok(value) => PyErr::from_value(value),
        Err(_) => InputTypeError::new_err(message),
    };
    new.set_cause(py, Some(err.cause(py).unwrap_or(err)));
    new
}
