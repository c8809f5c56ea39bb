//! The model in the quire container (see `crate::format`).
//!
//! Tensors: every parameter under its name (F32, see `Params`), `rng.state` (U64 [4]) and,
//! when the carried state is included, `state.h.<l>` / `state.c.<l>` (F32 [B, H]).
//! Metadata written here: `format` (one of [`MODEL_FORMATS`]), `version` ([`FORMAT_VERSION`]),
//! `config` (the [`LstmConfig`] as JSON) and, with state, `batch`. Callers add their own keys
//! (vocabulary, schedule, ...), which must not collide with these.

use super::config::LstmConfig;
use super::model::LstmModel;
use super::params::Params;
use crate::error::{Error, Result};
use crate::format::{read, DType, Writer};
use crate::rng::Rng;
use std::collections::BTreeMap;

/// Version of the model layout inside the container.
pub const FORMAT_VERSION: &str = "1";
/// `quire-checkpoint` (training state included) and `quire-model` (weights for inference).
pub const MODEL_FORMATS: [&str; 2] = ["quire-checkpoint", "quire-model"];
const RESERVED: [&str; 4] = ["format", "version", "config", "batch"];

impl LstmModel {
    /// Serialises the model. `format` must be one of [`MODEL_FORMATS`]; `extra` metadata keys
    /// must not be reserved, and a `gateOrder` must be `i,f,g,o` (`E_CONFIG`). With `with_state` the carried `(h, c)` is included.
    pub fn to_bytes(&self, format: &str, extra: &BTreeMap<String, String>, with_state: bool) -> Result<Vec<u8>> {
        if !MODEL_FORMATS.contains(&format) {
            return Err(Error::config(format!("format must be one of {MODEL_FORMATS:?} (got '{format}')")));
        }
        if let Some(k) = extra.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(Error::config(format!("metadata key '{k}' is reserved")));
        }
        crate::format::check_metadata_fits(extra)?;
        crate::compress::check_gate_order(extra).map_err(|e| Error::config(e.message))?;
        let mut w = Writer::new();
        for (k, v) in extra {
            w.meta(k, v.clone());
        }
        w.meta("format", format).meta("version", FORMAT_VERSION).meta("config", self.config.to_json());
        for t in &self.params.tensors {
            w.f32(&t.name, &t.shape, &t.data);
        }
        w.u64("rng.state", &[4], &self.rng.state());
        if with_state {
            w.meta("batch", self.batch.to_string());
            for l in 0..self.config.layers {
                w.f32(&format!("state.h.{l}"), &[self.batch, self.config.hidden], &self.state_h[l]);
                w.f32(&format!("state.c.{l}"), &[self.batch, self.config.hidden], &self.state_c[l]);
            }
        }
        Ok(w.finish())
    }

    /// Loads a model written by [`LstmModel::to_bytes`]; returns it with all metadata.
    /// Anything malformed (layout, unknown format or version, missing or mis-shaped tensor,
    /// non-finite weight) is `E_FORMAT`. Without state in the file the state is one zero stream.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, BTreeMap<String, String>)> {
        let c = read(bytes)?;
        let format = c.meta("format")?;
        if !MODEL_FORMATS.contains(&format) {
            return Err(Error::format(format!("not a quire model file (format '{format}')")));
        }
        let version = c.meta("version")?;
        if version != FORMAT_VERSION {
            return Err(Error::format(format!("unsupported model version '{version}' (this build reads {FORMAT_VERSION})")));
        }
        crate::compress::check_gate_order(&c.metadata)?;
        let config = LstmConfig::from_json(c.meta("config")?).map_err(|e| Error::format(e.message))?;
        // Every size below comes from the header: check the file holds it before allocating.
        for (name, shape) in super::params::tensor_layout(&config) {
            c.expect(&name, DType::F32, &shape)?;
        }
        if config.tied && c.tensors.contains_key("softmax.weight") {
            return Err(Error::format(
                "the config says tied (the embedding is the softmax weight) but the file holds a 'softmax.weight' tensor",
            ));
        }
        config.check_memory()?;
        let mut params = Params::zeros(&config);
        for t in &mut params.tensors {
            c.f32_into(&t.name, &t.shape, &mut t.data)?;
            if t.data.iter().any(|v| !v.is_finite()) {
                return Err(Error::format(format!("tensor '{}' holds non-finite values", t.name)));
            }
        }
        let s = c.u64s("rng.state", &[4])?;
        let mut model = LstmModel::assemble(config, params, Rng::from_state([s[0], s[1], s[2], s[3]]));
        if let Some(b) = c.metadata.get("batch") {
            let batch: usize = b.parse().map_err(|_| Error::format(format!("metadata 'batch' is not a number: '{b}'")))?;
            let hd = model.config.hidden;
            for l in 0..model.config.layers {
                for part in ["h", "c"] {
                    c.expect(&format!("state.{part}.{l}"), DType::F32, &[batch, hd])?;
                }
            }
            model.reset_state(batch).map_err(|e| Error::format(e.message))?;
            for l in 0..model.config.layers {
                c.f32_into(&format!("state.h.{l}"), &[batch, hd], &mut model.state_h[l])?;
                c.f32_into(&format!("state.c.{l}"), &[batch, hd], &mut model.state_c[l])?;
            }
        }
        Ok((model, c.metadata.clone()))
    }
}
