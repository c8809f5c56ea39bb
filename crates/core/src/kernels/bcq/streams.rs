//! Stream-parallel exact-table kernel: one pass over a packed tile serves a block of streams.
//!
//! The tables of [`super`] are built for a *block* of `L` activation vectors at once and
//! interleaved by stream: `T[(j·16 + n)·L + s]` is entry `n` of table `j` of stream `s`. A code
//! nibble of a weight row then selects one contiguous `L`-lane vector, added to that row's
//! accumulator: every load of the weights and every table lookup serves `L` streams, and the
//! lanes never mix, so stream `s`'s result does not depend on the other streams, on the block
//! width, on how rows are split over threads, or on the ISA. Every kernel set runs the same
//! generic body with its own registers (the scalar set with `W = 1`), using only IEEE adds
//! and separate multiplies (no fused multiply-add): the results are bit-identical everywhere.
//!
//! For one row `r` and stream lane `s`, with `B` bytes per plane, planes `p < k` and scale
//! groups of `gb` bytes:
//! `out[r·L + s] = Σ_p Σ_g α[p,g,r] · part(p,g,r,s)` (summed p-major, then g, from 0), where
//! `part = Σ_{c∈g} (T_{2c}[lo(tile_p[c·16+r])] + T_{2c+1}[hi(tile_p[c·16+r])])` is accumulated
//! as `((0 + lo_0) + hi_0) + lo_1 …`.

use super::group_count;
use crate::kernels::gemm::lanes::Lanes;

/// Rows of a tile.
pub const TILE_ROWS: usize = 16;

/// Tiles per kernel call: the partial sums of `16·TILES_PER_CALL` rows stay in L1.
pub const TILES_PER_CALL: usize = 16;
/// Bytes of codes per pass over the rows: their `2·CODE_BYTES` tables (`32·CODE_BYTES·L`
/// floats) stay in L1 while every row of the call looks them up.
const CODE_BYTES: usize = 8;

/// Up to [`TILES_PER_CALL`] consecutive tiles of a packed matrix against the tables of one
/// stream block.
pub struct StreamTiles<'a> {
    /// The matrix's tiles, `k` planes of `B·16` bytes per tile, tile-major then plane-major
    /// (the layout of `quant::packed::Tiles`).
    pub planes: &'a [u8],
    /// `k·groups·16` scales per tile: `scales[((t·k + p)·groups + g)·16 + r]`.
    pub scales: &'a [f32],
    /// First tile and number of tiles (`≤ TILES_PER_CALL`).
    pub first: usize,
    pub count: usize,
    pub bits: usize,
    /// Bytes per row and plane (`B`), and per scale group (`gb`, a multiple of 8, or `B`).
    pub bytes: usize,
    pub gb: usize,
    /// `2B·16·L` table values of the block (see the module docs).
    pub tables: &'a [f32],
}

/// An entry point of [`tiles`] for one ISA: `(tiles, out, part)`.
pub type StreamTilesFn = unsafe fn(&StreamTiles, &mut [f32], &mut [f32]);
/// An entry point of [`build_tables`] for one ISA.
pub type StreamTablesFn = unsafe fn(&[f32], usize, &mut [f32]);

/// Builds the interleaved tables of a block of `L = NV·W` streams from `xt`, the block's
/// activations transposed and zero-padded: `xt[col·L + s]` for `col < 8B`. Writes `2B·16·L` values
/// into `t`: entry `n` of table `j` is `((±x_{4j} ± x_{4j+1}) ± x_{4j+2}) ± x_{4j+3}` (sign `+`
/// where bit `t` of `n` is set), the same values and order as the single-vector tables.
///
/// # Safety
/// The CPU must support `L`'s ISA; `xt.len() ≥ cols·NV·W` with `cols` a multiple of 4 and
/// `t.len() ≥ 4·cols·NV·W`.
#[inline(always)]
pub unsafe fn build_tables<L: Lanes, const NV: usize>(xt: &[f32], cols: usize, t: &mut [f32]) {
    let lanes = NV * L::W;
    assert!(cols.is_multiple_of(4) && xt.len() >= cols * lanes && t.len() >= 4 * cols * lanes);
    let (xp, tp) = (xt.as_ptr(), t.as_mut_ptr());
    let (plus, minus) = (L::splat(1.0), L::splat(-1.0));
    for j in 0..cols / 4 {
        for v in 0..NV {
            let x: [L::V; 4] = std::array::from_fn(|q| L::load(xp.add((4 * j + q) * lanes + v * L::W)));
            for n in 0..16 {
                let s = |q: usize| if n >> q & 1 == 1 { plus } else { minus };
                let mut e = L::mul(s(0), x[0]);
                e = L::add(e, L::mul(s(1), x[1]));
                e = L::add(e, L::mul(s(2), x[2]));
                e = L::add(e, L::mul(s(3), x[3]));
                L::store(tp.add((j * 16 + n) * lanes + v * L::W), e);
            }
        }
    }
}

/// The kernel body (see the module docs): writes `out[(t·16 + r)·L + s]` for the rows of the
/// `count` tiles, using `part` (same length) for the partial sums of the current scale group.
/// Columns are visited [`CODE_BYTES`] at a time for all rows, `R` rows at a time (`R`
/// independent accumulator chains per lane register); the per-lane order of the sums is the
/// one in the module docs whatever the loop nest.
///
/// # Safety
/// The CPU must support `L`'s ISA; the slices of `st` hold what [`StreamTiles`] states for
/// `L = NV·W` lanes, and `out`, `part` hold `count·16·L` values.
#[inline(always)]
pub unsafe fn tiles<L: Lanes, const NV: usize, const R: usize>(st: &StreamTiles, out: &mut [f32], part: &mut [f32]) {
    let lanes = NV * L::W;
    let (b, gb, bits, nt) = (st.bytes, st.gb, st.bits, st.count);
    let groups = group_count(b, gb);
    let (plane_len, rows) = (b * TILE_ROWS, nt * TILE_ROWS);
    assert!(nt <= TILES_PER_CALL && TILE_ROWS.is_multiple_of(R));
    assert!(st.planes.len() >= (st.first + nt) * bits * plane_len && st.scales.len() >= (st.first + nt) * bits * groups * TILE_ROWS);
    assert!(st.tables.len() >= 2 * b * 16 * lanes && out.len() >= rows * lanes && part.len() >= rows * lanes);
    let (tp, op, pp) = (st.tables.as_ptr(), out.as_mut_ptr(), part.as_mut_ptr());
    out[..rows * lanes].fill(0.0);
    for p in 0..bits {
        for g in 0..groups {
            let (g_start, g_end) = (g * gb, ((g + 1) * gb).min(b));
            part[..rows * lanes].fill(0.0);
            for cc in (g_start..g_end).step_by(CODE_BYTES) {
                let ce = (cc + CODE_BYTES).min(g_end);
                for t in 0..nt {
                    let plane = st.planes.as_ptr().add(((st.first + t) * bits + p) * plane_len);
                    for r0 in (0..TILE_ROWS).step_by(R) {
                        for v in 0..NV {
                            let at = |i: usize| pp.add((t * TILE_ROWS + r0 + i) * lanes + v * L::W);
                            let mut acc: [L::V; R] = std::array::from_fn(|i| L::load(at(i)));
                            for c in cc..ce {
                                let lo_base = tp.add(2 * c * 16 * lanes + v * L::W);
                                let hi_base = lo_base.add(16 * lanes);
                                for (i, a) in acc.iter_mut().enumerate() {
                                    let code = *plane.add(c * TILE_ROWS + r0 + i) as usize;
                                    *a = L::add(*a, L::load(lo_base.add((code & 15) * lanes)));
                                    *a = L::add(*a, L::load(hi_base.add((code >> 4) * lanes)));
                                }
                            }
                            for (i, a) in acc.into_iter().enumerate() {
                                L::store(at(i), a);
                            }
                        }
                    }
                }
            }
            for t in 0..nt {
                let alphas = st.scales.as_ptr().add((((st.first + t) * bits + p) * groups + g) * TILE_ROWS);
                for r in 0..TILE_ROWS {
                    let alpha = L::splat(*alphas.add(r));
                    for v in 0..NV {
                        let at = (t * TILE_ROWS + r) * lanes + v * L::W;
                        L::store(op.add(at), L::add(L::load(op.add(at)), L::mul(alpha, L::load(pp.add(at)))));
                    }
                }
            }
        }
    }
}

/// The stream kernels of one kernel set and the block width `L` they were built for.
pub struct StreamKit {
    /// Streams per block (`L = NV·W`).
    pub lanes: usize,
    pub tiles: StreamTilesFn,
    /// `(xt, cols, t)`: [`build_tables`].
    pub tables: StreamTablesFn,
}

/// Instantiates the generic bodies for one kernel set with its target features.
macro_rules! stream_kit {
    ($module:ident, $lanes:ty, nv: $nv:expr, rows: $r:expr $(, features: $feat:literal)?) => {
        pub mod $module {
            use super::*;

            $(#[target_feature(enable = $feat)])?
            unsafe fn tiles_entry(st: &StreamTiles, out: &mut [f32], part: &mut [f32]) {
                tiles::<$lanes, { $nv }, { $r }>(st, out, part)
            }

            $(#[target_feature(enable = $feat)])?
            unsafe fn tables_entry(xt: &[f32], cols: usize, t: &mut [f32]) {
                build_tables::<$lanes, { $nv }>(xt, cols, t)
            }

            pub static KIT: StreamKit =
                StreamKit { lanes: $nv * <$lanes as Lanes>::W, tiles: tiles_entry, tables: tables_entry };
        }
    };
}

stream_kit!(scalar, crate::kernels::gemm::scalar::Scalar, nv: 4, rows: 4);
#[cfg(target_arch = "x86_64")]
stream_kit!(avx2, crate::kernels::gemm::avx2::Avx2, nv: 1, rows: 8, features: "avx2,fma");
#[cfg(target_arch = "x86_64")]
stream_kit!(avx512, crate::kernels::gemm::avx512::Avx512, nv: 1, rows: 8, features: "avx512f");
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
stream_kit!(simd128, crate::kernels::gemm::simd128::Simd128, nv: 2, rows: 4);

/// The stream kits of every set.
pub static KITS: crate::kernels::PerSet<StreamKit> = per_set_modules!(KIT);

/// The stream kit of `set` (recorded as used).
pub fn kit(set: crate::kernels::KernelSet) -> &'static StreamKit {
    KITS.get(set)
}
