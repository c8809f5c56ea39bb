//! Compression of a trained [`crate::lstm::LstmModel`]: magnitude pruning ([`prune`]),
//! in-place binary-coding quantization of its matrices ([`quantize`]) and the compressed model
//! file ([`CompressedModel`], [`mod@file`]). The iterative quantize → retrain schedule itself is
//! orchestrated in TypeScript (`ts/compress/`); these are the steps it calls.

pub mod bits;
pub mod file;
pub mod model;
pub mod prune;
pub mod quantize;

pub use model::{activation_bits, CompressedModel, CompressedStats, CompressionInfo, QuantizedTensor, ACTIVATION_BITS_KEY};
pub use model::{check_gate_order, GATE_ORDER};
pub use prune::{magnitude_masks, prune_model, PruneScope};
pub use quantize::{quantize_tensor, QuantLoss};

#[cfg(test)]
mod tests;
