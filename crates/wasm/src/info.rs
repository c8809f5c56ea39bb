//! Backend facts: kernel set, threads.
use crate::error::{IntoJs, WasmResult};
use quire_core::{kernels, threads};
use wasm_bindgen::prelude::*;

/// The kernel set in force (`simd128`, or `scalar` in a build without SIMD).
#[wasm_bindgen(js_name = kernelSet)]
pub fn kernel_set() -> String {
    kernels::active().name().to_string()
}

/// The kernel set of the most recent kernel call, or undefined.
#[wasm_bindgen(js_name = lastKernelSet)]
pub fn last_kernel_set() -> Option<String> {
    kernels::last_used().map(|k| k.name().to_string())
}

/// Forces a kernel set; `E_CONFIG` if unknown or unsupported here.
#[wasm_bindgen(js_name = forceKernelSet)]
pub fn force_kernel_set(name: String) -> WasmResult<String> {
    let set = kernels::KernelSet::parse(&name).js()?;
    kernels::force(set).js()?;
    Ok(set.name().to_string())
}

#[wasm_bindgen(js_name = getThreads)]
pub fn get_threads() -> u32 {
    threads::threads() as u32
}

/// Always 1 on wasm; returns the value in force.
#[wasm_bindgen(js_name = setThreads)]
pub fn set_threads(n: u32) -> u32 {
    threads::set_threads(n as usize) as u32
}
