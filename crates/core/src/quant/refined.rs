//! Refined greedy solver (Guo et al., "Network Sketching"): greedy codes, and after each added
//! bit all scales are re-fitted by least squares, `α = (BᵀB)⁻¹·Bᵀw`; the next bit is taken from
//! the residual of the re-fitted approximation.

use super::greedy;

/// Least-squares scales for fixed codes: solves the `k×k` normal equations
/// `(BᵀB)·α = Bᵀw` exactly (f64 Gaussian elimination with partial pivoting), `k = alphas.len()`.
/// A degenerate system (a plane equal to ± a combination of the others) gives the dependent
/// planes a zero scale instead of failing. `codes[j]` bit `i` is `b_i[j] = +1`.
pub fn least_squares(w: &[f32], codes: &[u8], alphas: &mut [f32]) {
    let k = alphas.len();
    let mut gram = [[0f64; 9]; 8];
    for (&v, &c) in w.iter().zip(codes) {
        let v = v as f64;
        for p in 0..k {
            let bp = if c >> p & 1 == 1 { 1.0 } else { -1.0 };
            gram[p][k] += bp * v;
            for q in p..k {
                let bq = if c >> q & 1 == 1 { 1.0 } else { -1.0 };
                gram[p][q] += bp * bq;
            }
        }
    }
    for p in 0..k {
        for q in 0..p {
            gram[p][q] = gram[q][p];
        }
    }
    let solution = solve_system(&mut gram, k, w.len() as f64);
    for (a, s) in alphas.iter_mut().zip(solution) {
        *a = s as f32;
    }
}

/// Solves the augmented system `m[..k][..=k]` in place; pivots below `1e-9·n` mark dependent
/// unknowns, which are set to 0.
fn solve_system(m: &mut [[f64; 9]; 8], k: usize, n: f64) -> [f64; 8] {
    let mut dependent = [false; 8];
    let mut pivot_row = [usize::MAX; 8];
    let mut row = 0;
    for col in 0..k {
        let best = (row..k).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()));
        match best {
            Some(b) if m[b][col].abs() > 1e-9 * n => {
                m.swap(row, b);
                for r in 0..k {
                    if r != row {
                        let f = m[r][col] / m[row][col];
                        if f != 0.0 {
                            for c in col..=k {
                                m[r][c] -= f * m[row][c];
                            }
                        }
                    }
                }
                pivot_row[col] = row;
                row += 1;
            }
            _ => dependent[col] = true,
        }
    }
    let mut x = [0f64; 8];
    for col in 0..k {
        if !dependent[col] {
            let r = pivot_row[col];
            x[col] = m[r][k] / m[r][col];
        }
    }
    x
}

/// Refined codes and scales of the dense segment `w` (length ≥ 1); overwrites both outputs.
pub fn solve(w: &[f32], codes: &mut [u8], alphas: &mut [f32]) {
    let mut r = w.to_vec();
    codes.fill(0);
    for i in 0..alphas.len() {
        greedy::add_bit(&mut r, codes, i);
        least_squares(w, codes, &mut alphas[..=i]);
        residual(w, codes, &alphas[..=i], &mut r);
    }
}

/// `r = w − Σ_i α_i·b_i` for the codes and scales given.
pub(crate) fn residual(w: &[f32], codes: &[u8], alphas: &[f32], r: &mut [f32]) {
    for ((rv, &v), &c) in r.iter_mut().zip(w).zip(codes) {
        *rv = v - super::level(c, alphas);
    }
}
