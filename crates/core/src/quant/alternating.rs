//! Alternating multi-bit solver (Xu et al., ICLR 2018): start from the refined solution, then
//! for `cycles` rounds (b) give every weight the code whose level `Σ_i ±α_i` is nearest and
//! (a) re-fit the scales by least squares for those codes. Each round ends with exact
//! least-squares scales, so the error never exceeds the refined solver's.

use super::refined;

/// Alternating codes and scales of the dense segment `w` (length ≥ 1); overwrites both outputs.
pub fn solve(w: &[f32], codes: &mut [u8], alphas: &mut [f32], cycles: usize) {
    refined::solve(w, codes, alphas);
    let k = alphas.len();
    let mut levels: Vec<(f32, u8)> = Vec::with_capacity(1 << k);
    let mut mids: Vec<f32> = Vec::with_capacity(1 << k);
    let mut best = sq_error(w, codes, alphas);
    for _ in 0..cycles {
        let before = (codes.to_vec(), alphas.to_vec());
        levels.clear();
        levels.extend((0..1u16 << k).map(|c| (super::level(c as u8, alphas), c as u8)));
        levels.sort_by(|a, b| a.0.total_cmp(&b.0));
        mids.clear();
        mids.extend(levels.windows(2).map(|p| 0.5 * (p[0].0 + p[1].0)));
        for (c, &v) in codes.iter_mut().zip(w) {
            // Nearest level by binary search over the sorted midpoints: k comparisons.
            *c = levels[mids.partition_point(|&m| m < v)].1;
        }
        refined::least_squares(w, codes, alphas);
        let err = sq_error(w, codes, alphas);
        if err > best {
            // Float rounding in the re-fit can lose a hair; keep the better solution.
            codes.copy_from_slice(&before.0);
            alphas.copy_from_slice(&before.1);
            break;
        }
        best = err;
    }
}

fn sq_error(w: &[f32], codes: &[u8], alphas: &[f32]) -> f64 {
    w.iter().zip(codes).map(|(&v, &c)| ((v - super::level(c, alphas)) as f64).powi(2)).sum()
}
