//! Quantized inference: an [`Engine`] that loads a compressed (or full-precision) model file
//! and runs the LSTM language model token by token for 1..=[`MAX_STREAMS`] streams, with the
//! bit-packed LUT kernels for every quantized matrix and the f32 GEMM kernels elsewhere; plus
//! seeded sampling and top-k helpers. A step allocates nothing on the calling thread; its products use the worker pool.

mod cell;
mod engine;
mod panels;
mod sample;
mod weights;

#[cfg(test)]
mod head_first_tests;
#[cfg(test)]
mod tests;

pub use crate::bcq::Kernel;
pub use engine::{kernel_for, Engine, MAX_STREAMS};
pub use sample::Sampler;
