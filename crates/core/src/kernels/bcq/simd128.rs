//! wasm simd128 binary-coding kernels, twins of `scalar.rs` (same contracts; see the module
//! docs of `kernels::bcq`). Byte lookups use `i8x16.swizzle`: the int8 kernel looks 16 rows up
//! per instruction. Popcount uses `i8x16.popcnt`. (The exact f32 kernel is the stream kernel,
//! `streams.rs`, one body for every ISA.)
//!
//! Built with relaxed SIMD (`+relaxed-simd`, the second wasm module), the int8 kernel's lookup
//! and pair sums use the relaxed forms, which give the same integers for its operands (indices
//! below 16; a second dot operand of ones) without the engines' fix-ups: about 30 % faster on
//! V8, and still bit-identical to the scalar reference (tested on that build too).

use super::group_count;
use core::arch::wasm32::*;

fn signs(h: usize, t: usize) -> v128 {
    let s = |n: usize| if (4 * h + n) >> t & 1 == 1 { 1.0 } else { -1.0 };
    f32x4(s(0), s(1), s(2), s(3))
}

/// Entries `4h..4h+4` of the table of `xs` (4 columns), in the scalar summation order.
#[inline]
fn quarter_table(s: &[v128; 4], xs: &[f32]) -> v128 {
    let mut acc = f32x4_mul(s[0], f32x4_splat(xs[0]));
    acc = f32x4_add(acc, f32x4_mul(s[1], f32x4_splat(xs[1])));
    acc = f32x4_add(acc, f32x4_mul(s[2], f32x4_splat(xs[2])));
    f32x4_add(acc, f32x4_mul(s[3], f32x4_splat(xs[3])))
}

fn all_signs() -> [[v128; 4]; 4] {
    core::array::from_fn(|h| core::array::from_fn(|c| signs(h, c)))
}

/// int8 tables: `f32x4.nearest` rounds half to even like the scalar reference.
pub fn build_tables_i8(x: &[f32], s: f32, tlo: &mut [i8], thi: &mut [i8]) {
    let signs = all_signs();
    let sv = f32x4_splat(s);
    let (lo, hi) = (i32x4_splat(-127), i32x4_splat(127));
    let q4 = |t: v128| i32x4_max(lo, i32x4_min(hi, i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(t, sv)))));
    let q16 = |xs: &[f32]| {
        let [a, b, c, d] = [0, 1, 2, 3].map(|h| q4(quarter_table(&signs[h], xs)));
        i8x16_narrow_i16x8(i16x8_narrow_i32x4(a, b), i16x8_narrow_i32x4(c, d))
    };
    for (c, xs) in x.chunks_exact(8).enumerate() {
        let (dl, dh) = (&mut tlo[c * 16..c * 16 + 16], &mut thi[c * 16..c * 16 + 16]);
        // SAFETY: each destination slice holds exactly 16 bytes.
        unsafe {
            v128_store(dl.as_mut_ptr().cast(), q16(&xs[..4]));
            v128_store(dh.as_mut_ptr().cast(), q16(&xs[4..]));
        }
    }
}

/// `table[idx]` per byte for indices below 16 (`i8x16.swizzle`, or its relaxed form, which
/// agrees for such indices).
#[inline(always)]
fn lookup(table: v128, idx: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    return i8x16_relaxed_swizzle(table, idx);
    #[cfg(not(target_feature = "relaxed-simd"))]
    return i8x16_swizzle(table, idx);
}

/// Sums of adjacent signed bytes as i16 (`extadd_pairwise`, or the relaxed dot product with
/// ones, exact since every second operand is 1 < 128).
#[inline(always)]
fn pair_sums(v: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    return i16x8_relaxed_dot_i8x16_i7x16(v, i8x16_splat(1));
    #[cfg(not(target_feature = "relaxed-simd"))]
    return i16x8_extadd_pairwise_i8x16(v);
}

/// Loads 16 bytes at `p` (no alignment needed).
///
/// # Safety
/// `p..p + 16` must be readable.
#[inline]
unsafe fn load(p: *const u8) -> v128 {
    v128_load(p.cast())
}

/// Integer sums of byte-columns `c0..end` of one tile, rows `4q..4q+4` in element `q` (i32).
///
/// # Safety
/// Bytes `16·c0..16·end` of `tile`, `tlo` and `thi` readable.
#[inline]
unsafe fn group_sums(tp: *const u8, lp: *const u8, hp: *const u8, c0: usize, end: usize) -> [v128; 4] {
    let nib = u8x16_splat(0x0F);
    let mut c = c0;
    let mut acc32 = [i32x4_splat(0); 4];
    while c < end {
        // i16 lanes gain at most 2·127 per step: flush to i32 every 128 steps.
        let stop = (c + 128).min(end);
        let (mut a16, mut b16) = (i16x8_splat(0), i16x8_splat(0));
        while c < stop {
            let (v, tl, th) = (load(tp.add(c * 16)), load(lp.add(c * 16)), load(hp.add(c * 16)));
            let ql = lookup(tl, v128_and(v, nib));
            let qh = lookup(th, v128_and(u16x8_shr(v, 4), nib));
            let u0 = i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(ql, qh);
            let u1 = i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(ql, qh);
            a16 = i16x8_add(a16, pair_sums(u0));
            b16 = i16x8_add(b16, pair_sums(u1));
            c += 1;
        }
        acc32[0] = i32x4_add(acc32[0], i32x4_extend_low_i16x8(a16));
        acc32[1] = i32x4_add(acc32[1], i32x4_extend_high_i16x8(a16));
        acc32[2] = i32x4_add(acc32[2], i32x4_extend_low_i16x8(b16));
        acc32[3] = i32x4_add(acc32[3], i32x4_extend_high_i16x8(b16));
    }
    acc32
}

/// int8-table partial sums; 16 rows per swizzle, pairs widened with `extadd_pairwise`.
pub fn lut_i8(tile: &[u8], tlo: &[i8], thi: &[i8], gb: usize, out: &mut [i32]) {
    let b = tile.len() / 16;
    let groups = group_count(b, gb);
    assert!(tlo.len() >= 16 * b && thi.len() >= 16 * b && out.len() >= 16 * groups);
    let (tp, lp, hp) = (tile.as_ptr(), tlo.as_ptr().cast::<u8>(), thi.as_ptr().cast::<u8>());
    for g in 0..groups {
        // SAFETY: the group's columns lie inside the tile and the tables (asserted above).
        let acc32 = unsafe { group_sums(tp, lp, hp, g * gb, ((g + 1) * gb).min(b)) };
        let o = &mut out[g * 16..g * 16 + 16];
        for (q, a) in acc32.iter().enumerate() {
            // SAFETY: `o` holds 16 i32s; each store writes 4 of them.
            unsafe { v128_store(o.as_mut_ptr().add(4 * q).cast(), *a) };
        }
    }
}

/// Whole tiles with their scales, fused (see `kernels::bcq::lut_i8_tiles`): each group's
/// integer sums are converted and scaled in registers, 16 rows in four f32 accumulators.
#[allow(clippy::too_many_arguments)]
pub fn lut_i8_tiles(tiles: &[u8], scales: &[f32], bits: usize, tlo: &[i8], thi: &[i8], gb: usize, step: f32, out: &mut [f32]) {
    let (b, groups) = super::tile_dims(tiles, scales, bits, out.len(), gb);
    assert!(tlo.len() >= 16 * b && thi.len() >= 16 * b);
    let (lp, hp) = (tlo.as_ptr().cast::<u8>(), thi.as_ptr().cast::<u8>());
    let sv = f32x4_splat(step);
    for (t, o) in out.chunks_exact_mut(16).enumerate() {
        let mut f = [f32x4_splat(0.0); 4];
        for p in 0..bits {
            let tp = tiles[(t * bits + p) * 16 * b..].as_ptr();
            let sc = &scales[(t * bits + p) * groups * 16..][..groups * 16];
            for g in 0..groups {
                // SAFETY: the group's columns lie inside this plane and the tables (asserted above).
                let acc32 = unsafe { group_sums(tp, lp, hp, g * gb, ((g + 1) * gb).min(b)) };
                for (q, (fq, a)) in f.iter_mut().zip(acc32).enumerate() {
                    // SAFETY: `sc` holds 16 floats per group.
                    let s = unsafe { v128_load(sc.as_ptr().add(g * 16 + 4 * q).cast()) };
                    // Separate multiply and add, as the scalar reference.
                    *fq = f32x4_add(*fq, f32x4_mul(s, f32x4_convert_i32x4(a)));
                }
            }
        }
        for (q, fq) in f.iter().enumerate() {
            // SAFETY: `o` holds 16 floats; each store writes 4 of them.
            unsafe { v128_store(o.as_mut_ptr().add(4 * q).cast(), f32x4_mul(*fq, sv)) };
        }
    }
}

/// Popcounts of `w XOR x` per segment, activation plane and group: `i8x16.popcnt`, widened
/// pairwise to u16 then u32.
pub fn xor_popcount(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    super::each_pair(w, x, words, gw, out, |ws, xs, o| segment_popcount(ws, xs, gw, o));
}

#[inline]
fn segment_popcount(w: &[u64], x: &[u64], gw: usize, out: &mut [u32]) {
    for (o, (wg, xg)) in out.iter_mut().zip(w.chunks(gw).zip(x.chunks(gw))) {
        let mut acc = u32x4_splat(0);
        let pairs = wg.len() / 2;
        let mut i = 0;
        while i < pairs {
            // u16 lanes gain at most 16 per step: flush to u32 every 2048 steps.
            let stop = (i + 2048).min(pairs);
            let mut a16 = u16x8_splat(0);
            while i < stop {
                // SAFETY: words 2i and 2i+1 exist in both slices (i < pairs, equal lengths).
                let v = unsafe { v128_xor(v128_load(wg.as_ptr().add(2 * i).cast()), v128_load(xg.as_ptr().add(2 * i).cast())) };
                a16 = i16x8_add(a16, u16x8_extadd_pairwise_u8x16(i8x16_popcnt(v)));
                i += 1;
            }
            acc = i32x4_add(acc, u32x4_extadd_pairwise_u16x8(a16));
        }
        let lanes =
            u32x4_extract_lane::<0>(acc) + u32x4_extract_lane::<1>(acc) + u32x4_extract_lane::<2>(acc) + u32x4_extract_lane::<3>(acc);
        let tail: u32 = wg[2 * pairs..].iter().zip(&xg[2 * pairs..]).map(|(a, b)| (a ^ b).count_ones()).sum();
        *o = lanes + tail;
    }
}

/// This set's kernels ([`super::BcqKit`]).
pub static KIT: super::BcqKit = super::BcqKit { build_tables_i8, lut_i8, lut_i8_tiles, xor_popcount };
