//! Borrowing the bytes of a Python `str` or bytes-like object without copying them.
//!
//! `str` is hashed as its UTF-8 encoding (CPython caches it inside the object).  Everything
//! else goes through the buffer protocol with `PyBUF_SIMPLE`, which asks the exporter for one
//! contiguous block: `bytes`, `bytearray`, `memoryview`, `array.array` and C-contiguous NumPy
//! arrays all qualify, and a strided view is refused by its exporter and reported as a
//! `BufferLayoutError`, never silently copied.

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

const PYBUF_SIMPLE: c_int = 0;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut PyBufferRaw, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBufferRaw);
}

/// A buffer obtained with `PyBUF_SIMPLE`; released when dropped (with the GIL held, since
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
            let utf8 = text.to_str()?;
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
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut *raw, PYBUF_SIMPLE) };
        if rc != 0 {
            let cause = PyErr::fetch(obj.py());
            let type_name = obj
                .get_type()
                .fully_qualified_name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "?".to_owned());
            // Exporters refuse PyBUF_SIMPLE on strided data with BufferError (memoryview) or
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
        Ok(ByteView {
            _owner: obj.clone(),
            _buffer: Some(BufferGuard(raw)),
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
