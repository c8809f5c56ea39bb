//! The inference engine handle: weights (packed or FP), state and buffers stay in Rust; a step
//! passes B token ids in and the B×V logits out. Twin of `crates/node/src/infer.rs`.
use crate::error::{IntoJs, WasmResult};
use crate::model::LstmModel;
use quire_core::format::metadata_to_json;
use quire_core::infer::{kernel_for, Engine};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct InferenceEngine {
    inner: Engine,
}

#[wasm_bindgen]
impl InferenceEngine {
    /// Loads a compressed or full-precision model file; `kernel` is `auto`, `lut-i8`, `lut-f32` or `popcount-a<k>`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8], kernel: String) -> WasmResult<InferenceEngine> {
        Ok(InferenceEngine { inner: Engine::open(bytes, &kernel).js()? })
    }

    /// An engine over the current (full-precision) weights of a model handle.
    #[wasm_bindgen(js_name = fromModel)]
    pub fn from_model(model: &LstmModel, kernel: String) -> WasmResult<InferenceEngine> {
        let kernel = kernel_for(&kernel, &model.metadata).js()?;
        Ok(InferenceEngine { inner: Engine::from_model(&model.inner, model.metadata.clone(), kernel).js()? })
    }

    #[wasm_bindgen(js_name = configJson)]
    pub fn config_json(&self) -> String {
        self.inner.config().to_json()
    }

    #[wasm_bindgen(js_name = metadataJson)]
    pub fn metadata_json(&self) -> String {
        metadata_to_json(self.inner.metadata())
    }

    pub fn kernel(&self) -> String {
        self.inner.kernel().name().to_string()
    }

    /// `{"embedding": 32, "lstm.0.w_ih": 1, ...}`: bits per weight matrix (32 = full precision).
    #[wasm_bindgen(js_name = bitsJson)]
    pub fn bits_json(&self) -> String {
        self.inner.bits_json()
    }

    #[wasm_bindgen(js_name = weightBytes)]
    pub fn weight_bytes(&self) -> f64 {
        self.inner.weight_bytes() as f64
    }

    pub fn batch(&self) -> u32 {
        self.inner.batch() as u32
    }

    pub fn reset(&mut self, batch: u32) -> WasmResult<()> {
        self.inner.reset(batch as usize).js()
    }

    /// Seeds the sampler (an integer; fractional parts are dropped).
    pub fn seed(&mut self, seed: f64) {
        self.inner.seed(seed as u64);
    }

    pub fn step(&mut self, tokens: &[u32]) -> WasmResult<Vec<f32>> {
        Ok(self.inner.step(tokens).js()?.to_vec())
    }

    pub fn evaluate(&mut self, inputs: &[u32], targets: &[u32]) -> WasmResult<f64> {
        self.inner.evaluate(inputs, targets).js()
    }

    pub fn sample(&mut self, temperature: f64, top_k: u32) -> WasmResult<Vec<u32>> {
        let mut out = vec![0u32; self.inner.batch()];
        self.inner.sample(temperature as f32, top_k as usize, &mut out).js()?;
        Ok(out)
    }

    #[wasm_bindgen(js_name = topK)]
    pub fn top_k(&mut self, stream: u32, k: u32) -> WasmResult<Vec<u32>> {
        self.inner.top_k(stream as usize, k as usize).js()
    }
}
