//! f32 GEMM kernels: the naive reference ([`scalar::gemm`]), the generic micro-kernel,
//! matrix-vector and dot-product bodies, packing, the blocked driver, and one file per ISA
//! that instantiates the bodies for its registers and publishes a [`Kit`].

/// Instantiates the generic bodies for one kernel set: the entry points `tile`, `gemv_n` and
/// `dots` (compiled with the set's target features, if any, so the lane operations inline
/// into them) and the set's `pub static KIT`.
macro_rules! kit {
    (
        set: $set:ident, lanes: $lanes:ty, $(features: $feat:literal,)?
        tile: $mr:expr, $nv:expr; gemv_strip: $sv:expr, $sets:expr; dots: $ra:expr, $rb:expr;
        blocks: $kc:expr, $mc:expr, $nc:expr $(,)?
    ) => {
        /// The micro-kernel ([`super::micro::Tile`] contract).
        $(#[target_feature(enable = $feat)])?
        unsafe fn tile(t: &super::micro::Tile) {
            super::micro::tile::<$lanes, { $mr }, { $nv }>(t)
        }

        $(#[target_feature(enable = $feat)])?
        unsafe fn gemv_n(g: &super::gemv::Gemv) {
            super::gemv::gemv_n::<$lanes, { $sv }, { $sets }>(g)
        }

        $(#[target_feature(enable = $feat)])?
        unsafe fn dots(d: &super::dot::Dots) {
            super::dot::dots::<$lanes, { $ra }, { $rb }>(d)
        }

        $(#[target_feature(enable = $feat)])?
        unsafe fn fma_chains(iters: usize) -> f32 {
            super::peak::fma_chains::<$lanes>(iters)
        }

        pub static KIT: super::Kit = super::Kit {
            set: crate::kernels::KernelSet::$set,
            mr: $mr,
            lanes: <$lanes as super::lanes::Lanes>::W,
            nr: $nv * <$lanes as super::lanes::Lanes>::W,
            kc: $kc,
            mc: $mc,
            nc: $nc,
            tile,
            gemv_n,
            dots,
            fma_chains,
        };
    };
}

pub mod blocked;
pub mod dot;
pub mod gemv;
pub mod lanes;
pub mod micro;
pub mod pack;
pub mod peak;
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
    /// f32 lanes per register.
    pub lanes: usize,
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
    /// `C ← α·A·Bᵀ + β·C` with rows of A and B contiguous along k ([`dot::dots`]).
    pub dots: dot::DotsFn,
    /// [`peak::fma_chains`]: the arithmetic peak probe.
    pub fma_chains: peak::FmaChainsFn,
}

/// The GEMM kits of every set.
pub static KITS: super::PerSet<Kit> = per_set_modules!(KIT);

/// The kit of `set` (recorded as used).
pub fn kit(set: KernelSet) -> &'static Kit {
    KITS.get(set)
}
