//! quire-core: the pure-Rust compute core of quire.
//!
//! No binding code lives here: the napi (`crates/node`) and wasm (`crates/wasm`) crates
//! convert arguments and map [`Error`] into their runtime's errors, nothing more.

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

pub use error::{Error, ErrorCode, Result};
