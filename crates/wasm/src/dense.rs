//! A resident full-precision matrix handle (twin of `crates/node/src/dense.rs`): the weights stay
//! in wasm memory, so a product copies only its inputs and outputs.
use crate::error::{IntoJs, WasmResult};
use quire_core::dense::DenseMatrix as Core;
use wasm_bindgen::prelude::*;

/// A row-major f32 matrix held by Rust; products copy only their inputs and outputs.
#[wasm_bindgen]
pub struct DenseMatrix {
    inner: Core,
}

#[wasm_bindgen]
impl DenseMatrix {
    #[wasm_bindgen(js_name = fromArray)]
    pub fn from_array(weights: Vec<f32>, rows: u32, cols: u32) -> WasmResult<DenseMatrix> {
        Ok(DenseMatrix { inner: Core::new(weights, rows as usize, cols as usize).js()? })
    }
    pub fn rows(&self) -> u32 {
        self.inner.rows() as u32
    }
    pub fn cols(&self) -> u32 {
        self.inner.cols() as u32
    }
    /// `Y[b] = W·X[b]` for `batch` row-major vectors into `y` (batch×rows, overwritten).
    #[wasm_bindgen(js_name = matmulInto)]
    pub fn matmul_into(&self, x: &[f32], batch: u32, y: &mut [f32]) -> WasmResult<()> {
        self.inner.matmul(x, batch as usize, y).js()
    }
}
