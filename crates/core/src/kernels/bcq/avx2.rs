//! AVX2 binary-coding kernels, twins of `scalar.rs` (same contracts; see the module docs of
//! `kernels::bcq`). The int8 kernel uses `vpshufb` on 2 byte-columns × 16 rows per register;
//! popcount uses the scalar `popcnt` instruction. (The exact f32 kernel is the stream kernel,
//! `streams.rs`, one body for every ISA.)

use super::group_count;
use std::arch::x86_64::*;

/// `±1` for table entries `8h..8h+8` and column `t`.
#[target_feature(enable = "avx2")]
fn signs(h: usize, t: usize) -> __m256 {
    let mut s = [0f32; 8];
    for (n, v) in s.iter_mut().enumerate() {
        *v = if (8 * h + n) >> t & 1 == 1 { 1.0 } else { -1.0 };
    }
    // SAFETY: `s` holds 8 floats.
    unsafe { _mm256_loadu_ps(s.as_ptr()) }
}

/// Entries `8h..8h+8` of the table of `xs` (4 columns), in the scalar summation order.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn half_table(s: &[__m256; 4], xs: &[f32]) -> __m256 {
    let mut acc = _mm256_mul_ps(s[0], _mm256_set1_ps(xs[0]));
    acc = _mm256_add_ps(acc, _mm256_mul_ps(s[1], _mm256_set1_ps(xs[1])));
    acc = _mm256_add_ps(acc, _mm256_mul_ps(s[2], _mm256_set1_ps(xs[2])));
    _mm256_add_ps(acc, _mm256_mul_ps(s[3], _mm256_set1_ps(xs[3])))
}

fn all_signs() -> [[__m256; 4]; 2] {
    // SAFETY: only called from AVX2 functions.
    unsafe { [[signs(0, 0), signs(0, 1), signs(0, 2), signs(0, 3)], [signs(1, 0), signs(1, 1), signs(1, 2), signs(1, 3)]] }
}

/// # Safety
/// As [`build_tables`]; `tlo`/`thi` hold `2·x.len()` entries.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn build_tables_i8(x: &[f32], s: f32, tlo: &mut [i8], thi: &mut [i8]) {
    let signs = all_signs();
    let sv = _mm256_set1_ps(s);
    let (lo, hi) = (_mm256_set1_epi32(-127), _mm256_set1_epi32(127));
    // cvtps rounds to nearest even (the default MXCSR mode), like the scalar reference.
    let q8 = |t: __m256| _mm256_max_epi32(lo, _mm256_min_epi32(hi, _mm256_cvtps_epi32(_mm256_mul_ps(t, sv))));
    let narrow = |a: __m256i| _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256::<1>(a));
    let q16 = |xs: &[f32]| _mm_packs_epi16(narrow(q8(half_table(&signs[0], xs))), narrow(q8(half_table(&signs[1], xs))));
    assert!(tlo.len() >= 2 * x.len() && thi.len() >= 2 * x.len());
    for (c, xs) in x.chunks_exact(8).enumerate() {
        _mm_storeu_si128(tlo.as_mut_ptr().add(c * 16).cast(), q16(&xs[..4]));
        _mm_storeu_si128(thi.as_mut_ptr().add(c * 16).cast(), q16(&xs[4..]));
    }
}

/// Integer sums of byte-columns `c0..end` of one tile: rows 0..8 and rows 8..16 (i32).
///
/// # Safety
/// AVX2; bytes `16·c0..16·end` of `tile`, `tlo` and `thi` readable; `end − c0` even.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_sums(tile: *const u8, tlo: *const i8, thi: *const i8, c0: usize, end: usize) -> (__m256i, __m256i) {
    let nib = _mm256_set1_epi8(0x0F);
    let ones = _mm256_set1_epi8(1);
    let widen = |v: __m256i| {
        _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(v)), _mm256_cvtepi16_epi32(_mm256_extracti128_si256::<1>(v)))
    };
    let mut c = c0;
    let (mut a32, mut b32) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    while c < end {
        // i16 lanes gain at most 2·127 per step: flush to i32 every 128 steps.
        let stop = (c + 2 * 128).min(end);
        let (mut a16, mut b16) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        while c < stop {
            let v = _mm256_loadu_si256(tile.add(c * 16).cast());
            let lo = _mm256_and_si256(v, nib);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), nib);
            let ql = _mm256_shuffle_epi8(_mm256_loadu_si256(tlo.add(c * 16).cast()), lo);
            let qh = _mm256_shuffle_epi8(_mm256_loadu_si256(thi.add(c * 16).cast()), hi);
            a16 = _mm256_add_epi16(a16, _mm256_maddubs_epi16(ones, _mm256_unpacklo_epi8(ql, qh)));
            b16 = _mm256_add_epi16(b16, _mm256_maddubs_epi16(ones, _mm256_unpackhi_epi8(ql, qh)));
            c += 2;
        }
        a32 = _mm256_add_epi32(a32, widen(a16));
        b32 = _mm256_add_epi32(b32, widen(b16));
    }
    (a32, b32)
}

/// # Safety
/// As [`build_tables`]; `tlo`/`thi` hold `tile.len()` entries, `out.len() ≥ 16·groups`,
/// `gb` and `tile.len()/16` even.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn lut_i8(tile: &[u8], tlo: &[i8], thi: &[i8], gb: usize, out: &mut [i32]) {
    let b = tile.len() / 16;
    assert!(tlo.len() >= 16 * b && thi.len() >= 16 * b && out.len() >= 16 * group_count(b, gb));
    assert!(gb.is_multiple_of(2) && b.is_multiple_of(2));
    for g in 0..group_count(b, gb) {
        let (a32, b32) = group_sums(tile.as_ptr(), tlo.as_ptr(), thi.as_ptr(), g * gb, ((g + 1) * gb).min(b));
        _mm256_storeu_si256(out.as_mut_ptr().add(g * 16).cast(), a32);
        _mm256_storeu_si256(out.as_mut_ptr().add(g * 16 + 8).cast(), b32);
    }
}

/// Whole tiles with their scales, fused (see `kernels::bcq::lut_i8_tiles`): each group's
/// integer sums are converted and scaled in registers, 16 rows in two f32 accumulators.
///
/// # Safety
/// AVX2 + FMA; lengths as `kernels::bcq::lut_i8_tiles` states, `gb` and `b` even.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn lut_i8_tiles(tiles: &[u8], scales: &[f32], bits: usize, tlo: &[i8], thi: &[i8], gb: usize, step: f32, out: &mut [f32]) {
    let n = out.len() / 16;
    let (b, groups) = super::tile_dims(tiles, scales, bits, out.len(), gb);
    assert!(tlo.len() >= 16 * b && thi.len() >= 16 * b && gb.is_multiple_of(2) && b.is_multiple_of(2));
    let sv = _mm256_set1_ps(step);
    for t in 0..n {
        let (mut f0, mut f1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for p in 0..bits {
            let tile = tiles.as_ptr().add((t * bits + p) * 16 * b);
            let sc = scales.as_ptr().add((t * bits + p) * groups * 16);
            for g in 0..groups {
                let (a32, b32) = group_sums(tile, tlo.as_ptr(), thi.as_ptr(), g * gb, ((g + 1) * gb).min(b));
                // Separate multiply and add, as the scalar reference.
                f0 = _mm256_add_ps(f0, _mm256_mul_ps(_mm256_loadu_ps(sc.add(g * 16)), _mm256_cvtepi32_ps(a32)));
                f1 = _mm256_add_ps(f1, _mm256_mul_ps(_mm256_loadu_ps(sc.add(g * 16 + 8)), _mm256_cvtepi32_ps(b32)));
            }
        }
        _mm256_storeu_ps(out.as_mut_ptr().add(t * 16), _mm256_mul_ps(f0, sv));
        _mm256_storeu_ps(out.as_mut_ptr().add(t * 16 + 8), _mm256_mul_ps(f1, sv));
    }
}

/// Popcounts of `w XOR x` per segment, activation plane and group (see `kernels::bcq`), with
/// the scalar `popcnt` instruction: rows of a few words (650 columns are 11) leave a 256-bit
/// nibble-lookup loop mostly in its tails, and `popcnt` retires 64 bits per instruction.
///
/// # Safety
/// The CPU must support AVX2 and POPCNT (the set's detection checks both).
#[target_feature(enable = "avx2,fma,popcnt")]
pub unsafe fn xor_popcount(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    super::xor_popcount_words(w, x, words, gw, out);
}

/// This set's kernels ([`super::BcqKit`]).
pub static KIT: super::BcqKit = super::BcqKit { build_tables_i8, lut_i8, lut_i8_tiles, xor_popcount };
