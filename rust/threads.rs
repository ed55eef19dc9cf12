//! rayon's global pool, and whether this process can use it.
//!
//! A process forked from one whose pool was running (`multiprocessing`'s fork start method,
//! Snakemake's and pytest-xdist's workers) inherits the pool's bookkeeping but not its
//! threads: a job handed to it never runs, so a caller that waits for one hangs for ever and
//! memory handed to one is never freed.  Every parallel path asks [`workers`] first, which
//! also records which process started the pool.

use std::sync::OnceLock;

/// The process that started rayon's global pool (the first to ask [`workers`]).
static POOL_PROCESS: OnceLock<u32> = OnceLock::new();

/// rayon's worker threads this process can hand work to: the current pool's size, or 0 in a
/// process forked from the one that started the global pool (its workers are not there).
///
/// Example:
///
/// ```
/// assert!(_core::threads::workers() >= 1);
/// ```
pub fn workers() -> usize {
    let owner = *POOL_PROCESS.get_or_init(|| {
        // Starts the global pool (if no pool is installed) in the process recorded here.
        let _ = rayon::current_num_threads();
        std::process::id()
    });
    if owner == std::process::id() {
        rayon::current_num_threads()
    } else {
        0
    }
}
