//! Scalar reference kernels: always compiled, the oracle for every SIMD twin.

/// `C ← α·op(A)·op(B) + β·C`, row-major, contiguous.
///
/// `op(A)` is m×k (A stored m×k, or k×m when `trans_a`), `op(B)` is k×n (B stored k×n, or
/// n×k when `trans_b`), C is m×n. Overwrites C when `beta == 0` (C may then hold NaN);
/// otherwise accumulates. Lengths are the caller's responsibility (checked in [`crate::gemm`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                acc += av * bv;
            }
            let cv = &mut c[i * n + j];
            *cv = if beta == 0.0 { alpha * acc } else { alpha * acc + beta * *cv };
        }
    }
}
