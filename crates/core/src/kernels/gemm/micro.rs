//! The register-tile micro-kernel body, generic over the ISA ([`Lanes`]) and the tile shape
//! `MR × NR` with `NR = NV·W`. Each ISA file instantiates it once with its tile constants.

use super::lanes::Lanes;

/// Largest `MR·NR` of any kernel set (the partial-tile staging buffer).
pub const MAX_TILE: usize = 512;

/// One micro-tile product: `C[0..mr, 0..nr] ← α·Ã·B̃ + β·C` for a `kc`-deep slice.
///
/// - `a`: a packed A micro-panel, `kc` groups of `MR` floats (`a[p·MR + i]` = op(A)[i, p]);
///   rows `mr..MR` are zero padding.
/// - `b`: `kc` rows of `NR` floats, row `p` at `b + p·ldb` (`ldb = NR` for a packed panel,
///   the row stride of B when B is read in place). Columns `nr..NR` must be readable
///   (padding or real data); they never reach C.
/// - `c`: C's element `[0, 0]` with row stride `ldc`; only `mr × nr` elements are touched.
/// - `beta == 0` overwrites C without reading it (NaN in C is ignored); otherwise C is read and
///   accumulated. C must not alias A or B.
pub struct Tile {
    pub kc: usize,
    pub a: *const f32,
    pub b: *const f32,
    pub ldb: usize,
    pub c: *mut f32,
    pub ldc: usize,
    pub mr: usize,
    pub nr: usize,
    pub alpha: f32,
    pub beta: f32,
}

/// A micro-kernel entry point (one per ISA, `#[target_feature]` where needed).
pub type TileFn = unsafe fn(&Tile);

/// The generic body: `MR × NV` accumulator registers, one broadcast of A and `NV` loads of B per
/// `p`. Full tiles are merged into C in registers; partial tiles go through a stack buffer.
///
/// # Safety
/// The pointers of `t` must satisfy the [`Tile`] contract and `MR·NV·W ≤ MAX_TILE`.
#[inline(always)]
pub unsafe fn tile<L: Lanes, const MR: usize, const NV: usize>(t: &Tile) {
    let w = L::W;
    let mut acc = [[L::zero(); NV]; MR];
    let (mut a, mut b) = (t.a, t.b);
    for _ in 0..t.kc {
        let mut bv = [L::zero(); NV];
        for (v, r) in bv.iter_mut().enumerate() {
            *r = L::load(b.add(v * w));
        }
        for row in acc.iter_mut() {
            let ai = L::splat(*a);
            a = a.add(1);
            for v in 0..NV {
                row[v] = L::fma(row[v], ai, bv[v]);
            }
        }
        b = b.add(t.ldb);
    }
    let alpha = L::splat(t.alpha);
    let beta = L::splat(t.beta);
    if t.mr == MR && t.nr == NV * w {
        for (i, row) in acc.iter().enumerate() {
            let cr = t.c.add(i * t.ldc);
            for (v, &x) in row.iter().enumerate() {
                let cp = cr.add(v * w);
                let r = L::mul(x, alpha);
                L::store(cp, if t.beta == 0.0 { r } else { L::fma(r, beta, L::load(cp)) });
            }
        }
        return;
    }
    let nr_full = NV * w;
    let mut buf = [0.0f32; MAX_TILE];
    for (i, row) in acc.iter().enumerate() {
        for (v, &x) in row.iter().enumerate() {
            L::store(buf.as_mut_ptr().add(i * nr_full + v * w), L::mul(x, alpha));
        }
    }
    for i in 0..t.mr {
        let cr = t.c.add(i * t.ldc);
        for j in 0..t.nr {
            let r = buf[i * nr_full + j];
            *cr.add(j) = if t.beta == 0.0 { r } else { r + t.beta * *cr.add(j) };
        }
    }
}
