//! The matrix-vector body `y ← α·xᵀ·B + β·y` for a B whose rows run along n (batch-1
//! inference with weights stored k×n, and GEMMs with m = 1 or n = 1), generic over the ISA.
//! Memory-bound on B, so it reads B exactly once, unpacked. (The other orientation, one dot
//! product per row of B, is [`super::dot`].)
//!
//! Contract: `y[0..n] ← α·(…) + β·y`; `beta == 0` overwrites y without reading it. y must not
//! alias x or the matrix. Any `k, n ≥ 0`; tails are handled inside.

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

/// A matrix-vector entry point (one per ISA).
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
/// Column strips of `SV·W`, with `SETS` accumulator sets taking rows `p, p+1, …` in turn
/// (`SV·SETS` independent add chains, enough to hide the ISA's FMA or add latency), then
/// single-register strips, then scalar columns.
///
/// # Safety
/// `x` valid for `k` reads, B for rows `0..k` × columns `0..n`, `y` for `n` writes.
#[inline(always)]
pub unsafe fn gemv_n<L: Lanes, const SV: usize, const SETS: usize>(g: &Gemv) {
    let w = L::W;
    let mut j = 0;
    while j + SV * w <= g.n {
        let mut acc = [[L::zero(); SV]; SETS];
        let mut p = 0;
        while p + SETS <= g.k {
            for (s, set) in acc.iter_mut().enumerate() {
                let x = L::splat(*g.x.add(p + s));
                let r = g.b.add((p + s) * g.ldb + j);
                for (v, a) in set.iter_mut().enumerate() {
                    *a = L::fma(*a, x, L::load(r.add(v * w)));
                }
            }
            p += SETS;
        }
        for p in p..g.k {
            let x = L::splat(*g.x.add(p));
            let r = g.b.add(p * g.ldb + j);
            for (v, a) in acc[0].iter_mut().enumerate() {
                *a = L::fma(*a, x, L::load(r.add(v * w)));
            }
        }
        for v in 0..SV {
            let sum = acc[1..].iter().fold(acc[0][v], |t, set| L::add(t, set[v]));
            merge_v::<L>(g.y.add(j + v * w), sum, g.alpha, g.beta);
        }
        j += SV * w;
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
