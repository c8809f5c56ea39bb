//! One weight matrix of the inference engine: full precision (row-major `rows×cols`) or packed
//! binary codes. Both offer the batched product `Y = X·Wᵀ` (each output row `Y[b] = W·X[b]`,
//! split across the worker pool when large enough) and the decoding of one row (the embedding
//! lookup), without allocating on the calling thread.

use super::panels::Panels;
use crate::bcq::lut::{packed_matmul, LutScratch};
use crate::bcq::Kernel;
use crate::gemm::{gemm, GemmSpec};
use crate::kernels::gemm::kit;
use crate::kernels::KernelSet;
use crate::quant::BinaryMatrix;

// A matrix is one or the other for the engine's lifetime; boxing the packed case would only add a hop.
#[allow(clippy::large_enum_variant)]
pub enum Weight {
    /// Row-major `rows × cols`; `panels`: the same packed for many streams once a batch of at
    /// least [`BATCHED_MIN`] is set (`Engine::reset`), else `None`.
    Dense {
        rows: usize,
        cols: usize,
        data: Vec<f32>,
        panels: Option<Panels>,
    },
    Packed(BinaryMatrix),
}

/// From this many streams on, full-precision products run on the micro-kernel over packed panels
/// ([`Panels`]) instead of dot products.
pub const BATCHED_MIN: usize = 4;

impl Weight {
    /// Bits per weight: 32 for full precision.
    pub fn bits(&self) -> usize {
        match self {
            Weight::Dense { .. } => 32,
            Weight::Packed(m) => m.bits(),
        }
    }

    /// Bytes held: f32 values, or planes + scales + mask, the mask-free view of a masked matrix
    /// (its `2k` planes and scales) and the kernels' row-tiled copy.
    pub fn bytes(&self) -> usize {
        match self {
            Weight::Dense { data, panels, .. } => 4 * (data.len() + panels.as_ref().map_or(0, |p| p.data.len())),
            Weight::Packed(m) => {
                let view = match m.mask() {
                    Some(_) => 8 * m.kernel_planes().planes.len() + 4 * m.kernel_planes().scales.len(),
                    None => 0,
                };
                8 * m.planes().len()
                    + 4 * m.scales().len()
                    + 8 * m.mask().map_or(0, <[u64]>::len)
                    + view
                    + m.tiles().bytes.len()
                    + 4 * m.tiles().scales.len()
                    + m.index_bytes()
            }
        }
    }

    /// `y[b·rows..][..rows] = W·x[b·cols..][..cols]` for `b < batch` (overwrites `y`). Panics
    /// unless `x` holds batch×cols values, `y` batch×rows and `scratch` was sized for this matrix
    /// and batch. Dense products use the GEMM ([`crate::gemm::gemm`], threaded when large enough).
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        set: KernelSet,
        kernel: Kernel,
        scratch: &mut LutScratch,
        xpack: &mut [f32],
    ) {
        match self {
            Weight::Dense { rows, cols, panels: Some(p), .. } if batch >= BATCHED_MIN => {
                p.matmul(*rows, *cols, x, batch, y, xpack);
            }
            Weight::Dense { rows, cols, data, .. } => {
                // `Y = X·Wᵀ`: the dot-product path of the GEMM (rows of X and W contiguous), split
                // across the worker pool when large enough; it allocates nothing.
                let spec = GemmSpec { trans_b: true, ..GemmSpec::new(batch, *rows, *cols) };
                gemm(&spec, &x[..batch * cols], data, &mut y[..batch * rows]).expect("engine buffers are sized for its matrices");
            }
            Weight::Packed(m) => packed_matmul(m, &x[..batch * m.cols()], batch, &mut y[..batch * m.rows()], kernel, set, scratch),
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
                // Group by group (no division per column).
                for (g, out_g) in out.chunks_mut(group).enumerate() {
                    let alphas = &scales[g * k..][..k];
                    for (j, o) in (g * group..).zip(out_g.iter_mut()) {
                        let (w, bit) = (j / 64, j % 64);
                        *o = if mask.is_some_and(|mk| mk[w] >> bit & 1 == 0) {
                            0.0
                        } else {
                            (0..k).map(|i| if planes[i * words + w] >> bit & 1 == 1 { alphas[i] } else { -alphas[i] }).sum()
                        };
                    }
                }
            }
        }
    }
}

impl Weight {
    /// Packs a full-precision matrix into panels for `set`'s micro-kernel (once), or builds a
    /// packed matrix's index layout for the batched int8 kernel where `set` has one. Returns the floats its products need in the packed-input buffer for
    /// `batch` streams.
    pub fn prepare_batched(&mut self, set: KernelSet, batch: usize) -> usize {
        match self {
            Weight::Dense { rows, cols, data, panels } => {
                if panels.is_none() {
                    *panels = Some(Panels::pack(kit(set), *rows, *cols, data));
                }
                Panels::x_buffer(kit(set), batch, *cols)
            }
            Weight::Packed(m) => {
                // The batched int8 kernel's layout, where that kernel runs.
                if crate::kernels::bcq::batched::kernel(set).is_some() {
                    m.index_tiles();
                }
                0
            }
        }
    }
}
