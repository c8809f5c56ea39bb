//! Alternating multi-bit solver (Xu et al., ICLR 2018): start from the refined solution, then
//! for `cycles` rounds (b) give every weight the code whose level `Σ_i ±α_i` is nearest and
//! (a) re-fit the scales by least squares for those codes. Each round ends with exact
//! least-squares scales, so the error never exceeds the refined solver's.

use super::refined::{self, Histogram};

/// Alternating codes and scales of the dense segment `w` (length ≥ 1); overwrites both outputs.
pub fn solve(w: &[f32], codes: &mut [u8], alphas: &mut [f32], cycles: usize) {
    refined::solve(w, codes, alphas);
    let k = alphas.len();
    if k == 1 {
        // One bit: codes = sign(w) with α = mean|w| is already the optimum.
        return;
    }
    let sum_sq: f64 = w.iter().map(|&v| (v as f64).powi(2)).sum();
    let mut best = Histogram::new(w, codes, k).sq_error(alphas, sum_sq);
    let mut levels: Vec<(f32, u8)> = Vec::with_capacity(1 << k);
    let mut mids: Vec<f32> = Vec::with_capacity(1 << k);
    let mut trial = vec![0u8; w.len()];
    let mut scales = alphas.to_vec();
    for _ in 0..cycles {
        levels.clear();
        levels.extend((0..1u16 << k).map(|c| (super::level(c as u8, alphas), c as u8)));
        levels.sort_by(|a, b| a.0.total_cmp(&b.0));
        mids.clear();
        mids.extend(levels.windows(2).map(|p| 0.5 * (p[0].0 + p[1].0)));
        for (c, &v) in trial.iter_mut().zip(w) {
            // Nearest level by binary search over the sorted midpoints: k comparisons.
            *c = levels[mids.partition_point(|&m| m < v)].1;
        }
        let hist = Histogram::new(w, &trial, k);
        hist.least_squares(&mut scales);
        let err = hist.sq_error(&scales, sum_sq);
        if err > best {
            // Float rounding in the re-fit can lose a hair; keep the better solution.
            break;
        }
        best = err;
        codes.copy_from_slice(&trial);
        alphas.copy_from_slice(&scales);
    }
}
