//! The arithmetic peak of a kernel set: independent multiply-add chains with no memory traffic,
//! the rate no GEMM of the set can exceed. Benchmarks divide achieved FLOP/s by it.

use super::lanes::Lanes;

/// Independent accumulator chains: enough to cover the FMA latency × throughput of every set here.
const CHAINS: usize = 12;

/// An FMA-peak probe entry point (one per ISA).
pub type FmaChainsFn = unsafe fn(usize) -> f32;

/// Runs `iters` rounds of [`CHAINS`] register multiply-adds (`2·W·CHAINS·iters` flops) and
/// returns a value depending on all of them, so none is optimised away.
///
/// # Safety
/// The caller runs on a CPU with the ISA of `L`.
#[inline(always)]
pub unsafe fn fma_chains<L: Lanes>(iters: usize) -> f32 {
    let mut acc = [L::zero(); CHAINS];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = L::splat(i as f32);
    }
    let (m, c) = (L::splat(0.999), L::splat(0.001));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = L::fma(c, *a, m);
        }
    }
    acc.iter().map(|&a| L::hsum(a)).sum()
}

/// Flops of one call of [`fma_chains`] with `iters` rounds for lanes of width `w`.
pub fn flops(w: usize, iters: usize) -> f64 {
    2.0 * (w * CHAINS) as f64 * iters as f64
}
