//! Backend facts: kernel set, threads.
use quire_binding_macro::export;
use quire_core::runtime::{self, KernelSet};
use quire_core::Result;

/// The kernel set in force (`avx512`, `avx2` or `scalar` natively; `simd128` or `scalar` on wasm).
#[export]
pub fn kernel_set() -> String {
    runtime::kernel_set().name().to_string()
}

/// Whether this is the relaxed-SIMD wasm module (false natively and for the simd128 module).
#[export]
pub fn relaxed_simd() -> bool {
    runtime::relaxed_simd()
}

/// The kernel set of the most recent kernel call, or null.
#[export]
pub fn last_kernel_set() -> Option<String> {
    runtime::last_kernel_set().map(|k| k.name().to_string())
}

/// Forces a kernel set; `E_CONFIG` if unknown or unsupported here.
#[export]
pub fn force_kernel_set(name: String) -> Result<String> {
    let set = KernelSet::parse(&name)?;
    runtime::force_kernel_set(set)?;
    Ok(set.name().to_string())
}

#[export]
pub fn get_threads() -> u32 {
    runtime::threads() as u32
}

/// Sets the thread count for parallel kernels (always 1 on wasm); returns the value in force.
#[export]
pub fn set_threads(n: u32) -> u32 {
    runtime::set_threads(n as usize) as u32
}
