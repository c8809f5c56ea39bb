//! The inference engine handle: weights (packed or FP), state and buffers stay in Rust; a step
//! passes B token ids in and the B×V logits out. Twin of `crates/wasm/src/infer.rs`.
use crate::error::IntoNapi;
use crate::model::LstmModel;
use napi::bindgen_prelude::{Float32Array, Uint32Array, Uint8Array};
use napi_derive::napi;
use quire_core::format::metadata_to_json;
use quire_core::infer::{Engine, LutKernel};

#[napi]
pub struct InferenceEngine {
    inner: Engine,
}

#[napi]
impl InferenceEngine {
    /// Loads a compressed or full-precision model file; `kernel` is `lut-i8` or `lut-f32`.
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array, kernel: String) -> napi::Result<InferenceEngine> {
        let kernel = LutKernel::parse(&kernel).napi()?;
        Ok(InferenceEngine { inner: Engine::from_bytes(&bytes, kernel).napi()? })
    }

    /// An engine over the current (full-precision) weights of a model handle.
    #[napi(factory)]
    pub fn from_model(model: &LstmModel, kernel: String) -> napi::Result<InferenceEngine> {
        let kernel = LutKernel::parse(&kernel).napi()?;
        Ok(InferenceEngine { inner: Engine::from_model(&model.inner, model.metadata.clone(), kernel).napi()? })
    }

    #[napi]
    pub fn config_json(&self) -> String {
        self.inner.config().to_json()
    }

    #[napi]
    pub fn metadata_json(&self) -> String {
        metadata_to_json(self.inner.metadata())
    }

    #[napi]
    pub fn kernel(&self) -> String {
        self.inner.kernel().name().to_string()
    }

    /// `{"embedding": 32, "lstm.0.w_ih": 1, ...}`: bits per weight matrix (32 = full precision).
    #[napi]
    pub fn bits_json(&self) -> String {
        self.inner.bits_json()
    }

    #[napi]
    pub fn weight_bytes(&self) -> f64 {
        self.inner.weight_bytes() as f64
    }

    #[napi]
    pub fn batch(&self) -> u32 {
        self.inner.batch() as u32
    }

    #[napi]
    pub fn reset(&mut self, batch: u32) -> napi::Result<()> {
        self.inner.reset(batch as usize).napi()
    }

    /// Seeds the sampler (an integer; fractional parts are dropped).
    #[napi]
    pub fn seed(&mut self, seed: f64) {
        self.inner.seed(seed as u64);
    }

    #[napi]
    pub fn step(&mut self, tokens: Uint32Array) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.inner.step(&tokens).napi()?.to_vec()))
    }

    #[napi]
    pub fn evaluate(&mut self, inputs: Uint32Array, targets: Uint32Array) -> napi::Result<f64> {
        self.inner.evaluate(&inputs, &targets).napi()
    }

    #[napi]
    pub fn sample(&mut self, temperature: f64, top_k: u32) -> napi::Result<Uint32Array> {
        let mut out = vec![0u32; self.inner.batch()];
        self.inner.sample(temperature as f32, top_k as usize, &mut out).napi()?;
        Ok(Uint32Array::new(out))
    }

    #[napi]
    pub fn top_k(&mut self, stream: u32, k: u32) -> napi::Result<Uint32Array> {
        Ok(Uint32Array::new(self.inner.top_k(stream as usize, k as usize).napi()?))
    }
}
