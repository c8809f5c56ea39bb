//! One weight matrix of the inference engine: full precision (row-major `rows×cols`) or packed
//! binary codes. Both offer the batched product `Y = X·Wᵀ` (each output row `Y[b] = W·X[b]`)
//! and the decoding of one row (the embedding lookup), on the calling thread and without
//! allocating.

use super::lut::{packed_matmul, LutKernel, LutScratch};
use crate::kernels::gemm::dot::Dots;
use crate::kernels::gemm::kit;
use crate::kernels::KernelSet;
use crate::quant::BinaryMatrix;

// A matrix is one or the other for the engine's lifetime; boxing the packed case would only add a hop.
#[allow(clippy::large_enum_variant)]
pub enum Weight {
    Dense { rows: usize, cols: usize, data: Vec<f32> },
    Packed(BinaryMatrix),
}

impl Weight {
    /// Bits per weight: 32 for full precision.
    pub fn bits(&self) -> usize {
        match self {
            Weight::Dense { .. } => 32,
            Weight::Packed(m) => m.bits(),
        }
    }

    /// Bytes held: f32 values, or planes + scales + mask + the kernels' row-tiled copy.
    pub fn bytes(&self) -> usize {
        match self {
            Weight::Dense { data, .. } => 4 * data.len(),
            Weight::Packed(m) => {
                8 * m.planes().len()
                    + 4 * m.scales().len()
                    + 8 * m.mask().map_or(0, <[u64]>::len)
                    + m.tiles().bytes.len()
                    + 4 * m.tiles().scales.len()
            }
        }
    }

    /// `y[b·rows..][..rows] = W·x[b·cols..][..cols]` for `b < batch` (overwrites `y`). Lengths
    /// are the caller's contract (`x`: batch×cols, `y`: batch×rows; `scratch` sized for this
    /// matrix and batch). Dense products use the GEMM dot-product kernel of `set`.
    pub fn matmul(&self, x: &[f32], batch: usize, y: &mut [f32], set: KernelSet, kernel: LutKernel, scratch: &mut LutScratch) {
        match self {
            Weight::Dense { rows, cols, data } => {
                assert!(x.len() >= batch * cols && y.len() >= batch * rows && data.len() == rows * cols);
                let d = Dots {
                    m: batch,
                    n: *rows,
                    k: *cols,
                    a: x.as_ptr(),
                    lda: *cols,
                    b: data.as_ptr(),
                    ldb: *cols,
                    c: y.as_mut_ptr(),
                    ldc: *rows,
                    alpha: 1.0,
                    beta: 0.0,
                };
                // SAFETY: the assert above keeps every row of A, B and C that `d` names in bounds;
                // C (`y`) is a distinct mutable slice, so it aliases neither A nor B.
                unsafe { (kit(set).dots)(&d) };
            }
            Weight::Packed(m) => packed_matmul(m, x, batch, y, kernel, set, scratch),
        }
    }

    /// Writes row `r` (`< rows`) of `W` (dequantized for packed matrices) into `out` (`cols`).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        match self {
            Weight::Dense { cols, data, .. } => out.copy_from_slice(&data[r * cols..(r + 1) * cols]),
            Weight::Packed(m) => {
                let (k, words, groups, group) = (m.bits(), m.words_per_row(), m.groups(), m.group_size());
                let planes = &m.planes()[r * k * words..][..k * words];
                let scales = &m.scales()[r * groups * k..][..groups * k];
                let mask = m.mask().map(|w| &w[r * words..][..words]);
                for (j, o) in out.iter_mut().enumerate() {
                    let (w, bit) = (j / 64, j % 64);
                    if mask.is_some_and(|mk| mk[w] >> bit & 1 == 0) {
                        *o = 0.0;
                        continue;
                    }
                    let alphas = &scales[(j / group) * k..][..k];
                    *o = (0..k).map(|i| if planes[i * words + w] >> bit & 1 == 1 { alphas[i] } else { -alphas[i] }).sum();
                }
            }
        }
    }
}
