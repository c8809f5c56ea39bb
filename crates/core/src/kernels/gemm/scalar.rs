//! Scalar kernels: the naive reference [`gemm`] (the oracle every optimized path is tested
//! against) and the scalar twin of the SIMD kits: the same generic bodies instantiated with a
//! one-lane "register", so it has exactly their contracts.

use super::lanes::Lanes;

/// `C ← α·op(A)·op(B) + β·C`, row-major, contiguous: the naive triple loop.
///
/// `op(A)` is m×k (A stored m×k, or k×m when `trans_a`), `op(B)` is k×n (B stored k×n, or
/// n×k when `trans_b`), C is m×n. Overwrites C when `beta == 0` (C may then hold NaN);
/// otherwise accumulates. Lengths are the caller's responsibility (checked in [`crate::gemm`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool, alpha: f32, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                acc += av * bv;
            }
            let cv = &mut c[i * n + j];
            *cv = if beta == 0.0 { alpha * acc } else { alpha * acc + beta * *cv };
        }
    }
}

/// One f32 lane.
pub struct Scalar;

impl Lanes for Scalar {
    const W: usize = 1;
    type V = f32;
    #[inline(always)]
    unsafe fn zero() -> f32 {
        0.0
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        *p
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        *p = v
    }
    #[inline(always)]
    unsafe fn fma(acc: f32, a: f32, b: f32) -> f32 {
        acc + a * b
    }
    #[inline(always)]
    unsafe fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    unsafe fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    unsafe fn hsum(v: f32) -> f32 {
        v
    }
}

kit! {
    set: Scalar,
    lanes: Scalar,
    tile: 4, 4;
    gemv_strip: 4, 2;
    dots: 2, 4;
    blocks: 256, 64, 1024,
}
