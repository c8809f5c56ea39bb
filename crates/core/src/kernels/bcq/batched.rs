//! Many streams through one packed matrix with the int8 tables (`Kernel::LutI8`): each code
//! byte is loaded once per tile and looked up in the tables of a block of up to [`MAX_BLOCK`]
//! streams (T-MAC style: codes shared across the batch, one table set per stream, one
//! accumulator register per stream and 16 rows). The results are bit-identical to
//! [`super::lut_i8_tiles`] run stream by stream: the integer sums of a scale group are exact
//! whatever their order, and the float accumulation (`acc += α·(f32)S` over planes then groups,
//! from 0, then `·step`) is the same sequence of separate multiplies and adds.
//!
//! Index layout ([`index_tiles`], built once per matrix from its row tiles): for tile `t`, plane
//! `p` and byte-column quad `q4` (columns `4q4..4q4+4`), a block of 128 bytes at
//! `((t·k + p)·B/4 + q4)·128`; byte `4r + q` of its first half is `lo(code) | q<<4`, of its
//! second half `hi(code) | q<<4`, `code` = byte `4q4 + q` of row `r`. An index byte thus selects
//! entry `lo` (or `hi`) of table `T_{2(4q4+q)}` (or `T_{2(4q4+q)+1}`) among the 64 int8 entries
//! `tlo[16·4q4..][..64]` (or `thi`): one 64-entry lookup (`vpermb`) gives 16 rows × 4 columns
//! and `vpdpbusd` against ones adds the 4 columns of each row into that row's i32 lane.
//!
//! Only AVX-512 with VBMI and VNNI has a SIMD twin ([`available`]); [`scalar`] is the reference.

use super::group_count;
use crate::quant::packed::TILE_ROWS;

/// Most streams one kernel call serves (accumulators held in registers).
pub const MAX_BLOCK: usize = 8;

/// The index layout of a matrix's row tiles (`tiles`: `n·k` planes of `b·16` bytes, the
/// layout of `quant::packed::Tiles`): `2·tiles.len()` bytes, see the module docs.
pub fn index_tiles(tiles: &[u8], b: usize, out: &mut [u8]) {
    assert!(b.is_multiple_of(4) && out.len() == 2 * tiles.len());
    for (plane, o) in tiles.chunks_exact(16 * b).zip(out.chunks_exact_mut(32 * b)) {
        for (q4, blk) in o.chunks_exact_mut(128).enumerate() {
            for r in 0..TILE_ROWS {
                for q in 0..4 {
                    let code = plane[(4 * q4 + q) * TILE_ROWS + r];
                    blk[4 * r + q] = (code & 15) | (q as u8) << 4;
                    blk[64 + 4 * r + q] = (code >> 4) | (q as u8) << 4;
                }
            }
        }
    }
}

/// One packed matrix in the index layout, its scales and shape.
pub struct IndexTiles<'a> {
    /// [`index_tiles`] of the matrix.
    pub index: &'a [u8],
    /// The tile scales (`quant::packed::Tiles::scales`).
    pub scales: &'a [f32],
    /// Planes `k`, bytes per row and plane `B` (a multiple of 8), bytes per scale group `gb`
    /// (a multiple of 8, or `B`), rows of the matrix.
    pub bits: usize,
    pub bytes: usize,
    pub gb: usize,
    pub rows: usize,
}

/// The int8 tables of a block of `n = steps.len()` streams, interleaved by byte-column quad:
/// `tables[(q4·n + s)·128..]` holds 64 entries of stream `s`'s `tlo` (`tlo[64·q4..][..64]`,
/// the tables of columns `4q4..4q4+4`) then 64 of its `thi` ([`interleave`] builds it), so one
/// pointer reaches every stream's tables; `steps[s]` is `1/s` of stream `s`'s tables.
pub struct BlockTables<'a> {
    pub tables: &'a [i8],
    pub steps: &'a [f32],
}

/// Writes the [`BlockTables`] layout of `n` streams into `out` (`32·b·n` values) from their
/// per-stream tables: stream `s` has `tlo` at `tables[s·stride..][..16b]` and `thi` right after.
pub fn interleave(tables: &[i8], stride: usize, b: usize, n: usize, out: &mut [i8]) {
    assert!(b.is_multiple_of(4) && out.len() >= 32 * b * n);
    for s in 0..n {
        let (tlo, thi) = tables[s * stride..][..32 * b].split_at(16 * b);
        for q4 in 0..b / 4 {
            let o = &mut out[(q4 * n + s) * 128..][..128];
            o[..64].copy_from_slice(&tlo[64 * q4..][..64]);
            o[64..].copy_from_slice(&thi[64 * q4..][..64]);
        }
    }
}

/// `(matrix, tables, tiles, out)`: [`scalar`]'s contract.
pub type BatchFn = unsafe fn(&IndexTiles, &BlockTables, std::ops::Range<usize>, *mut f32);

/// Checks the lengths every kernel relies on; returns the number of streams.
fn check(m: &IndexTiles, t: &BlockTables, tiles: &std::ops::Range<usize>) -> usize {
    let n = t.steps.len();
    let groups = group_count(m.bytes, m.gb);
    let n_tiles = m.rows.div_ceil(TILE_ROWS);
    assert!(n <= MAX_BLOCK && m.bytes.is_multiple_of(8) && m.gb.is_multiple_of(4) && tiles.end <= n_tiles);
    assert!(m.index.len() >= n_tiles * m.bits * 32 * m.bytes && m.scales.len() >= n_tiles * m.bits * groups * TILE_ROWS);
    assert!(t.tables.len() >= 32 * m.bytes * n);
    n
}

/// Reference kernel: for every stream `s < tables.steps.len()` and tile `t` in `tiles`, writes
/// `out[s·rows + 16t + r]` (rows `r` of the tile that exist) as `lut_i8_tiles` would.
///
/// # Safety
/// `out` must be valid for writes of `steps.len()·rows` floats; other threads may write only
/// other tiles' rows.
pub unsafe fn scalar(m: &IndexTiles, t: &BlockTables, tiles: std::ops::Range<usize>, out: *mut f32) {
    let n = check(m, t, &tiles);
    let (b, groups) = (m.bytes, group_count(m.bytes, m.gb));
    for tile in tiles {
        let mut acc = [[0f32; TILE_ROWS]; MAX_BLOCK];
        for p in 0..m.bits {
            let idx = &m.index[(tile * m.bits + p) * 32 * b..][..32 * b];
            let sc = &m.scales[(tile * m.bits + p) * groups * TILE_ROWS..][..groups * TILE_ROWS];
            for g in 0..groups {
                let (c0, c1) = (g * m.gb, ((g + 1) * m.gb).min(b));
                for (s, acc) in acc.iter_mut().enumerate().take(n) {
                    let mut sums = [0i32; TILE_ROWS];
                    for q4 in c0 / 4..c1 / 4 {
                        let blk = &idx[q4 * 128..][..128];
                        let (tlo, thi) = t.tables[(q4 * n + s) * 128..][..128].split_at(64);
                        for (r, sum) in sums.iter_mut().enumerate() {
                            for q in 0..4 {
                                *sum += tlo[(blk[4 * r + q] & 63) as usize] as i32;
                                *sum += thi[(blk[64 + 4 * r + q] & 63) as usize] as i32;
                            }
                        }
                    }
                    for ((a, &s), &i) in acc.iter_mut().zip(&sc[g * TILE_ROWS..][..TILE_ROWS]).zip(&sums) {
                        *a += s * i as f32;
                    }
                }
            }
        }
        let valid = TILE_ROWS.min(m.rows - tile * TILE_ROWS);
        for (s, acc) in acc.iter().enumerate().take(n) {
            for (r, &a) in acc.iter().enumerate().take(valid) {
                *out.add(s * m.rows + tile * TILE_ROWS + r) = a * t.steps[s];
            }
        }
    }
}

/// Whether this CPU runs the AVX-512 VBMI + VNNI kernel.
#[cfg(target_arch = "x86_64")]
pub fn available() -> bool {
    crate::kernels::KernelSet::Avx512.supported() && is_x86_feature_detected!("avx512vbmi") && is_x86_feature_detected!("avx512vnni")
}
#[cfg(not(target_arch = "x86_64"))]
pub fn available() -> bool {
    false
}

/// The kernel for `set`: the AVX-512 VBMI + VNNI one where [`available`] and `set` is AVX-512,
/// else `None` (the caller then runs the per-stream kernels).
pub fn kernel(set: crate::kernels::KernelSet) -> Option<BatchFn> {
    #[cfg(target_arch = "x86_64")]
    if set == crate::kernels::KernelSet::Avx512 && available() {
        return Some(avx512::run);
    }
    let _ = set;
    None
}

#[cfg(target_arch = "x86_64")]
pub mod avx512 {
    use super::*;
    use std::arch::x86_64::*;

    /// [`super::scalar`] with `vpermb` lookups and `vpdpbusd` sums, `N` streams in registers.
    ///
    /// # Safety
    /// AVX-512 F/BW/VL/DQ, VBMI and VNNI; as [`super::scalar`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi,avx512vnni")]
    unsafe fn block<const N: usize>(m: &IndexTiles, t: &BlockTables, tiles: std::ops::Range<usize>, out: *mut f32) {
        let (b, groups) = (m.bytes, group_count(m.bytes, m.gb));
        let ones = _mm512_set1_epi8(1);
        let tb = t.tables.as_ptr();
        for tile in tiles {
            let mut acc = [_mm512_setzero_ps(); N];
            for p in 0..m.bits {
                let idx = m.index.as_ptr().add((tile * m.bits + p) * 32 * b);
                let sc = m.scales.as_ptr().add((tile * m.bits + p) * groups * TILE_ROWS);
                for g in 0..groups {
                    let (c0, c1) = (g * m.gb, ((g + 1) * m.gb).min(b));
                    let mut sums = [_mm512_setzero_si512(); N];
                    for q4 in c0 / 4..c1 / 4 {
                        let il = _mm512_loadu_si512(idx.add(q4 * 128).cast());
                        let ih = _mm512_loadu_si512(idx.add(q4 * 128 + 64).cast());
                        let tq = tb.add(q4 * N * 128);
                        for (s, sum) in sums.iter_mut().enumerate() {
                            let tl = _mm512_loadu_si512(tq.add(s * 128).cast());
                            let th = _mm512_loadu_si512(tq.add(s * 128 + 64).cast());
                            *sum = _mm512_dpbusd_epi32(*sum, ones, _mm512_permutexvar_epi8(il, tl));
                            *sum = _mm512_dpbusd_epi32(*sum, ones, _mm512_permutexvar_epi8(ih, th));
                        }
                    }
                    let alpha = _mm512_loadu_ps(sc.add(g * TILE_ROWS));
                    for s in 0..N {
                        // Separate multiply and add, as the per-stream kernels.
                        acc[s] = _mm512_add_ps(acc[s], _mm512_mul_ps(alpha, _mm512_cvtepi32_ps(sums[s])));
                    }
                }
            }
            let valid = TILE_ROWS.min(m.rows - tile * TILE_ROWS);
            let mask: __mmask16 = if valid == TILE_ROWS { !0 } else { (1u16 << valid) - 1 };
            for (s, a) in acc.iter().enumerate() {
                let y = _mm512_mul_ps(*a, _mm512_set1_ps(t.steps[s]));
                _mm512_mask_storeu_ps(out.add(s * m.rows + tile * TILE_ROWS), mask, y);
            }
        }
    }

    /// The entry point ([`super::BatchFn`]): picks the register block for the stream count.
    ///
    /// # Safety
    /// As [`block`].
    pub unsafe fn run(m: &IndexTiles, t: &BlockTables, tiles: std::ops::Range<usize>, out: *mut f32) {
        let n = check(m, t, &tiles);
        match n {
            0 => {}
            1 => block::<1>(m, t, tiles, out),
            2 => block::<2>(m, t, tiles, out),
            3 => block::<3>(m, t, tiles, out),
            4 => block::<4>(m, t, tiles, out),
            5 => block::<5>(m, t, tiles, out),
            6 => block::<6>(m, t, tiles, out),
            7 => block::<7>(m, t, tiles, out),
            _ => block::<8>(m, t, tiles, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Random tiles, scales and tables; the batched kernels against `lut_i8_tiles` per stream.
    #[test]
    fn matches_the_per_stream_kernel_bit_for_bit() {
        let mut rng = Rng::new(26);
        for &(b, gb, rows) in &[(8usize, 8usize, 16usize), (16, 8, 5), (24, 16, 33), (88, 88, 47), (88, 32, 64), (40, 40, 100)] {
            for bits in 1..=4 {
                let n_tiles = rows.div_ceil(TILE_ROWS);
                let groups = group_count(b, gb);
                let tiles: Vec<u8> = (0..n_tiles * bits * 16 * b).map(|_| rng.next_u64() as u8).collect();
                let scales: Vec<f32> = (0..n_tiles * bits * groups * 16).map(|_| rng.uniform(-0.1, 0.1)).collect();
                let mut index = vec![0u8; 2 * tiles.len()];
                index_tiles(&tiles, b, &mut index);
                let m = IndexTiles { index: &index, scales: &scales, bits, bytes: b, gb, rows };
                for n in [1usize, 3, 8] {
                    let stride = 32 * b + 16;
                    let tables: Vec<i8> = (0..n * stride).map(|_| (rng.below(255) as i32 - 127) as i8).collect();
                    let steps: Vec<f32> = (0..n).map(|_| rng.uniform(0.001, 0.1)).collect();
                    let mut want = vec![f32::NAN; n * rows];
                    for s in 0..n {
                        let (lo, hi) = tables[s * stride..][..32 * b].split_at(16 * b);
                        let mut full = vec![0f32; n_tiles * 16];
                        super::super::scalar::lut_i8_tiles(&tiles, &scales, bits, lo, hi, gb, steps[s], &mut full);
                        want[s * rows..(s + 1) * rows].copy_from_slice(&full[..rows]);
                    }
                    let mut block = vec![0i8; 32 * b * n];
                    interleave(&tables, stride, b, n, &mut block);
                    let t = BlockTables { tables: &block, steps: &steps };
                    // (Only x86-64 adds a kernel.)
                    #[allow(unused_mut)]
                    let mut kernels: Vec<(&str, BatchFn)> = vec![("scalar", scalar)];
                    #[cfg(target_arch = "x86_64")]
                    if available() {
                        kernels.push(("avx512", avx512::run));
                    }
                    for (name, k) in kernels {
                        let mut got = vec![f32::NAN; n * rows];
                        // Two calls on disjoint tile ranges, as two workers would.
                        let split = n_tiles / 2;
                        // SAFETY: `got` holds n·rows floats; the kernel's CPU features are checked.
                        unsafe {
                            k(&m, &t, 0..split, got.as_mut_ptr());
                            k(&m, &t, split..n_tiles, got.as_mut_ptr());
                        }
                        let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(same, "{name} b={b} gb={gb} rows={rows} bits={bits} n={n}");
                    }
                }
            }
        }
    }
}
