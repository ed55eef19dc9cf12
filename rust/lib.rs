//! Rust core of `cubie_hash`: digests, canonical strings and encodings.
//!
//! The pure modules (no Python) are always built and are what `cargo test` checks; the PyO3
//! bindings are compiled with the `python` feature, which maturin switches on.

pub mod algorithm;
pub mod identifier;
pub mod ode;
pub mod threads;

#[cfg(feature = "python")]
mod batch;
#[cfg(feature = "python")]
mod bytes_view;
#[cfg(feature = "python")]
mod digest;
#[cfg(feature = "python")]
mod errors;
#[cfg(feature = "python")]
mod identifier_py;

#[cfg(any(feature = "python", test))]
mod alloc;

// mimalloc (see `alloc` for why, and why not through the `mimalloc` crate's allocator).
#[cfg(feature = "python")]
#[global_allocator]
static GLOBAL: alloc::Mimalloc = alloc::Mimalloc;

#[cfg(feature = "python")]
#[pyo3::pymodule]
mod _core {
    #[pymodule_export]
    use super::digest::{digest, digest_many};
    #[pymodule_export]
    use super::identifier_py::{
        args_to_flags, canonical_args, compute_hash, compute_hashes, format_identifier, parse_args,
        parse_identifier,
    };
    #[pymodule_export]
    use super::ode::bindings::{
        ode_canonical_text, ode_encode_expr, ode_generate_source, ode_hash_system, ode_prehash,
        ode_render_expr,
    };
    #[pymodule_export]
    use super::ode::canonical_py::{ode_encode_text, ode_render_text, CanonicalSystem};
    #[pymodule_export]
    use super::ode::cubie_walk::{ode_cubie_canonical_text, ode_cubie_hash, ode_cubie_trees};
    #[pymodule_export]
    use super::ode::names::{ode_declare, ode_identifier};
    #[pymodule_export]
    use super::ode::tree::ode_canonical_trees;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add(
            "ALGORITHMS",
            crate::algorithm::ALL.map(|a| a.name()).to_vec(),
        )?;
        m.add("GIL_RELEASE_BYTES", super::digest::GIL_RELEASE_BYTES)?;
        m.add("ODE_FORMAT_VERSION", crate::ode::encoding::FORMAT_VERSION)?;
        m.add("ODE_PREHASH_VERSION", crate::ode::prehash::PREHASH_VERSION)?;
        m.add("ODE_GENERATOR_VERSION", crate::ode::emit::GENERATOR_VERSION)?;
        m.add("ODE_FUNCTIONS", crate::ode::rules::FUNCTIONS.to_vec())?;
        Ok(())
    }
}
