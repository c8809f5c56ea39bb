//! A resident full-precision matrix handle (twin of `crates/wasm/src/dense.rs`).
use crate::error::IntoNapi;
use crate::slot::Slot;
use napi::bindgen_prelude::Float32Array;
use napi_derive::napi;
use quire_core::dense::DenseMatrix as Core;

/// A row-major f32 matrix held by Rust; products copy only their inputs and outputs.
#[napi]
pub struct DenseMatrix {
    inner: Slot<Core>,
}

#[napi]
impl DenseMatrix {
    #[napi(factory)]
    pub fn from_array(weights: Float32Array, rows: u32, cols: u32) -> napi::Result<DenseMatrix> {
        Ok(DenseMatrix { inner: Slot::new(Core::new(weights.to_vec(), rows as usize, cols as usize).napi()?) })
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
    pub fn free(&mut self) {
        self.inner.free();
    }
    /// `Y[b] = W·X[b]` for `batch` row-major vectors into `y` (batch×rows, overwritten).
    #[napi]
    pub fn matmul_into(&self, x: Float32Array, batch: u32, mut y: Float32Array) -> napi::Result<()> {
        // SAFETY: JS is blocked for the duration of this synchronous call, and the facade passes
        // a fresh array for `y`, so nothing else reads or writes it meanwhile.
        let out = unsafe { y.as_mut() };
        self.inner.get()?.matmul(&x, batch as usize, out).napi()
    }
}
