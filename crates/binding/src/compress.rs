//! Compression: keep-masks, pruning and in-place quantization on the model handle, and the
//! Rust-owned compressed model.
use crate::json::{header_json, losses_json, metadata_from_json, metadata_to_json, parse_spec};
use crate::model::LstmModel;
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::compress::{self, CompressedModel as Core};
use quire_core::Result;

#[export]
impl LstmModel {
    /// Sets (`mask`, nonzero = keep) or clears (`null`) a tensor's keep-mask.
    pub fn set_mask(&mut self, name: String, mask: Option<&[u8]>) -> Result<()> {
        self.inner.get_mut()?.set_mask(&name, mask)
    }

    /// The 0/1 keep-mask of a tensor, or `null`.
    pub fn get_mask(&self, name: String) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.get()?.mask(&name)?.map(|m| m.to_vec()))
    }

    /// Magnitude-prunes `names` to `sparsity` (`scope`: `matrix` or `global`) and installs the masks.
    pub fn prune(&mut self, names: Vec<String>, sparsity: f64, scope: String) -> Result<()> {
        let scope = compress::PruneScope::parse(&scope)?;
        compress::prune_model(self.inner.get_mut()?, &names, sparsity, scope)
    }
}

/// A compressed model (packed binary codes + FP tensors) held by Rust.
#[export]
pub struct CompressedModel {
    inner: Slot<Core>,
    /// `{name: {error, norm}}` of the quantization that built it (`{}` when loaded).
    losses_json: String,
}

#[export]
impl CompressedModel {
    /// Quantizes the spec's tensors of `model` in place (they become `Q(W)`) and assembles the
    /// compressed model; `metadata_json` is carried into the file (string values).
    pub fn from_model(model: &mut LstmModel, spec_json: String, metadata_json: String) -> Result<CompressedModel> {
        let (selection, rows, info) = parse_spec(&spec_json)?;
        let metadata = metadata_from_json(&metadata_json)?;
        let (inner, losses) = Core::from_model(model.inner.get_mut()?, &selection, &rows, info, metadata)?;
        Ok(CompressedModel { inner: Slot::new(inner), losses_json: losses_json(&losses) })
    }

    /// Parses a compressed model file (`E_FORMAT` when malformed).
    pub fn from_bytes(bytes: &[u8]) -> Result<CompressedModel> {
        Ok(CompressedModel { inner: Slot::new(Core::from_bytes(bytes)?), losses_json: "{}".to_string() })
    }

    /// `{name: {error, norm}}` of the quantization that built it (`{}` when loaded), as JSON.
    pub fn losses_json(&self) -> String {
        self.losses_json.clone()
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.inner.get()?.to_bytes())
    }

    /// Compression metadata and part sizes as JSON (see `json.rs`).
    pub fn header_json(&self) -> Result<String> {
        Ok(header_json(self.inner.get()?))
    }

    /// Caller metadata carried in the file (e.g. the vocabulary), as JSON.
    pub fn metadata_json(&self) -> Result<String> {
        Ok(metadata_to_json(&self.inner.get()?.metadata))
    }

    /// A model holding the dequantized weights (and the masks), with the file's metadata.
    pub fn to_model(&self) -> Result<LstmModel> {
        let inner = self.inner.get()?;
        Ok(LstmModel { inner: Slot::new(inner.to_model()?), metadata: inner.metadata.clone() })
    }

    /// Scale tuning: re-fits the scales to `model`'s current weights with the codes fixed,
    /// writes the result back into `model` and takes its FP tensors; the losses as JSON.
    pub fn refit_scales(&mut self, model: &mut LstmModel) -> Result<String> {
        let losses = self.inner.get_mut()?.refit_scales(model.inner.get_mut()?)?;
        Ok(losses_json(&losses))
    }

    /// Quantizes `model`'s current weights again in this model's layout (row bits, masks),
    /// writes the result back into `model` and takes its FP tensors; the losses as JSON.
    pub fn requantize(&mut self, model: &mut LstmModel) -> Result<String> {
        let losses = self.inner.get_mut()?.requantize(model.inner.get_mut()?)?;
        Ok(losses_json(&losses))
    }

    /// Releases the compressed model's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
