//! The process-wide settings of the kernels: which kernel set runs ([`KernelSet`]) and how many
//! threads the parallel kernels use.
//!
//! Natively the set is chosen at run time from the CPU (`avx512` > `avx2` > `scalar`), never at
//! compile time; on wasm32 it is `simd128` (or `scalar`). `QUIRE_KERNELS=scalar|avx2|avx512` or
//! [`force_kernel_set`] overrides the choice; forcing a set the CPU lacks is an `E_CONFIG` error.

use crate::error::Result;
use crate::{kernels, threads};

pub use crate::kernels::KernelSet;

/// The kernel set in force: forced, else `QUIRE_KERNELS` (if valid and supported), else the best
/// this machine supports.
pub fn kernel_set() -> KernelSet {
    kernels::active()
}

/// The best kernel set this machine (or wasm build) supports.
pub fn best_kernel_set() -> KernelSet {
    kernels::detect()
}

/// Forces `set` for all later calls; `E_CONFIG` if this machine cannot run it.
pub fn force_kernel_set(set: KernelSet) -> Result<()> {
    kernels::force(set)
}

/// The set of the most recent kernel call, if any ran (in any thread).
pub fn last_kernel_set() -> Option<KernelSet> {
    kernels::last_used()
}

/// Whether this build's simd128 kernels use relaxed SIMD (the wasm module built with
/// `+relaxed-simd`; always false natively).
pub const fn relaxed_simd() -> bool {
    kernels::relaxed_simd()
}

/// Threads the parallel kernels use (1 on wasm).
pub fn threads() -> usize {
    threads::threads()
}

/// Sets the thread count of the parallel kernels (clamped; always 1 on wasm); returns the count
/// in force.
pub fn set_threads(n: usize) -> usize {
    threads::set_threads(n)
}
