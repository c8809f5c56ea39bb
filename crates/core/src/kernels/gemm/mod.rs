//! f32 GEMM kernels: the scalar reference and one file per ISA.
pub mod scalar;
