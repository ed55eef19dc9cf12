//! Canonical hashing of ODE systems (issue 4).
//!
//! `number` (exact folding), `encoding` (normalised expressions and their bytes), `system`
//! (a whole system's canonical bytes), `prehash` (raw-input keys) and `emit` (the Numba
//! module printed from the canonical form) are pure Rust; `sympy_walk` and `bindings` are the
//! PyO3 side, built with the `python` feature.

pub mod emit;
pub mod encoding;
pub mod number;
pub mod prehash;
pub mod system;

#[cfg(feature = "python")]
pub mod bindings;
#[cfg(feature = "python")]
pub mod sympy_walk;
