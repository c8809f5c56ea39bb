//! wasm simd128 twin of [`super::scalar::exp_shift_sum`]: 4 lanes, no FMA (so it rounds like
//! the scalar twin); the tail (< 4) runs through the scalar twin.

use super::consts::*;
use core::arch::wasm32::*;

/// Same contract as [`super::scalar::exp_shift_sum`].
pub fn exp_shift_sum(z: &mut [f32], shift: f32) -> f64 {
    let (lo, hi) = (f32x4_splat(LO), f32x4_splat(HI));
    let s = f32x4_splat(shift);
    let mut acc = f32x4_splat(0.0);
    let mut chunks = z.chunks_exact_mut(4);
    for c in &mut chunks {
        // SAFETY: `c` holds exactly 4 f32 (16 bytes); v128 loads/stores are unaligned.
        let zv = unsafe { v128_load(c.as_ptr() as *const v128) };
        let x = f32x4_min(f32x4_max(f32x4_sub(zv, s), lo), hi);
        let n = f32x4_floor(f32x4_add(f32x4_mul(x, f32x4_splat(LOG2E)), f32x4_splat(0.5)));
        let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HI))), f32x4_mul(n, f32x4_splat(LN2_LO)));
        let mut p = f32x4_splat(P[0]);
        for &k in &P[1..] {
            p = f32x4_add(f32x4_mul(p, r), f32x4_splat(k));
        }
        let e = f32x4_add(f32x4_add(f32x4_mul(p, f32x4_mul(r, r)), r), f32x4_splat(1.0));
        let pow = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127)), 23);
        let v = f32x4_mul(e, pow);
        // SAFETY: as above.
        unsafe { v128_store(c.as_mut_ptr() as *mut v128, v) };
        acc = f32x4_add(acc, v);
    }
    let lanes = [f32x4_extract_lane::<0>(acc), f32x4_extract_lane::<1>(acc), f32x4_extract_lane::<2>(acc), f32x4_extract_lane::<3>(acc)];
    lanes.iter().map(|&v| v as f64).sum::<f64>() + super::scalar::exp_shift_sum(chunks.into_remainder(), shift)
}

/// This set's entry point ([`super::ExpFn`]).
pub static KIT: super::ExpFn = exp_shift_sum;
