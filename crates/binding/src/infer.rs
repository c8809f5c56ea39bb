//! The inference engine handle: weights (packed or FP), state and buffers stay in Rust; a step
//! passes B token ids in and the B×V logits out.
use crate::json::{bits_json, metadata_to_json};
use crate::model::LstmModel;
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::infer::{kernel_for, Engine};
use quire_core::Result;

#[export]
pub struct InferenceEngine {
    inner: Slot<Engine>,
}

#[export]
impl InferenceEngine {
    /// Loads a compressed or full-precision model file; `kernel` is `auto`, `lut-i8`, `lut-f32` or `popcount-a<k>`.
    pub fn from_bytes(bytes: &[u8], kernel: String) -> Result<InferenceEngine> {
        Ok(InferenceEngine { inner: Slot::new(Engine::open(bytes, &kernel)?) })
    }

    /// An engine over the current (full-precision) weights of a model handle.
    pub fn from_model(model: &LstmModel, kernel: String) -> Result<InferenceEngine> {
        let kernel = kernel_for(&kernel, &model.metadata)?;
        Ok(InferenceEngine { inner: Slot::new(Engine::from_model(model.inner.get()?, model.metadata.clone(), kernel)?) })
    }

    pub fn config_json(&self) -> Result<String> {
        Ok(self.inner.get()?.config().to_json())
    }

    pub fn metadata_json(&self) -> Result<String> {
        Ok(metadata_to_json(self.inner.get()?.metadata()))
    }

    pub fn kernel(&self) -> Result<String> {
        Ok(self.inner.get()?.kernel().name().to_string())
    }

    /// `{"embedding": 32, "lstm.0.w_ih": 1, ...}`: bits per weight matrix (32 = full precision).
    pub fn bits_json(&self) -> Result<String> {
        Ok(bits_json(self.inner.get()?.bits()))
    }

    pub fn weight_bytes(&self) -> Result<f64> {
        Ok(self.inner.get()?.weight_bytes() as f64)
    }

    pub fn batch(&self) -> Result<u32> {
        Ok(self.inner.get()?.batch() as u32)
    }

    pub fn reset(&mut self, batch: u32) -> Result<()> {
        self.inner.get_mut()?.reset(batch as usize)
    }

    /// Seeds the sampler (an integer; fractional parts are dropped).
    pub fn seed(&mut self, seed: f64) -> Result<()> {
        self.inner.get_mut()?.seed(seed as u64);
        Ok(())
    }

    /// One step of every stream: `tokens` (one per stream) in, the B×V logits out.
    pub fn step(&mut self, tokens: &[u32]) -> Result<Vec<f32>> {
        Ok(self.inner.get_mut()?.step(tokens)?.to_vec())
    }

    /// `step` without the logits: the same state afterwards, about half the work; no logits then.
    pub fn advance(&mut self, tokens: &[u32]) -> Result<()> {
        self.inner.get_mut()?.advance(tokens)
    }

    /// The logits of the step that left the carried state (no token fed, the state unchanged).
    pub fn logits_of_state(&mut self) -> Result<Vec<f32>> {
        Ok(self.inner.get_mut()?.logits_of_state()?.to_vec())
    }

    /// `step` with the output layer computed on demand (an adaptive model: the head now, a tail
    /// cluster when `top_k`, `candidates`, `values` or `sample` needs it); nothing returned.
    pub fn feed(&mut self, tokens: &[u32]) -> Result<()> {
        self.inner.get_mut()?.feed(tokens)
    }

    /// `logits_of_state` with the output layer computed on demand, as `feed` computes it.
    pub fn output_of_state(&mut self) -> Result<()> {
        self.inner.get_mut()?.output_of_state();
        Ok(())
    }

    /// The ids of one stream (among `among`, else all) with the k largest logits and every other
    /// within `slack` of the k-th, best first (ties: lower id first).
    pub fn candidates(&mut self, stream: u32, k: u32, slack: f64, among: Option<&[u32]>) -> Result<Vec<u32>> {
        self.inner.get_mut()?.candidates(stream as usize, k as usize, slack as f32, among)
    }

    /// The logits of one stream for `ids`.
    pub fn values(&mut self, stream: u32, ids: &[u32]) -> Result<Vec<f32>> {
        self.inner.get_mut()?.values(stream as usize, ids)
    }

    /// `[computed, total]`: tail clusters of the current output computed so far, and of the model.
    pub fn tails_computed(&self) -> Result<Vec<u32>> {
        let (done, n) = self.inner.get()?.tails_computed();
        Ok(vec![done as u32, n as u32])
    }

    pub fn evaluate(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        self.inner.get_mut()?.evaluate(inputs, targets)
    }

    pub fn sample(&mut self, temperature: f64, top_k: u32) -> Result<Vec<u32>> {
        let engine = self.inner.get_mut()?;
        let mut out = vec![0u32; engine.batch()];
        engine.sample(temperature as f32, top_k as usize, &mut out)?;
        Ok(out)
    }

    pub fn top_k(&mut self, stream: u32, k: u32) -> Result<Vec<u32>> {
        self.inner.get_mut()?.top_k(stream as usize, k as usize)
    }

    /// The carried state of one stream (per layer `h`, then per layer `c`).
    pub fn state(&self, stream: u32) -> Result<Vec<f32>> {
        self.inner.get()?.state(stream as usize)
    }

    /// Replaces one stream's carried state (as `state` gives it); the last logits are dropped.
    pub fn set_state(&mut self, stream: u32, state: &[f32]) -> Result<()> {
        self.inner.get_mut()?.set_state(stream as usize, state)
    }

    /// Releases the engine's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
