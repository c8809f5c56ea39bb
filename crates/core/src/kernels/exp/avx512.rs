//! AVX-512F twin of [`super::scalar::exp_shift_sum`]: 16 lanes with FMA; the tail (< 16) runs
//! through the scalar twin.

use super::consts::*;
use std::arch::x86_64::*;

/// Same contract as [`super::scalar::exp_shift_sum`].
///
/// # Safety
/// The CPU must support AVX-512F (checked by the dispatcher).
#[target_feature(enable = "avx512f")]
pub unsafe fn exp_shift_sum(z: &mut [f32], shift: f32) -> f64 {
    let (lo, hi) = (_mm512_set1_ps(LO), _mm512_set1_ps(HI));
    let s = _mm512_set1_ps(shift);
    let mut acc = _mm512_setzero_ps();
    let mut chunks = z.chunks_exact_mut(16);
    for c in &mut chunks {
        // The input second: min/max return their second operand when one is NaN, so a NaN
        // stays NaN as in the scalar and wasm twins instead of being clamped to a bound.
        let x = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_sub_ps(_mm512_loadu_ps(c.as_ptr()), s)));
        let n = _mm512_roundscale_ps::<0x09>(_mm512_fmadd_ps(x, _mm512_set1_ps(LOG2E), _mm512_set1_ps(0.5)));
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x));
        let mut p = _mm512_set1_ps(P[0]);
        for &k in &P[1..] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k));
        }
        let e = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0));
        let pow = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127))));
        let v = _mm512_mul_ps(e, pow);
        _mm512_storeu_ps(c.as_mut_ptr(), v);
        acc = _mm512_add_ps(acc, v);
    }
    let mut lanes = [0.0f32; 16];
    _mm512_storeu_ps(lanes.as_mut_ptr(), acc);
    lanes.iter().map(|&v| v as f64).sum::<f64>() + super::scalar::exp_shift_sum(chunks.into_remainder(), shift)
}

/// This set's entry point ([`super::ExpFn`]).
pub static KIT: super::ExpFn = exp_shift_sum;
