//! quire-core: the pure-Rust compute core of quire.
//!
//! No binding code lives here, and no JS-facing form (JSON, u32 word views): the binding
//! (`crates/binding`, one source for napi-rs and wasm-bindgen) converts arguments and maps
//! [`Error`] into its runtime's errors, nothing more.

pub mod bcq;
pub mod compress;
pub mod dense;
pub mod error;
pub mod format;
pub mod gemm;
pub mod infer;
pub mod kernels;
pub mod lstm;
pub mod memory;
pub mod quant;
pub mod rng;
pub mod threads;
pub mod words;

pub use error::{Error, ErrorCode, Result};
