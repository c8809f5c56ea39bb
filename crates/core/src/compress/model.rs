//! [`CompressedModel`]: a model whose selected matrices are stored as packed binary codes
//! (bit-planes + scales + optional bit-packed keep-mask, see [`crate::quant::packed`]) and
//! whose other tensors stay full precision. This is what `quire compress` exports and what
//! inference engines load; [`CompressedModel::dequantize_into`] turns it back into an
//! [`LstmModel`] whose matrices equal `Q(W)` exactly.

use super::quantize::{quantize_tensor, QuantLoss};
use crate::error::{Error, Result};
use crate::lstm::{ActivationQuant, LstmConfig, LstmModel};
use crate::quant::{check_bits, BinaryMatrix, Method, QuantConfig, RowAllocation, MAX_BITS};
use std::collections::BTreeMap;

/// Gate order of every `[4H, ·]` LSTM matrix and `[4H]` bias (rows `0..H` = input gate, ...).
pub const GATE_ORDER: &str = "i,f,g,o";

/// `E_FORMAT` when a file's `gateOrder` metadata names another order than [`GATE_ORDER`], the
/// only layout the kernels compute (a file from another tool would otherwise run with its gates
/// mixed up). Files without the key are quire's own FP models and checkpoints.
pub fn check_gate_order(metadata: &BTreeMap<String, String>) -> Result<()> {
    match metadata.get("gateOrder") {
        Some(order) if order != GATE_ORDER => Err(Error::format(format!(
            "metadata 'gateOrder' is '{order}', but quire lays out the LSTM gates as {GATE_ORDER} only: \
             reorder the gate blocks of the matrices and biases and write '{GATE_ORDER}'"
        ))),
        _ => Ok(()),
    }
}

/// Caller metadata of a model retrained with quantized activations (`quire compress
/// --activation-bits`): their greedy bits per vector.
pub const ACTIVATION_BITS_KEY: &str = "activation_bits";

/// The activation bits `metadata` records, if any; `E_FORMAT` unless they pass [`check_bits`].
pub fn activation_bits(metadata: &BTreeMap<String, String>) -> Result<Option<usize>> {
    match metadata.get(ACTIVATION_BITS_KEY) {
        None => Ok(None),
        Some(k) => match k.parse::<usize>() {
            Ok(bits) if check_bits(bits).is_ok() => Ok(Some(bits)),
            _ => Err(Error::format(format!("metadata '{ACTIVATION_BITS_KEY}' must be 1 to {MAX_BITS} (got '{k}')"))),
        },
    }
}

/// How the model was compressed (recorded in the file header).
#[derive(Debug, Clone, PartialEq)]
pub struct CompressionInfo {
    pub method: Method,
    /// Rounds of the alternating solver.
    pub cycles: usize,
    /// Columns per scale group (0 = whole row).
    pub group_size: usize,
    /// The selection as given by the user (`lstm`, `lstm,softmax`, `all`).
    pub layers: String,
    /// Target fraction of pruned weights in the quantized matrices (0 = none).
    pub sparsity: f64,
    /// Size in bytes of the full-precision model file (`quire-model`) it was made from.
    pub fp_model_bytes: u64,
}

/// One quantized matrix of the model.
pub struct QuantizedTensor {
    pub name: String,
    pub matrix: BinaryMatrix,
}

/// Config + caller metadata (vocabulary, ...) + FP tensors + quantized tensors. Every tensor
/// of the model with `config` appears exactly once, in one of the two lists, in model order.
pub struct CompressedModel {
    pub config: LstmConfig,
    pub info: CompressionInfo,
    /// Extra string metadata carried in the file (e.g. the vocabulary); no reserved keys.
    pub metadata: BTreeMap<String, String>,
    /// Full-precision tensors: `(name, shape, values)`.
    pub fp: Vec<(String, Vec<usize>, Vec<f32>)>,
    pub quantized: Vec<QuantizedTensor>,
}

/// Sizes of a compressed model's parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressedStats {
    /// Weights stored as binary codes.
    pub quantized_weights: usize,
    /// Bytes of their planes, scales and masks as stored in the file (tight bit streams).
    pub quantized_bytes: usize,
    /// Parameters kept in full precision, and their bytes.
    pub fp_params: usize,
    pub fp_bytes: usize,
}

impl CompressedStats {
    /// Bits per quantized weight, scales and masks included.
    pub fn bits_per_quantized_weight(&self) -> f64 {
        if self.quantized_weights == 0 {
            0.0
        } else {
            8.0 * self.quantized_bytes as f64 / self.quantized_weights as f64
        }
    }
}

impl CompressedModel {
    /// Quantizes `selection` (tensor name → its config; masks set on the model are used) in
    /// place — the model's matrices become `Q(W)` — and assembles the compressed model from it;
    /// the tensors named in `mixed` get mixed precision across their rows at their config's bits
    /// ([`crate::quant::mixed`]). Returns it with the loss of each selected tensor, keyed by name.
    /// Errors: `E_CONFIG` (unknown/duplicate/1-D tensor, bad config or allocation, a mixed
    /// tensor not selected, reserved metadata key, activation bits outside 1..=8).
    pub fn from_model(
        model: &mut LstmModel,
        selection: &[(String, QuantConfig)],
        mixed: &BTreeMap<String, RowAllocation>,
        info: CompressionInfo,
        metadata: BTreeMap<String, String>,
    ) -> Result<(CompressedModel, BTreeMap<String, QuantLoss>)> {
        check_metadata_keys(&metadata)?;
        crate::format::check_metadata_fits(&metadata)?;
        activation_bits(&metadata).map_err(|e| Error::config(e.message))?;
        let names = model.tensor_names();
        for (i, (name, cfg)) in selection.iter().enumerate() {
            cfg.validate()?;
            if !names.contains(name) {
                return Err(Error::config(format!("no tensor '{name}' (have: {})", names.join(", "))));
            }
            if selection[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::config(format!("tensor '{name}' is selected twice")));
            }
        }
        if let Some(name) = mixed.keys().find(|n| !selection.iter().any(|(s, _)| s == *n)) {
            return Err(Error::config(format!("tensor '{name}' has a row allocation but is not quantized")));
        }
        let mut quantized = Vec::new();
        let mut losses = BTreeMap::new();
        for (name, cfg) in selection {
            let (matrix, loss) = quantize_tensor(model, name, cfg, mixed.get(name))?;
            quantized.push(QuantizedTensor { name: name.clone(), matrix });
            losses.insert(name.clone(), loss);
        }
        let mut fp = Vec::new();
        for name in names.iter().filter(|n| !selection.iter().any(|(s, _)| s == *n)) {
            fp.push((name.clone(), model.tensor_shape(name)?, model.get_tensor(name)?));
        }
        let config = model.config().clone();
        Ok((CompressedModel { config, info, metadata, fp, quantized }, losses))
    }

    /// Writes every tensor into `model` (FP values; `Q(W)` for quantized ones) and installs the
    /// quantized tensors' masks (so retraining keeps pruned entries at 0); clears other masks.
    /// `E_CONFIG` when the model's config differs in shape (vocab, hidden, layers, tied, cut-offs).
    pub fn dequantize_into(&self, model: &mut LstmModel) -> Result<()> {
        self.check_shape(model)?;
        for (name, _, values) in &self.fp {
            model.set_mask(name, None)?;
            model.set_tensor(name, values)?;
        }
        for q in &self.quantized {
            model.set_mask(&q.name, None)?;
            model.set_tensor(&q.name, &q.matrix.dequantize())?;
            if let Some(words) = q.matrix.mask() {
                model.set_mask(&q.name, Some(&unpack_mask(words, q.matrix.rows(), q.matrix.cols())))?;
            }
        }
        Ok(())
    }

    /// `E_CONFIG` when `model`'s config differs from this one in shape (vocab, hidden, layers, tied, cut-offs).
    fn check_shape(&self, model: &LstmModel) -> Result<()> {
        let c = model.config();
        let s = &self.config;
        let (mine, theirs) = ((c.vocab, c.hidden, c.layers, c.tied, &c.cutoffs), (s.vocab, s.hidden, s.layers, s.tied, &s.cutoffs));
        if mine != theirs {
            return Err(Error::config(format!(
                "model shape (vocab {}, hidden {}, layers {}, tied {}, cut-offs {:?}) differs from the compressed model's ({}, {}, {}, {}, {:?})",
                mine.0, mine.1, mine.2, mine.3, mine.4, theirs.0, theirs.1, theirs.2, theirs.3, theirs.4
            )));
        }
        Ok(())
    }

    /// Scale tuning: re-fits every quantized tensor's scales to `model`'s current values of it
    /// with the codes and masks fixed ([`BinaryMatrix::refit_scales`]), writes the result back
    /// into `model` (so it holds exactly this compressed model again) and takes `model`'s FP
    /// tensors. Returns the loss of the projection per quantized tensor.
    /// `E_CONFIG` when the model's shape differs; `E_NONFINITE` when its weights are not finite
    /// (nothing is changed then).
    pub fn refit_scales(&mut self, model: &mut LstmModel) -> Result<BTreeMap<String, QuantLoss>> {
        self.replace_from(model, |m, w| m.refit_scales(w))
    }

    /// Quantizes `model`'s current values of every quantized tensor again in its layout (bits
    /// per row, mask, groups; [`BinaryMatrix::requantize`] with this model's solver, scales
    /// rounded to f16), writes the result back into `model` and takes `model`'s FP tensors:
    /// [`CompressedModel::from_model`] without the row-bit allocation of mixed-precision
    /// matrices (equal to it for uniform ones). Returns the quantization loss per tensor.
    /// Errors as [`CompressedModel::refit_scales`].
    pub fn requantize(&mut self, model: &mut LstmModel) -> Result<BTreeMap<String, QuantLoss>> {
        let (method, cycles) = (self.info.method, self.info.cycles);
        self.replace_from(model, |m, w| m.requantize(w, method, cycles)?.with_half_scales())
    }

    /// Every quantized matrix replaced by `make(matrix, model's values of it)`, the model set to
    /// their dequantized values and the FP tensors taken from it; all or nothing.
    fn replace_from(
        &mut self,
        model: &mut LstmModel,
        make: impl Fn(&BinaryMatrix, &[f32]) -> Result<BinaryMatrix>,
    ) -> Result<BTreeMap<String, QuantLoss>> {
        self.check_shape(model)?;
        // (matrix, its dequantized values, the loss against the trained weights) per tensor.
        let mut replaced = Vec::with_capacity(self.quantized.len());
        for q in &self.quantized {
            let w = model.get_tensor(&q.name)?;
            let matrix = make(&q.matrix, &w)?;
            let hat = matrix.dequantize();
            let loss = QuantLoss::between(&w, &hat);
            replaced.push((matrix, hat, loss));
        }
        let mut fp = Vec::with_capacity(self.fp.len());
        for (name, shape, _) in &self.fp {
            let values = model.get_tensor(name)?;
            crate::error::check_finite(name, &values)?;
            fp.push((name.clone(), shape.clone(), values));
        }
        let mut losses = BTreeMap::new();
        for (q, (matrix, hat, loss)) in self.quantized.iter_mut().zip(replaced) {
            model.set_tensor(&q.name, &hat)?;
            q.matrix = matrix;
            losses.insert(q.name.clone(), loss);
        }
        self.fp = fp;
        Ok(losses)
    }

    /// The activation quantization the model was retrained with ([`ACTIVATION_BITS_KEY`]): the
    /// LSTM products' inputs, and the softmax input when the softmax is quantized, as the
    /// engine's `popcount-a<k>` kernel binarizes every packed product's input. A tied model's
    /// softmax is quantized when its embedding is.
    pub fn activation_quant(&self) -> Result<Option<ActivationQuant>> {
        let weight = match (self.config.tied, self.config.cutoffs.is_empty()) {
            (true, _) => "embedding",
            (false, true) => "softmax.weight",
            (false, false) => "softmax.head.weight",
        };
        let softmax = self.quantized.iter().any(|q| q.name == weight);
        activation_bits(&self.metadata)?.map(|bits| ActivationQuant::new(bits, softmax)).transpose()
    }

    /// A new model with this config (its PRNG seeded from the config) holding the dequantized
    /// weights, quantizing its activations as the model was retrained ([`Self::activation_quant`]),
    /// so that it computes what the packed engine computes.
    pub fn to_model(&self) -> Result<LstmModel> {
        let mut model = LstmModel::new(self.config.clone())?;
        self.dequantize_into(&mut model)?;
        model.set_activation_quant(self.activation_quant()?);
        Ok(model)
    }

    /// Sizes of the parts as stored in the file (tensor payloads only; the file adds its JSON header).
    pub fn stats(&self) -> CompressedStats {
        let mut s = CompressedStats { quantized_weights: 0, quantized_bytes: 0, fp_params: 0, fp_bytes: 0 };
        for q in &self.quantized {
            let m = &q.matrix;
            s.quantized_weights += m.rows() * m.cols();
            let stream = |segments, cols| 8 * super::bits::stream_words(segments, cols);
            let codes = match m.mask() {
                None => stream(m.coded_rows(), m.cols()),
                Some(mask) => {
                    8 * super::bits::kept_codes(mask, m.rows(), m.cols(), |r| m.bits_of_row(r)).div_ceil(64) + stream(m.rows(), m.cols())
                }
            };
            let table = if m.row_bits().is_some() { stream(m.rows(), crate::quant::mixed::ROW_BITS_TABLE_BITS) } else { 0 };
            let scales = m.coded_rows() * m.groups();
            s.quantized_bytes += codes + table + super::file::scales_dtype(m.scales()).size() * scales;
        }
        for (_, _, v) in &self.fp {
            s.fp_params += v.len();
            s.fp_bytes += 4 * v.len();
        }
        s
    }
}

/// The 0/1 bytes of a bit-packed mask (`⌈cols/64⌉` words per row, LSB = first column).
fn unpack_mask(words: &[u64], rows: usize, cols: usize) -> Vec<u8> {
    crate::quant::packed::unpack_codes(words, rows, cols, 1)
}

/// Metadata keys the compressed file format writes itself (`compress::file`).
pub(super) const RESERVED: [&str; 11] =
    ["format", "version", "config", "bits", "method", "cycles", "groupSize", "layers", "sparsity", "gateOrder", "fpModelBytes"];

/// `E_CONFIG` if caller metadata uses a key the file format reserves.
fn check_metadata_keys(metadata: &BTreeMap<String, String>) -> Result<()> {
    match metadata.keys().find(|k| RESERVED.contains(&k.as_str())) {
        Some(k) => Err(Error::config(format!("metadata key '{k}' is reserved by the compressed format"))),
        None => Ok(()),
    }
}
