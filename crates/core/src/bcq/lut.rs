//! Batched products `Y[b] = Ŵ·X[b]` with a packed [`BinaryMatrix`] through the lookup-table
//! kernels of [`crate::kernels::bcq`], row tiles split across the worker pool
//! ([`crate::threads`]), every buffer held by a [`LutScratch`]: after the first call of a
//! kernel set (which sizes the stream tables) a call allocates nothing on the calling thread.
//! The math and the int8 error bound are those of [`crate::bcq`] (`Kernel::LutF32`,
//! `Kernel::LutI8`, `Kernel::Popcount`), which calls this module too:
//! `(Ŵx)_r = Σ_p Σ_g α_{r,g,p}·(b_{r,g,p}·x_g)`, each `b·x_g` summed from 16-entry tables of
//! signed partial sums of 4 activations (int8 tables: `Q = round(T·s)`,
//! `s = 127/max_j Σ|x_{4j..4j+4}|`, result scaled back by `1/s`).

use super::Kernel;
use crate::kernels::bcq::{self as k, batched, streams};
use crate::kernels::KernelSet;
use crate::quant::greedy;
use crate::quant::packed::{pack_codes_into, TILE_ROWS};
use crate::quant::BinaryMatrix;
use crate::threads::Rows;

/// Work buffers for products of up to `batch` vectors with matrices of at most `bytes` packed
/// bytes per row (`8·⌈cols/64⌉`) and `groups` scale groups per row.
pub struct LutScratch {
    bytes: usize,
    batch: usize,
    groups: usize,
    /// Each vector zero-padded to `8·bytes` (int8 tables).
    xp: Vec<f32>,
    /// One stream block's activations transposed (`8·bytes × L`).
    xt: Vec<f32>,
    /// Interleaved f32 tables of every stream block (`32·bytes·L` values per block).
    stream_tables: Vec<f32>,
    /// int8 tables per vector: `16·bytes` low-nibble then `16·bytes` high-nibble entries.
    i8_tables: Vec<i8>,
    /// The int8 tables of the batched kernel, block by block (`kernels::bcq::batched::BlockTables`).
    block_tables: Vec<i8>,
    /// `1/s` per vector (int8 tables).
    step: Vec<f32>,
    /// Popcount mode: each vector's activation planes (`k_a·bytes/8` words) and scales (`k_a`),
    /// sized for 8 planes; one vector's greedy codes and residual (`8·bytes`) while binarizing.
    act_planes: Vec<u64>,
    act_scales: Vec<f32>,
    act_codes: Vec<u8>,
    act_residual: Vec<f32>,
    /// Popcounts of one row when they do not fit a worker's stack.
    act_counts: Vec<u32>,
    /// Columns per scale group (`n_g`) of the current product.
    act_widths: Vec<f32>,
}

impl LutScratch {
    pub fn new(bytes: usize, groups: usize, batch: usize) -> LutScratch {
        LutScratch {
            bytes,
            batch,
            groups,
            xp: vec![0.0; batch * 8 * bytes],
            xt: Vec::new(),
            stream_tables: Vec::new(),
            i8_tables: vec![0; batch * 32 * bytes],
            block_tables: vec![0; batch * 32 * bytes],
            step: vec![0.0; batch],
            act_planes: Vec::new(),
            act_scales: Vec::new(),
            act_codes: Vec::new(),
            act_residual: Vec::new(),
            act_counts: Vec::new(),
            act_widths: Vec::new(),
        }
    }

    /// Builds the int8 tables of every vector of `x` (`batch` vectors of `cols`; the other
    /// kernels build no per-vector tables), vectors split across the worker pool.
    fn i8_tables(&mut self, set: KernelSet, x: &[f32], cols: usize, bytes: usize) {
        let batch = x.len() / cols;
        let (xp, tables, steps) = (
            Rows::new(&mut self.xp[..batch * 8 * self.bytes], 8 * self.bytes),
            Rows::new(&mut self.i8_tables, 32 * self.bytes),
            Rows::new(&mut self.step, 1),
        );
        crate::threads::parallel_ranges(batch, 1, 2, |range| {
            for b in range {
                // SAFETY: workers get disjoint vectors.
                let (xp, tables, step) = unsafe { (&mut xp.get(b..b + 1)[..8 * bytes], tables.get(b..b + 1), &mut steps.get(b..b + 1)[0]) };
                let xb = &x[b * cols..(b + 1) * cols];
                xp[..cols].copy_from_slice(xb);
                xp[cols..].fill(0.0);
                let max = xp.chunks_exact(4).map(|q| q.iter().map(|v| v.abs()).sum::<f32>()).fold(0f32, f32::max);
                let s = if max > 0.0 { 127.0 / max } else { 0.0 };
                let (lo, hi) = tables[..32 * bytes].split_at_mut(16 * bytes);
                k::build_tables_i8(set, xp, s, lo, hi);
                *step = if s > 0.0 { 1.0 / s } else { 0.0 };
            }
        });
    }
}

/// `y[b·rows + r] = (Ŵ·x[b·cols..])_r` for `b < batch` (`x`: batch×cols, `y`: batch×rows,
/// overwritten) with the kernels of `set`. Panics unless the lengths are those, `scratch` was
/// made for at least this batch, this matrix's packed row bytes and its scale groups, a popcount
/// kernel has 1..=8 activation bits and `set` runs here: the raw writes below rely on all of it.
pub fn packed_matmul(m: &BinaryMatrix, x: &[f32], batch: usize, y: &mut [f32], kernel: Kernel, set: KernelSet, s: &mut LutScratch) {
    packed_matmul_tables(m, x, batch, y, kernel, set, s, true);
}

/// [`packed_matmul`] for one more matrix of the same columns by the same `x` as the last product
/// on this scratch (the tiers of a mixed-precision matrix): the int8 kernel's tables of `x` are
/// reused instead of built again. The caller guarantees that `x`'s values are those of that
/// last product; the other kernels build what they need as always.
pub fn packed_matmul_same_x(m: &BinaryMatrix, x: &[f32], batch: usize, y: &mut [f32], kernel: Kernel, set: KernelSet, s: &mut LutScratch) {
    packed_matmul_tables(m, x, batch, y, kernel, set, s, false);
}

#[allow(clippy::too_many_arguments)]
fn packed_matmul_tables(
    m: &BinaryMatrix,
    x: &[f32],
    batch: usize,
    y: &mut [f32],
    kernel: Kernel,
    set: KernelSet,
    s: &mut LutScratch,
    build_tables: bool,
) {
    let (rows, cols, groups) = (m.rows(), m.cols(), m.groups());
    let bytes = 8 * m.words_per_row();
    assert!(batch <= s.batch && bytes <= s.bytes && groups <= s.groups, "scratch too small for this product");
    assert!(x.len() == batch * cols && y.len() == batch * rows, "x or y has the wrong length");
    assert!(set.supported(), "kernel set '{}' is not supported here", set.name());
    let gb = if groups == 1 { bytes } else { m.group_size() / 8 };
    match kernel {
        Kernel::LutF32 => return stream_matmul(m, x, batch, y, set, s, gb),
        Kernel::Popcount { activation_bits: ka } => {
            assert!((1..=8).contains(&ka), "activation bits must be 1 to 8");
            return popcount_matmul(m, x, batch, y, set, s, ka as usize);
        }
        Kernel::LutI8 => {}
    }
    if build_tables {
        s.i8_tables(set, x, cols, bytes);
    }
    if batch >= BATCHED_MIN {
        if let Some(kernel) = batched::kernel(set) {
            return batched_matmul(m, batch, y, s, gb, kernel);
        }
    }
    let kp = m.kernel_planes();
    let tiles = m.tiles();
    let plane_len = bytes * TILE_ROWS;
    let n_tiles = rows.div_ceil(TILE_ROWS);
    let (i8_tables, steps) = (&s.i8_tables, &s.step);
    let stride = 32 * s.bytes;
    let tile_scales = groups * TILE_ROWS;
    // The entry point is selected once per product, not per tile.
    let lut = k::KITS.get(set).lut_i8_tiles;
    // Tiles `range` for every vector: the fused kernel writes whole tiles of 16 rows straight
    // into `y`; a last tile with fewer rows goes through a 16-row buffer.
    let run_tiles = |range: std::ops::Range<usize>, out: Shared| {
        let full = range.start..range.end.min(rows / TILE_ROWS).max(range.start);
        for (b, &step) in steps.iter().enumerate().take(batch) {
            let (lo, hi) = i8_tables[b * stride..][..32 * bytes].split_at(16 * bytes);
            let codes = |r: &std::ops::Range<usize>| &tiles.bytes[r.start * kp.bits * plane_len..r.end * kp.bits * plane_len];
            let scales = |r: &std::ops::Range<usize>| &tiles.scales[r.start * kp.bits * tile_scales..r.end * kp.bits * tile_scales];
            if !full.is_empty() {
                // SAFETY: rows `16·full.start..16·full.end` of vector `b` lie inside `y` (batch×rows);
                // workers own disjoint tile ranges.
                let y_b =
                    unsafe { std::slice::from_raw_parts_mut(out.get().add(b * rows + full.start * TILE_ROWS), full.len() * TILE_ROWS) };
                // SAFETY: `set` is supported (asserted by `packed_matmul`); lengths as `lut_i8_tiles` states.
                unsafe { lut(codes(&full), scales(&full), kp.bits, lo, hi, gb, step, y_b) };
            }
            if full.end < range.end {
                let last = full.end..range.end;
                let mut buf = [0f32; TILE_ROWS];
                // SAFETY: as above, one tile.
                unsafe { lut(codes(&last), scales(&last), kp.bits, lo, hi, gb, step, &mut buf) };
                let nr = rows - last.start * TILE_ROWS;
                for (r, v) in buf[..nr].iter().enumerate() {
                    // SAFETY: `b < batch`, `16·last.start + r < rows`: inside `y`, owned by this worker.
                    unsafe { *out.get().add(b * rows + last.start * TILE_ROWS + r) = *v };
                }
            }
        }
    };
    let out = Shared(y.as_mut_ptr());
    // About 20 µs of table lookups per chunk at least, so splitting pays for the hand-off.
    let min_tiles = (1 << 16) / (kp.bits * bytes * batch * TILE_ROWS).max(1);
    crate::threads::parallel_ranges(n_tiles, 1, min_tiles.max(1), |range| run_tiles(range, out));
}

/// From this many vectors on, an int8-table product runs the batched kernel where there is one
/// ([`batched::kernel`]): each code byte is loaded once for a block of vectors.
pub const BATCHED_MIN: usize = 4;

/// The int8-table product of [`packed_matmul`] through the batched kernel (tables built): the row
/// tiles split across the worker pool, each worker running its tiles for every block of
/// [`batched::MAX_BLOCK`] vectors (the block's tables stay in L1). Bit-identical to the
/// per-vector path (see [`batched`]).
fn batched_matmul(m: &BinaryMatrix, batch: usize, y: &mut [f32], s: &mut LutScratch, gb: usize, kernel: batched::BatchFn) {
    let (rows, bytes) = (m.rows(), 8 * m.words_per_row());
    let bits = m.kernel_planes().bits;
    let mt = batched::IndexTiles { index: m.index_tiles(), scales: m.tiles().scales, bits, bytes, gb, rows };
    let stride = 32 * s.bytes;
    for first in (0..batch).step_by(batched::MAX_BLOCK) {
        let n = batched::MAX_BLOCK.min(batch - first);
        batched::interleave(&s.i8_tables[first * stride..], stride, bytes, n, &mut s.block_tables[first * 32 * bytes..][..n * 32 * bytes]);
    }
    let out = Shared(y.as_mut_ptr());
    let n_tiles = rows.div_ceil(TILE_ROWS);
    // About 20 µs of lookups per chunk at least.
    let min_tiles = (1 << 16) / (bits * bytes * batch * TILE_ROWS).max(1);
    crate::threads::parallel_ranges(n_tiles, 1, min_tiles.max(1), |range| {
        for first in (0..batch).step_by(batched::MAX_BLOCK) {
            let n = batched::MAX_BLOCK.min(batch - first);
            let t =
                batched::BlockTables { tables: &s.block_tables[first * 32 * bytes..][..n * 32 * bytes], steps: &s.step[first..first + n] };
            // SAFETY: the kernel runs on this CPU (`batched::kernel`); `y` holds batch×rows floats,
            // so rows of vectors `first..first + n` start at `first·rows`; workers own disjoint tiles.
            unsafe { kernel(&mt, &t, range.clone(), out.get().add(first * rows)) };
        }
    });
}

/// The XNOR/popcount product ([`Kernel::Popcount`]): each vector is binarized into `ka`
/// greedy codes (`x̂ = Σ_a β_a·c_a`, [`greedy::solve_with`]) and packed into planes in the
/// scratch (grown on first use, then reused: no allocation per product), then
/// `(Ŵx̂)_r = Σ_p Σ_a Σ_g α_{r,g,p}·β_a·(n_g − 2·popcount(b_{r,g,p} XOR c_{a,g}))`, row chunks
/// split over the worker pool with their counts on the worker's stack.
fn popcount_matmul(m: &BinaryMatrix, x: &[f32], batch: usize, y: &mut [f32], set: KernelSet, s: &mut LutScratch, ka: usize) {
    let (rows, cols, words, groups) = (m.rows(), m.cols(), m.words_per_row(), m.groups());
    let kp = m.kernel_planes();
    let gw = if groups == 1 { words } else { m.group_size() / 64 };
    // Room for 8 planes of `bytes/8` words per vector.
    let plane_words = s.bytes;
    let per_row = kp.bits * ka * groups;
    if s.act_planes.len() < s.batch * plane_words {
        s.act_planes.resize(s.batch * plane_words, 0);
        s.act_scales.resize(s.batch * 8, 0.0);
        s.act_codes.resize(8 * s.bytes, 0);
        s.act_residual.resize(8 * s.bytes, 0.0);
    }
    for (b, xb) in x.chunks_exact(cols).enumerate() {
        let (codes, betas) = (&mut s.act_codes[..cols], &mut s.act_scales[b * 8..][..ka]);
        greedy::solve_with(xb, codes, betas, &mut s.act_residual[..cols]);
        pack_codes_into(codes, 1, cols, ka, &mut s.act_planes[b * plane_words..][..ka * words]);
    }
    if per_row > WORKER_COUNTS && s.act_counts.len() < per_row {
        s.act_counts.resize(per_row, 0);
    }
    if s.act_widths.len() < groups {
        s.act_widths.resize(groups, 0.0);
    }
    for (g, w) in s.act_widths[..groups].iter_mut().enumerate() {
        *w = (((g + 1) * m.group_size()).min(cols) - g * m.group_size()) as f32;
    }
    let (planes, scales, widths) = (&s.act_planes, &s.act_scales, &s.act_widths[..groups]);
    let chunk = (WORKER_COUNTS / per_row).clamp(1, TILE_ROWS);
    let pop = k::KITS.get(set).xor_popcount;
    let out = Shared(y.as_mut_ptr());
    let run = |range: std::ops::Range<usize>, counts: &mut [u32]| {
        for r0 in range.map(|c| c * chunk) {
            let nr = chunk.min(rows - r0);
            let w = &kp.planes[r0 * kp.bits * words..(r0 + nr) * kp.bits * words];
            for b in 0..batch {
                let (xw, betas) = (&planes[b * plane_words..][..ka * words], &scales[b * 8..][..ka]);
                // SAFETY: `set` is supported (asserted by `packed_matmul`); `counts` holds nr·per_row values.
                unsafe { pop(w, xw, words, gw, counts) };
                for (ri, c) in counts[..nr * per_row].chunks_exact(per_row).enumerate() {
                    let alphas = &kp.scales[(r0 + ri) * groups * kp.bits..][..groups * kp.bits];
                    let mut acc = 0f32;
                    for (p, cp) in c.chunks_exact(ka * groups).enumerate() {
                        for (beta, ca) in betas.iter().zip(cp.chunks_exact(groups)) {
                            for (g, (&n, &count)) in widths.iter().zip(ca).enumerate() {
                                acc += alphas[g * kp.bits + p] * beta * (n - 2.0 * count as f32);
                            }
                        }
                    }
                    // SAFETY: `b < batch`, `r0 + ri < rows`; workers own disjoint rows.
                    unsafe { *out.get().add(b * rows + r0 + ri) = acc };
                }
            }
        }
    };
    let chunks = rows.div_ceil(chunk);
    if per_row > WORKER_COUNTS {
        // More counts per row than a worker's stack buffer: one thread, the scratch's buffer.
        return run(0..chunks, &mut s.act_counts[..per_row]);
    }
    // About 2M word-steps per piece keeps the hand-off negligible.
    let min = (1usize << 21).div_ceil((chunk * kp.bits * ka * words * batch).max(1));
    crate::threads::parallel_ranges(chunks, 1, min, |range| {
        let mut counts = [0u32; WORKER_COUNTS];
        run(range, &mut counts);
    });
}

/// Popcounts a worker keeps on its stack for one chunk of rows (`rows·bits·k_a·groups` values).
const WORKER_COUNTS: usize = 4096;

/// A raw pointer that may cross threads; each worker writes disjoint elements only.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer (a method, so closures capture the `Sync` wrapper rather than its field).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// [`packed_matmul`] with the stream-parallel exact tables ([`streams`]): the tables of every
/// block of `L` streams are built on the calling thread, then the row tiles are split across
/// the worker pool, each tile read once for all blocks.
fn stream_matmul(m: &BinaryMatrix, x: &[f32], batch: usize, y: &mut [f32], set: KernelSet, s: &mut LutScratch, gb: usize) {
    let (rows, cols) = (m.rows(), m.cols());
    let bytes = 8 * m.words_per_row();
    let kit = streams::kit(set);
    let lanes = kit.lanes;
    let blocks = batch.div_ceil(lanes);
    let (padded, table_len) = (8 * bytes, 32 * bytes * lanes);
    if s.xt.len() < padded * lanes {
        // Only when the kernel set (and so the block width) changed since the scratch was sized.
        s.xt.resize(padded * lanes, 0.0);
    }
    if s.stream_tables.len() < blocks * table_len {
        s.stream_tables.resize(blocks * table_len, 0.0);
    }
    for blk in 0..blocks {
        let xt = &mut s.xt[..padded * lanes];
        xt.fill(0.0);
        for (lane, xb) in x.chunks_exact(cols).skip(blk * lanes).take(lanes).enumerate() {
            for (c, &v) in xb.iter().enumerate() {
                xt[c * lanes + lane] = v;
            }
        }
        // SAFETY: `set` is supported (asserted by `packed_matmul`); lengths as `build_tables` states.
        unsafe { (kit.tables)(xt, padded, &mut s.stream_tables[blk * table_len..][..table_len]) };
    }
    let kp = m.kernel_planes();
    let tiles = m.tiles();
    let tables = &s.stream_tables[..blocks * table_len];
    let out = Shared(y.as_mut_ptr());
    let work_per_tile = kp.bits * bytes * blocks;
    let calls = rows.div_ceil(TILE_ROWS).div_ceil(streams::TILES_PER_CALL);
    let per_call = streams::TILES_PER_CALL * work_per_tile;
    // About 20 µs of lookups per chunk at least (one call of 1-bit 650-column tiles is ~18 µs).
    crate::threads::parallel_ranges(calls, 1, (2048 / per_call.max(1)).max(1), |range| {
        let n = streams::TILES_PER_CALL * TILE_ROWS * 16;
        let (mut acc, mut part) = ([0f32; streams::TILES_PER_CALL * TILE_ROWS * 16], [0f32; streams::TILES_PER_CALL * TILE_ROWS * 16]);
        for call in range {
            let first = call * streams::TILES_PER_CALL;
            let count = streams::TILES_PER_CALL.min(rows.div_ceil(TILE_ROWS) - first);
            for blk in 0..blocks {
                let st = streams::StreamTiles {
                    planes: tiles.bytes,
                    scales: tiles.scales,
                    first,
                    count,
                    bits: kp.bits,
                    bytes,
                    gb,
                    tables: &tables[blk * table_len..][..table_len],
                };
                // SAFETY: as above; `acc` and `part` hold TILES_PER_CALL·16·16 ≥ count·16·L values.
                unsafe { (kit.tiles)(&st, &mut acc[..n], &mut part[..n]) };
                let row0 = first * TILE_ROWS;
                for lane in 0..lanes.min(batch - blk * lanes) {
                    let b = blk * lanes + lane;
                    for r in 0..(count * TILE_ROWS).min(rows - row0) {
                        // SAFETY: `b < batch` and `row0 + r < rows`, so the element is inside `y`
                        // (batch×rows); row ranges are disjoint between workers.
                        unsafe { *out.get().add(b * rows + row0 + r) = acc[r * lanes + lane] };
                    }
                }
            }
        }
    });
}
