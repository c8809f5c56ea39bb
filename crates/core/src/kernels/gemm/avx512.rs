//! AVX-512F GEMM kernels: 10×32 register tile (20 zmm accumulators, 2 loads of B and 10
//! broadcasts of A per 20 FMAs: enough independent chains for two FMA pipes of latency 4).
//! Zen 4 issues a zmm FMA as two 256-bit halves (peak 32 FLOP/cycle); Zen 5 has two full
//! 512-bit FMA pipes (64 FLOP/cycle). MR = 10 also divides the training batch (20).

use super::lanes::Lanes;
use core::arch::x86_64::*;

/// 16 f32 lanes in a zmm register.
pub struct Avx512;

impl Lanes for Avx512 {
    const W: usize = 16;
    type V = __m512;
    #[inline(always)]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn fma(acc: __m512, a: __m512, b: __m512) -> __m512 {
        _mm512_fmadd_ps(a, b, acc)
    }
    #[inline(always)]
    unsafe fn add(a: __m512, b: __m512) -> __m512 {
        _mm512_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn mul(a: __m512, b: __m512) -> __m512 {
        _mm512_mul_ps(a, b)
    }
    #[inline(always)]
    unsafe fn hsum(v: __m512) -> f32 {
        _mm512_reduce_add_ps(v)
    }
}

kit! {
    set: Avx512,
    lanes: Avx512,
    features: "avx512f",
    tile: 10, 2;
    gemv_strip: 4, 2;
    dots: 5, 4;
    blocks: 256, 120, 2048,
}
