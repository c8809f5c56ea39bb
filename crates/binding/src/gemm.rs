//! The general matrix product and the arithmetic-peak probe.
use quire_binding_macro::export;
use quire_core::gemm::{gemm as core_gemm, GemmSpec};
use quire_core::Result;

/// `C ← α·op(A)·op(B) + β·C`; returns the new C (the input `c` is not modified).
#[export]
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: u32,
    n: u32,
    k: u32,
    trans_a: bool,
    trans_b: bool,
    alpha: f64,
    a: &[f32],
    b: &[f32],
    beta: f64,
    c: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let spec = GemmSpec { m: m as usize, n: n as usize, k: k as usize, trans_a, trans_b, alpha: alpha as f32, beta: beta as f32 };
    // Without a C input there is nothing to accumulate into: β is taken as 0.
    let (mut out, beta) = match c {
        Some(c) => (c.to_vec(), spec.beta),
        None => (quire_core::gemm::zeroed_output(spec.m, spec.n)?, 0.0),
    };
    core_gemm(&GemmSpec { beta, ..spec }, a, b, &mut out)?;
    Ok(out)
}

/// Runs the arithmetic-peak probe on every thread (`iters` rounds each); returns the flops done.
#[export]
pub fn fma_peak_probe(iters: u32) -> f64 {
    quire_core::gemm::fma_peak_probe(iters as usize)
}
