//! Bit-packed binary-coding kernels (`y = Ŵ·x` without dequantizing): the scalar reference
//! and one file per ISA, behind one dispatch function per kernel.
//!
//! Shared vocabulary (see `quant::packed` for the formats):
//! - `B` bytes per row and plane (`8·⌈cols/64⌉`), byte `c` holds columns `8c..8c+8`, bit `t`
//!   = column `8c+t`. A *tile plane* is `B·16` bytes: `tile[c·16 + r]` = byte `c` of row `r`.
//! - Lookup tables of an activation vector `x` (zero padded to `8B`): table `j` covers columns
//!   `4j..4j+4` and entry `n` (a nibble of codes) is `T_j[n] = Σ_{t<4} (bit t of n ? +1 : −1)·x_{4j+t}`,
//!   summed in the order t = 0,1,2,3, so every ISA builds bit-identical tables (simd128 keeps
//!   them as byte planes, see `F32Tables`). The low nibble
//!   of byte `c` indexes `T_{2c}`, the high nibble `T_{2c+1}`.
//! - int8 tables: `Q_j[n] = clamp(round_half_even(T_j[n]·s), −127, 127)` with `s = 127/max_j Σ_t|x_{4j+t}|`;
//!   low-nibble tables go to `tlo[c·16 + n]`, high-nibble ones to `thi[c·16 + n]`.
//! - Scale groups: `gb` bytes per group (a multiple of 8); the last group ends at `B`.
//!   Kernels write one partial sum per group and row: `out[g·16 + r]`.
//!
//! Every kernel overwrites its output, reads nothing past the slices' stated lengths, and
//! needs no alignment (the packed buffers are 64-byte aligned anyway). The int8 and popcount
//! kernels return exactly the scalar reference's integers; the f32 kernel may sum in another
//! order (a few ulps per partial sum).

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;
pub mod scalar;
#[cfg(target_arch = "wasm32")]
pub mod simd128;
pub mod streams;

use super::KernelSet;

/// Number of groups of `gb` bytes in a row of `b` bytes.
#[inline]
pub fn group_count(b: usize, gb: usize) -> usize {
    b.div_ceil(gb)
}

/// Builds the int8 tables of `x` (`8B` values) with factor `s` into `tlo`/`thi` (`16B` each)
/// directly, without materialising the f32 tables.
pub fn build_tables_i8(set: KernelSet, x: &[f32], s: f32, tlo: &mut [i8], thi: &mut [i8]) {
    match set {
        // SAFETY: `set` comes from `kernels::active()`, which only yields supported sets.
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx512 => unsafe { avx512::build_tables_i8(x, s, tlo, thi) },
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx2 => unsafe { avx2::build_tables_i8(x, s, tlo, thi) },
        #[cfg(target_arch = "wasm32")]
        KernelSet::Simd128 => simd128::build_tables_i8(x, s, tlo, thi),
        _ => scalar::build_tables_i8(x, s, tlo, thi),
    }
}

/// The f32 tables in the layout `set`'s LUT kernel reads: the natural layout everywhere but
/// simd128, which looks floats up byte by byte and wants each table as four 16-byte planes
/// (plane `q` holds byte `q` of the 16 entries).
pub struct F32Tables {
    pub values: Vec<f32>,
    pub planed: Vec<u8>,
}

impl F32Tables {
    /// The tables of `x` (`8B` values): `values` (`2B·16` floats) for every set but simd128,
    /// `planed` (`2B·64` bytes) for simd128.
    pub fn new(set: KernelSet, x: &[f32]) -> F32Tables {
        let mut t = F32Tables { values: Vec::new(), planed: Vec::new() };
        t.fill(set, x);
        t
    }

    /// Rebuilds the tables of `x` in place (no allocation once the buffers have this size).
    pub fn fill(&mut self, set: KernelSet, x: &[f32]) {
        match set {
            #[cfg(target_arch = "wasm32")]
            KernelSet::Simd128 => {
                self.planed.resize(x.len() * 16, 0);
                simd128::build_tables_planed(x, &mut self.planed);
            }
            _ => {
                self.values.resize(x.len() * 4, 0.0);
                match set {
                    // SAFETY: see `build_tables_i8`.
                    #[cfg(target_arch = "x86_64")]
                    KernelSet::Avx512 => unsafe { avx512::build_tables(x, &mut self.values) },
                    #[cfg(target_arch = "x86_64")]
                    KernelSet::Avx2 => unsafe { avx2::build_tables(x, &mut self.values) },
                    _ => scalar::build_tables(x, &mut self.values),
                }
            }
        }
    }
}

/// Exact-table kernel: `out[g·16 + r] = Σ_{c∈g} T_{2c}[lo(tile[c·16+r])] + T_{2c+1}[hi(..)]`.
pub fn lut_f32(set: KernelSet, tile: &[u8], t: &F32Tables, gb: usize, out: &mut [f32]) {
    match set {
        // SAFETY: see `build_tables_i8`.
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx512 => unsafe { avx512::lut_f32(tile, &t.values, gb, out) },
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx2 => unsafe { avx2::lut_f32(tile, &t.values, gb, out) },
        #[cfg(target_arch = "wasm32")]
        KernelSet::Simd128 => simd128::lut_f32(tile, &t.planed, gb, out),
        _ => scalar::lut_f32(tile, &t.values, gb, out),
    }
}

/// int8-table kernel: `out[g·16 + r] = Σ_{c∈g} tlo[c·16 + lo(tile[c·16+r])] + thi[c·16 + hi(..)]`.
pub fn lut_i8(set: KernelSet, tile: &[u8], tlo: &[i8], thi: &[i8], gb: usize, out: &mut [i32]) {
    match set {
        // SAFETY: see `build_tables_i8`.
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx512 => unsafe { avx512::lut_i8(tile, tlo, thi, gb, out) },
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx2 => unsafe { avx2::lut_i8(tile, tlo, thi, gb, out) },
        #[cfg(target_arch = "wasm32")]
        KernelSet::Simd128 => simd128::lut_i8(tile, tlo, thi, gb, out),
        _ => scalar::lut_i8(tile, tlo, thi, gb, out),
    }
}

/// [`super::has_vpopcntdq`], detected once (the popcount kernel runs once per row).
#[cfg(target_arch = "x86_64")]
fn vpopcntdq() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(super::has_vpopcntdq)
}

/// Runs `f(segment, plane, out)` for every weight segment × activation plane, `out` being the
/// `groups` counts of that pair (see [`xor_popcount`]).
#[inline(always)]
fn each_pair(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32], mut f: impl FnMut(&[u64], &[u64], &mut [u32])) {
    let (groups, planes) = (words.div_ceil(gw), x.len() / words);
    assert!(out.len() >= w.len() / words * planes * groups);
    for (s, ws) in w.chunks_exact(words).enumerate() {
        for (a, xs) in x.chunks_exact(words).enumerate() {
            f(ws, xs, &mut out[(s * planes + a) * groups..][..groups]);
        }
    }
}

/// XNOR-popcount core: `w` is a sequence of segments (row planes) of `words` words, `x` a
/// sequence of activation planes of `words` words; `out[(s·A + a)·G + g]` = popcount of
/// `w_s XOR x_a` over the words of group `g` (`gw` words each, the last one ragged; `A` planes,
/// `G = ⌈words/gw⌉` groups).
pub fn xor_popcount(set: KernelSet, w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    match set {
        // SAFETY: see `build_tables_i8`; VPOPCNTDQ is checked at run time.
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx512 if vpopcntdq() => unsafe { avx512::xor_popcount_vpopcntdq(w, x, words, gw, out) },
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx512 => unsafe { avx512::xor_popcount(w, x, words, gw, out) },
        #[cfg(target_arch = "x86_64")]
        KernelSet::Avx2 => unsafe { avx2::xor_popcount(w, x, words, gw, out) },
        #[cfg(target_arch = "wasm32")]
        KernelSet::Simd128 => simd128::xor_popcount(w, x, words, gw, out),
        _ => scalar::xor_popcount(w, x, words, gw, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn sets() -> Vec<KernelSet> {
        [KernelSet::Avx2, KernelSet::Avx512, KernelSet::Simd128].into_iter().filter(|s| s.supported()).collect()
    }

    fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.next_u64() as u8).collect()
    }

    /// Byte counts per row (multiples of 8) and group sizes, including ragged last groups.
    const SHAPES: [(usize, usize); 7] = [(8, 8), (16, 8), (24, 16), (40, 40), (88, 32), (328, 328), (2056, 2056)];

    #[test]
    fn tables_are_bit_identical_to_scalar() {
        let mut rng = Rng::new(5);
        for set in sets() {
            for &(b, _) in &SHAPES {
                let x: Vec<f32> = (0..8 * b).map(|_| rng.normal() * 3.0).collect();
                let want = F32Tables::new(KernelSet::Scalar, &x).values;
                let got = F32Tables::new(set, &x);
                if !got.values.is_empty() {
                    assert_eq!(want, got.values, "{set:?} b={b}");
                }
                let s = 127.0 / 7.5;
                let (mut wl, mut wh, mut gl, mut gh) = (vec![0i8; 16 * b], vec![0i8; 16 * b], vec![1i8; 16 * b], vec![1i8; 16 * b]);
                scalar::build_tables_i8(&x, s, &mut wl, &mut wh);
                build_tables_i8(set, &x, s, &mut gl, &mut gh);
                // Half-way cases must round to even in every set.
                let ties = [0.5f32 / s, 1.5 / s, -2.5 / s, 0.0, 0.0, 0.0, 0.0, 0.0];
                let (mut tl, mut th) = (vec![0i8; 16], vec![0i8; 16]);
                scalar::build_tables_i8(&ties, s, &mut tl, &mut th);
                let (mut ul, mut uh) = (vec![1i8; 16], vec![1i8; 16]);
                build_tables_i8(set, &ties, s, &mut ul, &mut uh);
                assert_eq!((tl, th), (ul, uh), "{set:?} ties");
                assert_eq!((wl, wh), (gl, gh), "{set:?} b={b}");
            }
        }
    }

    #[test]
    fn lut_kernels_match_scalar() {
        let mut rng = Rng::new(6);
        for set in sets() {
            for &(b, gb) in &SHAPES {
                let tile = random_bytes(&mut rng, 16 * b);
                let x: Vec<f32> = (0..8 * b).map(|_| rng.normal()).collect();
                let groups = group_count(b, gb);
                let tf = F32Tables::new(set, &x);
                let tref = F32Tables::new(KernelSet::Scalar, &x);
                let (mut want, mut got) = (vec![0f32; 16 * groups], vec![f32::NAN; 16 * groups]);
                scalar::lut_f32(&tile, &tref.values, gb, &mut want);
                lut_f32(set, &tile, &tf, gb, &mut got);
                for (w, g) in want.iter().zip(&got) {
                    assert!((w - g).abs() <= 1e-5 * (1.0 + w.abs()) * (b as f32).sqrt(), "{set:?} b={b} gb={gb}: {w} vs {g}");
                }
                let tlo: Vec<i8> = (0..16 * b).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                let thi: Vec<i8> = (0..16 * b).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                let (mut wi, mut gi) = (vec![0i32; 16 * groups], vec![-1i32; 16 * groups]);
                scalar::lut_i8(&tile, &tlo, &thi, gb, &mut wi);
                lut_i8(set, &tile, &tlo, &thi, gb, &mut gi);
                assert_eq!(wi, gi, "{set:?} b={b} gb={gb}");
            }
        }
    }

    #[test]
    fn extreme_int8_tables_do_not_overflow() {
        // 2056 byte-columns of +127/+127 lookups: beyond one i16 flush period.
        let b = 2056;
        let tile = vec![0u8; 16 * b];
        let t = vec![127i8; 16 * b];
        for set in sets() {
            let mut out = vec![0i32; 16];
            lut_i8(set, &tile, &t, &t, b, &mut out);
            assert!(out.iter().all(|&v| v == 254 * b as i32), "{set:?}");
        }
    }

    #[test]
    fn popcount_matches_scalar() {
        let mut rng = Rng::new(7);
        for set in sets() {
            for (words, gw, segs, planes) in [
                (1usize, 1usize, 1usize, 1usize),
                (3, 3, 2, 1),
                (7, 2, 3, 2),
                (8, 8, 1, 3),
                (9, 4, 4, 2),
                (41, 41, 5, 1),
                (33, 8, 2, 2),
                (130, 64, 3, 3),
            ] {
                let w: Vec<u64> = (0..words * segs).map(|_| rng.next_u64()).collect();
                let x: Vec<u64> = (0..words * planes).map(|_| rng.next_u64()).collect();
                let n = segs * planes * words.div_ceil(gw);
                let (mut want, mut got) = (vec![0u32; n], vec![u32::MAX; n]);
                scalar::xor_popcount(&w, &x, words, gw, &mut want);
                // The reference itself, checked against a plain count.
                assert_eq!(want[0], w[..gw.min(words)].iter().zip(&x).map(|(a, b)| (a ^ b).count_ones()).sum::<u32>());
                xor_popcount(set, &w, &x, words, gw, &mut got);
                assert_eq!(want, got, "{set:?} words={words} gw={gw}");
                // The AVX-512 set without VPOPCNTDQ (nibble lookups) must agree too.
                #[cfg(target_arch = "x86_64")]
                if set == KernelSet::Avx512 {
                    let mut mula = vec![u32::MAX; n];
                    // SAFETY: AVX-512 is supported (the set is in `sets()`).
                    unsafe { avx512::xor_popcount(&w, &x, words, gw, &mut mula) };
                    assert_eq!(want, mula, "avx512 without vpopcntdq, words={words} gw={gw}");
                }
            }
        }
    }
}
