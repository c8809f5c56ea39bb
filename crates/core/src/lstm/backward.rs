//! Backward pass of one window (truncated BPTT: no gradient flows into the carried state).

use super::cell;
use super::model::LstmModel;
use super::params::{layer_indices, softmax_indices};
use crate::error::Result;
use crate::gemm::{gemm, GemmSpec};

/// `out[j] = Σ_r m[r, j]` over the rows of a row-major `[rows, cols]` matrix (overwrites `out`).
fn column_sums(m: &[f32], cols: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m.chunks_exact(cols) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

impl LstmModel {
    /// Back-propagates `ws.logits` (already holding `∂J/∂logits`; with an adaptive softmax the
    /// head's, the tails' in their caches) through the training-mode window that
    /// [`LstmModel::forward`] just ran on `inputs`, overwriting every gradient tensor. With
    /// activation quantization, the gradients flow straight through the quantizers.
    /// The embedding gradient is kept sparse: rows touched by the previous window are zeroed,
    /// the touched rows of this window are listed in `ws.touched`. A tied embedding is the
    /// softmax weight too: its gradient is dense, the softmax-weight gradient (written first)
    /// plus the lookup gradient of the input rows, and `ws.touched` stays empty.
    pub(super) fn backward(&mut self, inputs: &[u32]) -> Result<()> {
        let (hd, v, b, layers) = (self.config.hidden, self.config.logit_width(), self.batch, self.config.layers);
        let rows = inputs.len();
        let steps = rows / b;
        let g4 = 4 * hd;
        let dropout = self.config.dropout > 0.0;
        let ws = &mut self.ws;
        let tied = self.config.tied;
        let (sw, sb) = softmax_indices(layers, tied);
        gemm(
            &GemmSpec { trans_a: true, ..GemmSpec::new(v, hd, rows) },
            &ws.logits[..rows * v],
            &ws.y[..rows * hd],
            self.grads.data_mut(sw),
        )?;
        column_sums(&ws.logits[..rows * v], v, self.grads.data_mut(sb));
        gemm(&GemmSpec::new(rows, hd, v), &ws.logits[..rows * v], self.params.softmax_weight(), &mut ws.d_out[..rows * hd])?;
        if let Some(a) = self.adaptive.clone() {
            self.adaptive_backward(&a)?;
        }
        let ws = &mut self.ws;
        if dropout {
            mul_assign(&mut ws.d_out[..rows * hd], &ws.y_mask[..rows * hd]);
        }
        for l in (0..layers).rev() {
            let lc = &ws.layers[l];
            let blk = b * hd;
            ws.dh_next[..blk].fill(0.0);
            ws.dc_next[..blk].fill(0.0);
            for t in (0..steps).rev() {
                let dh = &mut ws.d_out[t * blk..(t + 1) * blk];
                for (d, n) in dh.iter_mut().zip(&ws.dh_next[..blk]) {
                    *d += n;
                }
                let dg = &mut ws.d_gates[t * b * g4..(t + 1) * b * g4];
                cell::backward_step(
                    hd,
                    &lc.gates[t * b * g4..(t + 1) * b * g4],
                    &lc.c[t * blk..(t + 1) * blk],
                    &lc.tanh_c[t * blk..(t + 1) * blk],
                    dh,
                    &mut ws.dc_next[..blk],
                    dg,
                );
                if t > 0 {
                    gemm(&GemmSpec::new(b, hd, g4), dg, self.params.w_hh(l), &mut ws.dh_next[..blk])?;
                }
            }
            let (wi, wh, bi) = layer_indices(l);
            let dg_all = &ws.d_gates[..rows * g4];
            // The recurrent product's input as the forward pass used it (quantized, when set).
            let h_in = if self.activation_quant.is_some() { &lc.h_quant[..rows * hd] } else { &lc.h[..rows * hd] };
            gemm(&GemmSpec { trans_a: true, ..GemmSpec::new(g4, hd, rows) }, dg_all, h_in, self.grads.data_mut(wh))?;
            gemm(&GemmSpec { trans_a: true, ..GemmSpec::new(g4, hd, rows) }, dg_all, &lc.x[..rows * hd], self.grads.data_mut(wi))?;
            column_sums(dg_all, g4, self.grads.data_mut(bi));
            gemm(&GemmSpec::new(rows, hd, g4), dg_all, self.params.w_ih(l), &mut ws.d_out[..rows * hd])?;
            if dropout {
                mul_assign(&mut ws.d_out[..rows * hd], &lc.x_mask[..rows * hd]);
            }
        }
        let ge = self.grads.data_mut(0);
        for &tok in &ws.touched {
            let t = tok as usize;
            ge[t * hd..(t + 1) * hd].fill(0.0);
        }
        ws.touched.clear();
        for (r, &tok) in inputs.iter().enumerate() {
            let t = tok as usize;
            if !tied && !ws.seen[t] {
                ws.seen[t] = true;
                ws.touched.push(tok);
            }
            for (g, d) in ge[t * hd..(t + 1) * hd].iter_mut().zip(&ws.d_out[r * hd..(r + 1) * hd]) {
                *g += d;
            }
        }
        for &tok in &ws.touched {
            ws.seen[tok as usize] = false;
        }
        Ok(())
    }
}

fn mul_assign(x: &mut [f32], m: &[f32]) {
    for (a, b) in x.iter_mut().zip(m) {
        *a *= b;
    }
}
