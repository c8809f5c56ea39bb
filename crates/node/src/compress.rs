//! Compression: keep-masks, pruning and in-place quantization on the model handle, and the
//! Rust-owned compressed model. Twin of `crates/wasm/src/compress.rs`.
use crate::error::IntoNapi;
use crate::model::LstmModel;
use crate::slot::Slot;
use napi::bindgen_prelude::Uint8Array;
use napi_derive::napi;
use quire_core::compress::{self, CompressedModel as Core};
use quire_core::format::{metadata_from_json, metadata_to_json};

#[napi]
impl LstmModel {
    /// Sets (`mask`, nonzero = keep) or clears (`null`) a tensor's keep-mask.
    #[napi]
    pub fn set_mask(&mut self, name: String, mask: Option<Uint8Array>) -> napi::Result<()> {
        self.inner.get_mut()?.set_mask(&name, mask.as_deref()).napi()
    }

    /// The 0/1 keep-mask of a tensor, or `null`.
    #[napi]
    pub fn get_mask(&self, name: String) -> napi::Result<Option<Uint8Array>> {
        Ok(self.inner.get()?.mask(&name).napi()?.map(|m| Uint8Array::new(m.to_vec())))
    }

    /// Magnitude-prunes `names` to `sparsity` (`scope`: `matrix` or `global`) and installs the masks.
    #[napi]
    pub fn prune(&mut self, names: Vec<String>, sparsity: f64, scope: String) -> napi::Result<()> {
        let scope = compress::PruneScope::parse(&scope).napi()?;
        compress::prune_model(self.inner.get_mut()?, &names, sparsity, scope).napi()
    }
}

/// A compressed model (packed binary codes + FP tensors) held by Rust.
#[napi]
pub struct CompressedModel {
    inner: Slot<Core>,
    /// `{name: {error, norm}}` of the quantization that built it (`{}` when loaded).
    losses_json: String,
}

#[napi]
impl CompressedModel {
    /// Quantizes the spec's tensors of `model` in place (they become `Q(W)`) and assembles the
    /// compressed model; `metadata_json` is carried into the file (string values).
    #[napi(factory)]
    pub fn from_model(model: &mut LstmModel, spec_json: String, metadata_json: String) -> napi::Result<CompressedModel> {
        let (selection, info) = compress::parse_spec(&spec_json).napi()?;
        let metadata = metadata_from_json(&metadata_json).napi()?;
        let (inner, losses) = Core::from_model(model.inner.get_mut()?, &selection, info, metadata).napi()?;
        Ok(CompressedModel { inner: Slot::new(inner), losses_json: compress::losses_json(&losses) })
    }

    /// Parses a compressed model file (`E_FORMAT` when malformed).
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array) -> napi::Result<CompressedModel> {
        Ok(CompressedModel { inner: Slot::new(Core::from_bytes(&bytes).napi()?), losses_json: "{}".to_string() })
    }

    /// `{name: {error, norm}}` of the quantization that built it (`{}` when loaded), as JSON.
    #[napi]
    pub fn losses_json(&self) -> String {
        self.losses_json.clone()
    }

    #[napi]
    pub fn to_bytes(&self) -> napi::Result<Uint8Array> {
        Ok(Uint8Array::new(self.inner.get()?.to_bytes()))
    }

    /// Compression metadata and part sizes as JSON (see `quire_core::compress::spec`).
    #[napi]
    pub fn header_json(&self) -> napi::Result<String> {
        Ok(compress::header_json(self.inner.get()?))
    }

    /// Caller metadata carried in the file (e.g. the vocabulary), as JSON.
    #[napi]
    pub fn metadata_json(&self) -> napi::Result<String> {
        Ok(metadata_to_json(&self.inner.get()?.metadata))
    }

    /// A model holding the dequantized weights (and the masks), with the file's metadata.
    /// Releases the compressed model's memory now; any later call is `E_STATE`.
    #[napi]
    pub fn free(&mut self) {
        self.inner.free();
    }

    #[napi]
    pub fn to_model(&self) -> napi::Result<LstmModel> {
        Ok(LstmModel { inner: Slot::new(self.inner.get()?.to_model().napi()?), metadata: self.inner.get()?.metadata.clone() })
    }
}
