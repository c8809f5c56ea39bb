//! The LSTM language-model handle. Weights, gradients and state stay in Rust; only token
//! windows, single tensors and file bytes cross. Twin of `crates/wasm/src/model.rs`.
use crate::error::IntoNapi;
use crate::slot::Slot;
use napi::bindgen_prelude::{Float32Array, Uint32Array, Uint8Array};
use napi_derive::napi;
use quire_core::format::{metadata_from_json, metadata_to_json};
use quire_core::lstm::{ActivationQuant, LstmConfig, LstmModel as Core};
use std::collections::BTreeMap;

#[napi]
pub struct LstmModel {
    pub(crate) inner: Slot<Core>,
    pub(crate) metadata: BTreeMap<String, String>,
}

#[napi]
impl LstmModel {
    /// A new model from its JSON config (`{vocab, hidden, layers, init_scale, dropout, seed}`).
    #[napi(constructor)]
    pub fn new(config_json: String) -> napi::Result<Self> {
        let config = LstmConfig::from_json(&config_json).napi()?;
        Ok(LstmModel { inner: Slot::new(Core::new(config).napi()?), metadata: BTreeMap::new() })
    }

    /// Loads a model or checkpoint file's bytes (`E_FORMAT` when malformed).
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array) -> napi::Result<LstmModel> {
        let (inner, metadata) = Core::from_bytes(&bytes).napi()?;
        Ok(LstmModel { inner: Slot::new(inner), metadata })
    }

    /// The metadata of the file this model was loaded from (`{}` for a new model), as JSON.
    #[napi]
    pub fn metadata_json(&self) -> String {
        metadata_to_json(&self.metadata)
    }

    #[napi]
    pub fn config_json(&self) -> napi::Result<String> {
        Ok(self.inner.get()?.config().to_json())
    }

    #[napi]
    pub fn batch(&self) -> napi::Result<u32> {
        Ok(self.inner.get()?.batch() as u32)
    }

    #[napi]
    pub fn reset_state(&mut self, batch: u32) -> napi::Result<()> {
        self.inner.get_mut()?.reset_state(batch as usize).napi()
    }

    #[napi]
    pub fn train_step(&mut self, inputs: Uint32Array, targets: Uint32Array, lr: f64, clip: f64) -> napi::Result<f64> {
        self.inner.get_mut()?.train_step(&inputs, &targets, lr as f32, clip as f32).napi()
    }

    /// A training step distilled from `teacher` (weight `alpha` of the KL term).
    #[napi]
    pub fn train_step_distilled(
        &mut self,
        teacher: &mut LstmModel,
        alpha: f64,
        inputs: Uint32Array,
        targets: Uint32Array,
        lr: f64,
        clip: f64,
    ) -> napi::Result<f64> {
        let teacher = teacher.inner.get_mut()?;
        self.inner.get_mut()?.train_step_distilled(teacher, alpha as f32, &inputs, &targets, lr as f32, clip as f32).napi()
    }

    #[napi]
    pub fn reseed(&mut self, seed: f64) -> napi::Result<()> {
        self.inner.get_mut()?.reseed(seed as u64);
        Ok(())
    }

    #[napi]
    pub fn set_dropout(&mut self, p: f64) -> napi::Result<()> {
        self.inner.get_mut()?.set_dropout(p as f32).napi()
    }

    /// `bits` 0 turns activation quantization off.
    #[napi]
    pub fn set_activation_quant(&mut self, bits: u32, softmax: bool) -> napi::Result<()> {
        let quant = if bits == 0 { None } else { Some(ActivationQuant::new(bits as usize, softmax).napi()?) };
        self.inner.get_mut()?.set_activation_quant(quant);
        Ok(())
    }

    #[napi]
    pub fn evaluate(&mut self, inputs: Uint32Array, targets: Uint32Array) -> napi::Result<f64> {
        self.inner.get_mut()?.evaluate(&inputs, &targets).napi()
    }

    #[napi]
    pub fn gradients(&mut self, inputs: Uint32Array, targets: Uint32Array) -> napi::Result<f64> {
        self.inner.get_mut()?.gradients(&inputs, &targets).napi()
    }

    #[napi]
    pub fn last_grad_norm(&self) -> napi::Result<f64> {
        Ok(self.inner.get()?.last_grad_norm())
    }

    #[napi]
    pub fn parameter_count(&self) -> napi::Result<f64> {
        Ok(self.inner.get()?.parameter_count() as f64)
    }

    #[napi]
    pub fn tensor_names(&self) -> napi::Result<Vec<String>> {
        Ok(self.inner.get()?.tensor_names())
    }

    #[napi]
    pub fn tensor_shape(&self, name: String) -> napi::Result<Vec<u32>> {
        Ok(self.inner.get()?.tensor_shape(&name).napi()?.into_iter().map(|d| d as u32).collect())
    }

    #[napi]
    pub fn get_tensor(&self, name: String) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.inner.get()?.get_tensor(&name).napi()?))
    }

    #[napi]
    pub fn set_tensor(&mut self, name: String, data: Float32Array) -> napi::Result<()> {
        self.inner.get_mut()?.set_tensor(&name, &data).napi()
    }

    #[napi]
    pub fn get_gradient(&self, name: String) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.inner.get()?.get_gradient(&name).napi()?))
    }

    /// Releases the model's memory now; any later call is `E_STATE`.
    #[napi]
    pub fn free(&mut self) {
        self.inner.free();
    }

    /// The model as container bytes; `extra_json` is a JSON object of string metadata.
    #[napi]
    pub fn to_bytes(&self, format: String, extra_json: String, with_state: bool) -> napi::Result<Uint8Array> {
        let extra = metadata_from_json(&extra_json).napi()?;
        Ok(Uint8Array::new(self.inner.get()?.to_bytes(&format, &extra, with_state).napi()?))
    }
}
