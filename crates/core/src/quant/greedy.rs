//! Greedy binary-coding solver: `r ← w`; for each bit `b_i = sign(r)` (sign(0) = +1),
//! `α_i = mean(|r|)`, `r ← r − α_i·b_i`. Optimal at one bit (`α = ‖w‖₁/n`).

/// Appends one greedy bit to the residual `r`: writes the code bit `plane` into `codes`
/// (bit set ↔ +1), subtracts `α·b` from `r` and returns `α = mean(|r|)`.
/// `r` and `codes` have the segment's length (at least 1).
pub(crate) fn add_bit(r: &mut [f32], codes: &mut [u8], plane: usize) -> f32 {
    let alpha = (r.iter().map(|v| v.abs() as f64).sum::<f64>() / r.len() as f64) as f32;
    for (v, c) in r.iter_mut().zip(codes.iter_mut()) {
        if *v >= 0.0 {
            *c |= 1 << plane;
            *v -= alpha;
        } else {
            *c &= !(1 << plane);
            *v += alpha;
        }
    }
    alpha
}

/// The greedy `bits`-bit approximation `x̂ = Σ_i α_i·b_i` of `x` (same codes and scales as
/// [`solve`]) written to `out` (the length of `x`, at least 1), without allocating: `out` holds
/// the residual `r` while the bits are taken, then `x̂ = x − r`, which equals `Σ_i α_i·b_i` up to
/// f32 rounding. This is the activation binarization of the popcount kernel
/// ([`crate::bcq::Kernel::Popcount`]) and of straight-through training.
pub fn approximate(x: &[f32], bits: usize, out: &mut [f32]) {
    out.copy_from_slice(x);
    for _ in 0..bits {
        let alpha = (out.iter().map(|v| v.abs() as f64).sum::<f64>() / out.len() as f64) as f32;
        for v in out.iter_mut() {
            *v -= if *v >= 0.0 { alpha } else { -alpha };
        }
    }
    for (o, v) in out.iter_mut().zip(x) {
        *o = v - *o;
    }
}

/// Greedy codes and scales of the dense segment `w` (length ≥ 1): overwrites `codes`
/// (bit `i` of `codes[j]` is `b_i[j] = +1`) and `alphas` (`bits` entries).
pub fn solve(w: &[f32], codes: &mut [u8], alphas: &mut [f32]) {
    solve_with(w, codes, alphas, &mut w.to_vec());
}

/// [`solve`] with the residual in `r` (the length of `w`; overwritten), without allocating.
pub fn solve_with(w: &[f32], codes: &mut [u8], alphas: &mut [f32], r: &mut [f32]) {
    r.copy_from_slice(w);
    codes.fill(0);
    for (i, a) in alphas.iter_mut().enumerate() {
        *a = add_bit(r, codes, i);
    }
}
