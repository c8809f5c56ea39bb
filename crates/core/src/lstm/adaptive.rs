//! The adaptive softmax (Grave et al. 2017; the form of PyTorch's `AdaptiveLogSoftmaxWithLoss`
//! with `div_value = 4` and a head bias): a large vocabulary at a fraction of the full softmax's
//! cost, still an exact, normalized distribution over all V tokens.
//!
//! With cut-offs `c₀ < c₁ < … < c_{n−1} < V` (ids in decreasing frequency), the head is a softmax
//! over `S + n` entries: the shortlist `0..S` (`S = c₀`) and one entry per tail cluster `i`
//! (tokens `cᵢ..cᵢ₊₁`, the last ending at V). Cluster `i` has its own softmax over its tokens on a
//! projection of the hidden state to `dᵢ = max(1, ⌊H / 4^{i+1}⌋)` dimensions:
//!
//! ```text
//! head = W_head·h + b_head                       [S + n]
//! log p(w) = log softmax(head)[w]                         for w < S
//! log p(w) = log softmax(head)[S + i] + log softmax(W_i·(P_i·h))[w − cᵢ]   for w in cluster i
//! ```
//!
//! Training computes a tail only for the rows whose target falls in it (the frequent words,
//! most of the text, cost the head alone); evaluation's loss is the exact `−log p(target)`.

use super::config::LstmConfig;
use super::model::LstmModel;
use super::params::tail_indices;
use super::softmax::{cross_entropy, cross_entropy_with, Teacher};
use crate::error::Result;
use crate::gemm::{gemm, GemmSpec};
use crate::memory::{bytes_of, ensure_allocatable};

/// One tail cluster: tokens `lo..hi`, projected to `dim` dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Tail {
    pub lo: usize,
    pub hi: usize,
    pub dim: usize,
}

impl Tail {
    /// Tokens in the cluster.
    pub fn size(&self) -> usize {
        self.hi - self.lo
    }
}

/// The clusters of an adaptive softmax, derived from a validated config.
#[derive(Debug, Clone, PartialEq)]
pub struct Adaptive {
    /// Tokens `0..shortlist` are predicted by the head directly.
    pub shortlist: usize,
    pub tails: Vec<Tail>,
}

impl Adaptive {
    /// The clusters of `config` (`None` for a full softmax). The config must be valid.
    pub fn of(config: &LstmConfig) -> Option<Adaptive> {
        let c = &config.cutoffs;
        let shortlist = *c.first()?;
        let tails = (0..c.len())
            .map(|i| Tail { lo: c[i], hi: c.get(i + 1).copied().unwrap_or(config.vocab), dim: (config.hidden >> (2 * (i + 1))).max(1) })
            .collect();
        Some(Adaptive { shortlist, tails })
    }

    /// Entries of the head: the shortlist and one per cluster.
    pub fn head_size(&self) -> usize {
        self.shortlist + self.tails.len()
    }

    /// The head entry of `token` (`< V`): itself in the shortlist, else its cluster's entry,
    /// with the cluster's index.
    pub fn locate(&self, token: usize) -> (usize, Option<usize>) {
        if token < self.shortlist {
            return (token, None);
        }
        let i = self.tails.iter().position(|t| token < t.hi).unwrap_or(self.tails.len() - 1);
        (self.shortlist + i, Some(i))
    }
}

/// Work buffers of one tail cluster for one window: the rows whose target it holds.
#[derive(Debug, Default)]
pub struct TailCache {
    /// Window rows (`t·B + b`) whose target is in the cluster, and that target minus `lo`.
    pub rows: Vec<u32>,
    pub local: Vec<u32>,
    /// Their softmax inputs `[n, H]`, projections `[n, d]`, logits then `∂J/∂logits` `[n, size]`.
    pub x: Vec<f32>,
    pub p: Vec<f32>,
    pub z: Vec<f32>,
    /// `∂J/∂p` `[n, d]` and `∂J/∂x` `[n, H]`.
    pub dp: Vec<f32>,
    pub dx: Vec<f32>,
    pub loss: Vec<f64>,
}

/// Grows `v` to `n` values, checking first that the memory can be allocated (`E_CONFIG`).
fn grow<T: Clone + Default>(v: &mut Vec<T>, n: usize, what: &str) -> Result<()> {
    if v.len() < n {
        ensure_allocatable(bytes_of(n, std::mem::size_of::<T>()), what)?;
        v.resize(n, T::default());
    }
    Ok(())
}

impl LstmModel {
    /// The loss of every row of the window the forward pass just computed (head logits in
    /// `ws.logits`), into `ws.row_loss`: the head's cross-entropy towards each target's head entry
    /// (with the `teacher`'s head probabilities, when distilling), plus, for rows whose target is
    /// in a tail, that tail's cross-entropy. With `grad_scale`, the head logits and every tail's
    /// logits are overwritten with the gradient of `s·Σ loss` (consumed by
    /// [`LstmModel::adaptive_backward`]).
    pub(super) fn adaptive_loss(
        &mut self,
        a: &Adaptive,
        targets: &[u32],
        grad_scale: Option<f32>,
        teacher: Option<Teacher<'_>>,
    ) -> Result<()> {
        let (rows, hd, width) = (targets.len(), self.config.hidden, a.head_size());
        let ws = &mut self.ws;
        ws.tails.resize_with(a.tails.len(), TailCache::default);
        grow(&mut ws.head_targets, rows, "the adaptive softmax's targets")?;
        for tc in &mut ws.tails {
            tc.rows.clear();
            tc.local.clear();
        }
        for (r, &t) in targets.iter().enumerate() {
            let (entry, cluster) = a.locate(t as usize);
            ws.head_targets[r] = entry as u32;
            if let Some(i) = cluster {
                ws.tails[i].rows.push(r as u32);
                ws.tails[i].local.push(t - a.tails[i].lo as u32);
            }
        }
        cross_entropy_with(&mut ws.logits[..rows * width], width, &ws.head_targets[..rows], &mut ws.row_loss[..rows], grad_scale, teacher);
        for (i, (tail, tc)) in a.tails.iter().zip(&mut ws.tails).enumerate() {
            let (n, d, size) = (tc.rows.len(), tail.dim, tail.size());
            if n == 0 {
                continue;
            }
            let what = format!("tail cluster {i} of the adaptive softmax ({n} rows of {size} tokens)");
            grow(&mut tc.x, n * hd, &what)?;
            grow(&mut tc.p, n * d, &what)?;
            grow(&mut tc.z, n * size, &what)?;
            grow(&mut tc.loss, n, &what)?;
            for (j, &r) in tc.rows.iter().enumerate() {
                let r = r as usize;
                tc.x[j * hd..(j + 1) * hd].copy_from_slice(&ws.y[r * hd..(r + 1) * hd]);
            }
            let (pi, wi) = tail_indices(self.config.layers, i);
            let (proj, weight) = (&self.params.tensors[pi].data, &self.params.tensors[wi].data);
            gemm(&GemmSpec { trans_b: true, ..GemmSpec::new(n, d, hd) }, &tc.x[..n * hd], proj, &mut tc.p[..n * d])?;
            gemm(&GemmSpec { trans_b: true, ..GemmSpec::new(n, size, d) }, &tc.p[..n * d], weight, &mut tc.z[..n * size])?;
            cross_entropy(&mut tc.z[..n * size], size, &tc.local, &mut tc.loss[..n], grad_scale);
            for (&r, &l) in tc.rows.iter().zip(&tc.loss) {
                ws.row_loss[r as usize] += l;
            }
        }
        Ok(())
    }

    /// Back-propagates the tails' logit gradients left by [`LstmModel::adaptive_loss`]:
    /// overwrites every tail's projection and weight gradients and adds each row's `∂J/∂x` to
    /// `ws.d_out` (which already holds the head's part).
    pub(super) fn adaptive_backward(&mut self, a: &Adaptive) -> Result<()> {
        let hd = self.config.hidden;
        let ws = &mut self.ws;
        for (i, (tail, tc)) in a.tails.iter().zip(&mut ws.tails).enumerate() {
            let (n, d, size) = (tc.rows.len(), tail.dim, tail.size());
            let (pi, wi) = tail_indices(self.config.layers, i);
            let what = format!("tail cluster {i} of the adaptive softmax ({n} rows)");
            grow(&mut tc.dp, n * d, &what)?;
            grow(&mut tc.dx, n * hd, &what)?;
            let (z, p, x) = (&tc.z[..n * size], &tc.p[..n * d], &tc.x[..n * hd]);
            // ∂W = ∂Zᵀ·P, ∂P = ∂Z·W, ∂Proj = ∂Pᵀ·X, ∂X = ∂P·Proj (zero weight gradients when n = 0).
            gemm(&GemmSpec { trans_a: true, ..GemmSpec::new(size, d, n) }, z, p, self.grads.data_mut(wi))?;
            gemm(&GemmSpec::new(n, d, size), z, &self.params.tensors[wi].data, &mut tc.dp[..n * d])?;
            gemm(&GemmSpec { trans_a: true, ..GemmSpec::new(d, hd, n) }, &tc.dp[..n * d], x, self.grads.data_mut(pi))?;
            gemm(&GemmSpec::new(n, hd, d), &tc.dp[..n * d], &self.params.tensors[pi].data, &mut tc.dx[..n * hd])?;
            for (j, &r) in tc.rows.iter().enumerate() {
                let r = r as usize;
                for (o, g) in ws.d_out[r * hd..(r + 1) * hd].iter_mut().zip(&tc.dx[j * hd..(j + 1) * hd]) {
                    *o += g;
                }
            }
        }
        Ok(())
    }
}
