//! Plain SGD with global gradient-norm clipping.

use super::model::LstmModel;
use crate::error::{Error, Result};

impl LstmModel {
    /// Index of the first tensor whose gradient is dense: 1 when only the touched embedding rows
    /// can be non-zero (only those are visited), 0 when the embedding is tied to the softmax.
    fn first_dense(&self) -> usize {
        usize::from(!self.config.tied)
    }

    /// Global L2 norm of the gradients of the last backward pass (f64 accumulation).
    pub(super) fn gradient_norm(&self) -> f64 {
        let hd = self.config.hidden;
        let ge = &self.grads.tensors[0].data;
        let mut sq: f64 = self.ws.touched.iter().map(|&t| sum_squares(&ge[t as usize * hd..(t as usize + 1) * hd])).sum();
        for t in &self.grads.tensors[self.first_dense()..] {
            sq += sum_squares(&t.data);
        }
        sq.sqrt()
    }

    /// `θ ← θ − lr·s·∇θ` with `s = min(1, clip/‖∇‖)` (`clip ≤ 0` disables clipping), then
    /// every keep-mask is re-applied (pruned entries stay exactly 0).
    /// A non-finite gradient norm is `E_NONFINITE` and leaves the weights untouched.
    pub(super) fn sgd_update(&mut self, lr: f32, clip: f32) -> Result<f64> {
        let norm = self.gradient_norm();
        if !norm.is_finite() {
            return Err(Error::non_finite(format!(
                "gradient norm is {norm}: training diverged (lower the learning rate or clip the gradients); weights were not updated"
            )));
        }
        let s = if clip > 0.0 && norm > clip as f64 { (clip as f64 / norm) as f32 } else { 1.0 };
        let step = lr * s;
        let (hd, dense) = (self.config.hidden, self.first_dense());
        let (grads, params) = (&self.grads, &mut self.params);
        for &t in &self.ws.touched {
            let r = t as usize * hd..(t as usize + 1) * hd;
            for (p, g) in params.tensors[0].data[r.clone()].iter_mut().zip(&grads.tensors[0].data[r]) {
                *p -= step * g;
            }
        }
        for (pt, gt) in params.tensors[dense..].iter_mut().zip(&grads.tensors[dense..]) {
            for (p, g) in pt.data.iter_mut().zip(&gt.data) {
                *p -= step * g;
            }
        }
        self.apply_masks();
        Ok(norm)
    }
}

/// `Σ v²` in f64 over eight independent partial sums (one running sum would wait on every
/// add's latency; eight let the compiler vectorize), then the tail.
fn sum_squares(values: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|&v| v as f64 * v as f64).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v as f64 * v as f64;
        }
    }
    acc.iter().sum::<f64>() + tail
}
