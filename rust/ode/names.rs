//! Names as Python sees them: NFKC-normalised, once, at the front door.
//!
//! Python normalises every identifier of source code with NFKC, so `ℌ` and `H`, or `µ`
//! (U+00B5) and `μ` (U+03BC), are one variable in generated code.  Every name that enters the
//! canonical form (declared names, left-hand sides, SymPy symbols) is normalised the same way,
//! with Python's own `unicodedata`, so that two spellings of one variable are one name and two
//! declarations that collide are caught instead of silently sharing a variable.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

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
