//! wasm32 simd128 GEMM kernels: 4×8 register tile (8 v128 accumulators: the engines map v128
//! onto 16 xmm registers, so larger tiles spill). No FMA without relaxed-simd: multiply, then add.

use super::lanes::Lanes;
use core::arch::wasm32::*;

/// 4 f32 lanes in a v128.
pub struct Simd128;

impl Lanes for Simd128 {
    const W: usize = 4;
    type V = v128;
    #[inline(always)]
    unsafe fn zero() -> v128 {
        f32x4_splat(0.0)
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> v128 {
        f32x4_splat(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> v128 {
        v128_load(p as *const v128)
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: v128) {
        v128_store(p as *mut v128, v)
    }
    #[inline(always)]
    unsafe fn fma(acc: v128, a: v128, b: v128) -> v128 {
        f32x4_add(acc, f32x4_mul(a, b))
    }
    #[inline(always)]
    unsafe fn add(a: v128, b: v128) -> v128 {
        f32x4_add(a, b)
    }
    #[inline(always)]
    unsafe fn mul(a: v128, b: v128) -> v128 {
        f32x4_mul(a, b)
    }
    #[inline(always)]
    unsafe fn hsum(v: v128) -> f32 {
        f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v)
    }
}

kit! {
    set: Simd128,
    lanes: Simd128,
    tile: 4, 2;
    gemv_strip: 12, 1;
    dots: 2, 4;
    blocks: 256, 128, 2048,
}
