//! Matrix-vector bodies (batch-1 inference, and GEMMs with m = 1 or n = 1), generic over the
//! ISA. Both are memory-bound on the matrix, so they read it exactly once, in storage order,
//! with no packing.
//!
//! Contract shared by both: `y[0..n] ← α·(…) + β·y`; `beta == 0` overwrites y without reading
//! it. y must not alias x or the matrix. Any `k, n ≥ 0`; tails are handled inside.

use super::lanes::Lanes;

/// Arguments of one matrix-vector product. `b` has row stride `ldb`.
pub struct Gemv {
    pub k: usize,
    pub n: usize,
    pub x: *const f32,
    pub b: *const f32,
    pub ldb: usize,
    pub y: *mut f32,
    pub alpha: f32,
    pub beta: f32,
}

/// A matrix-vector entry point (one per ISA and form).
pub type GemvFn = unsafe fn(&Gemv);

#[inline(always)]
unsafe fn merge(y: *mut f32, r: f32, alpha: f32, beta: f32) {
    *y = if beta == 0.0 { alpha * r } else { alpha * r + beta * *y };
}

#[inline(always)]
unsafe fn merge_v<L: Lanes>(y: *mut f32, r: L::V, alpha: f32, beta: f32) {
    let r = L::mul(r, L::splat(alpha));
    L::store(y, if beta == 0.0 { r } else { L::fma(r, L::splat(beta), L::load(y)) });
}

/// `y[j] = α·Σ_p x[p]·B[p, j] + β·y[j]` with B k×n (rows of `n` used, stride `ldb`).
///
/// Column strips of `4·W` with two interleaved accumulator sets over `p` (eight independent
/// FMA chains), then single-register strips, then scalar columns.
///
/// # Safety
/// `x` valid for `k` reads, B for rows `0..k` × columns `0..n`, `y` for `n` writes.
#[inline(always)]
pub unsafe fn gemv_n<L: Lanes>(g: &Gemv) {
    let w = L::W;
    let mut j = 0;
    while j + 4 * w <= g.n {
        let mut a0 = [L::zero(); 4];
        let mut a1 = [L::zero(); 4];
        let mut p = 0;
        while p + 2 <= g.k {
            let (x0, x1) = (L::splat(*g.x.add(p)), L::splat(*g.x.add(p + 1)));
            let r0 = g.b.add(p * g.ldb + j);
            let r1 = r0.add(g.ldb);
            for (v, (s0, s1)) in a0.iter_mut().zip(a1.iter_mut()).enumerate() {
                *s0 = L::fma(*s0, x0, L::load(r0.add(v * w)));
                *s1 = L::fma(*s1, x1, L::load(r1.add(v * w)));
            }
            p += 2;
        }
        if p < g.k {
            let x0 = L::splat(*g.x.add(p));
            let r0 = g.b.add(p * g.ldb + j);
            for (v, s0) in a0.iter_mut().enumerate() {
                *s0 = L::fma(*s0, x0, L::load(r0.add(v * w)));
            }
        }
        for (v, (&s0, &s1)) in a0.iter().zip(a1.iter()).enumerate() {
            merge_v::<L>(g.y.add(j + v * w), L::add(s0, s1), g.alpha, g.beta);
        }
        j += 4 * w;
    }
    while j + w <= g.n {
        let mut acc = L::zero();
        for p in 0..g.k {
            acc = L::fma(acc, L::splat(*g.x.add(p)), L::load(g.b.add(p * g.ldb + j)));
        }
        merge_v::<L>(g.y.add(j), acc, g.alpha, g.beta);
        j += w;
    }
    for j in j..g.n {
        let mut acc = 0.0f32;
        for p in 0..g.k {
            acc += *g.x.add(p) * *g.b.add(p * g.ldb + j);
        }
        merge(g.y.add(j), acc, g.alpha, g.beta);
    }
}

/// `y[j] = α·Σ_p x[p]·B[j, p] + β·y[j]` with B n×k (row `j` at `b + j·ldb`): one dot product
/// per row, four rows at a time with two registers each, reduced horizontally at the end.
///
/// # Safety
/// `x` valid for `k` reads, B for rows `0..n` × columns `0..k`, `y` for `n` writes.
#[inline(always)]
pub unsafe fn gemv_t<L: Lanes>(g: &Gemv) {
    let mut j = 0;
    while j + 4 <= g.n {
        dots::<L, 4>(g, j);
        j += 4;
    }
    for j in j..g.n {
        dots::<L, 1>(g, j);
    }
}

/// Rows `j..j+R` of [`gemv_t`].
#[inline(always)]
unsafe fn dots<L: Lanes, const R: usize>(g: &Gemv, j: usize) {
    let w = L::W;
    let kv = g.k - g.k % (2 * w);
    let mut acc = [[L::zero(); 2]; R];
    let mut p = 0;
    while p < kv {
        let (x0, x1) = (L::load(g.x.add(p)), L::load(g.x.add(p + w)));
        for (r, a) in acc.iter_mut().enumerate() {
            let row = g.b.add((j + r) * g.ldb + p);
            a[0] = L::fma(a[0], x0, L::load(row));
            a[1] = L::fma(a[1], x1, L::load(row.add(w)));
        }
        p += 2 * w;
    }
    for (r, a) in acc.iter().enumerate() {
        let row = g.b.add((j + r) * g.ldb);
        let mut s = L::hsum(L::add(a[0], a[1]));
        for q in kv..g.k {
            s += *g.x.add(q) * *row.add(q);
        }
        merge(g.y.add(j + r), s, g.alpha, g.beta);
    }
}
