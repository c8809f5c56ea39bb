//! f32 GEMM: `C ← α·op(A)·op(B) + β·C` (row-major), the workhorse of training.
//!
//! Paths, chosen per call:
//! - `m = 1` or `n = 1`: a matrix-vector product reading the matrix once, unpacked
//!   (`kernels::gemm::gemv` or, when the matrix's rows run along k, `kernels::gemm::dot`);
//!   batch-1 inference lands here.
//! - `A·Bᵀ` with small m (≤ [`DOTS_MAX_M`]): dot products of contiguous rows
//!   (`kernels::gemm::dot`), so B is never transposed into panels.
//! - otherwise the cache-blocked, packed driver (`kernels::gemm::blocked`) with the active
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
use crate::kernels::gemm::dot::Dots;
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
        GemmSpec { m, n, k, trans_a: false, trans_b: false, alpha: 1.0, beta: 0.0 }
    }
}

/// The largest m for which `A·Bᵀ` (B stored n×k) uses dot products instead of transposing
/// B into packed panels: below it, packing B costs more than the product's arithmetic.
pub const DOTS_MAX_M: usize = 64;

/// Products below this many flops (2·m·n·k) run on the calling thread. Handing a chunk to a
/// worker of the persistent pool (`threads.rs`) costs a few microseconds; 2 Mflop is 10–25 µs
/// of one core.
pub const PAR_MIN_FLOPS: usize = 2 << 20;

fn check_product(what: &str, len: usize, rows: usize, cols: usize) -> Result<()> {
    match rows.checked_mul(cols) {
        Some(want) if want == len => Ok(()),
        Some(want) => Err(Error::shape(format!("gemm: {what} has length {len}, expected {rows}×{cols} = {want}"))),
        None => Err(Error::shape(format!("gemm: {what} of {rows}×{cols} elements does not fit in memory"))),
    }
}

/// Checks lengths (`E_SHAPE`) and computes the product with the active kernel set.
/// With `beta == 0` the old contents of C are ignored (NaN there does not propagate).
/// A, B and C are distinct slices, so C never aliases the inputs.
pub fn gemm(spec: &GemmSpec, a: &[f32], b: &[f32], c: &mut [f32]) -> Result<()> {
    let GemmSpec { m, n, k, trans_a, trans_b, alpha, beta } = *spec;
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
    let cp = CPtr(c.as_mut_ptr());
    if m == 1 && !trans_b {
        // op(A) is a k-vector (stored the same way transposed or not); B is k×n row-major.
        gemv_split(kit, k, n, a, b, n, cp, alpha, beta);
    } else if n == 1 && trans_a {
        // C = Aᵀ·b with A stored k×m: the same form with the roles of A and B swapped.
        gemv_split(kit, k, m, b, a, m, cp, alpha, beta);
    } else if n == 1 {
        // C = A·b with A's rows contiguous: one dot product per row of A (C as a 1×m row).
        let d = Dots { m: 1, n: m, k, a: b.as_ptr(), lda: k, b: a.as_ptr(), ldb: k, c: cp.get(), ldc: m, alpha, beta };
        dots_split(kit, &d);
    } else if trans_b && (m == 1 || (!trans_a && m <= DOTS_MAX_M)) {
        // Rows of op(A) and of B (n×k) are contiguous: dot products, no transposing pack.
        let d = Dots { m, n, k, a: a.as_ptr(), lda: k, b: b.as_ptr(), ldb: k, c: cp.get(), ldc: n, alpha, beta };
        dots_split(kit, &d);
    } else {
        blocked_split(kit, spec, a, b, cp);
    }
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

/// The blocked driver over C, split into column ranges (or row ranges when C is tall and
/// narrow) across threads.
fn blocked_split(kit: &Kit, spec: &GemmSpec, a: &[f32], b: &[f32], c: CPtr) {
    let (m, n, k) = (spec.m, spec.n, spec.k);
    // op(A): rows on the panel axis; op(B): columns on the panel axis; depth k for both.
    let (a_xs, a_ds) = if spec.trans_a { (1, m) } else { (k, 1) };
    let (b_xs, b_ds) = if spec.trans_b { (k, 1) } else { (1, n) };
    let pr = Problem {
        k,
        n,
        a: View { data: a, xs: a_xs, ds: a_ds },
        b: View { data: b, xs: b_xs, ds: b_ds },
        alpha: spec.alpha,
        beta: spec.beta,
        c,
    };
    if n.div_ceil(kit.nr) >= m.div_ceil(kit.mr) {
        let min_cols = PAR_MIN_FLOPS.div_ceil(2 * k * m).max(kit.nr);
        parallel_ranges(n, kit.nr, min_cols, |cols| {
            // SAFETY: lengths checked by `gemm`; column ranges are disjoint across threads.
            with_workspace(|ws| unsafe { blocked::run(kit, &pr, 0..m, cols, ws) })
        });
    } else {
        let min_rows = PAR_MIN_FLOPS.div_ceil(2 * k * n).max(kit.mr);
        parallel_ranges(m, kit.mr, min_rows, |rows| {
            // SAFETY: lengths checked by `gemm`; row ranges are disjoint across threads.
            with_workspace(|ws| unsafe { blocked::run(kit, &pr, rows, 0..n, ws) })
        });
    }
}

/// `y[0..n] ← α·xᵀ·M + β·y` for M k×n with row stride `ld` ([`Kit::gemv_n`]), split over
/// column ranges across threads.
#[allow(clippy::too_many_arguments)]
fn gemv_split(kit: &Kit, k: usize, n: usize, x: &[f32], mat: &[f32], ld: usize, y: CPtr, alpha: f32, beta: f32) {
    let min_chunk = PAR_MIN_FLOPS.div_ceil(2 * k).max(64);
    parallel_ranges(n, 64, min_chunk, |r| {
        let g = Gemv { k, n: r.len(), x: x.as_ptr(), b: mat[r.start..].as_ptr(), ldb: ld, y: unsafe { y.get().add(r.start) }, alpha, beta };
        // SAFETY: lengths checked by `gemm`; `r` is within 0..n and disjoint across threads.
        unsafe { (kit.gemv_n)(&g) }
    });
}

/// [`Kit::dots`] over `d`, split over ranges of B rows (columns of C) across threads.
fn dots_split(kit: &Kit, d: &Dots) {
    let (a, b, c) = (CPtr(d.a as *mut f32), CPtr(d.b as *mut f32), CPtr(d.c));
    let &Dots { m, k, lda, ldb, ldc, alpha, beta, .. } = d;
    let min_chunk = PAR_MIN_FLOPS.div_ceil(2 * k * m).max(8);
    parallel_ranges(d.n, 8, min_chunk, |r| {
        // SAFETY: `d` describes valid memory (checked by `gemm`); the B rows and C columns
        // of `r` are within `d` and disjoint across threads.
        unsafe {
            let part =
                Dots { m, n: r.len(), k, a: a.get(), lda, b: b.get().add(r.start * ldb), ldb, c: c.get().add(r.start), ldc, alpha, beta };
            (kit.dots)(&part)
        }
    });
}

/// Runs the active kernel set's arithmetic-peak probe (`kernels::gemm::peak`) on every
/// thread (`iters` rounds each, capped at 2^30) and returns the flops performed: time the call
/// to get the rate no product can exceed here.
pub fn fma_peak_probe(iters: usize) -> f64 {
    let kit = kit(kernels::active());
    let iters = iters.min(1 << 30);
    let t = crate::threads::threads();
    let sink = std::sync::atomic::AtomicU32::new(0);
    parallel_ranges(t, 1, 1, |r| {
        for _ in r {
            // SAFETY: the active set runs on this CPU.
            let v = unsafe { (kit.fma_chains)(iters) };
            sink.fetch_add(v.to_bits() & 1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    kernels::gemm::peak::flops(kit.lanes, iters) * t as f64
}

/// A zero `m×n` output for [`gemm`], or `E_CONFIG` when it overflows or cannot be allocated.
pub fn zeroed_output(m: usize, n: usize) -> Result<Vec<f32>> {
    let count = m.checked_mul(n).ok_or_else(|| Error::config(format!("a {m}×{n} output overflows the address space")))?;
    crate::memory::try_zeros(count, &format!("a {m}×{n} output"))
}
