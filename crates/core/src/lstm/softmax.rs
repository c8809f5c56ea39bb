//! Softmax cross-entropy fused with its gradient, row-parallel.

use crate::kernels::exp::exp_shift_sum;
use crate::threads::parallel_ranges;

/// A raw pointer that may cross threads; each worker touches a disjoint row range only.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

/// For each of the `rows` rows of `logits [rows, V]` with target `targets[r]`:
/// `loss[r] = logsumexp(z_r) − z_r[target]` (in f64, max-shifted). When `grad_scale` is
/// `Some(s)`, the row is overwritten with `s·(softmax(z_r) − onehot(target))`, the gradient of
/// `s·Σ loss` w.r.t. the logits; otherwise the row is left holding `exp(z − max)` (consumed).
/// Targets must be `< V` (checked by the caller).
pub fn cross_entropy(logits: &mut [f32], vocab: usize, targets: &[u32], loss: &mut [f64], grad_scale: Option<f32>) {
    let rows = targets.len();
    let lp = Shared(logits.as_mut_ptr());
    let lossp = Shared(loss.as_mut_ptr());
    parallel_ranges(rows, 1, 16, move |range| {
        let (lp, lossp) = (lp, lossp);
        for r in range {
            // SAFETY: rows are disjoint between workers and in bounds (rows·V ≤ logits.len()).
            let z = unsafe { std::slice::from_raw_parts_mut(lp.0.add(r * vocab), vocab) };
            let target = targets[r] as usize;
            let zt = z[target] as f64;
            let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum = exp_shift_sum(z, max);
            let l = sum.ln() + max as f64 - zt;
            // SAFETY: as above, one writer per row.
            unsafe { *lossp.0.add(r) = l };
            if let Some(s) = grad_scale {
                let inv = (1.0 / sum) as f32 * s;
                for v in z.iter_mut() {
                    *v *= inv;
                }
                z[target] -= s;
            }
        }
    });
}
