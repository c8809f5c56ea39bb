//! napi-rs binding of quire-core. Conversion and error mapping only: every function here
//! has a twin with the same name and semantics in `crates/wasm`.

mod error;
mod gemm;
mod infer;
mod info;
mod compress;
mod model;
mod quant;
