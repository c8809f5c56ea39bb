//! In-place quantization of one model tensor: `W ← Q(W)` with the tensor's keep-mask (if any)
//! selecting the masked solver variant (scales fitted on kept weights, pruned entries → 0).

use crate::error::{Error, Result};
use crate::lstm::LstmModel;
use crate::quant::{quantize_rows, quantize_rows_mixed, BinaryMatrix, QuantConfig, RowAllocation};

/// The quantization loss of one tensor: `error = ‖W − Q(W)‖²`, `norm = ‖W‖²` (f64 sums), so
/// losses of several tensors combine as `Σ error / Σ norm`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QuantLoss {
    pub error: f64,
    pub norm: f64,
}

impl QuantLoss {
    /// The loss of approximating `w` by `hat` (same length).
    pub fn between(w: &[f32], hat: &[f32]) -> QuantLoss {
        let mut loss = QuantLoss { error: 0.0, norm: 0.0 };
        for (&a, &b) in w.iter().zip(hat) {
            loss.error += ((a - b) as f64).powi(2);
            loss.norm += (a as f64).powi(2);
        }
        loss
    }

    /// `error / norm` (0 for an all-zero tensor).
    pub fn relative(&self) -> f64 {
        if self.norm == 0.0 {
            0.0
        } else {
            self.error / self.norm
        }
    }
}

/// Quantizes the 2-D tensor `name` of `model` row-wise with `cfg` (and its mask, if set), with
/// the scales rounded to f16 ([`BinaryMatrix::with_half_scales`]: what a compressed file
/// stores), overwrites the tensor with the dequantized values and returns the packed matrix and
/// the loss measured against the values before quantizing. With `alloc`, the rows get mixed
/// precision at the same mean ([`quantize_rows_mixed`]).
/// Errors: `E_CONFIG` (unknown name, 1-D tensor, bad config or allocation), `E_NONFINITE` (weights).
pub fn quantize_tensor(
    model: &mut LstmModel,
    name: &str,
    cfg: &QuantConfig,
    alloc: Option<&RowAllocation>,
) -> Result<(BinaryMatrix, QuantLoss)> {
    let shape = model.tensor_shape(name)?;
    let [r, cols] = shape[..] else {
        return Err(Error::config(format!("tensor '{name}' has shape {shape:?}: only matrices can be quantized")));
    };
    let w = model.get_tensor(name)?;
    let q = match alloc {
        None => quantize_rows(&w, r, cols, cfg, model.mask(name)?)?,
        Some(a) => quantize_rows_mixed(&w, r, cols, cfg, model.mask(name)?, a)?,
    }
    .with_half_scales()?;
    let hat = q.dequantize();
    let loss = QuantLoss::between(&w, &hat);
    model.set_tensor(name, &hat)?;
    Ok((q, loss))
}
