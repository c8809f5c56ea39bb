//! One weight matrix of the inference engine: full precision (row-major `rows×cols`) or packed
//! binary codes. Both offer the batched product `Y = X·Wᵀ` (each output row `Y[b] = W·X[b]`,
//! split across the worker pool when large enough) and the decoding of one row (the embedding
//! lookup), without allocating on the calling thread.

use super::panels::Panels;
use crate::bcq::lut::{packed_matmul, packed_matmul_same_x, LutScratch};
use crate::bcq::Kernel;
use crate::error::Result;
use crate::gemm::{gemm, GemmSpec};
use crate::kernels::gemm::kit;
use crate::kernels::KernelSet;
use crate::quant::BinaryMatrix;
use std::sync::Mutex;

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
    /// A mixed-precision matrix ([`crate::quant::mixed`]) as its tiers, each a packed matrix of
    /// the rows with one bit count, so products cost the mean bits; tier outputs are scattered
    /// to their rows through `out` (sized on first use for the batch, then reused); rows of 0
    /// bits are zeros.
    Tiered {
        rows: usize,
        cols: usize,
        tiers: Vec<(Vec<u32>, BinaryMatrix)>,
        /// `(tier, row within it)` of every row; [`NO_TIER`] for a row of zeros.
        locate: Vec<(u32, u32)>,
        zero_rows: Vec<u32>,
        out: Mutex<Vec<f32>>,
    },
}

/// The tier of a row of zeros (0 bits) in [`Weight::Tiered`]'s `locate`.
const NO_TIER: u32 = u32::MAX;

/// From this many streams on, full-precision products run on the micro-kernel over packed panels
/// ([`Panels`]) instead of dot products.
pub const BATCHED_MIN: usize = 4;

impl Weight {
    /// A packed matrix as the engine runs it: mixed precision as tiers, with their kernel layout built.
    pub fn packed(m: BinaryMatrix) -> Result<Weight> {
        if m.row_bits().is_none() {
            m.tiles();
            return Ok(Weight::Packed(m));
        }
        let (rows, cols) = (m.rows(), m.cols());
        let mut locate = vec![(NO_TIER, 0u32); rows];
        let tiers: Vec<(Vec<u32>, BinaryMatrix)> = m.tiers()?.into_iter().map(|t| (t.rows, t.matrix)).collect();
        for (t, (ids, matrix)) in tiers.iter().enumerate() {
            matrix.tiles();
            for (i, &r) in ids.iter().enumerate() {
                locate[r as usize] = (t as u32, i as u32);
            }
        }
        let zero_rows = (0..rows as u32).filter(|&r| locate[r as usize].0 == NO_TIER).collect();
        Ok(Weight::Tiered { rows, cols, tiers, locate, zero_rows, out: Mutex::new(Vec::new()) })
    }

    /// Bits per weight: 32 for full precision, the mean rounded for mixed precision.
    pub fn bits(&self) -> usize {
        match self {
            Weight::Dense { .. } => 32,
            Weight::Packed(m) => m.bits(),
            Weight::Tiered { rows, tiers, .. } => {
                let coded: usize = tiers.iter().map(|(ids, m)| ids.len() * m.bits()).sum();
                (coded + rows / 2) / rows
            }
        }
    }

    /// Scale groups per row (1 for full precision).
    pub fn groups(&self) -> usize {
        match self {
            Weight::Dense { .. } => 1,
            Weight::Packed(m) => m.groups(),
            Weight::Tiered { tiers, .. } => tiers.iter().map(|(_, m)| m.groups()).max().unwrap_or(1),
        }
    }

    /// Bytes held: f32 values, or planes + scales + mask, the mask-free view of a masked matrix
    /// (its `2k` planes and scales) and the kernels' row-tiled copy.
    pub fn bytes(&self) -> usize {
        match self {
            Weight::Dense { data, panels, .. } => 4 * (data.len() + panels.as_ref().map_or(0, |p| p.data.len())),
            Weight::Tiered { tiers, locate, zero_rows, out, .. } => {
                let scratch = out.lock().unwrap_or_else(|p| p.into_inner()).len();
                tiers.iter().map(|(ids, m)| 4 * ids.len() + packed_bytes(m)).sum::<usize>()
                    + 8 * locate.len()
                    + 4 * zero_rows.len()
                    + 4 * scratch
            }
            Weight::Packed(m) => packed_bytes(m),
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
            Weight::Tiered { rows, cols, tiers, zero_rows, out, .. } => {
                let mut out = out.lock().unwrap_or_else(|p| p.into_inner());
                let widest = tiers.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
                if out.len() < batch * widest {
                    out.resize(batch * widest, 0.0);
                }
                for yb in y[..batch * rows].chunks_exact_mut(*rows) {
                    for &r in zero_rows {
                        yb[r as usize] = 0.0;
                    }
                }
                for (i, (ids, m)) in tiers.iter().enumerate() {
                    let t = &mut out[..batch * ids.len()];
                    // Every tier multiplies the same x: the int8 tables are built once.
                    let product = if i == 0 { packed_matmul } else { packed_matmul_same_x };
                    product(m, &x[..batch * cols], batch, t, kernel, set, scratch);
                    for (yb, tb) in y.chunks_exact_mut(*rows).zip(t.chunks_exact(ids.len())) {
                        for (&r, &v) in ids.iter().zip(tb) {
                            yb[r as usize] = v;
                        }
                    }
                }
            }
        }
    }

    /// Writes row `r` (`< rows`) of `W` (dequantized for packed matrices) into `out` (`cols`).
    pub fn row_into(&self, r: usize, out: &mut [f32]) {
        match self {
            Weight::Tiered { tiers, locate, .. } => match locate[r] {
                (NO_TIER, _) => out.fill(0.0),
                (t, i) => Weight::packed_row_into(&tiers[t as usize].1, i as usize, out),
            },
            Weight::Packed(m) => Weight::packed_row_into(m, r, out),
            Weight::Dense { cols, data, .. } => out.copy_from_slice(&data[r * cols..(r + 1) * cols]),
        }
    }

    /// Row `r` of a packed matrix, dequantized into `out`.
    fn packed_row_into(m: &BinaryMatrix, r: usize, out: &mut [f32]) {
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
            Weight::Tiered { tiers, .. } => {
                if crate::kernels::bcq::batched::kernel(set).is_some() {
                    for (_, m) in tiers.iter() {
                        m.index_tiles();
                    }
                }
                0
            }
        }
    }
}

/// Bytes a packed matrix holds: planes + scales + mask, the mask-free view of a masked matrix
/// (its `2k` planes and scales) and the kernels' row-tiled copy.
fn packed_bytes(m: &BinaryMatrix) -> usize {
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
