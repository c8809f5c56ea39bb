//! The LSTM language model: embedding → N LSTM layers → softmax, trained by truncated BPTT
//! with SGD and global gradient-norm clipping (Zaremba et al. 2014).
//!
//! Gate order in every `[4H, ·]` matrix and `[4H]` bias: input `i`, forget `f`, cell candidate
//! `g`, output `o` (rows `0..H`, `H..2H`, `2H..3H`, `3H..4H`). With pre-activations
//! `z = W_ih·x + W_hh·h_{t−1} + b`: `i = σ(z_i)`, `f = σ(z_f)`, `g = tanh(z_g)`, `o = σ(z_o)`,
//! `c_t = f⊙c_{t−1} + i⊙g`, `h_t = o⊙tanh(c_t)`.
//!
//! The softmax is full (`V` outputs) or adaptive (`adaptive.rs`: a head and tail clusters).
//!
//! All weights, gradients, hidden state and work buffers live in [`LstmModel`]; a call per
//! window of `T×B` tokens (time-major: token `t·B + b` is step `t` of stream `b`) crosses the
//! boundary, and the hidden state carries from one window to the next.

mod activation_quant;
pub mod adaptive;
mod backward;
pub(crate) mod cell;
mod config;
mod forward;
mod masks;
mod model;
mod params;
mod serialize;
mod sgd;
pub(crate) mod softmax;
mod workspace;

#[cfg(test)]
mod tests;

pub use activation_quant::ActivationQuant;
pub use adaptive::Adaptive;
pub use config::LstmConfig;
pub use model::LstmModel;
pub use params::tensor_layout;
pub use serialize::{FORMAT_VERSION, MODEL_FORMATS};
