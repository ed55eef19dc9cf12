//! The shape every batch call shares: borrow the inputs while holding the GIL, hash them on
//! rayon's workers with no Python object in sight, turn the digests into Python strings.
//!
//! Done one after the other, the two GIL-bound passes (borrowing a million inputs, building a
//! million result strings) leave the other core idle for a third of the call.  [`pipeline`]
//! cuts the batch into chunks so that they overlap: while the workers hash chunk k, the calling
//! thread borrows chunk k+1 and builds the strings of the chunks already hashed.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::mpsc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};

use crate::bytes_view::ByteView;

/// Items per chunk: about half a millisecond of hashing, so that handing a chunk to a worker
/// costs nothing next to it, yet small enough that the workers start almost at once, the last
/// chunk leaves a core idle only briefly, and a chunk's buffers stay below glibc's mmap
/// threshold (128 KiB), so they are recycled instead of mapped and faulted in anew.
pub const CHUNK: usize = 2048;

/// Batches shorter than this are done on the calling thread: rayon's hand-off costs more.
pub const PARALLEL_MIN_ITEMS: usize = 512;

/// The items of any iterable as a tuple, which keeps every item alive for the whole call.
///
/// A tuple is its own snapshot (no copy); a list is copied by one C loop, a reference per item;
/// any other iterable is consumed once.  Borrowing from the snapshot instead of from the
/// caller's list matters once the GIL is released: another thread may then change the list,
/// but it cannot change a tuple, nor free what the tuple holds.
pub fn snapshot<'py>(items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    if let Ok(tuple) = items.cast::<PyTuple>() {
        return Ok(tuple.clone());
    }
    if let Ok(list) = items.cast::<PyList>() {
        return Ok(list.to_tuple());
    }
    let collected = items.try_iter()?.collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(items.py(), collected)
}

/// The UTF-8 of a `str` held by `owner`, directly or through nested tuples, borrowed for as
/// long as `owner` is borrowed.
///
/// # Safety
///
/// `text` must be an item of `owner`, or an item of a tuple that is (recursively) an item of
/// `owner`.
pub unsafe fn str_in<'a>(
    _owner: &'a Bound<'_, PyTuple>,
    text: &Bound<'_, PyString>,
) -> PyResult<&'a str> {
    let utf8: *const str = crate::bytes_view::utf8(text)?;
    // SAFETY: a tuple never changes its items, so while `owner` is borrowed (hence alive) it
    // keeps `text` alive; a str's UTF-8 (its data, or the encoding cached inside the object)
    // never changes or moves while the str lives.
    Ok(unsafe { &*utf8 })
}

/// Python objects kept alive until the batch is done, so that the bytes borrowed from them can
/// be read on other threads: inputs that are not already held by the snapshot tuple (`str()`
/// of a non-str argument, bytes-like objects pinned by their exported buffer).
#[derive(Default)]
pub struct Pins<'py> {
    strs: RefCell<Vec<Bound<'py, PyString>>>,
    buffers: RefCell<Vec<ByteView<'py>>>,
}

impl<'py> Pins<'py> {
    /// Keep `text` alive as long as `self`, and borrow its UTF-8 for that long.
    pub fn str(&self, text: Bound<'py, PyString>) -> PyResult<&str> {
        let utf8: *const str = crate::bytes_view::utf8(&text)?;
        self.strs.borrow_mut().push(text);
        // SAFETY: the bytes live inside the str object, not in the `Bound` handle that moved
        // into the vector; the vector keeps the object alive and is only ever pushed to, until
        // `self` is dropped, and the returned borrow cannot outlive `self`.
        Ok(unsafe { &*utf8 })
    }

    /// Keep `view` (and so its exported buffer) alive as long as `self`, and borrow its bytes
    /// for that long.
    pub fn bytes(&self, view: ByteView<'py>) -> &[u8] {
        let bytes: *const [u8] = view.as_slice();
        self.buffers.borrow_mut().push(view);
        // SAFETY: the bytes belong to the exporting object, not to the `ByteView` that moved
        // into the vector; the view keeps the buffer exported (so it can neither move nor be
        // resized) and the vector is only ever pushed to until `self` is dropped.
        unsafe { &*bytes }
    }
}

/// Run a batch of `len` items in chunks: `collect` borrows a range of items on the calling
/// thread (GIL held), `hash` turns a collected chunk into digests on rayon's workers (no
/// Python object may be touched there), and `emit` gets each chunk's digests back on the
/// calling thread, in input order, with the index of the chunk's first item.
///
/// A batch of fewer than [`PARALLEL_MIN_ITEMS`] is a single chunk done on the calling thread,
/// with the GIL released around `hash` only when `heavy` says the chunk is worth it; so is any
/// batch in a process that has no workers ([`crate::threads::workers`]).
///
/// Errors do not depend on thread timing: a `collect` error wins (every input is checked, as
/// if checked before any hashing), otherwise the first `emit` error in input order.
pub fn pipeline<C, H>(
    py: Python<'_>,
    len: usize,
    mut collect: impl FnMut(Range<usize>) -> PyResult<C>,
    heavy: impl FnOnce(&C) -> bool,
    hash: impl Fn(C) -> H + Sync,
    mut emit: impl FnMut(usize, H) -> PyResult<()>,
) -> PyResult<()>
where
    C: Send,
    H: Send,
{
    // In a process forked from a running pool no worker would ever take a chunk.
    if len < PARALLEL_MIN_ITEMS || crate::threads::workers() == 0 {
        let chunk = collect(0..len)?;
        let hashed = if heavy(&chunk) {
            py.detach(|| hash(chunk))
        } else {
            hash(chunk)
        };
        return emit(0, hashed);
    }
    let chunks = len.div_ceil(CHUNK);
    let (tx, rx) = mpsc::channel::<(usize, H)>();
    let mut rx = Some(rx);
    let mut order = InOrder {
        ready: (0..chunks).map(|_| None).collect(),
        next: 0,
        error: None,
    };
    // `in_place_scope` runs this closure on the calling thread (which holds the GIL) and the
    // spawned jobs on the pool; it returns only once every job has finished, so the borrowed
    // inputs, which outlive the scope, outlive every job too, on the error paths as well.
    rayon::in_place_scope(|scope| {
        for k in 0..chunks {
            let input = collect(k * CHUNK..len.min((k + 1) * CHUNK))?;
            let (tx, hash) = (tx.clone(), &hash);
            scope.spawn(move |_| {
                // The receiver is only dropped after the scope, so this cannot fail.
                let _ = tx.send((k, hash(input)));
            });
            let receiver = rx.as_ref().expect("held until the end");
            while let Ok((j, hashed)) = receiver.try_recv() {
                order.put(j, hashed, &mut emit);
            }
        }
        // Without this sender the channel closes once every job is done, so a job that
        // panicked (and sent nothing) ends the wait below instead of blocking it forever; the
        // scope then re-raises the panic.
        drop(tx);
        while order.next < chunks {
            // `detach` needs a `Send` closure and a borrowed `Receiver` is not `Send`, so the
            // receiver is moved in and handed back.
            let receiver = rx.take().expect("put back after each wait");
            let (receiver, message) = py.detach(move || {
                let message = receiver.recv();
                (receiver, message)
            });
            rx = Some(receiver);
            let Ok((j, hashed)) = message else { break };
            order.put(j, hashed, &mut emit);
        }
        order.error.map_or(Ok(()), Err)
    })
}

/// Hands finished chunks to `emit` in input order, whatever order they finish in.
struct InOrder<H> {
    ready: Vec<Option<H>>,
    next: usize,
    /// The first `emit` error; later chunks are dropped unseen.
    error: Option<PyErr>,
}

impl<H> InOrder<H> {
    fn put(&mut self, k: usize, hashed: H, emit: &mut impl FnMut(usize, H) -> PyResult<()>) {
        self.ready[k] = Some(hashed);
        while let Some(hashed) = self.ready.get_mut(self.next).and_then(Option::take) {
            if self.error.is_none() {
                if let Err(e) = emit(self.next * CHUNK, hashed) {
                    self.error = Some(e);
                }
            }
            self.next += 1;
        }
    }
}
