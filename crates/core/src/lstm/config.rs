//! Model hyper-parameters (those that fix the parameter shapes, plus init and dropout).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Shapes and regularisation of a model. The embedding width equals `hidden`. Its JSON form has
/// exactly these keys: an unknown one (a `gateOrder`, a misspelt field) is refused, not ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    /// Vocabulary size V (embedding rows, softmax outputs).
    pub vocab: usize,
    /// Units H per LSTM layer (and embedding width).
    pub hidden: usize,
    /// Number of stacked LSTM layers.
    pub layers: usize,
    /// Every parameter is initialised uniformly in `[−init_scale, init_scale]`.
    pub init_scale: f32,
    /// Dropout probability on the non-recurrent connections (embedding → layer 0,
    /// between layers, last layer → softmax); 0 disables it. Training only.
    pub dropout: f32,
    /// Seed of the model's PRNG (initialisation, then dropout masks).
    pub seed: u64,
    /// Tied embeddings (Press & Wolf 2017; Inan et al. 2017): one `[V, H]` matrix is both the
    /// embedding and the softmax weight (the model has no `softmax.weight` tensor; the softmax
    /// keeps its own bias). Absent from the JSON of an untied model, so files without the key
    /// read as untied and untied configs serialise as before.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tied: bool,
    /// Adaptive softmax (Grave et al. 2017, PyTorch's `AdaptiveLogSoftmaxWithLoss` with
    /// `div_value` 4): the increasing cut-offs `c₀ < c₁ < … < V` of its clusters. Empty: the full
    /// softmax. Tokens `0..c₀` are the head's shortlist, cluster `i` holds `cᵢ..cᵢ₊₁` (the last
    /// ends at V), so ids must be in decreasing frequency. See `adaptive.rs`. Absent from the
    /// JSON of a full-softmax model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cutoffs: Vec<usize>,
}

/// Most clusters of an adaptive softmax.
pub const MAX_CLUSTERS: usize = 8;

fn is_false(b: &bool) -> bool {
    !*b
}

impl LstmConfig {
    /// `E_CONFIG` unless every field is in range (sizes bounded so buffers cannot overflow).
    pub fn validate(&self) -> Result<()> {
        if !(1..=1_000_000).contains(&self.vocab) {
            return Err(Error::config(format!("vocab must be in 1..=1000000 (got {})", self.vocab)));
        }
        if !(1..=8192).contains(&self.hidden) {
            return Err(Error::config(format!("hidden must be in 1..=8192 (got {})", self.hidden)));
        }
        if !(1..=16).contains(&self.layers) {
            return Err(Error::config(format!("layers must be in 1..=16 (got {})", self.layers)));
        }
        if !(self.init_scale.is_finite() && self.init_scale >= 0.0) {
            return Err(Error::config(format!("init_scale must be finite and >= 0 (got {})", self.init_scale)));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(format!("dropout must be in [0, 1) (got {})", self.dropout)));
        }
        self.validate_cutoffs()
    }

    fn validate_cutoffs(&self) -> Result<()> {
        let c = &self.cutoffs;
        if c.is_empty() {
            return Ok(());
        }
        if self.tied {
            return Err(Error::config("an adaptive softmax cannot be tied to the embedding (its weights are not one [V, H] matrix)"));
        }
        if c.len() > MAX_CLUSTERS {
            return Err(Error::config(format!("an adaptive softmax has at most {MAX_CLUSTERS} tail clusters (got {} cut-offs)", c.len())));
        }
        let increasing = c.windows(2).all(|w| w[0] < w[1]);
        if !increasing || c[0] == 0 || c[c.len() - 1] >= self.vocab {
            return Err(Error::config(format!(
                "adaptive softmax cut-offs must increase strictly within 1..{} (the vocabulary size; got {c:?})",
                self.vocab
            )));
        }
        Ok(())
    }

    /// Width of the softmax's output layer: V, or the adaptive softmax's head (shortlist plus
    /// one entry per tail cluster).
    pub fn logit_width(&self) -> usize {
        match self.cutoffs.first() {
            Some(&shortlist) => shortlist + self.cutoffs.len(),
            None => self.vocab,
        }
    }

    /// Parameters of a model with this config (`None` if the count overflows): the tensors of
    /// [`super::tensor_layout`] (embedding `V·H`, per layer `4H·H` twice and `4H`, then the
    /// softmax: `V·H + V`, only the bias `V` when tied, or the adaptive softmax's head and tails).
    pub fn parameter_count(&self) -> Option<usize> {
        super::tensor_layout(self).iter().try_fold(0usize, |sum, (_, shape)| {
            let n = shape.iter().try_fold(1usize, |p, &d| p.checked_mul(d))?;
            sum.checked_add(n)
        })
    }

    /// `E_CONFIG` unless the parameters and their gradients (2 × 4 bytes each) can be allocated.
    pub fn check_memory(&self) -> Result<()> {
        let bytes = self.parameter_count().and_then(|n| crate::memory::bytes_of(n, 8));
        crate::memory::ensure_allocatable(
            bytes,
            &format!("a model of vocabulary {}, {}×{} units (parameters and gradients)", self.vocab, self.layers, self.hidden),
        )
    }

    /// Parses the JSON form (`{"vocab":…,"hidden":…,…}`); bad JSON or values are `E_CONFIG`.
    pub fn from_json(text: &str) -> Result<Self> {
        let c: LstmConfig = serde_json::from_str(text).map_err(|e| Error::config(format!("model config: {e}")))?;
        c.validate()?;
        Ok(c)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config serialises")
    }
}
