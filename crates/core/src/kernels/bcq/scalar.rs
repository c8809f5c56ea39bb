//! Scalar reference of the binary-coding kernels: always compiled, the oracle for every SIMD
//! twin. Contracts are in the module docs of `kernels::bcq`.

/// Signs of table entry `n` for column `t`: `+1` when bit `t` of `n` is set.
#[inline]
fn sign(n: usize, t: usize) -> f32 {
    if n >> t & 1 == 1 {
        1.0
    } else {
        -1.0
    }
}

/// Entry `n` of the table of `xs` (4 columns): `((s0·x0 + s1·x1) + s2·x2) + s3·x3`.
#[inline]
fn entry(xs: &[f32], n: usize) -> f32 {
    let mut acc = sign(n, 0) * xs[0];
    acc += sign(n, 1) * xs[1];
    acc += sign(n, 2) * xs[2];
    acc += sign(n, 3) * xs[3];
    acc
}

/// int8 tables: `clamp(round_half_even(T·s), ±127)`; the table of `x[8c..8c+4]` goes to
/// `tlo[16c..]`, that of `x[8c+4..8c+8]` to `thi[16c..]`.
pub fn build_tables_i8(x: &[f32], s: f32, tlo: &mut [i8], thi: &mut [i8]) {
    let q = |v: f32| (v * s).round_ties_even().clamp(-127.0, 127.0) as i8;
    for (c, xs) in x.chunks_exact(8).enumerate() {
        for n in 0..16 {
            tlo[c * 16 + n] = q(entry(&xs[..4], n));
            thi[c * 16 + n] = q(entry(&xs[4..], n));
        }
    }
}

/// int8-table partial sums per group and row, in i32.
pub fn lut_i8(tile: &[u8], tlo: &[i8], thi: &[i8], gb: usize, out: &mut [i32]) {
    let b = tile.len() / 16;
    for g in 0..super::group_count(b, gb) {
        for r in 0..16 {
            let mut acc = 0i32;
            for c in g * gb..((g + 1) * gb).min(b) {
                let v = tile[c * 16 + r] as usize;
                acc += tlo[c * 16 + (v & 15)] as i32 + thi[c * 16 + (v >> 4)] as i32;
            }
            out[g * 16 + r] = acc;
        }
    }
}

/// Popcounts of `w XOR x` per segment, activation plane and group (see `kernels::bcq`).
pub fn xor_popcount(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    super::xor_popcount_words(w, x, words, gw, out);
}

/// This set's kernels ([`super::BcqKit`]).
/// Whole tiles with their scales (see `kernels::bcq::lut_i8_tiles`), group by group.
#[allow(clippy::too_many_arguments)]
pub fn lut_i8_tiles(tiles: &[u8], scales: &[f32], bits: usize, tlo: &[i8], thi: &[i8], gb: usize, step: f32, out: &mut [f32]) {
    // SAFETY: the scalar kernel runs everywhere.
    unsafe { super::tiles_by_group(lut_i8, tiles, scales, bits, tlo, thi, gb, step, out) }
}

pub static KIT: super::BcqKit = super::BcqKit { build_tables_i8, lut_i8, lut_i8_tiles, xor_popcount };
