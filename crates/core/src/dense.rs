//! [`DenseMatrix`]: a full-precision weight matrix kept where the kernels run (in wasm memory, or
//! the native heap), so that repeated products with it copy only their inputs and outputs —
//! the resident counterpart of [`crate::gemm::gemm`] for serving one matrix many times.

use crate::error::{check_finite, check_len, Error, Result};
use crate::gemm::{gemm, GemmSpec};

/// A row-major `rows × cols` f32 matrix `W`.
pub struct DenseMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl DenseMatrix {
    /// Takes `data` (`rows·cols` finite values, row-major). Errors: `E_SHAPE` (length or a zero
    /// dimension), `E_NONFINITE`.
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Result<DenseMatrix> {
        if rows == 0 || cols == 0 {
            return Err(Error::shape(format!("a matrix needs at least one row and one column (got {rows}×{cols})")));
        }
        let n = rows.checked_mul(cols).ok_or_else(|| Error::shape(format!("{rows}×{cols} overflows")))?;
        check_len("weights", data.len(), n)?;
        check_finite("weights", &data)?;
        Ok(DenseMatrix { rows, cols, data })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `Y[b] = W·X[b]` for `batch` row-major vectors (`x`: batch×cols, `y`: batch×rows,
    /// overwritten): the GEMM's dot-product path, one sequential pass over W per vector block,
    /// threaded when large. Errors: `E_SHAPE` (lengths).
    pub fn matmul(&self, x: &[f32], batch: usize, y: &mut [f32]) -> Result<()> {
        check_len("x", x.len(), batch * self.cols)?;
        check_len("y", y.len(), batch * self.rows)?;
        gemm(&GemmSpec { trans_b: true, ..GemmSpec::new(batch, self.rows, self.cols) }, x, &self.data, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn products_equal_the_gemm_and_bad_shapes_are_errors() {
        let mut r = Rng::new(3);
        let (rows, cols, batch) = (37, 650, 3);
        let w: Vec<f32> = (0..rows * cols).map(|_| r.uniform(-1.0, 1.0)).collect();
        let x: Vec<f32> = (0..batch * cols).map(|_| r.uniform(-1.0, 1.0)).collect();
        let m = DenseMatrix::new(w.clone(), rows, cols).unwrap();
        let mut y = vec![f32::NAN; batch * rows];
        m.matmul(&x, batch, &mut y).unwrap();
        for b in 0..batch {
            for i in 0..rows {
                let want: f64 = (0..cols).map(|j| w[i * cols + j] as f64 * x[b * cols + j] as f64).sum();
                assert!((y[b * rows + i] as f64 - want).abs() < 1e-3, "{b} {i}");
            }
        }
        assert_eq!(DenseMatrix::new(vec![0.0; 5], 2, 3).err().map(|e| e.code), Some(crate::ErrorCode::Shape));
        assert_eq!(DenseMatrix::new(vec![], 0, 3).err().map(|e| e.code), Some(crate::ErrorCode::Shape));
        assert_eq!(DenseMatrix::new(vec![f32::NAN; 6], 2, 3).err().map(|e| e.code), Some(crate::ErrorCode::NonFinite));
        assert_eq!(m.matmul(&x[1..], batch, &mut y).unwrap_err().code, crate::ErrorCode::Shape);
    }
}
