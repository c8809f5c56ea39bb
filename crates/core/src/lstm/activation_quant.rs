//! Straight-through activation quantization (the W+A setting of Xu et al. 2018): in the
//! forward pass the input of every LSTM matrix product (`x` for `W_ih`, `h_{t−1}` for `W_hh`)
//! and, when `softmax`, the softmax input are replaced, row by row, by their greedy
//! `bits`-bit approximation [`crate::quant::greedy::approximate`] — exactly what the inference
//! engine's `popcount-a<k>` kernel binarizes per product. The weight gradients use the
//! quantized inputs (the values the forward pass multiplied), and the gradient with respect to
//! a quantized input passes through to the unquantized one unchanged (the straight-through
//! estimator), so the model learns to live with the quantized activations.

use crate::error::{Error, Result};
use crate::quant::{check_bits, greedy};

/// Which products see quantized inputs, and with how many bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivationQuant {
    /// Greedy codes per activation vector, 1..=[`crate::quant::MAX_BITS`].
    pub bits: usize,
    /// Whether the softmax input is quantized too (when the softmax weight is).
    pub softmax: bool,
}

impl ActivationQuant {
    /// `E_CONFIG` unless `bits` passes [`check_bits`].
    pub fn new(bits: usize, softmax: bool) -> Result<ActivationQuant> {
        check_bits(bits).map_err(|e| Error::config(format!("activation {}", e.message)))?;
        Ok(ActivationQuant { bits, softmax })
    }

    /// Replaces each `cols`-long row of `x` by its approximation (`tmp`: at least `cols` floats).
    pub(super) fn rows_in_place(&self, x: &mut [f32], cols: usize, tmp: &mut [f32]) {
        let tmp = &mut tmp[..cols];
        for row in x.chunks_exact_mut(cols) {
            greedy::approximate(row, self.bits, tmp);
            row.copy_from_slice(tmp);
        }
    }

    /// Writes the approximation of each `cols`-long row of `x` to the same row of `out`.
    pub(super) fn rows_into(&self, x: &[f32], cols: usize, out: &mut [f32]) {
        for (row, o) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
            greedy::approximate(row, self.bits, o);
        }
    }
}
