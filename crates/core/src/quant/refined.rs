//! Refined greedy solver (Guo et al., "Network Sketching"): greedy codes, and after each added
//! bit all scales are re-fitted by least squares, `α = (BᵀB)⁻¹·Bᵀw`; the next bit is taken from
//! the residual of the re-fitted approximation.

use super::greedy;

/// Per-code statistics of a segment: how many weights carry each code and their sum. Least
/// squares and the squared error for any scales follow from it in `O(2^k·k²)`, so each pass
/// over the weights is a single histogram update per weight.
pub(crate) struct Histogram {
    k: usize,
    count: [f64; 256],
    sum: [f64; 256],
}

impl Histogram {
    /// Histogram of the low `k` bits of `codes` over the weights `w`.
    pub(crate) fn new(w: &[f32], codes: &[u8], k: usize) -> Histogram {
        let mask = ((1u32 << k) - 1) as u8;
        let mut count = [0u32; 256];
        let mut sum = [0f64; 256];
        for (&v, &c) in w.iter().zip(codes) {
            let c = (c & mask) as usize;
            count[c] += 1;
            sum[c] += v as f64;
        }
        Histogram { k, count: count.map(f64::from), sum }
    }

    /// Least-squares scales for these codes: solves the `k×k` normal equations
    /// `(BᵀB)·α = Bᵀw` exactly (f64 Gaussian elimination with partial pivoting), where
    /// `(BᵀB)_pq = Σ_c n_c·s_p(c)·s_q(c)` and `(Bᵀw)_p = Σ_c S_c·s_p(c)`. A degenerate system
    /// (a plane equal to ± a combination of the others) gives the dependent planes zero scale.
    #[allow(clippy::needless_range_loop)] // index form mirrors the matrix algebra
    pub(crate) fn least_squares(&self, alphas: &mut [f32]) {
        let k = self.k;
        let mut gram = [[0f64; 9]; 8];
        let sign = |c: usize, p: usize| if c >> p & 1 == 1 { 1.0 } else { -1.0 };
        let mut n = 0.0;
        for c in 0..1usize << k {
            let (cnt, sum) = (self.count[c], self.sum[c]);
            n += cnt;
            for p in 0..k {
                gram[p][k] += sign(c, p) * sum;
                for q in p..k {
                    gram[p][q] += sign(c, p) * sign(c, q) * cnt;
                }
            }
        }
        for p in 0..k {
            for q in 0..p {
                gram[p][q] = gram[q][p];
            }
        }
        let solution = solve_system(&mut gram, k, n);
        for (a, s) in alphas.iter_mut().zip(solution) {
            *a = s as f32;
        }
    }

    /// `Σ_j (w_j − level(c_j))²` given `Σ_j w_j²`: `Σw² − 2·Σ_c L_c·S_c + Σ_c n_c·L_c²`.
    pub(crate) fn sq_error(&self, alphas: &[f32], sum_sq: f64) -> f64 {
        let cross: f64 = (0..1usize << self.k)
            .map(|c| {
                let l = super::level(c as u8, alphas) as f64;
                l * (self.count[c] * l - 2.0 * self.sum[c])
            })
            .sum();
        (sum_sq + cross).max(0.0)
    }
}

/// Least-squares scales for fixed codes (`k = alphas.len()`, bit `i` of `codes[j]` = `b_i[j] = +1`).
pub fn least_squares(w: &[f32], codes: &[u8], alphas: &mut [f32]) {
    Histogram::new(w, codes, alphas.len()).least_squares(alphas);
}

/// Solves the augmented system `m[..k][..=k]` in place; pivots below `1e-9·n` mark dependent
/// unknowns, which are set to 0.
#[allow(clippy::needless_range_loop)] // index form mirrors the matrix algebra
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

/// `r = w − Σ_i α_i·b_i` for the codes and scales given (levels looked up per code).
pub(crate) fn residual(w: &[f32], codes: &[u8], alphas: &[f32], r: &mut [f32]) {
    let k = alphas.len();
    let levels: Vec<f32> = (0..1u16 << k).map(|c| super::level(c as u8, alphas)).collect();
    let mask = ((1u32 << k) - 1) as u8;
    for ((rv, &v), &c) in r.iter_mut().zip(w).zip(codes) {
        *rv = v - levels[(c & mask) as usize];
    }
}
