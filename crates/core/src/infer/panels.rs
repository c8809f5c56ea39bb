//! Many streams through a full-precision matrix: `Y = X·Wᵀ` for `X` of `batch` rows with `W`
//! packed once into the GEMM micro-kernel's B panels, so a step streams each weight once for
//! every [`crate::kernels::gemm::Kit::mr`] streams instead of once per few streams (the
//! dot-product path the engine uses at small batches).
//!
//! Layout: panel `t` holds rows `t·NR..(t+1)·NR` of `W` transposed, `cols` groups of `NR` floats
//! (`panel[p·NR + j] = W[t·NR + j, p]`, zero past the last row). The product packs `X` into
//! `MR`-row panels (zero past the last stream) and runs the active kit's micro-kernel on every
//! `MR × NR` tile with the whole depth (`kc = cols`). Each output is one sequential chain of FMAs
//! over `p`, so a stream's outputs do not depend on the batch, the tile it fell in or the thread
//! count.

use crate::kernels::gemm::blocked::CPtr;
use crate::kernels::gemm::micro::Tile;
use crate::kernels::gemm::pack::{pack, View};
use crate::kernels::gemm::Kit;
use crate::threads::parallel_ranges;

/// `W` (`rows × cols`, row-major) packed into panels of `kit.nr` rows for `kit`'s micro-kernel
/// (by the GEMM's own [`pack`], which also packs the inputs).
pub struct Panels {
    kit: &'static Kit,
    pub data: Vec<f32>,
}

impl Panels {
    /// Packs `w` for `kit`'s micro-kernel.
    pub fn pack(kit: &'static Kit, rows: usize, cols: usize, w: &[f32]) -> Panels {
        let mut data = vec![0.0f32; rows.div_ceil(kit.nr) * kit.nr * cols];
        pack(View { data: w, xs: cols, ds: 1 }, 0, rows, 0, cols, kit.nr, &mut data);
        Panels { kit, data }
    }

    /// Floats the product needs for `batch` streams of `cols` inputs in its packed-X buffer.
    pub fn x_buffer(kit: &Kit, batch: usize, cols: usize) -> usize {
        batch.div_ceil(kit.mr) * kit.mr * cols
    }

    /// `y[b·rows..][..rows] = W·x[b·cols..][..cols]` for `b < batch`, on the kit the panels were
    /// packed for. `xpack` holds at least [`Panels::x_buffer`] floats.
    #[allow(clippy::too_many_arguments)]
    pub fn matmul(&self, rows: usize, cols: usize, x: &[f32], batch: usize, y: &mut [f32], xpack: &mut [f32]) {
        let kit = self.kit;
        let (mr, nr) = (kit.mr, kit.nr);
        assert!(x.len() >= batch * cols && y.len() >= batch * rows && xpack.len() >= Self::x_buffer(kit, batch, cols));
        pack(View { data: x, xs: cols, ds: 1 }, 0, batch, 0, cols, mr, xpack);
        let c = CPtr(y.as_mut_ptr());
        let xp: &[f32] = xpack;
        let panels = rows.div_ceil(nr);
        let min = (crate::gemm::PAR_MIN_FLOPS / (2 * batch * cols * nr).max(1)).max(1);
        parallel_ranges(panels, 1, min, |range| {
            for t in range {
                for s in 0..batch.div_ceil(mr) {
                    let tile = Tile {
                        kc: cols,
                        a: xp[s * mr * cols..].as_ptr(),
                        b: self.data[t * nr * cols..].as_ptr(),
                        ldb: nr,
                        // SAFETY: tile (s, t) is within the batch × rows output; tiles of
                        // different panels (threads) are disjoint.
                        c: unsafe { c.get().add(s * mr * rows + t * nr) },
                        ldc: rows,
                        mr: mr.min(batch - s * mr),
                        nr: nr.min(rows - t * nr),
                        alpha: 1.0,
                        beta: 0.0,
                    };
                    // SAFETY: the packed panels satisfy the `Tile` contract (kc groups of MR / NR
                    // floats, padding zeroed and readable), C has `rows` columns per stream.
                    unsafe { (kit.tile)(&tile) }
                }
            }
        });
    }
}
