//! Canonical hashing of ODE systems (issue 4).
//!
//! `number` (exact folding), `encoding` (normalised expressions and their bytes), `system`
//! (a whole system's canonical bytes) and `prehash` (raw-input keys) are pure Rust; `sympy_walk`
//! (SymPy trees), `cubie_walk` (CuBIE's engine IR), `tree` (the canonical form exported as a
//! Python tree) and `bindings` are the PyO3 side, built with the `python` feature.

pub mod encoding;
pub mod number;
pub mod prehash;
pub mod system;

#[cfg(feature = "python")]
pub mod bindings;
#[cfg(feature = "python")]
pub mod cubie_walk;
#[cfg(feature = "python")]
pub mod sympy_walk;
#[cfg(feature = "python")]
pub mod tree;
