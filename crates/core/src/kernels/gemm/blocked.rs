//! The cache-blocked GEMM driver (Goto/BLIS loop order) over one rectangle of C.
//!
//! ```text
//! for jc in cols step NC:          B block KC×NC (L3)
//!   for pc in 0..k step KC:        β applies at pc = 0 only, later blocks accumulate
//!     pack B block (or read it in place, see below)
//!     for ic in rows step MC:      A block MC×KC packed (L2)
//!       for jr step NR:            B micro-panel KC×NR (L1)
//!         for ir step MR:          micro-kernel on an MR×NR tile of C
//! ```
//!
//! When op(B) has contiguous rows (no `trans_b`) and the rectangle has at most MC rows, each B
//! micro-panel is used by one A block only, so packing B would cost as much memory traffic as
//! the product itself (small batches, m ≈ 20): full-width micro-panels are then read in place
//! and only the ragged last panel is packed.

use super::micro::Tile;
use super::pack::{pack, View};
use super::workspace::Workspace;
use super::Kit;
use std::ops::Range;

/// One product `C ← α·op(A)·op(B) + β·C`: op(A) as a view with rows on the panel axis,
/// op(B) with columns on the panel axis (depth = k for both), C row-major m×n at `c`.
pub struct Problem<'a> {
    pub k: usize,
    pub n: usize,
    pub a: View<'a>,
    pub b: View<'a>,
    pub alpha: f32,
    pub beta: f32,
    pub c: CPtr,
}

/// C's base pointer, shared by threads that write disjoint rectangles of it.
#[derive(Clone, Copy)]
pub struct CPtr(pub *mut f32);
// SAFETY: every thread writes a disjoint rectangle of C (see `crate::gemm`).
unsafe impl Send for CPtr {}
unsafe impl Sync for CPtr {}

impl CPtr {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the raw field).
    pub fn get(self) -> *mut f32 {
        self.0
    }
}

/// Computes the rectangle `rows × cols` of C.
///
/// # Safety
/// `pr.c` must be valid for the m×n C the views describe, with no other access to this
/// rectangle during the call; the views must cover `rows`, `cols` and `0..k`.
pub unsafe fn run(kit: &Kit, pr: &Problem, rows: Range<usize>, cols: Range<usize>, ws: &mut Workspace) {
    let (mr, nr) = (kit.mr, kit.nr);
    let mc_max = rows.len().min(kit.mc);
    let kc_max = pr.k.min(kit.kc);
    let nc_max = cols.len().min(kit.nc);
    let direct = pr.b.xs == 1 && rows.len() <= kit.mc;
    let (abuf, bbuf) = ws.buffers(mc_max.div_ceil(mr) * mr * kc_max, nc_max.div_ceil(nr) * nr * kc_max);
    for jc in cols.clone().step_by(kit.nc) {
        let nc = (cols.end - jc).min(kit.nc);
        let full = if direct { nc / nr * nr } else { 0 };
        for pc in (0..pr.k).step_by(kit.kc) {
            let kc = (pr.k - pc).min(kit.kc);
            let beta = if pc == 0 { pr.beta } else { 1.0 };
            pack(pr.b, jc + full, nc - full, pc, kc, nr, &mut bbuf[full * kc..]);
            for ic in rows.clone().step_by(kit.mc) {
                let mc = (rows.end - ic).min(kit.mc);
                pack(pr.a, ic, mc, pc, kc, mr, abuf);
                for jr in (0..nc).step_by(nr) {
                    let (b, ldb) = if jr < full {
                        (pr.b.data.as_ptr().add(pc * pr.b.ds + jc + jr), pr.b.ds)
                    } else {
                        (bbuf.as_ptr().add(jr * kc), nr)
                    };
                    for ir in (0..mc).step_by(mr) {
                        let tile = Tile {
                            kc,
                            a: abuf.as_ptr().add(ir * kc),
                            b,
                            ldb,
                            c: pr.c.get().add((ic + ir) * pr.n + jc + jr),
                            ldc: pr.n,
                            mr: (mc - ir).min(mr),
                            nr: (nc - jr).min(nr),
                            alpha: pr.alpha,
                            beta,
                        };
                        (kit.tile)(&tile);
                    }
                }
            }
        }
    }
}
