//! Binary-coding quantization and bit-packed products: a Rust-owned matrix handle.
use crate::error::IntoNapi;
use crate::slot::Slot;
use napi::bindgen_prelude::{Float32Array, Uint32Array, Uint8Array};
use napi_derive::napi;
use quire_core::bcq::{matmul, Kernel};
use quire_core::quant::{quantize_rows, BinaryMatrix, Method, QuantConfig};

/// A quantized matrix held by Rust; only inputs and results cross the boundary.
#[napi]
pub struct QuantizedMatrix {
    inner: Slot<BinaryMatrix>,
    relative_error: f64,
}

#[napi]
impl QuantizedMatrix {
    /// Quantizes row-major `weights` (rows×cols); `mask` (nonzero = keep) is optional.
    #[napi(factory)]
    #[allow(clippy::too_many_arguments)]
    pub fn quantize(
        weights: Float32Array,
        rows: u32,
        cols: u32,
        bits: u32,
        method: String,
        cycles: u32,
        group_size: u32,
        mask: Option<Uint8Array>,
    ) -> napi::Result<QuantizedMatrix> {
        let cfg = QuantConfig {
            bits: bits as usize,
            method: Method::parse(&method).napi()?,
            cycles: cycles as usize,
            group_size: group_size as usize,
        };
        let inner = quantize_rows(&weights, rows as usize, cols as usize, &cfg, mask.as_deref()).napi()?;
        let relative_error = inner.relative_error(&weights).napi()?;
        Ok(QuantizedMatrix { inner: Slot::new(inner), relative_error })
    }

    #[napi]
    pub fn bits(&self) -> napi::Result<u32> {
        Ok(self.inner.get()?.bits() as u32)
    }
    #[napi]
    pub fn rows(&self) -> napi::Result<u32> {
        Ok(self.inner.get()?.rows() as u32)
    }
    #[napi]
    pub fn cols(&self) -> napi::Result<u32> {
        Ok(self.inner.get()?.cols() as u32)
    }
    #[napi]
    pub fn group_size(&self) -> napi::Result<u32> {
        Ok(self.inner.get()?.group_size() as u32)
    }
    /// `‖W−Ŵ‖²/‖W‖²` against the weights it was quantized from.
    #[napi]
    pub fn relative_error(&self) -> f64 {
        self.relative_error
    }
    /// A copy of the scales, `(r·groups + g)·bits + i`.
    #[napi]
    pub fn scales(&self) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.inner.get()?.scales().to_vec()))
    }
    /// A copy of the bit-planes as u32 words (bit `t` of word `w` = column `32w + t`).
    #[napi]
    pub fn planes(&self) -> napi::Result<Uint32Array> {
        Ok(Uint32Array::new(quire_core::quant::packed::words_to_u32(self.inner.get()?.planes())))
    }
    /// A copy of the keep-mask bit-plane as u32 words, or null when unmasked.
    #[napi]
    pub fn mask(&self) -> napi::Result<Option<Uint32Array>> {
        Ok(self.inner.get()?.mask().map(|m| Uint32Array::new(quire_core::quant::packed::words_to_u32(m))))
    }
    #[napi]
    pub fn dequantize(&self) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.inner.get()?.dequantize()))
    }
    /// `Y[b] = Ŵ·X[b]` for `batch` row-major vectors into `y` (batch×rows, overwritten), with
    /// kernel `lut-f32`, `lut-i8` or `popcount`. Writing into a JS-owned array avoids an
    /// external buffer per call.
    /// Releases the matrix's memory now; any later call is `E_STATE`.
    #[napi]
    pub fn free(&mut self) {
        self.inner.free();
    }
    #[napi]
    pub fn matmul_into(&self, x: Float32Array, batch: u32, kernel: String, activation_bits: u32, mut y: Float32Array) -> napi::Result<()> {
        let kernel = Kernel::parse(&kernel, activation_bits as usize).napi()?;
        // SAFETY: JS is blocked for the duration of this synchronous call, and the facade passes
        // a fresh array for `y`, so nothing else reads or writes it meanwhile.
        let out = unsafe { y.as_mut() };
        matmul(self.inner.get()?, &x, batch as usize, out, kernel).napi()
    }
}
