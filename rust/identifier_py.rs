//! Python entry points for model identifiers: `compute_hash`, `compute_hashes` and the parsers.
//!
//! Thin: the work is in `identifier.rs`; this module only borrows Python strings, releases the
//! GIL for batches and turns `IdentifierError` into the Python exception of that name.

use std::ops::Range;

use pyo3::exceptions::PyRecursionError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyList, PySet, PyString, PyTuple};

use crate::algorithm::Algorithm;
use crate::batch::{self, Pins};
use crate::bytes_view::utf8;
use crate::digest::{parse_algorithm, parse_length, GIL_RELEASE_BYTES};
use crate::errors::{prefixed, IdentifierError as PyIdentifierError, InputTypeError};
use crate::identifier::{self, IdentifierError, Param, HASH_PREFIX};

/// The default hex length: 8 digits, the seed's `length=8`.
const DEFAULT_LENGTH: usize = 8;

fn to_py(err: IdentifierError) -> PyErr {
    PyIdentifierError::new_err(err.0)
}

/// The algorithm and hex length of a `compute_hash*` call; `length=None` means the default 8.
fn options(algorithm: &str, length: Option<&Bound<'_, PyAny>>) -> PyResult<(Algorithm, usize)> {
    let alg = parse_algorithm(algorithm)?;
    let hex_len = match length {
        Some(obj) if !obj.is_none() => parse_length(alg, Some(obj))?,
        _ => parse_length(alg, None)?.min(DEFAULT_LENGTH),
    };
    Ok((alg, hex_len))
}

/// `str(obj)` as a Python string: the object itself when it already is one (no copy).
///
/// Refused, because their `str()` differs from run to run, so hashing them would give a
/// different "deterministic" identifier in every process: an object whose type defines neither
/// `__str__` nor `__repr__` (its `str()` is `<T object at 0x...>`, a memory address), anything
/// else whose text holds an address (a lambda, a bound method, a generator), and sets and
/// frozensets, also inside lists, tuples and dicts (their order follows `PYTHONHASHSEED`).
fn as_py_str<'py>(obj: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    let obj = match obj.cast_into::<PyString>() {
        Ok(s) => return Ok(s),
        Err(e) => e.into_inner(),
    };
    let py = obj.py();
    let object = py.get_type::<PyAny>();
    let ty = obj.get_type();
    let type_name = ty.name().map(|n| n.to_string()).unwrap_or_default();
    let inherited =
        |name: &str| -> PyResult<bool> { Ok(ty.getattr(name)?.is(&object.getattr(name)?)) };
    if inherited("__str__")? && inherited("__repr__")? {
        return Err(InputTypeError::new_err(format!(
            "a {type_name} argument has no __str__ or __repr__ of its own: its str() holds its \
             memory address, which changes from run to run; pass a str"
        )));
    }
    refuse_sets(&obj)?;
    let text = obj.str().map_err(|err| {
        if !err.is_instance_of::<PyRecursionError>(py) {
            return err;
        }
        let new = InputTypeError::new_err(format!(
            "a {type_name} argument is nested too deeply to be turned into text; pass a str"
        ));
        new.set_cause(py, Some(err));
        new
    })?;
    if holds_address(utf8(&text).unwrap_or_default()) {
        return Err(InputTypeError::new_err(format!(
            "a {type_name} argument's str() holds a memory address ({}), which changes from \
             run to run; pass a str",
            text.repr().map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    Ok(text)
}

/// Whether `text` holds what CPython's default reprs print for an address: ` at 0x<hex>`.
fn holds_address(text: &str) -> bool {
    text.match_indices(" at 0x")
        .any(|(i, m)| text[i + m.len()..].starts_with(|c: char| c.is_ascii_hexdigit()))
}

/// Refuse a set or frozenset, alone or inside lists, tuples and dicts (keys and values).
fn refuse_sets(obj: &Bound<'_, PyAny>) -> PyResult<()> {
    // An explicit stack, not recursion: nesting depth is the caller's, not ours to overflow.
    // Each container is looked into once, so a list that holds itself ends too.
    let mut stack = vec![obj.clone()];
    let mut seen = std::collections::HashSet::new();
    while let Some(item) = stack.pop() {
        if item.is_instance_of::<PySet>() || item.is_instance_of::<PyFrozenSet>() {
            let (ty, inner) = (obj.get_type().name(), item.get_type().name());
            let what = match (item.is(obj), ty, inner) {
                (true, _, Ok(inner)) => format!("a {inner} argument"),
                (false, Ok(ty), Ok(inner)) => format!("a {ty} argument holding a {inner}"),
                _ => "a set".to_owned(),
            };
            return Err(InputTypeError::new_err(format!(
                "{what}: a set's order, and so its str(), changes with PYTHONHASHSEED from \
                 run to run; pass a sorted list or a str"
            )));
        }
        let container = item.is_instance_of::<PyList>()
            || item.is_instance_of::<PyTuple>()
            || item.is_instance_of::<PyDict>();
        if !container || !seen.insert(item.as_ptr()) {
            continue;
        }
        if let Ok(dict) = item.cast::<PyDict>() {
            for (k, v) in dict.iter() {
                stack.extend([k, v]);
            }
        } else {
            for part in item.try_iter()? {
                stack.push(part?);
            }
        }
    }
    Ok(())
}

/// Short deterministic identifier of the arguments: ``':hash=<hex>'``.
///
/// Byte for byte the DynVision seed's ``compute_hash``: each argument is ``str()``-ed and
/// stripped of leading ``:``, the results are joined with ``_`` and digested; the hex digest
/// is cut to ``length``.  Idempotent: an argument that *is* a hash token (``:hash=<hex>`` or
/// ``hash=<hex>``, the whole argument) is returned as is.  Unlike the seed, an argument that
/// merely contains ``hash=`` (``nohash=1``) is hashed like any other.
///
/// Args:
///     *args: the parts, usually model arguments, seed and data name.
///     length: hex digits to keep (default 8).
///     algorithm: "md5" (default, the seed's), "sha256", "blake2b", "blake2s" or "blake3".
///     canonical: sort the keys of every ``key=value+...`` argument first, so that
///         ``dt=2+tsteps=20`` and ``tsteps=20+dt=2`` share one hash (opt-in: it changes hashes).
///
/// Raises:
///     IdentifierError: an argument starts like a hash token but is not one, or (canonical)
///         a ``key=value`` list is malformed; the message names the argument and position.
///     InputTypeError: an argument whose text would change from run to run (an object
///         without ``__str__``/``__repr__``, a lambda, a set or frozenset, also inside a list,
///         tuple or dict), or a str holding a lone surrogate; the message names the argument.
///
/// Example:
///     >>> compute_hash(":tsteps=20+dt=2", 42, "imagenette")
///     ':hash=3fce9ecb'
///     >>> compute_hash(":hash=3fce9ecb", 42, "imagenette")
///     ':hash=3fce9ecb'
#[pyfunction]
#[pyo3(signature = (*args, length = None, algorithm = "md5", canonical = false))]
pub fn compute_hash<'py>(
    args: &Bound<'py, PyTuple>,
    length: Option<&Bound<'py, PyAny>>,
    algorithm: &str,
    canonical: bool,
) -> PyResult<Bound<'py, PyString>> {
    let py = args.py();
    let (alg, hex_len) = options(algorithm, length)?;
    // The arguments themselves when all are str (the usual case): no copy, no new reference,
    // one type check each.
    let mut parts = Vec::with_capacity(args.len());
    let converted;
    let strs = if borrow_str_row(args, args, &mut parts)? {
        args
    } else {
        converted = str_tuple(args.clone().into_any())?;
        let all_str = borrow_str_row(&converted, &converted, &mut parts)?;
        debug_assert!(all_str, "str_tuple returns a tuple of str");
        &converted
    };
    let mut out = [0u8; HASH_PREFIX.len() + identifier::MAX_HEX];
    let out = &mut out[..HASH_PREFIX.len() + hex_len];
    let token = identifier::hash_into(alg, &parts, canonical, &mut Vec::new(), out);
    if let Some(i) = token.map_err(to_py)? {
        return Ok(strs.get_item(i)?.cast_into::<PyString>()?);
    }
    Ok(PyString::new(
        py,
        std::str::from_utf8(out).expect("prefix and hex are ASCII"),
    ))
}

/// The borrowed parts of a chunk of rows: row `r` is `parts[ends[r - 1]..ends[r]]`.
struct Rows<'a> {
    parts: Vec<&'a str>,
    ends: Vec<usize>,
}

/// A hashed chunk of rows: `:hash=<hex>` for every row, in `width`-byte slots, except the rows
/// listed in `special` (in row order), whose slots are unused.
struct HashedRows<'a> {
    out: Vec<u8>,
    special: Vec<(usize, Special<'a>)>,
}

/// A row that did not hash to `:hash=<hex>`.
enum Special<'a> {
    /// The row holds this hash token: it is the result.
    Token(&'a str),
    Failed(IdentifierError),
}

/// ``compute_hash(*row)`` for every row, in order; large batches run on every core with the
/// GIL released.
///
/// Made for Snakefiles that expand thousands of parameter combinations at once.  Takes the
/// options of ``compute_hash``; an error names the row it is about.
///
/// Example:
///     >>> compute_hashes([(":tsteps=20+dt=2", 42, "imagenette"), ("a=1", "2", "x")])
///     [':hash=3fce9ecb', ':hash=69b59687']
#[pyfunction]
#[pyo3(signature = (rows, length = None, algorithm = "md5", canonical = false))]
pub fn compute_hashes<'py>(
    rows: &Bound<'py, PyAny>,
    length: Option<&Bound<'py, PyAny>>,
    algorithm: &str,
    canonical: bool,
) -> PyResult<Bound<'py, PyList>> {
    let py = rows.py();
    let (alg, hex_len) = options(algorithm, length)?;
    let rows = batch::snapshot(rows)?;
    let pins = Pins::default();
    let width = HASH_PREFIX.len() + hex_len;
    // Filled as chunks come back, so no pass over a million strings is left for the end.
    let strings = PyList::empty(py);
    batch::pipeline(
        py,
        rows.len(),
        |range| collect_rows(&rows, range, &pins),
        |chunk| chunk.parts.iter().map(|p| p.len()).sum::<usize>() >= GIL_RELEASE_BYTES,
        |chunk| hash_rows(&chunk, alg, canonical, width),
        |start, hashed| {
            let mut special = hashed.special.into_iter().peekable();
            for (r, slot) in hashed.out.chunks(width).enumerate() {
                let Some((_, result)) = special.next_if(|(s, _)| *s == r) else {
                    // Python decodes (and so checks) the ASCII slot anyway: no second check.
                    strings.append(PyString::from_bytes(py, slot)?)?;
                    continue;
                };
                match result {
                    Special::Token(token) => strings.append(PyString::new(py, token))?,
                    Special::Failed(e) => {
                        let row = start + r;
                        return Err(to_py(IdentifierError(format!("row {row}: {e}"))));
                    }
                }
            }
            Ok(())
        },
    )?;
    Ok(strings)
}

/// Borrow the parts of rows `range` of the snapshot `rows`.
fn collect_rows<'a, 'py>(
    rows: &'a Bound<'py, PyTuple>,
    range: Range<usize>,
    pins: &'a Pins<'py>,
) -> PyResult<Rows<'a>> {
    let py = rows.py();
    let mut chunk = Rows {
        parts: Vec::with_capacity(3 * range.len()),
        ends: Vec::with_capacity(range.len()),
    };
    for r in range {
        let row = rows.get_borrowed_item(r)?;
        let borrowed = borrow_str_row(rows, &row, &mut chunk.parts);
        if !borrowed.map_err(|e| row_error(py, e, r))? {
            // Anything but a tuple of str: turn it into one of our own and pin its items.
            let row = str_tuple(row.to_owned()).map_err(|e| row_error(py, e, r))?;
            for (i, item) in row.iter().enumerate() {
                let text = pins.str(item.cast_into::<PyString>()?);
                let text = text.map_err(|e| prefixed(py, e, &format!("argument {i}")));
                chunk.parts.push(text.map_err(|e| row_error(py, e, r))?);
            }
        }
        chunk.ends.push(chunk.parts.len());
    }
    Ok(chunk)
}

/// Borrow the parts of a row that is a tuple of str (the usual case) straight from `owner`,
/// in one pass and without a new reference; `false`, with `parts` as it was, for any other
/// row.  `row` is `owner` itself (one call's arguments) or one of its items (a batch's row).
fn borrow_str_row<'a>(
    owner: &'a Bound<'_, PyTuple>,
    row: &Bound<'_, PyAny>,
    parts: &mut Vec<&'a str>,
) -> PyResult<bool> {
    let Ok(row) = row.cast::<PyTuple>() else {
        return Ok(false);
    };
    let start = parts.len();
    for (i, item) in row.iter_borrowed().enumerate() {
        let Ok(text) = item.cast::<PyString>() else {
            parts.truncate(start);
            return Ok(false);
        };
        // SAFETY: `text` is an item of `row`, which is `owner` or one of its items.
        let part = unsafe { batch::str_in(owner, &text) };
        parts.push(part.map_err(|e| prefixed(owner.py(), e, &format!("argument {i}")))?);
    }
    Ok(true)
}

/// Hash a chunk of rows (no Python here: this runs on the workers).
fn hash_rows<'a>(
    chunk: &Rows<'a>,
    alg: Algorithm,
    canonical: bool,
    width: usize,
) -> HashedRows<'a> {
    let mut hashed = HashedRows {
        out: vec![0u8; chunk.ends.len() * width],
        special: Vec::new(),
    };
    let mut buf = Vec::new();
    let mut start = 0;
    for (r, (&end, dst)) in chunk
        .ends
        .iter()
        .zip(hashed.out.chunks_mut(width))
        .enumerate()
    {
        let parts = &chunk.parts[start..end];
        start = end;
        match identifier::hash_into(alg, parts, canonical, &mut buf, dst) {
            Ok(None) => {}
            Ok(Some(i)) => hashed.special.push((r, Special::Token(parts[i]))),
            Err(e) => hashed.special.push((r, Special::Failed(e))),
        }
    }
    hashed
}

/// The row as a tuple whose items are all `str`: the row itself when it already is one.
fn str_tuple<'py>(row: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    if let Ok(t) = row.cast::<PyTuple>() {
        if t.iter_borrowed().all(|p| p.is_instance_of::<PyString>()) {
            return Ok(t.clone());
        }
    }
    // A str is iterable too, but hashing its characters as parts would be wrong; a set's
    // order changes with PYTHONHASHSEED.
    if row.is_instance_of::<PyString>()
        || row.is_instance_of::<PyBytes>()
        || row.is_instance_of::<PySet>()
        || row.is_instance_of::<PyFrozenSet>()
    {
        return Err(not_a_row(&row));
    }
    let py = row.py();
    let parts = row.try_iter().map_err(|_| not_a_row(&row))?;
    let strs = parts
        .enumerate()
        .map(|(i, p)| as_py_str(p?).map_err(|e| prefixed(py, e, &format!("argument {i}"))))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, strs)
}

fn not_a_row(row: &Bound<'_, PyAny>) -> PyErr {
    let type_name = row
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let why = if row.is_instance_of::<PySet>() || row.is_instance_of::<PyFrozenSet>() {
        " (whose order changes with PYTHONHASHSEED from run to run)"
    } else {
        ""
    };
    InputTypeError::new_err(format!(
        "a row is a tuple or list of arguments, got {type_name}{why}"
    ))
}

/// Prefix an error about one row with its index.
fn row_error(py: Python<'_>, err: PyErr, row: usize) -> PyErr {
    prefixed(py, err, &format!("row {row}"))
}

/// `(name, args, params, seed, data)`, as `parse_identifier` returns it.
type ParsedIdentifier = (String, String, Vec<(String, String)>, String, String);

fn pairs_to_py(params: Vec<Param<'_>>) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The UTF-8 of a parser's text argument `what`; a lone surrogate is an `IdentifierError`
/// naming the argument and position (CPython's own `UnicodeEncodeError` is no
/// `CubieHashError`).
fn text<'a>(obj: &'a Bound<'_, PyString>, what: &str) -> PyResult<&'a str> {
    utf8(obj).map_err(|err| {
        let py = obj.py();
        let new = PyIdentifierError::new_err(format!("{what}: {}", err.value(py)));
        new.set_cause(py, Some(err));
        new
    })
}

/// Split a full identifier ``NAME[:k=v+...]_SEED_DATA`` into its parts.
///
/// Returns ``(name, args, params, seed, data)``: ``args`` is the argument text as written
/// (with its ``:``), ``params`` the ordered ``(key, value)`` pairs.  Seed and data name are the
/// last two ``_``-separated parts, so values may hold ``_``.
///
/// Raises:
///     IdentifierError: malformed (empty key, ``==``, a repeated key, a missing seed, a hashed
///         identifier, ...); the message names the position.
///
/// Example:
///     >>> parse_identifier("DyRCNNx8:tsteps=20+dt=2_42_imagenette")
///     ('DyRCNNx8', ':tsteps=20+dt=2', [('tsteps', '20'), ('dt', '2')], '42', 'imagenette')
#[pyfunction]
pub fn parse_identifier(identifier: &Bound<'_, PyString>) -> PyResult<ParsedIdentifier> {
    let id = identifier::parse_identifier(text(identifier, "identifier")?).map_err(to_py)?;
    Ok((
        id.name.to_owned(),
        id.args.to_owned(),
        pairs_to_py(id.params),
        id.seed.to_owned(),
        id.data.to_owned(),
    ))
}

/// The ``(key, value)`` pairs of ``key=value+key=value`` text (leading ``:`` / ``+`` skipped).
///
/// Example:
///     >>> parse_args(":tsteps=20+dt=2")
///     [('tsteps', '20'), ('dt', '2')]
#[pyfunction]
pub fn parse_args(args: &Bound<'_, PyString>) -> PyResult<Vec<(String, String)>> {
    let params = identifier::parse_args(text(args, "args")?).map_err(to_py)?;
    Ok(pairs_to_py(params))
}

/// A parameter list as Python passes it: `(key, value)` pairs of str.
type PyParams<'py> = Vec<(Bound<'py, PyString>, Bound<'py, PyString>)>;

/// Build ``NAME[:k=v+...]_SEED_DATA``; refuses parts that would not parse back unchanged.
///
/// Example:
///     >>> format_identifier("DyRCNNx8", [("tsteps", "20"), ("dt", "2")], "42", "imagenette")
///     'DyRCNNx8:tsteps=20+dt=2_42_imagenette'
#[pyfunction]
pub fn format_identifier(
    name: &Bound<'_, PyString>,
    params: PyParams<'_>,
    seed: &Bound<'_, PyString>,
    data: &Bound<'_, PyString>,
) -> PyResult<String> {
    let borrowed = params
        .iter()
        .enumerate()
        .map(|(i, (k, v))| {
            let what = format!("parameter {i}");
            Ok((text(k, &what)?, text(v, &what)?))
        })
        .collect::<PyResult<Vec<Param<'_>>>>()?;
    let (name, seed, data) = (
        text(name, "name")?,
        text(seed, "seed")?,
        text(data, "data")?,
    );
    identifier::format_identifier(name, &borrowed, seed, data).map_err(to_py)
}

/// Keys sorted: the canonical form of ``key=value+...`` text.
///
/// Example:
///     >>> canonical_args(":tsteps=20+dt=2")
///     'dt=2+tsteps=20'
#[pyfunction]
pub fn canonical_args(args: &Bound<'_, PyString>) -> PyResult<String> {
    identifier::canonical_args(text(args, "args")?).map_err(to_py)
}

/// Command-line flags for ``key=value+...`` text, like the seed's ``parse_arguments``.
///
/// Example:
///     >>> args_to_flags("+tsteps=20+dt=2")
///     ['--tsteps', '20', '--dt', '2']
#[pyfunction]
pub fn args_to_flags(args: &Bound<'_, PyString>) -> PyResult<Vec<String>> {
    identifier::args_to_flags(text(args, "args")?).map_err(to_py)
}
