//! Backend facts: kernel set, threads.
use quire_binding_macro::export;
use quire_core::{kernels, threads, Result};

/// The kernel set in force (`avx512`, `avx2` or `scalar` natively; `simd128` or `scalar` on wasm).
#[export]
pub fn kernel_set() -> String {
    kernels::active().name().to_string()
}

/// Whether this is the relaxed-SIMD wasm module (false natively and for the simd128 module).
#[export]
pub fn relaxed_simd() -> bool {
    kernels::relaxed_simd()
}

/// The kernel set of the most recent kernel call, or null.
#[export]
pub fn last_kernel_set() -> Option<String> {
    kernels::last_used().map(|k| k.name().to_string())
}

/// Forces a kernel set; `E_CONFIG` if unknown or unsupported here.
#[export]
pub fn force_kernel_set(name: String) -> Result<String> {
    let set = kernels::KernelSet::parse(&name)?;
    kernels::force(set)?;
    Ok(set.name().to_string())
}

#[export]
pub fn get_threads() -> u32 {
    threads::threads() as u32
}

/// Sets the thread count for parallel kernels (always 1 on wasm); returns the value in force.
#[export]
pub fn set_threads(n: u32) -> u32 {
    threads::set_threads(n as usize) as u32
}
