//! Backend facts: kernel set, threads.
use crate::error::IntoNapi;
use napi_derive::napi;
use quire_core::{kernels, threads};

/// The kernel set in force (`avx512`, `avx2` or `scalar`).
#[napi]
pub fn kernel_set() -> String {
    kernels::active().name().to_string()
}

/// The kernel set of the most recent kernel call, or null.
#[napi]
pub fn last_kernel_set() -> Option<String> {
    kernels::last_used().map(|k| k.name().to_string())
}

/// Forces a kernel set; `E_CONFIG` if unknown or unsupported here.
#[napi]
pub fn force_kernel_set(name: String) -> napi::Result<String> {
    let set = kernels::KernelSet::parse(&name).napi()?;
    kernels::force(set).napi()?;
    Ok(set.name().to_string())
}

#[napi]
pub fn get_threads() -> u32 {
    threads::threads() as u32
}

/// Sets the thread count for parallel kernels; returns the value in force.
#[napi]
pub fn set_threads(n: u32) -> u32 {
    threads::set_threads(n as usize) as u32
}
