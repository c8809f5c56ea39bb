//! f32 GEMM: `C ← α·op(A)·op(B) + β·C` (row-major), the workhorse of training.
//!
//! Paths, chosen per call:
//! - `m = 1` or `n = 1`: a matrix-vector product reading the matrix once, unpacked
//!   ([`kernels::gemm::gemv`]); batch-1 inference lands here.
//! - otherwise the cache-blocked, packed driver ([`kernels::gemm::blocked`]) with the active
//!   kernel set's micro-kernel; for small m (≤ MC, e.g. the training batch of 20) B is read in
//!   place rather than packed.
//!
//! Natively, products of at least [`PAR_MIN_FLOPS`] are split into contiguous column (or row)
//! ranges, one per thread (`threads::threads()`), each writing a disjoint block of C with its
//! own packing buffers. The split depends only on the shape and thread count, and every C
//! element is computed by the same kernel with the same k-order either way, so the result
//! does not depend on the thread count.

use crate::error::{Error, Result};
use crate::kernels::gemm::blocked::{self, CPtr, Problem};
use crate::kernels::gemm::gemv::Gemv;
use crate::kernels::gemm::pack::View;
use crate::kernels::gemm::workspace::with_workspace;
use crate::kernels::gemm::{kit, Kit};
use crate::kernels::{self};
use crate::threads::parallel_ranges;

/// Shape and scalars of one GEMM call. `op(A)` is m×k, `op(B)` is k×n, C is m×n.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmSpec {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// A is stored k×m and used transposed.
    pub trans_a: bool,
    /// B is stored n×k and used transposed.
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
}

impl GemmSpec {
    /// Plain `C = A·B` with A m×k and B k×n.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        GemmSpec {
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 0.0,
        }
    }
}

/// Products below this many flops (2·m·n·k) run on the calling thread. Spawning a scoped
/// thread costs about 50 µs here, while one AVX-512 core does 32 Mflop in about 150 µs.
pub const PAR_MIN_FLOPS: usize = 32 << 20;

fn check_product(what: &str, len: usize, rows: usize, cols: usize) -> Result<()> {
    match rows.checked_mul(cols) {
        Some(want) if want == len => Ok(()),
        Some(want) => Err(Error::shape(format!(
            "gemm: {what} has length {len}, expected {rows}×{cols} = {want}"
        ))),
        None => Err(Error::shape(format!(
            "gemm: {what} of {rows}×{cols} elements does not fit in memory"
        ))),
    }
}

/// Checks lengths (`E_SHAPE`) and computes the product with the active kernel set.
/// With `beta == 0` the old contents of C are ignored (NaN there does not propagate).
/// A, B and C are distinct slices, so C never aliases the inputs.
pub fn gemm(spec: &GemmSpec, a: &[f32], b: &[f32], c: &mut [f32]) -> Result<()> {
    let GemmSpec {
        m,
        n,
        k,
        trans_a,
        trans_b,
        alpha,
        beta,
    } = *spec;
    check_product("A", a.len(), m, k)?;
    check_product("B", b.len(), k, n)?;
    check_product("C", c.len(), m, n)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 || alpha == 0.0 {
        scale(c, beta);
        return Ok(());
    }
    let kit = kit(kernels::active());
    if m == 1 {
        // op(A) is a k-vector either way; y = op(B)ᵀ-form product over the n columns.
        gemv_split(
            kit,
            !trans_b,
            k,
            n,
            a,
            b,
            if trans_b { k } else { n },
            c,
            alpha,
            beta,
        );
    } else if n == 1 {
        // C is an m-vector: y = op(A)·b, i.e. rows of A (dot products) or columns of Aᵀ.
        gemv_split(
            kit,
            trans_a,
            k,
            m,
            b,
            a,
            if trans_a { m } else { k },
            c,
            alpha,
            beta,
        );
    } else {
        let pr = Problem {
            k,
            n,
            a: if trans_a {
                View {
                    data: a,
                    xs: 1,
                    ds: m,
                }
            } else {
                View {
                    data: a,
                    xs: k,
                    ds: 1,
                }
            },
            b: if trans_b {
                View {
                    data: b,
                    xs: k,
                    ds: 1,
                }
            } else {
                View {
                    data: b,
                    xs: 1,
                    ds: n,
                }
            },
            alpha,
            beta,
            c: CPtr(c.as_mut_ptr()),
        };
        let min_rows = PAR_MIN_FLOPS.div_ceil(2 * k * n).max(kit.mr);
        let min_cols = PAR_MIN_FLOPS.div_ceil(2 * k * m).max(kit.nr);
        if n.div_ceil(kit.nr) >= m.div_ceil(kit.mr) {
            parallel_ranges(n, kit.nr, min_cols, |cols| {
                // SAFETY: lengths checked above; column ranges are disjoint across threads.
                with_workspace(|ws| unsafe { blocked::run(kit, &pr, 0..m, cols, ws) })
            });
        } else {
            parallel_ranges(m, kit.mr, min_rows, |rows| {
                // SAFETY: lengths checked above; row ranges are disjoint across threads.
                with_workspace(|ws| unsafe { blocked::run(kit, &pr, rows, 0..n, ws) })
            });
        }
    }
    kernels::mark_used(kit.set);
    Ok(())
}

/// `C ← β·C`, with `β = 0` writing zeros (NaN in C ignored).
fn scale(c: &mut [f32], beta: f32) {
    if beta == 0.0 {
        c.fill(0.0);
    } else if beta != 1.0 {
        c.iter_mut().for_each(|v| *v *= beta);
    }
}

/// `y[0..n] ← α·(x·M) + β·y` where the matrix `mat` (row stride `ld`) is read as k×n when
/// `rows_are_k` ([`Kit::gemv_n`]) or n×k ([`Kit::gemv_t`]); split over `n` across threads.
#[allow(clippy::too_many_arguments)]
fn gemv_split(
    kit: &Kit,
    rows_are_k: bool,
    k: usize,
    n: usize,
    x: &[f32],
    mat: &[f32],
    ld: usize,
    y: &mut [f32],
    alpha: f32,
    beta: f32,
) {
    let yp = CPtr(y.as_mut_ptr());
    let min_chunk = PAR_MIN_FLOPS.div_ceil(2 * k).max(64);
    parallel_ranges(n, 64, min_chunk, |r| {
        let off = if rows_are_k { r.start } else { r.start * ld };
        let g = Gemv {
            k,
            n: r.len(),
            x: x.as_ptr(),
            b: mat[off..].as_ptr(),
            ldb: ld,
            y: unsafe { yp.get().add(r.start) },
            alpha,
            beta,
        };
        let f = if rows_are_k { kit.gemv_n } else { kit.gemv_t };
        // SAFETY: lengths checked by `gemm`; `r` is within 0..n and disjoint across threads.
        unsafe { f(&g) }
    });
}
