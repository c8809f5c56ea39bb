//! AVX2 + FMA twin of [`super::scalar::exp_shift_sum`]: 8 lanes; the tail (< 8) runs through
//! the scalar twin.

use super::consts::*;
use std::arch::x86_64::*;

/// Same contract as [`super::scalar::exp_shift_sum`].
///
/// # Safety
/// The CPU must support AVX2 and FMA (checked by the dispatcher).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn exp_shift_sum(z: &mut [f32], shift: f32) -> f64 {
    let (lo, hi) = (_mm256_set1_ps(LO), _mm256_set1_ps(HI));
    let s = _mm256_set1_ps(shift);
    let mut acc = _mm256_setzero_ps();
    let mut chunks = z.chunks_exact_mut(8);
    for c in &mut chunks {
        // The input second: min/max return their second operand when one is NaN, so a NaN
        // stays NaN as in the scalar and wasm twins instead of being clamped to a bound.
        let x = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_sub_ps(_mm256_loadu_ps(c.as_ptr()), s)));
        let n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), _mm256_set1_ps(0.5)));
        let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI), x));
        let mut p = _mm256_set1_ps(P[0]);
        for &k in &P[1..] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(k));
        }
        let e = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
        let pow = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127))));
        let v = _mm256_mul_ps(e, pow);
        _mm256_storeu_ps(c.as_mut_ptr(), v);
        acc = _mm256_add_ps(acc, v);
    }
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), acc);
    lanes.iter().map(|&v| v as f64).sum::<f64>() + super::scalar::exp_shift_sum(chunks.into_remainder(), shift)
}

/// This set's entry point ([`super::ExpFn`]).
pub static KIT: super::ExpFn = exp_shift_sum;
