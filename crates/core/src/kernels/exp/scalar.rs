//! Scalar reference of [`super::exp_shift_sum`] (the oracle of the SIMD twins).

use super::consts::*;

/// The approximation of `exp(x)` described in [`super`], one value.
#[inline]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(LO, HI);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = P[0];
    for &c in &P[1..] {
        p = p * r + c;
    }
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `z[i] ← exp(z[i] − shift)`; returns the sum (accumulated in f64). Overwrites `z`.
pub fn exp_shift_sum(z: &mut [f32], shift: f32) -> f64 {
    let mut sum = 0.0f64;
    for v in z.iter_mut() {
        *v = exp(*v - shift);
        sum += *v as f64;
    }
    sum
}

/// This set's entry point ([`super::ExpFn`]).
pub static KIT: super::ExpFn = exp_shift_sum;
