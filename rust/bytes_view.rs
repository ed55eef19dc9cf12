//! Borrowing the bytes of a Python `str` or bytes-like object without copying them.
//!
//! `str` is hashed as its UTF-8 encoding (CPython caches it inside the object).  Everything
//! else goes through the buffer protocol with `PyBUF_ND | PyBUF_FORMAT`, which asks the
//! exporter for one contiguous block and its item format: `bytes`, `bytearray`, `memoryview`,
//! `array.array` and C-contiguous NumPy arrays all qualify; a strided view is refused by its
//! exporter and reported as a `BufferLayoutError`, never silently copied; a buffer of Python
//! objects (an object-dtype array: memory addresses) is an `InputTypeError`.

use std::ffi::c_int;
use std::os::raw::c_void;

use pyo3::exceptions::{PyBufferError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::{BufferLayoutError, InputTypeError};

// PyO3 exposes the buffer API only for the 3.11+ stable ABI, while these wheels target the
// 3.10 stable ABI.  The two functions and the struct below are part of CPython's C API in
// every version we support (exported by the interpreter since 3.0) and became part of the
// stable ABI, unchanged, in 3.11 (bpo-45459): declaring them ourselves is exactly what the
// 3.11 headers declare.
#[repr(C)]
struct PyBufferRaw {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut std::ffi::c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

/// `PyBUF_ND`: one C-contiguous block (a shape, but no strides), like `PyBUF_SIMPLE`; unlike
/// `PyBUF_SIMPLE` it may be combined with `PyBUF_FORMAT` (memoryview refuses that pair).
const PYBUF_ND: c_int = 0x0008;
/// Ask for the item format too, to refuse buffers of Python objects (see [`holds_addresses`]).
const PYBUF_FORMAT: c_int = 0x0004;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut PyBufferRaw, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBufferRaw);
}

/// The UTF-8 of a `str`, or an `InputTypeError` naming the lone surrogate that has none.
///
/// CPython's own error here is a `UnicodeEncodeError`, which cannot be re-raised with a row or
/// item prefix (its constructor takes five arguments) and is no `CubieHashError`.
pub fn utf8<'a>(text: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    text.to_str().map_err(|cause| {
        let py = text.py();
        let at = cause
            .value(py)
            .getattr("start")
            .and_then(|s| s.extract::<usize>());
        let found = at
            .ok()
            .and_then(|i| {
                let c = text.as_any().get_item(i).ok()?.repr().ok()?;
                Some(format!(" {c} at position {i}"))
            })
            .unwrap_or_default();
        let err = InputTypeError::new_err(format!(
            "a str holding the lone surrogate{found} has no UTF-8 encoding, so it has no \
             bytes to hash or parse; pass valid Unicode text"
        ));
        err.set_cause(py, Some(cause));
        err
    })
}

/// Whether a buffer's struct-module format holds Python objects (`O`) or pointers (`P`): its
/// bytes are then memory addresses, different in every process.  Field names (`:name:`) are
/// skipped.
fn holds_addresses(format: &[u8]) -> bool {
    let mut in_name = false;
    format.iter().any(|&c| {
        if c == b':' {
            in_name = !in_name;
        }
        !in_name && matches!(c, b'O' | b'P')
    })
}

/// A buffer obtained with `PyBUF_ND | PyBUF_FORMAT`; released when dropped (with the GIL held, since
/// every `ByteView` lives inside a `'py` scope).
struct BufferGuard(Box<PyBufferRaw>);

impl Drop for BufferGuard {
    fn drop(&mut self) {
        // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released once.
        unsafe { PyBuffer_Release(&mut *self.0) }
    }
}

/// The bytes of one input, borrowed from the Python object that owns them.
pub struct ByteView<'py> {
    _owner: Bound<'py, PyAny>,
    _buffer: Option<BufferGuard>,
    ptr: *const u8,
    len: usize,
}

impl<'py> ByteView<'py> {
    /// Borrow the bytes of `obj`: UTF-8 for `str`, the exported block for a bytes-like object.
    pub fn new(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.cast::<PyString>() {
            let utf8 = utf8(text)?;
            return Ok(ByteView {
                ptr: utf8.as_ptr(),
                len: utf8.len(),
                _owner: obj.clone(),
                _buffer: None,
            });
        }
        let mut raw = Box::new(PyBufferRaw {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
        // SAFETY: `obj` is a live object (we hold a reference and the GIL) and `raw` points to
        // writable memory of the layout CPython expects.
        let flags = PYBUF_ND | PYBUF_FORMAT;
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut *raw, flags) };
        if rc != 0 {
            let cause = PyErr::fetch(obj.py());
            let type_name = obj
                .get_type()
                .fully_qualified_name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".to_owned());
            // Exporters refuse PyBUF_ND on strided data with BufferError (memoryview) or
            // ValueError (NumPy); both mean "not one contiguous block".
            let py = obj.py();
            let err = if cause.is_instance_of::<PyBufferError>(py)
                || cause.is_instance_of::<PyValueError>(py)
            {
                BufferLayoutError::new_err(format!(
                    "{type_name} does not export one contiguous block of bytes ({}); \
                     pass a C-contiguous array or copy it with bytes(...) first",
                    cause.value(obj.py())
                ))
            } else if cause.is_instance_of::<PyTypeError>(obj.py()) {
                InputTypeError::new_err(format!(
                    "expected str or a bytes-like object (bytes, bytearray, memoryview, \
                     C-contiguous array), got {type_name}"
                ))
            } else {
                return Err(cause);
            };
            err.set_cause(obj.py(), Some(cause));
            return Err(err);
        }
        let (ptr, len) = (raw.buf as *const u8, raw.len as usize);
        let guard = BufferGuard(raw);
        if !guard.0.format.is_null() {
            // SAFETY: a non-NULL format is a NUL-terminated string owned by the exporter, valid
            // until the buffer is released (by `guard`, after this borrow).
            let format = unsafe { std::ffi::CStr::from_ptr(guard.0.format) };
            if holds_addresses(format.to_bytes()) {
                let type_name = obj
                    .get_type()
                    .fully_qualified_name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "?".to_owned());
                return Err(InputTypeError::new_err(format!(
                    "{type_name} holds Python objects or pointers (buffer format {:?}, an \
                     object-dtype NumPy array, say): its bytes are memory addresses, different \
                     in every process; hash a typed array or the items' text instead",
                    format.to_string_lossy()
                )));
            }
        }
        Ok(ByteView {
            _owner: obj.clone(),
            _buffer: Some(guard),
            ptr,
            len,
        })
    }

    /// The borrowed bytes.
    pub fn as_slice(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr`/`len` describe memory owned by `_owner` (a str's cached UTF-8, or an
        // exported buffer pinned by `_buffer`), which stays alive and unmoved as long as self.
        // Exporters such as bytearray refuse to resize while a buffer is exported.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}
