//! Canonical hashing of ODE systems (issue 4).
//!
//! `number` (exact folding), `encoding` (normalised expressions and their bytes), `rules`
//! (the limits and sorts every front end checks), `system` (a whole system's canonical bytes),
//! `prehash` (raw-input keys), `text` (the equation-text front end), `checks` (whole-system
//! checks), `canonical` (a checked system) and `emit` (the Numba module printed from the
//! canonical form) are pure Rust; `names`, `sympy_walk` (SymPy trees), `cubie_walk` (CuBIE's
//! engine IR), `tree` (the canonical form exported as a Python tree), `bindings` and
//! `canonical_py` are the PyO3 side, built with the `python` feature.

pub mod canonical;
pub mod checks;
pub mod emit;
pub mod encoding;
pub mod number;
pub mod prehash;
pub mod rules;
pub mod system;
pub mod text;

#[cfg(feature = "python")]
pub mod bindings;
#[cfg(feature = "python")]
pub mod canonical_py;
#[cfg(feature = "python")]
pub mod cubie_walk;
#[cfg(feature = "python")]
pub mod names;
#[cfg(feature = "python")]
pub mod sympy_walk;
#[cfg(feature = "python")]
pub mod tree;
