//! Vectorised `exp` for the softmax: `z[i] ← exp(z[i] − shift)` over a row, returning the sum.
//!
//! Every set computes the same approximation (Cephes `expf`): `x = clamp(z − shift, −87.336, 88)`,
//! `n = ⌊x·log₂e + ½⌋`, `r = x − n·ln2` (ln2 split in two constants), a degree-6 polynomial
//! `p(r) ≈ eʳ`, and `2ⁿ` assembled from the exponent bits. Relative error below 2·10⁻⁷ on the
//! clamped range; inputs below −87.336 give `exp(−87.336) ≈ 1.18·10⁻³⁸` instead of a denormal.
//! A NaN input gives NaN (and a NaN sum) in every set, so divergence is seen the same way natively
//! and on wasm.
//! SIMD sets may use FMA, so results differ from [`scalar`] by a few ulp; the sums are
//! accumulated in f32 lanes and reduced in f64.

pub mod scalar;

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

#[cfg(test)]
mod tests;

use super::active;

/// The constants of the approximation, shared by every set.
pub(crate) mod consts {
    pub const LO: f32 = -87.336_54;
    pub const HI: f32 = 88.0;
    pub const LOG2E: f32 = std::f32::consts::LOG2_E;
    pub const LN2_HI: f32 = 0.693_359_4;
    pub const LN2_LO: f32 = -2.121_944_4e-4;
    /// Polynomial coefficients, highest degree first (the r² term onwards).
    pub const P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5e-1];
}

/// An exp entry point (`z`, `shift`) → sum.
pub type ExpFn = unsafe fn(&mut [f32], f32) -> f64;

/// The exp kernel of every set.
static KITS: super::PerSet<ExpFn> = per_set_modules!(KIT);

/// `z[i] ← exp(z[i] − shift)` for all `i`; returns `Σ z[i]` after the update. Overwrites `z`;
/// any length (SIMD sets finish the ragged tail with the scalar twin).
pub fn exp_shift_sum(z: &mut [f32], shift: f32) -> f64 {
    // SAFETY: `active()` only returns sets this CPU supports.
    unsafe { (KITS.get(active()))(z, shift) }
}
