//! A resident full-precision matrix handle: the weights stay in Rust (in wasm memory on the
//! web), so a product copies only its inputs and outputs.
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::dense::DenseMatrix as Core;
use quire_core::Result;

/// A row-major f32 matrix held by Rust; products copy only their inputs and outputs.
#[export]
pub struct DenseMatrix {
    inner: Slot<Core>,
}

#[export]
impl DenseMatrix {
    pub fn from_array(weights: Vec<f32>, rows: u32, cols: u32) -> Result<DenseMatrix> {
        Ok(DenseMatrix { inner: Slot::new(Core::new(weights, rows as usize, cols as usize)?) })
    }
    pub fn rows(&self) -> Result<u32> {
        Ok(self.inner.get()?.rows() as u32)
    }
    pub fn cols(&self) -> Result<u32> {
        Ok(self.inner.get()?.cols() as u32)
    }
    /// `Y[b] = W·X[b]` for `batch` row-major vectors into `y` (batch×rows, overwritten).
    pub fn matmul_into(&self, x: &[f32], batch: u32, y: &mut [f32]) -> Result<()> {
        self.inner.get()?.matmul(x, batch as usize, y)
    }

    /// Releases the matrix's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
