//! f32 GEMM kernels: the naive reference ([`scalar::gemm`]), the generic micro-kernel and
//! matrix-vector bodies, packing, the blocked driver, and one file per ISA that instantiates
//! the bodies for its registers and publishes a [`Kit`].

pub mod blocked;
pub mod gemv;
pub mod lanes;
pub mod micro;
pub mod pack;
pub mod scalar;
pub mod workspace;

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

use super::KernelSet;

/// The GEMM kernels of one kernel set and the blocking sizes tuned for them.
pub struct Kit {
    pub set: KernelSet,
    /// Register tile rows (MR) and columns (NR).
    pub mr: usize,
    pub nr: usize,
    /// Cache blocks: depth (KC), rows of the packed A block (MC), columns of the B block (NC).
    pub kc: usize,
    pub mc: usize,
    pub nc: usize,
    pub tile: micro::TileFn,
    /// `y ← α·xᵀ·B + β·y`, B read row by row ([`gemv::gemv_n`]).
    pub gemv_n: gemv::GemvFn,
    /// `y ← α·B·x + β·y`, one dot product per row of B ([`gemv::gemv_t`]).
    pub gemv_t: gemv::GemvFn,
}

/// The kit of `set`; sets this build cannot run map to the scalar kit (they are never active:
/// [`super::force`] and [`super::active`] only select supported sets).
pub fn kit(set: KernelSet) -> &'static Kit {
    match set {
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx512 => &avx512::KIT,
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx2 => &avx2::KIT,
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        KernelSet::Simd128 => &simd128::KIT,
        _ => &scalar::KIT,
    }
}
