//! Canonical hashing of ODE systems (issue 4).
//!
//! `number` (exact folding), `encoding` (normalised expressions and their bytes), `rules`
//! (the limits and sorts every front end checks), `system` (a whole system's canonical bytes)
//! and `prehash` (raw-input keys) are pure Rust; `names`, `sympy_walk` and `bindings` are the
//! PyO3 side, built with the `python` feature.

pub mod encoding;
pub mod number;
pub mod prehash;
pub mod rules;
pub mod system;

#[cfg(feature = "python")]
pub mod bindings;
#[cfg(feature = "python")]
pub mod names;
#[cfg(feature = "python")]
pub mod sympy_walk;
