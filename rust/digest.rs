//! `digest` and `digest_many`: the Python entry points of the digest core.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyList, PyString, PyTuple};
use rayon::prelude::*;

use crate::algorithm::Algorithm;
use crate::batch::{self, Pins};
use crate::bytes_view::ByteView;
use crate::errors::{prefixed, AlgorithmError, DigestLengthError};

/// Inputs shorter than this are hashed without releasing the GIL: for short strings the
/// release/re-acquire costs more than the hash (the threshold CPython's hashlib uses).
pub const GIL_RELEASE_BYTES: usize = 2048;

/// Parse an algorithm name, raising `AlgorithmError` that lists the allowed names.
pub fn parse_algorithm(name: &str) -> PyResult<Algorithm> {
    name.parse::<Algorithm>()
        .map_err(|e| AlgorithmError::new_err(e.to_string()))
}

/// Check `length` (None, or an int that is not a bool) against the algorithm's digest size.
pub fn parse_length(algorithm: Algorithm, length: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
    let requested = match length {
        None => None,
        Some(obj) if obj.is_none() => None,
        Some(obj) => {
            let as_int = if obj.is_instance_of::<PyBool>() {
                None
            } else {
                obj.extract::<i64>().ok()
            };
            match as_int {
                Some(n) => Some(n),
                None => {
                    return Err(DigestLengthError::new_err(format!(
                        "length must be an integer from 1 to {} (hex characters of a full {} \
                         digest) or None, got {}",
                        algorithm.hex_len(),
                        algorithm,
                        obj.repr().map(|r| r.to_string()).unwrap_or_default()
                    )))
                }
            }
        }
    };
    algorithm
        .check_length(requested)
        .map_err(|e| DigestLengthError::new_err(e.to_string()))
}

/// Hex digest of one ``str`` (hashed as UTF-8) or bytes-like object, equal to ``hashlib``.
///
/// Args:
///     data: text, or any contiguous bytes-like object (bytes, bytearray, memoryview,
///         C-contiguous NumPy array); it is read in place, never copied.
///     algorithm: "md5" (default), "sha256", "blake2b", "blake2s" or "blake3".
///     length: hex characters to keep, 1 to the full digest; None keeps all.
///
/// Raises:
///     AlgorithmError: unknown algorithm.  DigestLengthError: bad length.
///     InputTypeError: data is not text or bytes, is a buffer of Python objects (an
///         object-dtype array: memory addresses), or is a str holding a lone surrogate.
///     BufferLayoutError: a strided buffer.
///
/// Example:
///     >>> digest("hello")
///     '5d41402abc4b2a76b9719d911017c592'
///     >>> digest(b"hello", algorithm="blake3", length=8)
///     'ea8f163d'
#[pyfunction]
#[pyo3(signature = (data, algorithm = "md5", length = None))]
pub fn digest(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    algorithm: &str,
    length: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let alg = parse_algorithm(algorithm)?;
    let hex_len = parse_length(alg, length)?;
    let view = ByteView::new(data)?;
    let bytes = view.as_slice();
    if bytes.len() >= GIL_RELEASE_BYTES {
        Ok(py.detach(|| alg.hexdigest(bytes, hex_len)))
    } else {
        Ok(alg.hexdigest(bytes, hex_len))
    }
}

/// Hex digests of many inputs, in input order.
///
/// Takes the same inputs and options as ``digest``.  Large batches are hashed on every core
/// with the GIL released; an input that is not text or bytes raises the error ``digest``
/// would, prefixed with its position.
///
/// Example:
///     >>> digest_many(["a", b"b"], length=8)
///     ['0cc175b9', '92eb5ffe']
#[pyfunction]
#[pyo3(signature = (items, algorithm = "md5", length = None))]
pub fn digest_many<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    algorithm: &str,
    length: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let alg = parse_algorithm(algorithm)?;
    let hex_len = parse_length(alg, length)?;
    let items = batch::snapshot(items)?;
    let pins = Pins::default();
    // Filled as chunks come back, so no pass over a million strings is left for the end.
    let strings = PyList::empty(py);
    batch::pipeline(
        py,
        items.len(),
        |range| {
            range
                .map(|i| {
                    borrow_item(&items, i, &pins).map_err(|e| prefixed(py, e, &format!("item {i}")))
                })
                .collect::<PyResult<Vec<&[u8]>>>()
        },
        |slices| slices.iter().map(|s| s.len()).sum::<usize>() >= GIL_RELEASE_BYTES,
        |slices| hex_digests(alg, hex_len, &slices),
        |_, hex| {
            for h in hex.chunks(hex_len.max(1)) {
                // Python decodes (and so checks) the ASCII hex anyway: no second check.
                strings.append(PyString::from_bytes(py, h)?)?;
            }
            Ok(())
        },
    )?;
    Ok(strings)
}

/// The bytes of item `i`: a str's UTF-8 straight from the snapshot (no new reference), any
/// other input through the buffer protocol, pinned until the batch is done.
fn borrow_item<'a, 'py>(
    items: &'a Bound<'py, PyTuple>,
    i: usize,
    pins: &'a Pins<'py>,
) -> PyResult<&'a [u8]> {
    let item = items.get_borrowed_item(i)?;
    if let Ok(text) = item.cast::<PyString>() {
        // SAFETY: `text` is an item of `items`.
        return Ok(unsafe { batch::str_in(items, &text) }?.as_bytes());
    }
    Ok(pins.bytes(ByteView::new(&item.to_owned())?))
}

/// Chunks holding this many bytes are hashed on every core: a few large inputs are worth
/// splitting, a chunk of short strings is not (the pipeline already runs chunks in parallel).
const PARALLEL_CHUNK_BYTES: usize = 1 << 20;

/// The hex digests of `slices`, `hex_len` bytes each, one after another.
fn hex_digests(alg: Algorithm, hex_len: usize, slices: &[&[u8]]) -> Vec<u8> {
    // One flat buffer: no allocation per item on the hot path.
    let mut hex = vec![0u8; slices.len() * hex_len];
    let total: usize = slices.iter().map(|s| s.len()).sum();
    if total >= PARALLEL_CHUNK_BYTES && slices.len() > 1 && crate::threads::workers() > 1 {
        hex.par_chunks_mut(hex_len)
            .zip(slices.par_iter())
            .for_each(|(dst, s)| alg.hexdigest_into(s, dst));
    } else {
        for (dst, s) in hex.chunks_mut(hex_len).zip(slices) {
            alg.hexdigest_into(s, dst);
        }
    }
    hex
}
