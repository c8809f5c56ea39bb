//! The LSTM language-model handle. Weights, gradients and state stay in Rust; only token
//! windows, single tensors and file bytes cross.
use crate::json::{metadata_from_json, metadata_to_json};
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::lstm::{ActivationQuant, LstmConfig, LstmModel as Core};
use quire_core::Result;
use std::collections::BTreeMap;

#[export]
pub struct LstmModel {
    pub(crate) inner: Slot<Core>,
    pub(crate) metadata: BTreeMap<String, String>,
}

#[export]
impl LstmModel {
    /// A new model from its JSON config (`{vocab, hidden, layers, init_scale, dropout, seed}`).
    pub fn new(config_json: String) -> Result<LstmModel> {
        let config = LstmConfig::from_json(&config_json)?;
        Ok(LstmModel { inner: Slot::new(Core::new(config)?), metadata: BTreeMap::new() })
    }

    /// Loads a model or checkpoint file's bytes (`E_FORMAT` when malformed).
    pub fn from_bytes(bytes: &[u8]) -> Result<LstmModel> {
        let (inner, metadata) = Core::from_bytes(bytes)?;
        Ok(LstmModel { inner: Slot::new(inner), metadata })
    }

    /// The metadata of the file this model was loaded from (`{}` for a new model), as JSON.
    pub fn metadata_json(&self) -> String {
        metadata_to_json(&self.metadata)
    }

    pub fn config_json(&self) -> Result<String> {
        Ok(self.inner.get()?.config().to_json())
    }

    pub fn batch(&self) -> Result<u32> {
        Ok(self.inner.get()?.batch() as u32)
    }

    pub fn reset_state(&mut self, batch: u32) -> Result<()> {
        self.inner.get_mut()?.reset_state(batch as usize)
    }

    pub fn train_step(&mut self, inputs: &[u32], targets: &[u32], lr: f64, clip: f64) -> Result<f64> {
        self.inner.get_mut()?.train_step(inputs, targets, lr as f32, clip as f32)
    }

    /// A training step distilled from `teacher` (weight `alpha` of the KL term, at `temperature`).
    #[allow(clippy::too_many_arguments)]
    pub fn train_step_distilled(
        &mut self,
        teacher: &mut LstmModel,
        alpha: f64,
        temperature: f64,
        inputs: &[u32],
        targets: &[u32],
        lr: f64,
        clip: f64,
    ) -> Result<f64> {
        let teacher = teacher.inner.get_mut()?;
        self.inner.get_mut()?.train_step_distilled(teacher, alpha as f32, temperature as f32, inputs, targets, lr as f32, clip as f32)
    }

    /// Reseeds dropout (an integer; fractional parts are dropped).
    pub fn reseed(&mut self, seed: f64) -> Result<()> {
        self.inner.get_mut()?.reseed(seed as u64);
        Ok(())
    }

    pub fn set_dropout(&mut self, p: f64) -> Result<()> {
        self.inner.get_mut()?.set_dropout(p as f32)
    }

    /// `bits` 0 turns activation quantization off.
    pub fn set_activation_quant(&mut self, bits: u32, softmax: bool) -> Result<()> {
        let quant = if bits == 0 { None } else { Some(ActivationQuant::new(bits as usize, softmax)?) };
        self.inner.get_mut()?.set_activation_quant(quant);
        Ok(())
    }

    pub fn evaluate(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        self.inner.get_mut()?.evaluate(inputs, targets)
    }

    pub fn gradients(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        self.inner.get_mut()?.gradients(inputs, targets)
    }

    pub fn last_grad_norm(&self) -> Result<f64> {
        Ok(self.inner.get()?.last_grad_norm())
    }

    pub fn parameter_count(&self) -> Result<f64> {
        Ok(self.inner.get()?.parameter_count() as f64)
    }

    pub fn tensor_names(&self) -> Result<Vec<String>> {
        Ok(self.inner.get()?.tensor_names())
    }

    pub fn tensor_shape(&self, name: String) -> Result<Vec<u32>> {
        Ok(self.inner.get()?.tensor_shape(&name)?.into_iter().map(|d| d as u32).collect())
    }

    pub fn get_tensor(&self, name: String) -> Result<Vec<f32>> {
        self.inner.get()?.get_tensor(&name)
    }

    pub fn set_tensor(&mut self, name: String, data: &[f32]) -> Result<()> {
        self.inner.get_mut()?.set_tensor(&name, data)
    }

    pub fn get_gradient(&self, name: String) -> Result<Vec<f32>> {
        self.inner.get()?.get_gradient(&name)
    }

    /// The model as container bytes; `extra_json` is a JSON object of string metadata.
    pub fn to_bytes(&self, format: String, extra_json: String, with_state: bool) -> Result<Vec<u8>> {
        let extra = metadata_from_json(&extra_json)?;
        self.inner.get()?.to_bytes(&format, &extra, with_state)
    }

    /// Releases the model's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
