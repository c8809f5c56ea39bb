//! The small vector vocabulary the generic GEMM bodies ([`super::micro`], [`super::gemv`]) are
//! written against. Each ISA file implements it once for its register type; the scalar set
//! implements it with `W = 1`, so every SIMD kernel and its scalar twin share one body and
//! therefore one contract.
//!
//! All methods are `unsafe`: pointers must be valid for `W` consecutive f32 (no alignment
//! required), and the caller must run on a CPU with the ISA (the generic bodies are only
//! instantiated inside `#[target_feature]` entry points, where these calls inline).

/// A register of `W` f32 lanes and the operations the GEMM bodies need.
///
/// Every method is unsafe for the reasons in the module docs (pointer validity, ISA present).
#[allow(clippy::missing_safety_doc)]
pub trait Lanes {
    /// Lanes per register.
    const W: usize;
    /// The register type.
    type V: Copy;
    /// All lanes 0.
    unsafe fn zero() -> Self::V;
    /// All lanes `x`.
    unsafe fn splat(x: f32) -> Self::V;
    /// Unaligned load of `W` floats.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Unaligned store of `W` floats.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `acc + a·b` (fused where the ISA has FMA; simd128 and scalar round the product).
    unsafe fn fma(acc: Self::V, a: Self::V, b: Self::V) -> Self::V;
    /// `a + b`.
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// Sum of the lanes.
    unsafe fn hsum(v: Self::V) -> f32;
}
