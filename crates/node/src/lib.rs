//! napi-rs binding of quire-core. Conversion and error mapping only: every function here
//! has a twin with the same name and semantics in `crates/wasm`.

// `#[napi]` items are reached only through the generated registration, which the host test
// build does not link; without this every exported function is reported as dead there.
#![cfg_attr(test, allow(dead_code))]

mod compress;
mod dense;
mod error;
mod gemm;
mod infer;
mod info;
mod model;
mod quant;
mod slot;
