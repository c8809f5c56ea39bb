//! The JavaScript binding of quire-core, written once. Each item marked `#[export]` is emitted
//! for napi-rs (the native Node addon, host targets) and for wasm-bindgen (wasm32) by
//! `crates/binding-macro`, whose doc states the contract of a written signature. This crate only
//! converts: state and arithmetic live in the core, the JSON forms of the boundary in `json.rs`.

// Exported items are reached only through the generated registration (napi) or the module's
// exports (wasm), which a host test build does not link.
#![cfg_attr(test, allow(dead_code))]

mod compress;
mod dense;
mod error;
mod gemm;
mod infer;
mod info;
mod json;
mod model;
mod quant;
mod slot;
mod words;
