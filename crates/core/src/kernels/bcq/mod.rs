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
pub mod batched;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;
pub mod streams;

use super::KernelSet;

/// Number of groups of `gb` bytes in a row of `b` bytes.
#[inline]
pub fn group_count(b: usize, gb: usize) -> usize {
    b.div_ceil(gb)
}

/// `(x, s, tlo, thi)`: [`build_tables_i8`].
pub type TablesI8Fn = unsafe fn(&[f32], f32, &mut [i8], &mut [i8]);
/// `(tile, tlo, thi, gb, out)`: [`lut_i8`].
pub type LutI8Fn = unsafe fn(&[u8], &[i8], &[i8], usize, &mut [i32]);
/// `(tiles, scales, bits, tlo, thi, gb, step, out)`: [`lut_i8_tiles`].
pub type LutTilesFn = unsafe fn(&[u8], &[f32], usize, &[i8], &[i8], usize, f32, &mut [f32]);
/// `(w, x, words, gw, out)`: [`xor_popcount`].
pub type PopcountFn = unsafe fn(&[u64], &[u64], usize, usize, &mut [u32]);

/// The int8-table and popcount kernels of one set (entry points with the contracts below).
pub struct BcqKit {
    pub build_tables_i8: TablesI8Fn,
    pub lut_i8: LutI8Fn,
    pub lut_i8_tiles: LutTilesFn,
    pub xor_popcount: PopcountFn,
}

/// The kits of every set (AVX-512 picks VPOPCNTDQ or nibble lookups at run time).
pub static KITS: super::PerSet<BcqKit> = per_set_modules!(KIT);

/// Builds the int8 tables of `x` (`8B` values) with factor `s` into `tlo`/`thi` (`16B` each)
/// directly, without materialising the f32 tables.
pub fn build_tables_i8(set: KernelSet, x: &[f32], s: f32, tlo: &mut [i8], thi: &mut [i8]) {
    // SAFETY: `KITS.get` panics unless `set` is supported here.
    unsafe { (KITS.get(set).build_tables_i8)(x, s, tlo, thi) }
}

/// int8-table kernel: `out[g·16 + r] = Σ_{c∈g} tlo[c·16 + lo(tile[c·16+r])] + thi[c·16 + hi(..)]`.
pub fn lut_i8(set: KernelSet, tile: &[u8], tlo: &[i8], thi: &[i8], gb: usize, out: &mut [i32]) {
    // SAFETY: as above.
    unsafe { (KITS.get(set).lut_i8)(tile, tlo, thi, gb, out) }
}

/// The int8-table product of whole tiles, scales applied: with `n = out.len()/16` tiles of
/// `bits` planes of `b` byte-columns (tile `t`, plane `p` at `tiles[(t·bits + p)·16b..]`, its
/// scales at `scales[(t·bits + p)·G·16..]`, group-major `[g·16 + r]`, `G = ⌈b/gb⌉`),
/// `out[t·16 + r] = (Σ_p Σ_g scale·(f32)S_{t,p,g,r})·step` where `S` is [`lut_i8`]'s integer
/// sum, accumulated from 0 in that order with separate multiplies and adds (so every set gives
/// the same bits).
#[allow(clippy::too_many_arguments)]
pub fn lut_i8_tiles(
    set: KernelSet,
    tiles: &[u8],
    scales: &[f32],
    bits: usize,
    tlo: &[i8],
    thi: &[i8],
    gb: usize,
    step: f32,
    out: &mut [f32],
) {
    // SAFETY: see `build_tables_i8`.
    unsafe { (KITS.get(set).lut_i8_tiles)(tiles, scales, bits, tlo, thi, gb, step, out) }
}

/// Byte-columns `b` per plane and scale groups of a [`lut_i8_tiles`] call with `out_len` outputs
/// (`out_len/16` tiles); asserts that `tiles` holds exactly that many tiles and `scales` enough.
pub(crate) fn tile_dims(tiles: &[u8], scales: &[f32], bits: usize, out_len: usize, gb: usize) -> (usize, usize) {
    let n = out_len / 16;
    let b = tiles.len() / (16 * bits * n.max(1));
    let groups = group_count(b, gb);
    assert!(tiles.len() == 16 * b * bits * n && scales.len() >= 16 * groups * bits * n);
    (b, groups)
}

/// Popcounts of `w XOR x` per segment, activation plane and group with `u64::count_ones`: the
/// body of the scalar and AVX2 kernels (inlined into the AVX2 one, which enables `popcnt`).
#[inline(always)]
pub(crate) fn xor_popcount_words(w: &[u64], x: &[u64], words: usize, gw: usize, out: &mut [u32]) {
    each_pair(w, x, words, gw, out, |ws, xs, o| {
        for (o, (wg, xg)) in o.iter_mut().zip(ws.chunks(gw).zip(xs.chunks(gw))) {
            *o = wg.iter().zip(xg).map(|(a, b)| (a ^ b).count_ones()).sum();
        }
    });
}

/// [`lut_i8_tiles`] from a set's [`lut_i8`], one group at a time (16 integer sums on the stack);
/// sets without a fused kernel use it.
///
/// # Safety
/// `lut` must be safe to call on this CPU; lengths as [`lut_i8_tiles`] states.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn tiles_by_group(
    lut: impl Fn(&[u8], &[i8], &[i8], usize, &mut [i32]),
    tiles: &[u8],
    scales: &[f32],
    bits: usize,
    tlo: &[i8],
    thi: &[i8],
    gb: usize,
    step: f32,
    out: &mut [f32],
) {
    let (b, groups) = tile_dims(tiles, scales, bits, out.len(), gb);
    for (t, o) in out.chunks_exact_mut(16).enumerate() {
        let mut acc = [0f32; 16];
        for p in 0..bits {
            let (tile, sc) = (&tiles[(t * bits + p) * 16 * b..][..16 * b], &scales[(t * bits + p) * groups * 16..][..groups * 16]);
            for g in 0..groups {
                let cols = g * gb..((g + 1) * gb).min(b);
                let mut sums = [0i32; 16];
                lut(&tile[16 * cols.start..16 * cols.end], &tlo[16 * cols.start..], &thi[16 * cols.start..], gb, &mut sums);
                for ((a, &s), &i) in acc.iter_mut().zip(&sc[g * 16..g * 16 + 16]).zip(&sums) {
                    *a += s * i as f32;
                }
            }
        }
        for (o, a) in o.iter_mut().zip(acc) {
            *o = a * step;
        }
    }
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
    // SAFETY: see `build_tables_i8`.
    unsafe { (KITS.get(set).xor_popcount)(w, x, words, gw, out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sets() -> Vec<KernelSet> {
        crate::kernels::sets_to_test().into_iter().filter(|&s| s != KernelSet::Scalar).collect()
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
    fn lut_i8_matches_scalar() {
        let mut rng = Rng::new(6);
        for set in sets() {
            for &(b, gb) in &SHAPES {
                let tile = random_bytes(&mut rng, 16 * b);
                let groups = group_count(b, gb);
                let tlo: Vec<i8> = (0..16 * b).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                let thi: Vec<i8> = (0..16 * b).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                let (mut wi, mut gi) = (vec![0i32; 16 * groups], vec![-1i32; 16 * groups]);
                scalar::lut_i8(&tile, &tlo, &thi, gb, &mut wi);
                lut_i8(set, &tile, &tlo, &thi, gb, &mut gi);
                assert_eq!(wi, gi, "{set:?} b={b} gb={gb}");
            }
        }
    }

    /// The fused tile kernel: every set gives the scalar set's floats bit for bit, and the
    /// scalar set is the formula of its contract over [`lut_i8`]'s integer sums.
    #[test]
    fn lut_i8_tiles_matches_scalar_and_the_formula() {
        let mut rng = Rng::new(16);
        for &(b, gb) in &SHAPES[..6] {
            for (bits, n) in [(1, 1), (2, 3), (3, 2)] {
                let groups = group_count(b, gb);
                let tiles = random_bytes(&mut rng, n * bits * 16 * b);
                let scales: Vec<f32> = (0..n * bits * groups * 16).map(|_| rng.uniform(-0.1, 0.1)).collect();
                let tlo: Vec<i8> = (0..16 * b).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                let thi: Vec<i8> = (0..16 * b).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                let mut want = vec![f32::NAN; 16 * n];
                scalar::lut_i8_tiles(&tiles, &scales, bits, &tlo, &thi, gb, 0.37, &mut want);
                for t in 0..n {
                    let mut acc = [0f32; 16];
                    for p in 0..bits {
                        let mut sums = vec![0i32; 16 * groups];
                        scalar::lut_i8(&tiles[(t * bits + p) * 16 * b..][..16 * b], &tlo, &thi, gb, &mut sums);
                        // Group-major (`g·16 + r`): each row sums its groups in order.
                        for (i, (&s, &sc)) in sums.iter().zip(&scales[(t * bits + p) * groups * 16..][..groups * 16]).enumerate() {
                            acc[i % 16] += sc * s as f32;
                        }
                    }
                    for r in 0..16 {
                        assert_eq!(want[t * 16 + r].to_bits(), (acc[r] * 0.37).to_bits(), "formula b={b} gb={gb} bits={bits} t={t} r={r}");
                    }
                }
                for set in sets() {
                    let mut got = vec![f32::NAN; 16 * n];
                    lut_i8_tiles(set, &tiles, &scales, bits, &tlo, &thi, gb, 0.37, &mut got);
                    let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{set:?} b={b} gb={gb} bits={bits}: {got:?} vs {want:?}");
                }
            }
        }
    }

    /// The stream kernel of every set against the scalar set, bit for bit, and against the
    /// plain formula of its module docs within rounding (4 streams: every set's block holds them).
    #[test]
    fn stream_kernel_is_bit_identical_on_every_set() {
        let mut rng = Rng::new(8);
        let n_streams = 4;
        for &(b, gb) in &SHAPES[..6] {
            for bits in [1, 3] {
                let (groups, tiles) = (group_count(b, gb), 3);
                let planes = random_bytes(&mut rng, tiles * bits * b * 16);
                let scales: Vec<f32> = (0..tiles * bits * groups * 16).map(|_| rng.normal()).collect();
                let x: Vec<Vec<f32>> = (0..n_streams).map(|_| (0..8 * b).map(|_| rng.normal()).collect()).collect();
                // out[s][row] through the kit of one set.
                let run = |kit: &streams::StreamKit| -> Vec<Vec<f32>> {
                    let l = kit.lanes;
                    let mut xt = vec![0f32; 8 * b * l];
                    for (s, xs) in x.iter().enumerate() {
                        for (c, &v) in xs.iter().enumerate() {
                            xt[c * l + s] = v;
                        }
                    }
                    let mut t = vec![0f32; 32 * b * l];
                    // SAFETY: `kit` is of a supported set; lengths as the kernel states.
                    unsafe { (kit.tables)(&xt, 8 * b, &mut t) };
                    let (mut out, mut part) = (vec![f32::NAN; tiles * 16 * l], vec![f32::NAN; tiles * 16 * l]);
                    let st =
                        streams::StreamTiles { planes: &planes, scales: &scales, first: 0, count: tiles, bits, bytes: b, gb, tables: &t };
                    // SAFETY: as above.
                    unsafe { (kit.tiles)(&st, &mut out, &mut part) };
                    (0..n_streams).map(|s| (0..tiles * 16).map(|r| out[r * l + s]).collect()).collect()
                };
                let want = run(&streams::scalar::KIT);
                for (s, ys) in want.iter().enumerate() {
                    for (r, &y) in ys.iter().enumerate() {
                        let (t, rr) = (r / 16, r % 16);
                        let mut f = 0f64;
                        for p in 0..bits {
                            for g in 0..groups {
                                let mut part = 0f64;
                                for c in g * gb..((g + 1) * gb).min(b) {
                                    let byte = planes[(t * bits + p) * b * 16 + c * 16 + rr];
                                    for q in 0..8 {
                                        let v = x[s][8 * c + q] as f64;
                                        part += if byte >> q & 1 == 1 { v } else { -v };
                                    }
                                }
                                f += scales[((t * bits + p) * groups + g) * 16 + rr] as f64 * part;
                            }
                        }
                        assert!((y as f64 - f).abs() <= 1e-4 * (1.0 + f.abs()) * (b as f64).sqrt(), "b={b} bits={bits}: {y} vs {f}");
                    }
                }
                for set in sets() {
                    assert!(run(streams::kit(set)) == want, "{set:?} b={b} gb={gb} bits={bits}");
                }
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
