//! Python exception types raised from Rust.
//!
//! The hierarchy is defined once, in `python/cubie_hash/errors.py`, where it can use multiple
//! inheritance (`InputTypeError` is also a `TypeError`) and carry docstrings; Rust imports the
//! classes from there so both sides raise the very same types.

use pyo3::import_exception;

import_exception!(cubie_hash.errors, AlgorithmError);
import_exception!(cubie_hash.errors, DigestLengthError);
import_exception!(cubie_hash.errors, InputTypeError);
import_exception!(cubie_hash.errors, BufferLayoutError);
import_exception!(cubie_hash.errors, EquationError);
