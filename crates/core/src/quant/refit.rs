//! Scales re-fitted to new weights with the codes held fixed: `α = argmin ‖w − Bα‖²` per row and
//! scale group (kept weights only), the projection of `w` onto the span of a matrix's fixed
//! codes. After a gradient step on the dequantized weights this is a projected-gradient step on
//! the scales alone (the idea of AlphaTuning, Kwon et al. 2022): the quantized model keeps its
//! codes, size and kernels while its scales follow the training loss.

use super::packed::{unpack_codes, BinaryMatrix};
use super::refined;
use crate::error::{check_finite, check_len, Result};
use crate::threads;
use std::sync::Mutex;

impl BinaryMatrix {
    /// This matrix's codes and mask with the least-squares scales for `w` (row-major,
    /// rows×cols), rounded to f16 as files store them ([`BinaryMatrix::with_half_scales`]).
    /// Pruned positions do not take part in the fit and still dequantize to 0. A group whose
    /// codes cannot separate its weights (e.g. no kept weight) gets zero for the dependent scales.
    /// Errors: `E_SHAPE` (length of `w`), `E_NONFINITE` (`w`).
    pub fn refit_scales(&self, w: &[f32]) -> Result<BinaryMatrix> {
        let (rows, cols, k) = (self.rows(), self.cols(), self.bits());
        check_len("weights", w.len(), rows * cols)?;
        check_finite("weights", w)?;
        let (group, groups, words) = (self.group_size(), self.groups(), self.words_per_row());
        let keep = self.mask().map(|m| unpack_codes(m, rows, cols, 1));
        let done = Mutex::new(Vec::new());
        threads::parallel_ranges(rows, 1, (65536 / cols).max(1), |range| {
            let planes = &self.planes()[range.start * k * words..range.end * k * words];
            let codes = unpack_codes(planes, range.len(), cols, k);
            let mut scales = vec![0f32; range.len() * groups * k];
            let (mut seg_w, mut seg_c) = (Vec::with_capacity(group), Vec::with_capacity(group));
            for (i, r) in range.clone().enumerate() {
                for g in 0..groups {
                    let cols_g = g * group..((g + 1) * group).min(cols);
                    seg_w.clear();
                    seg_c.clear();
                    for j in cols_g {
                        if keep.as_ref().is_none_or(|m| m[r * cols + j] != 0) {
                            seg_w.push(w[r * cols + j]);
                            seg_c.push(codes[i * cols + j]);
                        }
                    }
                    // A mixed-precision row fits its own planes only; the unused scales stay 0.
                    let base = (i * groups + g) * k;
                    refined::least_squares(&seg_w, &seg_c, &mut scales[base..base + self.bits_of_row(r)]);
                }
            }
            done.lock().unwrap_or_else(|p| p.into_inner()).push((range, scales));
        });
        let mut scales = vec![0f32; rows * groups * k];
        for (range, s) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
            scales[range.start * groups * k..range.end * groups * k].copy_from_slice(&s);
        }
        self.with_scales(scales)?.with_half_scales()
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode;
    use crate::quant::{quantize_rows, Method, QuantConfig};
    use crate::rng::Rng;

    fn gaussian(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| rng.normal()).collect()
    }

    fn sq_error(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| ((x - y) as f64).powi(2)).sum()
    }

    #[test]
    fn refit_keeps_codes_and_is_the_least_squares_fit() {
        let (rows, cols) = (37, 200);
        for (bits, group) in [(1, 0), (2, 0), (3, 128), (4, 0)] {
            let w = gaussian(rows * cols, 5 + bits as u64);
            let cfg = QuantConfig { group_size: group, ..QuantConfig::new(bits, Method::Alternating) };
            let q = quantize_rows(&w, rows, cols, &cfg, None).unwrap().with_half_scales().unwrap();
            // A gradient-like step away from Q(W): the refit is the best the fixed codes can do.
            let step = gaussian(rows * cols, 99);
            let moved: Vec<f32> = w.iter().zip(&step).map(|(&a, &d)| a + 0.3 * d).collect();
            let r = q.refit_scales(&moved).unwrap();
            assert_eq!(r.planes(), q.planes(), "{bits} bits: codes must not change");
            let err = sq_error(&moved, &r.dequantize());
            assert!(err < sq_error(&moved, &q.dequantize()), "{bits} bits: the refit must fit the moved weights better");
            // Optimality (up to f16 rounding of the scales): no perturbation of one scale helps.
            let mut scales = r.scales().to_vec();
            for s in 0..scales.len().min(24) {
                for d in [-0.01f32, 0.01] {
                    scales[s] += d;
                    let p = crate::quant::BinaryMatrix::from_parts(rows, cols, bits, group, scales.clone(), r.planes(), None).unwrap();
                    assert!(sq_error(&moved, &p.dequantize()) >= err * (1.0 - 1e-4), "{bits} bits, scale {s}");
                    scales[s] -= d;
                }
            }
            // Refitting to the matrix's own values gives its scales back.
            assert_eq!(q.refit_scales(&q.dequantize()).unwrap().scales(), q.scales(), "{bits} bits");
        }
    }

    #[test]
    fn refit_of_a_masked_matrix_fits_kept_weights_and_keeps_zeros() {
        let (rows, cols) = (16, 130);
        let w = gaussian(rows * cols, 3);
        let mask: Vec<u8> = (0..rows * cols).map(|i| u8::from(i % 3 != 0)).collect();
        let pruned: Vec<f32> = w.iter().zip(&mask).map(|(&v, &m)| if m != 0 { v } else { 0.0 }).collect();
        let q = quantize_rows(&pruned, rows, cols, &QuantConfig::new(2, Method::Alternating), Some(&mask)).unwrap();
        // Large values at pruned positions must not pull the fit.
        let noisy: Vec<f32> = w.iter().zip(&mask).map(|(&v, &m)| if m != 0 { 1.1 * v } else { 1e3 }).collect();
        let r = q.refit_scales(&noisy).unwrap();
        let d = r.dequantize();
        assert!(mask.iter().zip(&d).all(|(&m, &v)| m != 0 || v == 0.0));
        let target: Vec<f32> = noisy.iter().zip(&mask).map(|(&v, &m)| if m != 0 { v } else { 0.0 }).collect();
        assert!(sq_error(&target, &d) < sq_error(&target, &q.dequantize()));
    }

    #[test]
    fn bad_weights_are_an_error() {
        let q = quantize_rows(&gaussian(12, 1), 3, 4, &QuantConfig::new(1, Method::Greedy), None).unwrap();
        assert_eq!(q.refit_scales(&[0.0; 11]).err().map(|e| e.code), Some(ErrorCode::Shape));
        let mut w = gaussian(12, 2);
        w[5] = f32::INFINITY;
        assert_eq!(q.refit_scales(&w).err().map(|e| e.code), Some(ErrorCode::NonFinite));
    }
}
