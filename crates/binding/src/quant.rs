//! Binary-coding quantization and bit-packed products: a Rust-owned matrix handle.
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::bcq::{matmul, Kernel, MAX_BATCH};
use quire_core::quant::{quantize_rows, BinaryMatrix, Method, QuantConfig};
use quire_core::Result;

/// u64 words as twice as many little-endian u32 words (low half first): the JS view of planes.
fn words_to_u32(words: &[u64]) -> Vec<u32> {
    words.iter().flat_map(|&w| [w as u32, (w >> 32) as u32]).collect()
}

/// A quantized matrix held by Rust; only inputs and results cross the boundary.
#[export]
pub struct QuantizedMatrix {
    inner: Slot<BinaryMatrix>,
    relative_error: f64,
}

#[export]
impl QuantizedMatrix {
    /// Quantizes row-major `weights` (rows×cols); `mask` (nonzero = keep) is optional;
    /// `half_scales` rounds the scales to f16 as compressed files store them.
    #[allow(clippy::too_many_arguments)]
    pub fn quantize(
        weights: &[f32],
        rows: u32,
        cols: u32,
        bits: u32,
        method: String,
        cycles: u32,
        group_size: u32,
        mask: Option<&[u8]>,
        half_scales: bool,
    ) -> Result<QuantizedMatrix> {
        let cfg =
            QuantConfig { bits: bits as usize, method: Method::parse(&method)?, cycles: cycles as usize, group_size: group_size as usize };
        let mut inner = quantize_rows(weights, rows as usize, cols as usize, &cfg, mask)?;
        if half_scales {
            inner = inner.with_half_scales()?;
        }
        let relative_error = inner.relative_error(weights)?;
        Ok(QuantizedMatrix { inner: Slot::new(inner), relative_error })
    }

    pub fn bits(&self) -> Result<u32> {
        Ok(self.inner.get()?.bits() as u32)
    }
    pub fn rows(&self) -> Result<u32> {
        Ok(self.inner.get()?.rows() as u32)
    }
    pub fn cols(&self) -> Result<u32> {
        Ok(self.inner.get()?.cols() as u32)
    }
    pub fn group_size(&self) -> Result<u32> {
        Ok(self.inner.get()?.group_size() as u32)
    }
    /// `‖W−Ŵ‖²/‖W‖²` against the weights it was quantized from.
    pub fn relative_error(&self) -> f64 {
        self.relative_error
    }
    /// A copy of the scales, `(r·groups + g)·bits + i`.
    pub fn scales(&self) -> Result<Vec<f32>> {
        Ok(self.inner.get()?.scales().to_vec())
    }
    /// A copy of the bit-planes as u32 words (bit `t` of word `w` = column `32w + t`).
    pub fn planes(&self) -> Result<Vec<u32>> {
        Ok(words_to_u32(self.inner.get()?.planes()))
    }
    /// A copy of the keep-mask bit-plane as u32 words, or null when unmasked.
    pub fn mask(&self) -> Result<Option<Vec<u32>>> {
        Ok(self.inner.get()?.mask().map(words_to_u32))
    }
    pub fn dequantize(&self) -> Result<Vec<f32>> {
        Ok(self.inner.get()?.dequantize())
    }
    /// `Y[b] = Ŵ·X[b]` for `batch` row-major vectors: a new batch×rows array, with kernel
    /// `lut-i8`, `lut-f32`, `popcount-a<k>` or `popcount` (with `activation_bits` codes).
    pub fn matmul(&self, x: &[f32], batch: u32, kernel: String, activation_bits: u32) -> Result<Vec<f32>> {
        let kernel = Kernel::parse(&kernel, Some(activation_bits as usize))?;
        let m = self.inner.get()?;
        // A batch outside 1..=64 is `matmul`'s E_CONFIG, not an allocation of its size.
        let mut y = vec![0f32; (batch as usize).clamp(1, MAX_BATCH) * m.rows()];
        matmul(m, x, batch as usize, &mut y, kernel)?;
        Ok(y)
    }

    /// Releases the matrix's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
