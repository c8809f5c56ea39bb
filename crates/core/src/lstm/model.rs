//! The model handle: parameters, gradients, carried state, PRNG and work buffers.

use super::activation_quant::ActivationQuant;
use super::adaptive::Adaptive;
use super::config::LstmConfig;
use super::params::Params;
use super::softmax::{cross_entropy_with, finite_loss, softmax_rows, Teacher};
use super::workspace::Workspace;
use crate::error::{check_finite, check_len, Error, Result};
use crate::rng::Rng;
use std::sync::Arc;

/// An LSTM language model with everything needed to train and evaluate it.
#[derive(Debug)]
pub struct LstmModel {
    pub(super) config: LstmConfig,
    pub(super) params: Params,
    pub(super) grads: Params,
    pub(super) ws: Workspace,
    pub(super) rng: Rng,
    /// Streams B of the carried state (set by [`LstmModel::reset_state`]).
    pub(super) batch: usize,
    /// Carried `h` and `c` of every layer, `[B, H]` each.
    pub(super) state_h: Vec<Vec<f32>>,
    pub(super) state_c: Vec<Vec<f32>>,
    /// Whether `grads` holds the result of a backward pass.
    pub(super) has_grads: bool,
    pub(super) last_grad_norm: f64,
    /// Per tensor (same order as `params`), an optional 0/1 keep-mask (see `masks.rs`).
    pub(super) masks: Vec<Option<Vec<u8>>>,
    /// Straight-through activation quantization of the forward pass, when set.
    pub(super) activation_quant: Option<ActivationQuant>,
    /// The adaptive softmax's clusters (`Adaptive::of(&config)`, derived once: a training step
    /// takes a shared reference instead of deriving them again).
    pub(super) adaptive: Option<Arc<Adaptive>>,
}

impl LstmModel {
    /// A freshly initialised model (uniform `±init_scale` from `Rng::new(seed)`), state for one stream.
    pub fn new(config: LstmConfig) -> Result<Self> {
        config.validate()?;
        config.check_memory()?;
        let mut rng = Rng::new(config.seed);
        let mut params = Params::zeros(&config);
        params.init_uniform(config.init_scale, &mut rng);
        Ok(Self::assemble(config, params, rng))
    }

    pub(super) fn assemble(config: LstmConfig, params: Params, rng: Rng) -> Self {
        let grads = Params::zeros(&config);
        let masks = vec![None; params.tensors.len()];
        let adaptive = Adaptive::of(&config).map(Arc::new);
        let mut m = LstmModel {
            config,
            params,
            grads,
            ws: Workspace::default(),
            rng,
            batch: 1,
            state_h: Vec::new(),
            state_c: Vec::new(),
            has_grads: false,
            last_grad_norm: 0.0,
            masks,
            activation_quant: None,
            adaptive,
        };
        m.zero_state(1);
        m
    }

    pub(super) fn zero_state(&mut self, batch: usize) {
        let n = batch * self.config.hidden;
        self.batch = batch;
        self.state_h = vec![vec![0.0; n]; self.config.layers];
        self.state_c = vec![vec![0.0; n]; self.config.layers];
    }

    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Zeroes the carried state and sets the number of streams B (1..=65536) for later calls.
    pub fn reset_state(&mut self, batch: usize) -> Result<()> {
        if !(1..=65536).contains(&batch) {
            return Err(Error::config(format!("batch must be in 1..=65536 (got {batch})")));
        }
        let state = batch
            .checked_mul(self.config.hidden)
            .and_then(|n| n.checked_mul(self.config.layers))
            .and_then(|n| crate::memory::bytes_of(n, 8));
        crate::memory::ensure_allocatable(state, &format!("the state of {batch} streams"))?;
        self.zero_state(batch);
        Ok(())
    }

    /// Validates a window: equal lengths, a positive multiple of B, ids `< V`; returns T.
    fn check_window(&self, inputs: &[u32], targets: &[u32]) -> Result<usize> {
        check_len("targets", targets.len(), inputs.len())?;
        if inputs.is_empty() || !inputs.len().is_multiple_of(self.batch) {
            return Err(Error::shape(format!(
                "a window holds T·B tokens with B = {} (the batch set by resetState); got {}",
                self.batch,
                inputs.len()
            )));
        }
        if inputs.len() / self.batch > 100_000 {
            return Err(Error::shape("a window may hold at most 100000 steps"));
        }
        let v = self.config.vocab as u32;
        if let Some(&bad) = inputs.iter().chain(targets).find(|&&t| t >= v) {
            return Err(Error::shape(format!("token id {bad} is outside the vocabulary of {v}")));
        }
        Ok(inputs.len() / self.batch)
    }

    /// Mean cross-entropy (nats per token) of the rows just computed.
    fn mean_loss(&self, rows: usize) -> f64 {
        self.ws.row_loss[..rows].iter().sum::<f64>() / rows as f64
    }

    /// Each row's loss of the window the forward pass just computed into `ws.row_loss`, with the
    /// gradient of `s·Σ loss` left in the logits when `grad_scale` is `Some(s)` (full softmax:
    /// [`cross_entropy_with`]; adaptive: [`LstmModel::adaptive_loss`]).
    fn softmax_loss(&mut self, targets: &[u32], grad_scale: Option<f32>, teacher: Option<Teacher<'_>>) -> Result<()> {
        let rows = targets.len();
        match self.adaptive.clone() {
            Some(a) => self.adaptive_loss(&a, targets, grad_scale, teacher),
            None => {
                let v = self.config.vocab;
                cross_entropy_with(&mut self.ws.logits[..rows * v], v, targets, &mut self.ws.row_loss[..rows], grad_scale, teacher);
                Ok(())
            }
        }
    }

    /// Forward + backward of one window without updating weights or the carried state.
    /// Gradients are of `J = (1/B)·Σ_{t,b} CE_{t,b}` (summed over time, averaged over the batch,
    /// as in Zaremba et al.); returns the mean cross-entropy per token (`J/T`).
    pub fn gradients(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        self.check_window(inputs, targets)?;
        self.forward(inputs, true, false)?;
        self.loss_and_backward(inputs, targets)
    }

    fn loss_and_backward(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        self.loss_and_backward_with(inputs, targets, None)
    }

    fn loss_and_backward_with(&mut self, inputs: &[u32], targets: &[u32], teacher: Option<Teacher<'_>>) -> Result<f64> {
        let scale = 1.0 / self.batch as f32;
        self.softmax_loss(targets, Some(scale), teacher)?;
        let rows = inputs.len();
        let loss = self.mean_loss(rows);
        // A loss whose perplexity overflows is divergence too (the same rule on every backend).
        if !(loss.is_finite() && loss.exp().is_finite()) {
            self.has_grads = false;
            return Err(Error::non_finite(format!(
                "training loss is {loss}: the model diverged (lower the learning rate); weights were not updated"
            )));
        }
        self.backward(inputs)?;
        self.has_grads = true;
        Ok(loss)
    }

    /// One training step on a window: forward with dropout, loss, backward, clipped SGD
    /// update (`lr`, `clip ≤ 0` = no clipping); the final state carries into the next window.
    /// Returns the mean cross-entropy per token. A non-finite loss or gradient is
    /// `E_NONFINITE` and leaves the weights as they were.
    pub fn train_step(&mut self, inputs: &[u32], targets: &[u32], lr: f32, clip: f32) -> Result<f64> {
        self.check_window(inputs, targets)?;
        if !(lr.is_finite() && lr >= 0.0 && clip.is_finite()) {
            return Err(Error::config(format!("learning rate must be finite and >= 0 and clip finite (got {lr}, {clip})")));
        }
        self.forward(inputs, true, true)?;
        let loss = self.loss_and_backward(inputs, targets)?;
        self.last_grad_norm = self.sgd_update(lr, clip)?;
        Ok(loss)
    }

    /// [`LstmModel::train_step`] distilled from `teacher` (same vocabulary and batch): the
    /// teacher runs the window without dropout (its state carries too), and the gradient is that
    /// of `(1−α)·CE + α·KL(teacher ‖ self)` per token (with an adaptive softmax, the KL of the
    /// head distributions; the teacher must have the same cut-offs); at a `temperature` T ≠ 1 the
    /// KL term compares both distributions at T and is scaled by T² (Hinton et al. 2015).
    /// Returns the data cross-entropy. `E_CONFIG` for α outside [0, 1] or T not in (0, 100].
    #[allow(clippy::too_many_arguments)]
    pub fn train_step_distilled(
        &mut self,
        teacher: &mut LstmModel,
        alpha: f32,
        temperature: f32,
        inputs: &[u32],
        targets: &[u32],
        lr: f32,
        clip: f32,
    ) -> Result<f64> {
        self.check_window(inputs, targets)?;
        if !(0.0..=1.0).contains(&alpha) {
            return Err(Error::config(format!("distillation weight must be in [0, 1] (got {alpha})")));
        }
        if !(temperature > 0.0 && temperature <= 100.0) {
            return Err(Error::config(format!("distillation temperature must be in (0, 100] (got {temperature})")));
        }
        if teacher.config.vocab != self.config.vocab || teacher.config.cutoffs != self.config.cutoffs || teacher.batch != self.batch {
            return Err(Error::shape(format!(
                "the teacher must have the student's vocabulary, softmax and batch (teacher {}/{:?}/{}, student {}/{:?}/{})",
                teacher.config.vocab, teacher.config.cutoffs, teacher.batch, self.config.vocab, self.config.cutoffs, self.batch
            )));
        }
        if !(lr.is_finite() && lr >= 0.0 && clip.is_finite()) {
            return Err(Error::config(format!("learning rate must be finite and >= 0 and clip finite (got {lr}, {clip})")));
        }
        // With an adaptive softmax the teacher's head distribution is distilled (the tails learn
        // from the data alone).
        let (rows, v) = (inputs.len(), self.config.logit_width());
        teacher.forward(inputs, false, true)?;
        let soft = &mut teacher.ws.logits[..rows * v];
        if temperature != 1.0 {
            soft.iter_mut().for_each(|z| *z /= temperature);
        }
        softmax_rows(soft, v);
        self.forward(inputs, true, true)?;
        let probs = &teacher.ws.logits[..rows * v];
        let loss = self.loss_and_backward_with(inputs, targets, Some(Teacher { probs, alpha, temperature }))?;
        self.last_grad_norm = self.sgd_update(lr, clip)?;
        Ok(loss)
    }

    /// Restarts the model's PRNG (the dropout masks of later training steps) from `seed`, so that
    /// a run resumed from a file draws the same masks as the uninterrupted one.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// Sets the dropout probability used by later training steps (`[0, 1)`, else `E_CONFIG`);
    /// the compress loop retrains with a dropout of its own.
    pub fn set_dropout(&mut self, p: f32) -> Result<()> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(format!("dropout must be in [0, 1) (got {p})")));
        }
        self.config.dropout = p;
        Ok(())
    }

    /// Quantizes the inputs of the matrix products in later forward passes (training and
    /// evaluation) with straight-through gradients (see `activation_quant.rs`), or stops (`None`).
    /// Like dropout it is a setting of the handle, not saved with the model.
    pub fn set_activation_quant(&mut self, quant: Option<ActivationQuant>) {
        self.activation_quant = quant;
    }

    /// The activation quantization in force.
    pub fn activation_quant(&self) -> Option<ActivationQuant> {
        self.activation_quant
    }

    /// Mean cross-entropy per token of a window without dropout; carries the state. A non-finite
    /// loss is `E_NONFINITE`.
    pub fn evaluate(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        self.check_window(inputs, targets)?;
        self.forward(inputs, false, true)?;
        self.softmax_loss(targets, None, None)?;
        finite_loss(self.mean_loss(inputs.len()))
    }

    /// Gradient norm (before clipping) of the last training step.
    pub fn last_grad_norm(&self) -> f64 {
        self.last_grad_norm
    }

    /// Tensor names in file order (see `params::Params`).
    pub fn tensor_names(&self) -> Vec<String> {
        self.params.tensors.iter().map(|t| t.name.clone()).collect()
    }

    pub(super) fn index(&self, name: &str) -> Result<usize> {
        self.params.index_of(name).ok_or_else(|| Error::config(format!("no tensor '{name}' (have: {})", self.tensor_names().join(", "))))
    }

    pub fn tensor_shape(&self, name: &str) -> Result<Vec<usize>> {
        Ok(self.params.tensors[self.index(name)?].shape.clone())
    }

    pub fn get_tensor(&self, name: &str) -> Result<Vec<f32>> {
        Ok(self.params.tensors[self.index(name)?].data.clone())
    }

    /// Replaces a tensor's values (same length, all finite).
    pub fn set_tensor(&mut self, name: &str, data: &[f32]) -> Result<()> {
        let i = self.index(name)?;
        check_len(name, data.len(), self.params.tensors[i].data.len())?;
        check_finite(name, data)?;
        self.params.data_mut(i).copy_from_slice(data);
        Ok(())
    }

    /// The gradient of a tensor from the last backward pass (`E_STATE` before any).
    pub fn get_gradient(&self, name: &str) -> Result<Vec<f32>> {
        if !self.has_grads {
            return Err(Error::state("no gradients yet: call gradients() or trainStep() first"));
        }
        Ok(self.grads.tensors[self.index(name)?].data.clone())
    }

    pub fn parameter_count(&self) -> usize {
        self.params.count()
    }
}
