//! quire-core: the pure-Rust compute core of quire.
//!
//! No binding code lives here, and no JS-facing form (JSON, u32 word views): the binding
//! (`crates/binding`, one source for napi-rs and wasm-bindgen) converts arguments and maps
//! [`Error`] into its runtime's errors, nothing more.
//!
//! The public API is safe for any input: a bad length, shape or setting is an [`Error`] (or, for
//! a few internal-looking contracts, a panic), never undefined behaviour. The kernels, the worker
//! pool and the allocation helpers are private; [`runtime`] holds the process-wide knobs (kernel
//! set, thread count). The cargo feature `test-hooks` makes `kernels`, `threads` and `bcq::lut`
//! public for this crate's integration tests, benches and examples; it is not part of the API.

pub mod bcq;
pub mod compress;
pub mod dense;
pub mod error;
pub mod format;
pub mod gemm;
pub mod infer;
pub mod lstm;
pub mod quant;
pub mod rng;
pub mod runtime;

#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod kernels;
#[cfg(not(feature = "test-hooks"))]
#[allow(dead_code)]
mod kernels;

#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod threads;
#[cfg(not(feature = "test-hooks"))]
#[allow(dead_code)]
mod threads;

mod memory;
pub mod words;

pub use error::{Error, ErrorCode, Result};
