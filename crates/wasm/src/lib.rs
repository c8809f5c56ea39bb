//! wasm-bindgen binding of quire-core. Conversion and error mapping only: every function
//! here has a twin with the same name and semantics in `crates/node`.

mod compress;
mod dense;
mod error;
mod gemm;
mod infer;
mod info;
mod model;
mod quant;
