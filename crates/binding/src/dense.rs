//! A resident full-precision matrix handle: the weights stay in Rust (in wasm memory on the
//! web), so a product copies only its inputs and outputs.
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::dense::DenseMatrix as Core;
use quire_core::error::check_len;
use quire_core::gemm::zeroed_output;
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
    /// `Y[b] = W·X[b]` for `batch` row-major vectors: a new batch×rows array.
    pub fn matmul(&self, x: &[f32], batch: u32) -> Result<Vec<f32>> {
        let (m, batch) = (self.inner.get()?, batch as usize);
        // A wrong x is E_SHAPE before any output of its batch is allocated.
        check_len("x", x.len(), batch.saturating_mul(m.cols()))?;
        let mut y = zeroed_output(batch, m.rows())?;
        m.matmul(x, batch, &mut y)?;
        Ok(y)
    }

    /// Releases the matrix's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
