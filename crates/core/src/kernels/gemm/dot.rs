//! Dot-product GEMM body for `C ← α·A·Bᵀ + β·C` when both A (m×k) and B (n×k) have rows
//! contiguous along k: every C element is a dot product of two contiguous rows. It needs no
//! packing, which is what makes it the fast path when m is small (batch-1 inference with
//! weights stored n×k, the training batch's `dY·Wᵀ`): packing (transposing) B there would
//! cost as much memory traffic as the whole product.
//!
//! Register tile: `RA` rows of A × `RB` rows of B, one accumulator register each, over k in
//! steps of `W`; each accumulator is reduced horizontally once at the end. B rows are the
//! outer loop, so a block of `RB` rows of B is read from memory once and reused (from L1)
//! against all of A.

use super::lanes::Lanes;

/// Arguments of one dot-product GEMM: A rows at `a + i·lda`, B rows at `b + j·ldb`,
/// `C[i, j]` at `c + i·ldc + j`, for `i < m`, `j < n`, `p < k`.
///
/// `beta == 0` overwrites C without reading it (NaN in C is ignored). C must not alias A or B.
pub struct Dots {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub lda: usize,
    pub b: *const f32,
    pub ldb: usize,
    pub c: *mut f32,
    pub ldc: usize,
    pub alpha: f32,
    pub beta: f32,
}

/// A dot-product GEMM entry point (one per ISA).
pub type DotsFn = unsafe fn(&Dots);

/// `C[i, j] ← α·Σ_p A[i, p]·B[j, p] + β·C[i, j]` over the whole [`Dots`] problem, with
/// `RA × RB` tiles and single-row tiles for the ragged edges.
///
/// # Safety
/// The pointers of `d` must be valid for the rows, columns and strides it describes.
#[inline(always)]
pub unsafe fn dots<L: Lanes, const RA: usize, const RB: usize>(d: &Dots) {
    if d.m == 1 {
        // One row of A (batch-1 inference): nothing to reuse across rows of A, so B is read
        // as one sequential stream, row after row, with four independent accumulators per
        // row; measured ~10 % faster on the medium step's 53 MB of weights than interleaving
        // RB rows (crates/core/examples/gemv_rate.rs).
        for j in 0..d.n {
            single_row::<L>(d, j);
        }
        return;
    }
    let mut j = 0;
    while j + RB <= d.n {
        rows_of_a::<L, RA, RB>(d, j);
        j += RB;
    }
    for j in j..d.n {
        rows_of_a::<L, RA, 1>(d, j);
    }
}

/// `C[0, j]` for a single row of A: four accumulators over k in steps of `4·W`, then one
/// accumulator over the remaining whole vectors, then scalars.
#[inline(always)]
unsafe fn single_row<L: Lanes>(d: &Dots, j: usize) {
    let w = L::W;
    let (a, b) = (d.a, d.b.add(j * d.ldb));
    let mut acc = [L::zero(); 4];
    let mut p = 0;
    while p + 4 * w <= d.k {
        for (q, s) in acc.iter_mut().enumerate() {
            *s = L::fma(*s, L::load(a.add(p + q * w)), L::load(b.add(p + q * w)));
        }
        p += 4 * w;
    }
    while p + w <= d.k {
        acc[0] = L::fma(acc[0], L::load(a.add(p)), L::load(b.add(p)));
        p += w;
    }
    let mut s = L::hsum(L::add(L::add(acc[0], acc[1]), L::add(acc[2], acc[3])));
    for q in p..d.k {
        s += *a.add(q) * *b.add(q);
    }
    let cp = d.c.add(j);
    *cp = if d.beta == 0.0 { d.alpha * s } else { d.alpha * s + d.beta * *cp };
}

/// All rows of A against B rows `j..j+RB`.
#[inline(always)]
unsafe fn rows_of_a<L: Lanes, const RA: usize, const RB: usize>(d: &Dots, j: usize) {
    let mut i = 0;
    while i + RA <= d.m {
        tile::<L, RA, RB>(d, i, j);
        i += RA;
    }
    for i in i..d.m {
        tile::<L, 1, RB>(d, i, j);
    }
}

/// The `RA × RB` block of C at `(i, j)`.
#[inline(always)]
unsafe fn tile<L: Lanes, const RA: usize, const RB: usize>(d: &Dots, i: usize, j: usize) {
    let w = L::W;
    let kv = d.k - d.k % w;
    let mut acc = [[L::zero(); RB]; RA];
    let mut p = 0;
    while p < kv {
        let mut bv = [L::zero(); RB];
        for (r, v) in bv.iter_mut().enumerate() {
            *v = L::load(d.b.add((j + r) * d.ldb + p));
        }
        for (ia, row) in acc.iter_mut().enumerate() {
            let av = L::load(d.a.add((i + ia) * d.lda + p));
            for (s, &b) in row.iter_mut().zip(bv.iter()) {
                *s = L::fma(*s, av, b);
            }
        }
        p += w;
    }
    for (ia, row) in acc.iter().enumerate() {
        let a = d.a.add((i + ia) * d.lda);
        for (r, &v) in row.iter().enumerate() {
            let b = d.b.add((j + r) * d.ldb);
            let mut s = L::hsum(v);
            for q in kv..d.k {
                s += *a.add(q) * *b.add(q);
            }
            let cp = d.c.add((i + ia) * d.ldc + j + r);
            *cp = if d.beta == 0.0 { d.alpha * s } else { d.alpha * s + d.beta * *cp };
        }
    }
}
