//! Binary-coding quantization and bit-packed products: a Rust-owned matrix handle.
use crate::error::{IntoJs, WasmResult};
use quire_core::bcq::{matmul, Kernel};
use quire_core::quant::{quantize_rows, BinaryMatrix, Method, QuantConfig};
use wasm_bindgen::prelude::*;

/// A quantized matrix held by Rust; only inputs and results cross the boundary.
#[wasm_bindgen]
pub struct QuantizedMatrix {
    inner: BinaryMatrix,
    relative_error: f64,
}

#[wasm_bindgen]
impl QuantizedMatrix {
    /// Quantizes row-major `weights` (rows×cols); `mask` (nonzero = keep) is optional.
    #[allow(clippy::too_many_arguments)]
    pub fn quantize(
        weights: &[f32],
        rows: u32,
        cols: u32,
        bits: u32,
        method: String,
        cycles: u32,
        #[wasm_bindgen(js_name = groupSize)] group_size: u32,
        mask: Option<Vec<u8>>,
    ) -> WasmResult<QuantizedMatrix> {
        let cfg = QuantConfig {
            bits: bits as usize,
            method: Method::parse(&method).js()?,
            cycles: cycles as usize,
            group_size: group_size as usize,
        };
        let inner = quantize_rows(weights, rows as usize, cols as usize, &cfg, mask.as_deref()).js()?;
        let relative_error = inner.relative_error(weights).js()?;
        Ok(QuantizedMatrix { inner, relative_error })
    }

    pub fn bits(&self) -> u32 {
        self.inner.bits() as u32
    }
    pub fn rows(&self) -> u32 {
        self.inner.rows() as u32
    }
    pub fn cols(&self) -> u32 {
        self.inner.cols() as u32
    }
    #[wasm_bindgen(js_name = groupSize)]
    pub fn group_size(&self) -> u32 {
        self.inner.group_size() as u32
    }
    /// `‖W−Ŵ‖²/‖W‖²` against the weights it was quantized from.
    #[wasm_bindgen(js_name = relativeError)]
    pub fn relative_error(&self) -> f64 {
        self.relative_error
    }
    /// A copy of the scales, `(r·groups + g)·bits + i`.
    pub fn scales(&self) -> Vec<f32> {
        self.inner.scales().to_vec()
    }
    /// A copy of the bit-planes as u32 words (bit `t` of word `w` = column `32w + t`).
    pub fn planes(&self) -> Vec<u32> {
        quire_core::quant::packed::words_to_u32(self.inner.planes())
    }
    /// A copy of the keep-mask bit-plane as u32 words, or undefined when unmasked.
    pub fn mask(&self) -> Option<Vec<u32>> {
        self.inner.mask().map(quire_core::quant::packed::words_to_u32)
    }
    pub fn dequantize(&self) -> Vec<f32> {
        self.inner.dequantize()
    }
    /// `Y[b] = Ŵ·X[b]` for `batch` row-major vectors into `y` (batch×rows, overwritten), with
    /// kernel `lut-f32`, `lut-i8` or `popcount`.
    #[wasm_bindgen(js_name = matmulInto)]
    pub fn matmul_into(
        &self,
        x: &[f32],
        batch: u32,
        kernel: String,
        #[wasm_bindgen(js_name = activationBits)] activation_bits: u32,
        y: &mut [f32],
    ) -> WasmResult<()> {
        let kernel = Kernel::parse(&kernel, activation_bits as usize).js()?;
        matmul(&self.inner, x, batch as usize, y, kernel).js()
    }
}
