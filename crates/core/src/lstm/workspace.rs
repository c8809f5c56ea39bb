//! Pre-allocated work buffers of one window. They grow to the largest `T×B` seen and are
//! reused afterwards, so steady-state training allocates nothing per step.

/// Per-layer activations kept for the backward pass.
#[derive(Debug, Default)]
pub struct LayerCache {
    /// Layer input after dropout, `[T·B, H]`.
    pub x: Vec<f32>,
    /// Dropout scale applied to `x` (0 or 1/(1−p)), `[T·B, H]`; empty without dropout.
    pub x_mask: Vec<f32>,
    /// Activated gates `(i, f, g, o)` per row, `[T·B, 4H]`.
    pub gates: Vec<f32>,
    /// Cell states `c_{−1}..c_{T−1}`, `[(T+1)·B, H]` (row block 0 is the carried-in state).
    pub c: Vec<f32>,
    /// Hidden states `h_{−1}..h_{T−1}`, `[(T+1)·B, H]`; blocks `1..=T` are the layer output.
    pub h: Vec<f32>,
    /// `tanh(c_t)`, `[T·B, H]`.
    pub tanh_c: Vec<f32>,
    /// With activation quantization: the quantized `h_{−1}..h_{T−2}` that entered the recurrent
    /// product, `[T·B, H]`; else empty.
    pub h_quant: Vec<f32>,
}

/// All buffers of one forward/backward pass.
#[derive(Debug, Default)]
pub struct Workspace {
    pub layers: Vec<LayerCache>,
    /// Softmax input after dropout, `[T·B, H]`.
    pub y: Vec<f32>,
    pub y_mask: Vec<f32>,
    /// Logits, then probabilities, then `∂J/∂logits`, `[T·B, V]`.
    pub logits: Vec<f32>,
    /// Per-row cross-entropy, `[T·B]`.
    pub row_loss: Vec<f64>,
    /// Gradient w.r.t. the current layer's output, `[T·B, H]`.
    pub d_out: Vec<f32>,
    /// Gradient w.r.t. the current layer's pre-activations, `[T·B, 4H]`.
    pub d_gates: Vec<f32>,
    /// One row of scratch for the activation quantizer, `[H]`.
    pub quant_row: Vec<f32>,
    /// Recurrent gradients carried backwards in time, `[B, H]` each.
    pub dh_next: Vec<f32>,
    pub dc_next: Vec<f32>,
    /// Embedding rows touched in this window (unique token ids) and a membership flag per id.
    pub touched: Vec<u32>,
    pub seen: Vec<bool>,
    /// Adaptive softmax only: each row's head entry `[T·B]`, and the tails' buffers.
    pub head_targets: Vec<u32>,
    pub tails: Vec<super::adaptive::TailCache>,
}

use crate::error::Result;
use crate::memory::{bytes_of, ensure_allocatable, total};

fn fit(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

impl Workspace {
    /// Makes every buffer large enough for `rows = T·B` rows (`batch = B`) of a vocabulary of
    /// `vocab`, with `width` logits per row (V, or the head's width with an adaptive softmax,
    /// whose tails grow on use). Growing is checked
    /// against the memory that can be allocated first (`E_CONFIG` when a window is too large).
    /// `quant`: the recurrent inputs are quantized (activation quantization) and kept.
    #[allow(clippy::too_many_arguments)]
    pub fn ensure(
        &mut self,
        layers: usize,
        hidden: usize,
        vocab: usize,
        width: usize,
        rows: usize,
        batch: usize,
        dropout: bool,
        quant: bool,
    ) -> Result<()> {
        let h = hidden;
        let hq = usize::from(quant);
        if self.logits.len() < rows * width
            || self.layers.len() < layers
            || (quant && self.layers.iter().any(|l| l.h_quant.len() < rows * h))
        {
            let d = usize::from(dropout);
            let per_row = total(&[Some(layers * (h * (1 + d + hq) + 4 * h + 3 * h)), Some(h * (1 + d)), Some(width), Some(h + 4 * h)]);
            let bytes = per_row.and_then(|r| r.checked_add(2)).and_then(|r| bytes_of(r, 4)).and_then(|r| r.checked_mul(rows));
            ensure_allocatable(bytes, &format!("a window of {rows} tokens (vocabulary {vocab}, {layers}×{h} units)"))?;
        }
        self.layers.resize_with(layers, LayerCache::default);
        for lc in &mut self.layers {
            fit(&mut lc.x, rows * h);
            if dropout {
                fit(&mut lc.x_mask, rows * h);
            }
            fit(&mut lc.gates, rows * 4 * h);
            fit(&mut lc.c, (rows + batch) * h);
            fit(&mut lc.h, (rows + batch) * h);
            fit(&mut lc.tanh_c, rows * h);
            if quant {
                fit(&mut lc.h_quant, rows * h);
            }
        }
        fit(&mut self.quant_row, h);
        fit(&mut self.y, rows * h);
        if dropout {
            fit(&mut self.y_mask, rows * h);
        }
        fit(&mut self.logits, rows * width);
        if self.row_loss.len() < rows {
            self.row_loss.resize(rows, 0.0);
        }
        fit(&mut self.d_out, rows * h);
        fit(&mut self.d_gates, rows * 4 * h);
        fit(&mut self.dh_next, batch * h);
        fit(&mut self.dc_next, batch * h);
        if self.seen.len() < vocab {
            self.seen.resize(vocab, false);
        }
        Ok(())
    }
}
