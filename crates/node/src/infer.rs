//! The inference engine handle: weights (packed or FP), state and buffers stay in Rust; a step
//! passes B token ids in and the B×V logits out. Twin of `crates/wasm/src/infer.rs`.
use crate::error::IntoNapi;
use crate::model::LstmModel;
use crate::slot::Slot;
use napi::bindgen_prelude::{Float32Array, Uint32Array, Uint8Array};
use napi_derive::napi;
use quire_core::format::metadata_to_json;
use quire_core::infer::{kernel_for, Engine};

#[napi]
pub struct InferenceEngine {
    inner: Slot<Engine>,
}

#[napi]
impl InferenceEngine {
    /// Loads a compressed or full-precision model file; `kernel` is `auto`, `lut-i8`, `lut-f32` or `popcount-a<k>`.
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array, kernel: String) -> napi::Result<InferenceEngine> {
        Ok(InferenceEngine { inner: Slot::new(Engine::open(&bytes, &kernel).napi()?) })
    }

    /// An engine over the current (full-precision) weights of a model handle.
    #[napi(factory)]
    pub fn from_model(model: &LstmModel, kernel: String) -> napi::Result<InferenceEngine> {
        let kernel = kernel_for(&kernel, &model.metadata).napi()?;
        Ok(InferenceEngine { inner: Slot::new(Engine::from_model(model.inner.get()?, model.metadata.clone(), kernel).napi()?) })
    }

    #[napi]
    pub fn config_json(&self) -> napi::Result<String> {
        Ok(self.inner.get()?.config().to_json())
    }

    #[napi]
    pub fn metadata_json(&self) -> napi::Result<String> {
        Ok(metadata_to_json(self.inner.get()?.metadata()))
    }

    #[napi]
    pub fn kernel(&self) -> napi::Result<String> {
        Ok(self.inner.get()?.kernel().name().to_string())
    }

    /// `{"embedding": 32, "lstm.0.w_ih": 1, ...}`: bits per weight matrix (32 = full precision).
    #[napi]
    pub fn bits_json(&self) -> napi::Result<String> {
        Ok(self.inner.get()?.bits_json())
    }

    #[napi]
    pub fn weight_bytes(&self) -> napi::Result<f64> {
        Ok(self.inner.get()?.weight_bytes() as f64)
    }

    #[napi]
    pub fn batch(&self) -> napi::Result<u32> {
        Ok(self.inner.get()?.batch() as u32)
    }

    #[napi]
    pub fn reset(&mut self, batch: u32) -> napi::Result<()> {
        self.inner.get_mut()?.reset(batch as usize).napi()
    }

    /// Seeds the sampler (an integer; fractional parts are dropped).
    #[napi]
    pub fn seed(&mut self, seed: f64) -> napi::Result<()> {
        self.inner.get_mut()?.seed(seed as u64);
        Ok(())
    }

    #[napi]
    pub fn step(&mut self, tokens: Uint32Array) -> napi::Result<Float32Array> {
        Ok(Float32Array::new(self.inner.get_mut()?.step(&tokens).napi()?.to_vec()))
    }

    #[napi]
    pub fn evaluate(&mut self, inputs: Uint32Array, targets: Uint32Array) -> napi::Result<f64> {
        self.inner.get_mut()?.evaluate(&inputs, &targets).napi()
    }

    #[napi]
    pub fn sample(&mut self, temperature: f64, top_k: u32) -> napi::Result<Uint32Array> {
        let engine = self.inner.get_mut()?;
        let mut out = vec![0u32; engine.batch()];
        engine.sample(temperature as f32, top_k as usize, &mut out).napi()?;
        Ok(Uint32Array::new(out))
    }

    /// Releases the engine's memory now; any later call is `E_STATE`.
    #[napi]
    pub fn free(&mut self) {
        self.inner.free();
    }

    #[napi]
    pub fn top_k(&mut self, stream: u32, k: u32) -> napi::Result<Uint32Array> {
        Ok(Uint32Array::new(self.inner.get_mut()?.top_k(stream as usize, k as usize).napi()?))
    }
}
