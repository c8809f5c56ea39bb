//! Softmax cross-entropy fused with its gradient, row-parallel.

use crate::error::{Error, Result};
use crate::kernels::exp::exp_shift_sum;
use crate::threads::{parallel_ranges, Rows};

/// An evaluation's mean loss, or `E_NONFINITE` when it is NaN or infinite (diverged or corrupted
/// weights): the same answer on every backend, never a NaN handed back as a result.
pub fn finite_loss(loss: f64) -> Result<f64> {
    if loss.is_finite() {
        return Ok(loss);
    }
    Err(Error::non_finite(format!("evaluation loss is {loss}: the model's outputs are not finite (diverged or corrupted weights)")))
}

/// Overwrites each row of `logits [rows, V]` with its softmax (row-parallel).
pub fn softmax_rows(logits: &mut [f32], vocab: usize) {
    let rows = logits.len().checked_div(vocab).unwrap_or(0);
    let all = Rows::new(logits, vocab);
    parallel_ranges(rows, 1, 16, move |range| {
        // SAFETY: workers get disjoint row ranges.
        let block = unsafe { all.get(range.clone()) };
        for i in 0..range.len() {
            let z = &mut block[i * vocab..(i + 1) * vocab];
            let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let inv = (1.0 / exp_shift_sum(z, max)) as f32;
            for v in z.iter_mut() {
                *v *= inv;
            }
        }
    });
}

/// Soft targets of distillation: the teacher's probabilities `q [rows, V]` at the distillation
/// temperature `T` (`softmax(z_teacher / T)`), the weight `α` of the KL term and `T`. At `T = 1`
/// the gradient target becomes `(1−α)·onehot + α·q`; at other `T` the KL term is Hinton et al.'s
/// `T²·KL(q ‖ softmax(z / T))`, whose gradient `T·(softmax(z / T) − q)` weighs the teacher's
/// runners-up more.
#[derive(Clone, Copy)]
pub struct Teacher<'a> {
    pub probs: &'a [f32],
    pub alpha: f32,
    pub temperature: f32,
}

/// For each of the `rows` rows of `logits [rows, V]` with target `targets[r]`:
/// `loss[r] = logsumexp(z_r) − z_r[target]` (in f64, max-shifted). When `grad_scale` is
/// `Some(s)`, the row is overwritten with `s·(softmax(z_r) − onehot(target))`, the gradient of
/// `s·Σ loss` w.r.t. the logits, or with a `teacher`, `s·(softmax(z_r) − (1−α)·onehot − α·q_r)`,
/// the gradient of `s·Σ ((1−α)·CE + α·KL(q_r ‖ softmax(z_r)))` (at temperature `T ≠ 1`:
/// `s·((1−α)·(softmax(z_r) − onehot) + α·T·(softmax(z_r / T) − q_r))`, the gradient of
/// `s·Σ ((1−α)·CE + α·T²·KL(q_r ‖ softmax(z_r / T)))`); otherwise the row is left holding
/// `exp(z − max)` (consumed). `loss` is always the data cross-entropy. Targets must be `< V`
/// (checked by the caller).
pub fn cross_entropy(logits: &mut [f32], vocab: usize, targets: &[u32], loss: &mut [f64], grad_scale: Option<f32>) {
    cross_entropy_with(logits, vocab, targets, loss, grad_scale, None)
}

/// [`cross_entropy`] with optional distillation targets (see there).
pub fn cross_entropy_with(
    logits: &mut [f32],
    vocab: usize,
    targets: &[u32],
    loss: &mut [f64],
    grad_scale: Option<f32>,
    teacher: Option<Teacher<'_>>,
) {
    let rows = targets.len();
    assert!(rows.checked_mul(vocab).is_some_and(|n| n <= logits.len()) && loss.len() >= rows, "cross_entropy: logits or loss too short");
    let (zs, ls) = (Rows::new(&mut logits[..rows * vocab], vocab), Rows::new(&mut loss[..rows], 1));
    parallel_ranges(rows, 1, 16, move |range| {
        // SAFETY: workers get disjoint row ranges.
        let (block, losses) = unsafe { (zs.get(range.clone()), ls.get(range.clone())) };
        for (i, r) in range.enumerate() {
            let z = &mut block[i * vocab..(i + 1) * vocab];
            let target = targets[r] as usize;
            let zt = z[target] as f64;
            let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum = exp_shift_sum(z, max);
            let l = sum.ln() + max as f64 - zt;
            losses[i] = l;
            if let Some(s) = grad_scale {
                if let Some(t) = teacher.filter(|t| t.temperature != 1.0) {
                    tempered_gradient(z, sum, target, s, &t.probs[r * vocab..(r + 1) * vocab], t);
                    continue;
                }
                let inv = (1.0 / sum) as f32 * s;
                for v in z.iter_mut() {
                    *v *= inv;
                }
                match teacher {
                    None => z[target] -= s,
                    Some(t) => {
                        let q = &t.probs[r * vocab..(r + 1) * vocab];
                        let sa = s * t.alpha;
                        for (v, &qv) in z.iter_mut().zip(q) {
                            *v -= sa * qv;
                        }
                        z[target] -= s * (1.0 - t.alpha);
                    }
                }
            }
        }
    });
}

/// The distilled gradient at temperature `T ≠ 1` of one row (see [`cross_entropy`]), from
/// `e = exp(z − max)` (held in `z`) and `sum = Σ e`: `softmax(z / T) = e^(1/T) / Σ e^(1/T)`.
fn tempered_gradient(z: &mut [f32], sum: f64, target: usize, s: f32, q: &[f32], t: Teacher<'_>) {
    let inv_t = 1.0 / t.temperature as f64;
    let sum_t: f64 = z.iter().map(|&e| (e as f64).powf(inv_t)).sum();
    let hard = (1.0 - t.alpha as f64) * s as f64 / sum;
    let soft = t.alpha as f64 * t.temperature as f64 * s as f64;
    for (v, &qv) in z.iter_mut().zip(q) {
        let e = *v as f64;
        *v = (hard * e + soft * (e.powf(inv_t) / sum_t - qv as f64)) as f32;
    }
    z[target] -= s * (1.0 - t.alpha);
}
