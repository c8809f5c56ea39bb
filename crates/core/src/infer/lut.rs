//! Batched products `Y[b] = Ŵ·X[b]` with a packed [`BinaryMatrix`] through the lookup-table
//! kernels of [`crate::kernels::bcq`], on the calling thread, every buffer pre-allocated in a
//! [`LutScratch`]: a call allocates nothing. The math and the int8 error bound are those of
//! [`crate::bcq`] (`Kernel::LutF32` / `Kernel::LutI8`):
//! `(Ŵx)_r = Σ_p Σ_g α_{r,g,p}·(b_{r,g,p}·x_g)`, each `b·x_g` summed from 16-entry tables of
//! signed partial sums of 4 activations (int8 tables: `Q = round(T·s)`, `s = 127/max_j Σ|x_{4j..4j+4}|`,
//! result scaled back by `1/s`).

use crate::error::{Error, Result};
use crate::kernels::bcq::{self as k, F32Tables};
use crate::kernels::KernelSet;
use crate::quant::packed::TILE_ROWS;
use crate::quant::BinaryMatrix;

/// Which table kernel the packed products use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LutKernel {
    /// int8 tables, 16 lookups per byte shuffle (fast; error bound in [`crate::bcq`]).
    I8,
    /// exact f32 tables (equal to the dequantized product up to summation order).
    F32,
}

impl LutKernel {
    /// `lut-i8` or `lut-f32`; anything else is `E_CONFIG`.
    pub fn parse(name: &str) -> Result<LutKernel> {
        match name {
            "lut-i8" => Ok(LutKernel::I8),
            "lut-f32" => Ok(LutKernel::F32),
            other => Err(Error::config(format!("unknown inference kernel '{other}': use lut-i8 or lut-f32"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LutKernel::I8 => "lut-i8",
            LutKernel::F32 => "lut-f32",
        }
    }
}

/// Work buffers for products of up to `batch` vectors with matrices of at most `bytes` packed
/// bytes per row (`8·⌈cols/64⌉`) and `groups` scale groups per row.
pub struct LutScratch {
    bytes: usize,
    batch: usize,
    groups: usize,
    /// One activation vector zero-padded to `8·bytes`.
    xp: Vec<f32>,
    /// f32 tables per vector (`32·bytes` values each).
    f32_tables: Vec<F32Tables>,
    /// int8 tables per vector: `16·bytes` low-nibble then `16·bytes` high-nibble entries.
    i8_tables: Vec<i8>,
    /// `1/s` per vector (int8 tables).
    step: Vec<f32>,
    fs: Vec<f32>,
    is: Vec<i32>,
    /// Row accumulators of one tile: `batch × 16`.
    acc: Vec<f32>,
}

impl LutScratch {
    pub fn new(bytes: usize, groups: usize, batch: usize) -> LutScratch {
        LutScratch {
            bytes,
            batch,
            groups,
            xp: vec![0.0; 8 * bytes],
            f32_tables: (0..batch).map(|_| F32Tables { values: vec![0.0; 32 * bytes], planed: Vec::with_capacity(128 * bytes) }).collect(),
            i8_tables: vec![0; batch * 32 * bytes],
            step: vec![0.0; batch],
            fs: vec![0.0; groups * TILE_ROWS],
            is: vec![0; groups * TILE_ROWS],
            acc: vec![0.0; batch * TILE_ROWS],
        }
    }

    /// Builds the tables of vector `b` (`x`: its `cols` activations).
    fn tables(&mut self, set: KernelSet, kernel: LutKernel, b: usize, x: &[f32], bytes: usize) {
        let xp = &mut self.xp[..8 * bytes];
        xp[..x.len()].copy_from_slice(x);
        xp[x.len()..].fill(0.0);
        match kernel {
            LutKernel::F32 => self.f32_tables[b].fill(set, xp),
            LutKernel::I8 => {
                let max = xp.chunks_exact(4).map(|q| q.iter().map(|v| v.abs()).sum::<f32>()).fold(0f32, f32::max);
                let s = if max > 0.0 { 127.0 / max } else { 0.0 };
                let (lo, hi) = self.i8_tables[b * 32 * self.bytes..][..32 * bytes].split_at_mut(16 * bytes);
                k::build_tables_i8(set, xp, s, lo, hi);
                self.step[b] = if s > 0.0 { 1.0 / s } else { 0.0 };
            }
        }
    }
}

/// `y[b·rows + r] = (Ŵ·x[b·cols..])_r` for `b < batch` (`x`: batch×cols, `y`: batch×rows,
/// overwritten). The caller guarantees the lengths and that `scratch` was made for at least
/// this batch, this matrix's packed row bytes and its scale groups (debug-asserted).
pub fn packed_matmul(m: &BinaryMatrix, x: &[f32], batch: usize, y: &mut [f32], kernel: LutKernel, set: KernelSet, s: &mut LutScratch) {
    let (rows, cols, groups) = (m.rows(), m.cols(), m.groups());
    let bytes = 8 * m.words_per_row();
    debug_assert!(batch <= s.batch && bytes <= s.bytes && groups <= s.groups);
    debug_assert!(x.len() == batch * cols && y.len() == batch * rows);
    let gb = if groups == 1 { bytes } else { m.group_size() / 8 };
    for (b, xb) in x.chunks_exact(cols).enumerate() {
        s.tables(set, kernel, b, xb, bytes);
    }
    let kp = m.kernel_planes();
    let tiles = m.tiles();
    let plane_len = bytes * TILE_ROWS;
    for t in 0..rows.div_ceil(TILE_ROWS) {
        let nr = TILE_ROWS.min(rows - t * TILE_ROWS);
        let acc = &mut s.acc[..batch * TILE_ROWS];
        acc.fill(0.0);
        for p in 0..kp.bits {
            let tile = &tiles.bytes[(t * kp.bits + p) * plane_len..][..plane_len];
            let scales = &tiles.scales[(t * kp.bits + p) * groups * TILE_ROWS..][..groups * TILE_ROWS];
            for b in 0..batch {
                let fs = &mut s.fs[..groups * TILE_ROWS];
                match kernel {
                    LutKernel::F32 => k::lut_f32(set, tile, &s.f32_tables[b], gb, fs),
                    LutKernel::I8 => {
                        let (lo, hi) = s.i8_tables[b * 32 * s.bytes..][..32 * bytes].split_at(16 * bytes);
                        let is = &mut s.is[..groups * TILE_ROWS];
                        k::lut_i8(set, tile, lo, hi, gb, is);
                        for (f, &i) in fs.iter_mut().zip(is.iter()) {
                            *f = i as f32;
                        }
                    }
                }
                let accb = &mut acc[b * TILE_ROWS..][..TILE_ROWS];
                for (sg, fg) in scales.chunks_exact(TILE_ROWS).zip(fs.chunks_exact(TILE_ROWS)) {
                    for ((a, &sc), &f) in accb.iter_mut().zip(sg).zip(fg) {
                        *a += sc * f;
                    }
                }
            }
        }
        for b in 0..batch {
            let scale = if kernel == LutKernel::I8 { s.step[b] } else { 1.0 };
            let out = &mut y[b * rows + t * TILE_ROWS..][..nr];
            for (o, a) in out.iter_mut().zip(&acc[b * TILE_ROWS..]) {
                *o = a * scale;
            }
        }
    }
}
