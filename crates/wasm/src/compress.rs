//! Compression: keep-masks, pruning and in-place quantization on the model handle, and the
//! Rust-owned compressed model. Twin of `crates/node/src/compress.rs`.
use crate::error::{IntoJs, WasmResult};
use crate::model::LstmModel;
use quire_core::compress::{self, CompressedModel as Core};
use quire_core::format::{metadata_from_json, metadata_to_json};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl LstmModel {
    /// Sets (`mask`, nonzero = keep) or clears (`null`) a tensor's keep-mask.
    #[wasm_bindgen(js_name = setMask)]
    pub fn set_mask(&mut self, name: String, mask: Option<Vec<u8>>) -> WasmResult<()> {
        self.inner.set_mask(&name, mask.as_deref()).js()
    }

    /// The 0/1 keep-mask of a tensor, or `null`.
    #[wasm_bindgen(js_name = getMask)]
    pub fn get_mask(&self, name: String) -> WasmResult<Option<Vec<u8>>> {
        Ok(self.inner.mask(&name).js()?.map(<[u8]>::to_vec))
    }

    /// Magnitude-prunes `names` to `sparsity` (`scope`: `matrix` or `global`) and installs the masks.
    pub fn prune(&mut self, names: Vec<String>, sparsity: f64, scope: String) -> WasmResult<()> {
        let scope = compress::PruneScope::parse(&scope).js()?;
        compress::prune_model(&mut self.inner, &names, sparsity, scope).js()
    }
}

/// A compressed model (packed binary codes + FP tensors) held by Rust.
#[wasm_bindgen]
pub struct CompressedModel {
    inner: Core,
    /// `{name: {error, norm}}` of the quantization that built it (`{}` when loaded).
    losses_json: String,
}

#[wasm_bindgen]
impl CompressedModel {
    /// Quantizes the spec's tensors of `model` in place (they become `Q(W)`) and assembles the
    /// compressed model; `metadata_json` is carried into the file (string values).
    #[wasm_bindgen(js_name = fromModel)]
    pub fn from_model(model: &mut LstmModel, spec_json: String, metadata_json: String) -> WasmResult<CompressedModel> {
        let (selection, info) = compress::parse_spec(&spec_json).js()?;
        let metadata = metadata_from_json(&metadata_json).js()?;
        let (inner, losses) = Core::from_model(&mut model.inner, &selection, info, metadata).js()?;
        Ok(CompressedModel { inner, losses_json: compress::losses_json(&losses) })
    }

    /// Parses a compressed model file (`E_FORMAT` when malformed).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> WasmResult<CompressedModel> {
        Ok(CompressedModel { inner: Core::from_bytes(bytes).js()?, losses_json: "{}".to_string() })
    }

    /// `{name: {error, norm}}` of the quantization that built it (`{}` when loaded), as JSON.
    #[wasm_bindgen(js_name = lossesJson)]
    pub fn losses_json(&self) -> String {
        self.losses_json.clone()
    }

    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// Compression metadata and part sizes as JSON (see `quire_core::compress::spec`).
    #[wasm_bindgen(js_name = headerJson)]
    pub fn header_json(&self) -> String {
        compress::header_json(&self.inner)
    }

    /// Caller metadata carried in the file (e.g. the vocabulary), as JSON.
    #[wasm_bindgen(js_name = metadataJson)]
    pub fn metadata_json(&self) -> String {
        metadata_to_json(&self.inner.metadata)
    }

    /// A model holding the dequantized weights (and the masks), with the file's metadata.
    #[wasm_bindgen(js_name = toModel)]
    pub fn to_model(&self) -> WasmResult<LstmModel> {
        Ok(LstmModel { inner: self.inner.to_model().js()?, metadata: self.inner.metadata.clone() })
    }
}
