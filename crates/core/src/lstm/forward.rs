//! Forward pass of one window: embedding, LSTM layers, softmax logits.

use super::cell;
use super::model::LstmModel;
use crate::error::Result;
use crate::gemm::{gemm, GemmSpec};
use crate::rng::Rng;

/// Fills `mask` with inverted-dropout scales (0 with probability `p`, else `1/(1−p)`) and
/// multiplies `x` by it, element by element.
fn apply_dropout(rng: &mut Rng, p: f32, x: &mut [f32], mask: &mut [f32]) {
    let scale = 1.0 / (1.0 - p);
    for (xv, m) in x.iter_mut().zip(mask.iter_mut()) {
        *m = if rng.next_f32() < p { 0.0 } else { scale };
        *xv *= *m;
    }
}

impl LstmModel {
    /// Runs the forward pass for `inputs` (`T·B` ids, time-major, validated by the caller),
    /// leaving the activations in the workspace and the logits in `ws.logits[..T·B·W]` (W = V, or the
    /// adaptive softmax's head width: its tails are computed with the loss, `adaptive.rs`).
    /// Dropout is applied when `train` and the config's dropout is positive; activation
    /// quantization (`activation_quant.rs`), when set, in both modes. When `carry`,
    /// the final `(h, c)` of every layer becomes the carried state.
    pub(super) fn forward(&mut self, inputs: &[u32], train: bool, carry: bool) -> Result<()> {
        let (hd, v, b) = (self.config.hidden, self.config.logit_width(), self.batch);
        let rows = inputs.len();
        let steps = rows / b;
        let p = self.config.dropout;
        let dropout = train && p > 0.0;
        let aq = self.activation_quant;
        self.ws.ensure(self.config.layers, hd, self.config.vocab, v, rows, b, dropout, aq.is_some())?;
        let emb = self.params.embedding();
        let x0 = &mut self.ws.layers[0].x;
        for (r, &tok) in inputs.iter().enumerate() {
            let t = tok as usize;
            x0[r * hd..(r + 1) * hd].copy_from_slice(&emb[t * hd..(t + 1) * hd]);
        }
        if dropout {
            let lc = &mut self.ws.layers[0];
            apply_dropout(&mut self.rng, p, &mut lc.x[..rows * hd], &mut lc.x_mask[..rows * hd]);
        }
        for l in 0..self.config.layers {
            let ws = &mut self.ws;
            let lc = &mut ws.layers[l];
            let g4 = 4 * hd;
            if let Some(q) = aq {
                q.rows_in_place(&mut lc.x[..rows * hd], hd, &mut ws.quant_row);
            }
            gemm(
                &GemmSpec { trans_b: true, ..GemmSpec::new(rows, g4, hd) },
                &lc.x[..rows * hd],
                self.params.w_ih(l),
                &mut lc.gates[..rows * g4],
            )?;
            let bias = self.params.bias(l);
            for row in lc.gates[..rows * g4].chunks_exact_mut(g4) {
                for (z, bv) in row.iter_mut().zip(bias) {
                    *z += bv;
                }
            }
            lc.h[..b * hd].copy_from_slice(&self.state_h[l]);
            lc.c[..b * hd].copy_from_slice(&self.state_c[l]);
            let w_hh = self.params.w_hh(l);
            for t in 0..steps {
                let blk = b * hd;
                let gates_t = &mut lc.gates[t * b * g4..(t + 1) * b * g4];
                let h_prev = match aq {
                    Some(q) => {
                        q.rows_into(&lc.h[t * blk..(t + 1) * blk], hd, &mut lc.h_quant[t * blk..(t + 1) * blk]);
                        &lc.h_quant[t * blk..(t + 1) * blk]
                    }
                    None => &lc.h[t * blk..(t + 1) * blk],
                };
                gemm(&GemmSpec { trans_b: true, beta: 1.0, ..GemmSpec::new(b, g4, hd) }, h_prev, w_hh, gates_t)?;
                let (c_lo, c_hi) = lc.c.split_at_mut((t + 1) * blk);
                cell::forward_step(
                    hd,
                    gates_t,
                    &c_lo[t * blk..],
                    &mut c_hi[..blk],
                    &mut lc.h[(t + 1) * blk..(t + 2) * blk],
                    &mut lc.tanh_c[t * blk..(t + 1) * blk],
                );
            }
            if carry {
                self.state_h[l].copy_from_slice(&lc.h[steps * b * hd..(steps + 1) * b * hd]);
                self.state_c[l].copy_from_slice(&lc.c[steps * b * hd..(steps + 1) * b * hd]);
            }
            let (lo, hi) = self.ws.layers.split_at_mut(l + 1);
            let out = &lo[l].h[b * hd..(rows + b) * hd];
            let (next, mask) = match hi.first_mut() {
                Some(nl) => (&mut nl.x, &mut nl.x_mask),
                None => (&mut self.ws.y, &mut self.ws.y_mask),
            };
            next[..rows * hd].copy_from_slice(out);
            if dropout {
                apply_dropout(&mut self.rng, p, &mut next[..rows * hd], &mut mask[..rows * hd]);
            }
        }
        if let Some(q) = aq.filter(|q| q.softmax) {
            q.rows_in_place(&mut self.ws.y[..rows * hd], hd, &mut self.ws.quant_row);
        }
        gemm(
            &GemmSpec { trans_b: true, ..GemmSpec::new(rows, v, hd) },
            &self.ws.y[..rows * hd],
            self.params.softmax_weight(),
            &mut self.ws.logits[..rows * v],
        )?;
        let sb = self.params.softmax_bias();
        for row in self.ws.logits[..rows * v].chunks_exact_mut(v) {
            for (z, bv) in row.iter_mut().zip(sb) {
                *z += bv;
            }
        }
        Ok(())
    }
}
