//! AVX2+FMA GEMM kernels: 6×16 register tile (12 ymm accumulators, 2 loads of B and 6
//! broadcasts of A per 12 FMAs; 15 of the 16 ymm registers live).

use super::lanes::Lanes;
use core::arch::x86_64::*;

/// 8 f32 lanes in a ymm register.
pub struct Avx2;

impl Lanes for Avx2 {
    const W: usize = 8;
    type V = __m256;
    #[inline(always)]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[inline(always)]
    unsafe fn fma(acc: __m256, a: __m256, b: __m256) -> __m256 {
        _mm256_fmadd_ps(a, b, acc)
    }
    #[inline(always)]
    unsafe fn add(a: __m256, b: __m256) -> __m256 {
        _mm256_add_ps(a, b)
    }
    #[inline(always)]
    unsafe fn mul(a: __m256, b: __m256) -> __m256 {
        _mm256_mul_ps(a, b)
    }
    #[inline(always)]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s)))
    }
}

kit! {
    set: Avx2,
    lanes: Avx2,
    features: "avx2,fma",
    tile: 6, 2;
    gemv_strip: 4, 2;
    dots: 2, 4;
    blocks: 256, 96, 2048,
}
