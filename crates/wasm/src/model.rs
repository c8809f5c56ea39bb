//! The LSTM language-model handle. Weights, gradients and state stay in Rust; only token
//! windows, single tensors and file bytes cross. Twin of `crates/node/src/model.rs`.
use crate::error::{IntoJs, WasmResult};
use quire_core::format::{metadata_from_json, metadata_to_json};
use quire_core::lstm::{ActivationQuant, LstmConfig, LstmModel as Core};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct LstmModel {
    pub(crate) inner: Core,
    pub(crate) metadata: BTreeMap<String, String>,
}

#[wasm_bindgen]
impl LstmModel {
    /// A new model from its JSON config (`{vocab, hidden, layers, init_scale, dropout, seed}`).
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: String) -> WasmResult<LstmModel> {
        let config = LstmConfig::from_json(&config_json).js()?;
        Ok(LstmModel { inner: Core::new(config).js()?, metadata: BTreeMap::new() })
    }

    /// Loads a model or checkpoint file's bytes (`E_FORMAT` when malformed).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> WasmResult<LstmModel> {
        let (inner, metadata) = Core::from_bytes(bytes).js()?;
        Ok(LstmModel { inner, metadata })
    }

    /// The metadata of the file this model was loaded from (`{}` for a new model), as JSON.
    #[wasm_bindgen(js_name = metadataJson)]
    pub fn metadata_json(&self) -> String {
        metadata_to_json(&self.metadata)
    }

    #[wasm_bindgen(js_name = configJson)]
    pub fn config_json(&self) -> String {
        self.inner.config().to_json()
    }

    pub fn batch(&self) -> u32 {
        self.inner.batch() as u32
    }

    #[wasm_bindgen(js_name = resetState)]
    pub fn reset_state(&mut self, batch: u32) -> WasmResult<()> {
        self.inner.reset_state(batch as usize).js()
    }

    #[wasm_bindgen(js_name = trainStep)]
    pub fn train_step(&mut self, inputs: &[u32], targets: &[u32], lr: f64, clip: f64) -> WasmResult<f64> {
        self.inner.train_step(inputs, targets, lr as f32, clip as f32).js()
    }

    /// A training step distilled from `teacher` (weight `alpha` of the KL term).
    #[wasm_bindgen(js_name = trainStepDistilled)]
    pub fn train_step_distilled(
        &mut self,
        teacher: &mut LstmModel,
        alpha: f64,
        inputs: &[u32],
        targets: &[u32],
        lr: f64,
        clip: f64,
    ) -> WasmResult<f64> {
        self.inner.train_step_distilled(&mut teacher.inner, alpha as f32, inputs, targets, lr as f32, clip as f32).js()
    }

    pub fn reseed(&mut self, seed: f64) {
        self.inner.reseed(seed as u64);
    }

    #[wasm_bindgen(js_name = setDropout)]
    pub fn set_dropout(&mut self, p: f64) -> WasmResult<()> {
        self.inner.set_dropout(p as f32).js()
    }

    /// `bits` 0 turns activation quantization off.
    #[wasm_bindgen(js_name = setActivationQuant)]
    pub fn set_activation_quant(&mut self, bits: u32, softmax: bool) -> WasmResult<()> {
        let quant = if bits == 0 { None } else { Some(ActivationQuant::new(bits as usize, softmax).js()?) };
        self.inner.set_activation_quant(quant);
        Ok(())
    }

    pub fn evaluate(&mut self, inputs: &[u32], targets: &[u32]) -> WasmResult<f64> {
        self.inner.evaluate(inputs, targets).js()
    }

    pub fn gradients(&mut self, inputs: &[u32], targets: &[u32]) -> WasmResult<f64> {
        self.inner.gradients(inputs, targets).js()
    }

    #[wasm_bindgen(js_name = lastGradNorm)]
    pub fn last_grad_norm(&self) -> f64 {
        self.inner.last_grad_norm()
    }

    #[wasm_bindgen(js_name = parameterCount)]
    pub fn parameter_count(&self) -> f64 {
        self.inner.parameter_count() as f64
    }

    #[wasm_bindgen(js_name = tensorNames)]
    pub fn tensor_names(&self) -> Vec<String> {
        self.inner.tensor_names()
    }

    #[wasm_bindgen(js_name = tensorShape)]
    pub fn tensor_shape(&self, name: String) -> WasmResult<Vec<u32>> {
        Ok(self.inner.tensor_shape(&name).js()?.into_iter().map(|d| d as u32).collect())
    }

    #[wasm_bindgen(js_name = getTensor)]
    pub fn get_tensor(&self, name: String) -> WasmResult<Vec<f32>> {
        self.inner.get_tensor(&name).js()
    }

    #[wasm_bindgen(js_name = setTensor)]
    pub fn set_tensor(&mut self, name: String, data: &[f32]) -> WasmResult<()> {
        self.inner.set_tensor(&name, data).js()
    }

    #[wasm_bindgen(js_name = getGradient)]
    pub fn get_gradient(&self, name: String) -> WasmResult<Vec<f32>> {
        self.inner.get_gradient(&name).js()
    }

    /// The model as container bytes; `extra_json` is a JSON object of string metadata.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self, format: String, extra_json: String, with_state: bool) -> WasmResult<Vec<u8>> {
        let extra = metadata_from_json(&extra_json).js()?;
        self.inner.to_bytes(&format, &extra, with_state).js()
    }
}
