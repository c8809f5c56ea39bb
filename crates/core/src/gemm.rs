//! f32 GEMM: `C ← α·op(A)·op(B) + β·C` (row-major), the workhorse of training.

use crate::error::{check_len, Result};
use crate::kernels::{self, gemm::scalar};

/// Shape and scalars of one GEMM call. `op(A)` is m×k, `op(B)` is k×n, C is m×n.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GemmSpec {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// A is stored k×m and used transposed.
    pub trans_a: bool,
    /// B is stored n×k and used transposed.
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
}

impl GemmSpec {
    /// Plain `C = A·B` with A m×k and B k×n.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        GemmSpec { m, n, k, trans_a: false, trans_b: false, alpha: 1.0, beta: 0.0 }
    }
}

/// Checks lengths (`E_SHAPE`) and computes the product with the active kernel set.
/// With `beta == 0` the old contents of C are ignored (NaN there does not propagate).
pub fn gemm(spec: &GemmSpec, a: &[f32], b: &[f32], c: &mut [f32]) -> Result<()> {
    let GemmSpec { m, n, k, .. } = *spec;
    check_len("A", a.len(), m * k)?;
    check_len("B", b.len(), k * n)?;
    check_len("C", c.len(), m * n)?;
    let set = kernels::active();
    scalar::gemm(m, n, k, spec.trans_a, spec.trans_b, spec.alpha, a, b, spec.beta, c);
    kernels::mark_used(kernels::KernelSet::Scalar);
    let _ = set;
    Ok(())
}
