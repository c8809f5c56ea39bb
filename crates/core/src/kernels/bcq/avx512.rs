//! AVX-512 (F/BW/VL/DQ) int8-table and popcount kernels, twins of `scalar.rs` (same contracts;
//! see the module docs of `kernels::bcq`). The int8 tables are built 16 entries per register and
//! looked up with `vpshufb` (4 byte-columns × 16 rows, 64 lookups per shuffle, widened pairwise
//! with `vpmaddubsw`); popcount uses VPOPCNTDQ when present, else nibble lookups + `vpsadbw`. The
//! exact f32 kernel of this set is the stream kernel (`streams.rs`, instantiated for AVX-512).

use super::group_count;
use std::arch::x86_64::*;

/// `±1` per table entry `n` for column `t` (bit `t` of `n`).
#[target_feature(enable = "avx512f")]
fn signs(t: usize) -> __m512 {
    let mut s = [0f32; 16];
    for (n, v) in s.iter_mut().enumerate() {
        *v = if n >> t & 1 == 1 { 1.0 } else { -1.0 };
    }
    // SAFETY: `s` holds 16 floats.
    unsafe { _mm512_loadu_ps(s.as_ptr()) }
}

/// The 16 entries of the table of `xs` (4 columns), in the scalar summation order.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
fn table(s: &[__m512; 4], xs: &[f32]) -> __m512 {
    let mut acc = _mm512_mul_ps(s[0], _mm512_set1_ps(xs[0]));
    acc = _mm512_add_ps(acc, _mm512_mul_ps(s[1], _mm512_set1_ps(xs[1])));
    acc = _mm512_add_ps(acc, _mm512_mul_ps(s[2], _mm512_set1_ps(xs[2])));
    _mm512_add_ps(acc, _mm512_mul_ps(s[3], _mm512_set1_ps(xs[3])))
}

/// # Safety
/// As [`build_tables`]; `tlo`/`thi` hold `2·x.len()` entries.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
pub unsafe fn build_tables_i8(x: &[f32], s: f32, tlo: &mut [i8], thi: &mut [i8]) {
    let signs = [signs(0), signs(1), signs(2), signs(3)];
    let sv = _mm512_set1_ps(s);
    let (lo, hi) = (_mm512_set1_epi32(-127), _mm512_set1_epi32(127));
    // cvtps rounds to nearest even (the default MXCSR mode), like the scalar reference.
    let q = |t: __m512| _mm512_cvtepi32_epi8(_mm512_max_epi32(lo, _mm512_min_epi32(hi, _mm512_cvtps_epi32(_mm512_mul_ps(t, sv)))));
    assert!(tlo.len() >= 2 * x.len() && thi.len() >= 2 * x.len());
    for (c, xs) in x.chunks_exact(8).enumerate() {
        _mm_storeu_si128(tlo.as_mut_ptr().add(c * 16).cast(), q(table(&signs, &xs[..4])));
        _mm_storeu_si128(thi.as_mut_ptr().add(c * 16).cast(), q(table(&signs, &xs[4..])));
    }
}

/// # Safety
/// As [`build_tables`]; `tlo`/`thi` hold `tile.len()` entries, `out.len() ≥ 16·groups`,
/// `gb` and `tile.len()/16` multiples of 4.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
pub unsafe fn lut_i8(tile: &[u8], tlo: &[i8], thi: &[i8], gb: usize, out: &mut [i32]) {
    let b = tile.len() / 16;
    assert!(tlo.len() >= 16 * b && thi.len() >= 16 * b && out.len() >= 16 * group_count(b, gb));
    assert!(gb.is_multiple_of(4) && b.is_multiple_of(4));
    let nib = _mm512_set1_epi8(0x0F);
    let ones = _mm512_set1_epi8(1);
    let widen = |v: __m512i| {
        _mm512_add_epi32(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(v)), _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64::<1>(v)))
    };
    for g in 0..group_count(b, gb) {
        let end = ((g + 1) * gb).min(b);
        let mut c = g * gb;
        // i32 sums: [lanes 0+2, lanes 1+3] of rows 0..8 (a) and rows 8..16 (b).
        let (mut a32, mut b32) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        while c < end {
            // i16 lanes gain at most 2·127 per step: flush to i32 every 128 steps.
            let stop = (c + 4 * 128).min(end);
            let (mut a16, mut b16) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            while c < stop {
                let v = _mm512_loadu_si512(tile.as_ptr().add(c * 16).cast());
                let lo = _mm512_and_si512(v, nib);
                let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(v), nib);
                let ql = _mm512_shuffle_epi8(_mm512_loadu_si512(tlo.as_ptr().add(c * 16).cast()), lo);
                let qh = _mm512_shuffle_epi8(_mm512_loadu_si512(thi.as_ptr().add(c * 16).cast()), hi);
                a16 = _mm512_add_epi16(a16, _mm512_maddubs_epi16(ones, _mm512_unpacklo_epi8(ql, qh)));
                b16 = _mm512_add_epi16(b16, _mm512_maddubs_epi16(ones, _mm512_unpackhi_epi8(ql, qh)));
                c += 4;
            }
            a32 = _mm512_add_epi32(a32, widen(a16));
            b32 = _mm512_add_epi32(b32, widen(b16));
        }
        let fold = |v: __m512i| _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64::<1>(v));
        _mm256_storeu_si256(out.as_mut_ptr().add(g * 16).cast(), fold(a32));
        _mm256_storeu_si256(out.as_mut_ptr().add(g * 16 + 8).cast(), fold(b32));
    }
}

/// Popcounts of `w XOR x` per segment, activation plane and group (see `kernels::bcq`).
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/DQ and VPOPCNTDQ.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vpopcntdq")]
pub unsafe fn xor_popcount_vpopcntdq(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    super::each_pair(w, x, words, gw, out, |ws, xs, o| segment_popcount(ws, xs, gw, o, |v| _mm512_popcnt_epi64(v)));
}

/// As [`xor_popcount_vpopcntdq`] without VPOPCNTDQ.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/DQ.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
pub unsafe fn xor_popcount(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    // Per-byte popcount by two nibble lookups, summed per 64-bit lane by vpsadbw.
    let table = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
    let nib = _mm512_set1_epi8(0x0F);
    let pop = |v: __m512i| {
        let lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, nib));
        let hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16::<4>(v), nib));
        _mm512_sad_epu8(_mm512_add_epi8(lo, hi), _mm512_setzero_si512())
    };
    super::each_pair(w, x, words, gw, out, |ws, xs, o| segment_popcount(ws, xs, gw, o, pop));
}

/// The XOR-popcount of one segment against one plane, per group, with `pop` giving
/// per-64-bit-lane popcounts (masked loads for tails).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
unsafe fn segment_popcount(w: &[u64], x: &[u64], gw: usize, out: &mut [u32], pop: impl Fn(__m512i) -> __m512i) {
    assert!(x.len() >= w.len() && out.len() >= w.len().div_ceil(gw));
    for (g, o) in out.iter_mut().enumerate().take(w.len().div_ceil(gw)) {
        let (start, end) = (g * gw, ((g + 1) * gw).min(w.len()));
        let mut acc = _mm512_setzero_si512();
        let mut i = start;
        while i + 8 <= end {
            let v = _mm512_xor_si512(_mm512_loadu_si512(w.as_ptr().add(i).cast()), _mm512_loadu_si512(x.as_ptr().add(i).cast()));
            acc = _mm512_add_epi64(acc, pop(v));
            i += 8;
        }
        if i < end {
            let m: __mmask8 = (1u8 << (end - i)) - 1;
            let v = _mm512_xor_si512(
                _mm512_maskz_loadu_epi64(m, w.as_ptr().add(i).cast()),
                _mm512_maskz_loadu_epi64(m, x.as_ptr().add(i).cast()),
            );
            acc = _mm512_add_epi64(acc, pop(v));
        }
        *o = _mm512_reduce_add_epi64(acc) as u32;
    }
}

/// This set's kernels ([`super::BcqKit`]).
/// Whole tiles with their scales (see `kernels::bcq::lut_i8_tiles`), group by group.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/DQ.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn lut_i8_tiles(tiles: &[u8], scales: &[f32], bits: usize, tlo: &[i8], thi: &[i8], gb: usize, step: f32, out: &mut [f32]) {
    super::tiles_by_group(|t, l, h, g, o| unsafe { lut_i8(t, l, h, g, o) }, tiles, scales, bits, tlo, thi, gb, step, out)
}

pub static KIT: super::BcqKit = super::BcqKit { build_tables_i8, lut_i8, lut_i8_tiles, xor_popcount: xor_popcount_best };

/// VPOPCNTDQ where the CPU has it (detected once), else nibble lookups.
///
/// # Safety
/// The CPU must support the AVX-512 set.
unsafe fn xor_popcount_best(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *HAS.get_or_init(crate::kernels::has_vpopcntdq) {
        xor_popcount_vpopcntdq(w, x, words, gw, out)
    } else {
        xor_popcount(w, x, words, gw, out)
    }
}
