//! The JSON forms in which requests and answers cross the boundary (the core works on typed
//! values; these are the binding's business).
//!
//! Spec (request of `CompressedModel.fromModel`): `{"method": "alternating", "cycles": 2,
//! "groupSize": 0, "layers": "lstm", "sparsity": 0.5, "fpModelBytes": 18600000, "tensors":
//! {"lstm.0.w_ih": 1, ...}, "rows": {"softmax.weight": {"maxBits": 4, "importance": [..], "meanBits": 1.5}}}` —
//! the tensors to quantize with their bits; method, cycles and group size apply to all of them;
//! the optional `rows` gives tensors mixed precision across their rows (`importance`: one weight
//! per row, or absent; `meanBits`: a mean below the tensor's bits, or absent). Header (answer of [`header_json`]): the file's compression metadata
//! plus its part sizes. Metadata: a JSON object of strings.

use quire_core::compress::{self, CompressedModel, CompressionInfo, QuantLoss, GATE_ORDER};
use quire_core::quant::{Method, QuantConfig, RowAllocation};
use quire_core::{Error, Result};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Parses a JSON object whose values are all strings (`E_CONFIG` otherwise).
pub fn metadata_from_json(text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| Error::config(format!("metadata must be a JSON object of strings: {e}")))
}

pub fn metadata_to_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).expect("string map serialises")
}

/// `{"<tensor>": {"error": …, "norm": …, "relative": …}, …}`: the losses of
/// `CompressedModel::from_model`, with [`QuantLoss::relative`].
pub fn losses_json(losses: &BTreeMap<String, QuantLoss>) -> String {
    #[derive(serde::Serialize)]
    struct Loss {
        error: f64,
        norm: f64,
        relative: f64,
    }
    let out: BTreeMap<&String, Loss> =
        losses.iter().map(|(n, l)| (n, Loss { error: l.error, norm: l.norm, relative: l.relative() })).collect();
    serde_json::to_string(&out).expect("a map of numbers serialises")
}

/// `{"embedding": 32, "lstm.0.w_ih": 1, ...}`: an engine's bits per weight matrix.
pub fn bits_json(bits: Vec<(String, usize)>) -> String {
    serde_json::to_string(&bits.into_iter().collect::<BTreeMap<_, _>>()).expect("map serialises")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Spec {
    method: String,
    cycles: usize,
    group_size: usize,
    layers: String,
    sparsity: f64,
    fp_model_bytes: u64,
    tensors: BTreeMap<String, usize>,
    #[serde(default)]
    rows: BTreeMap<String, RowsSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RowsSpec {
    max_bits: usize,
    #[serde(default)]
    mean_bits: Option<f64>,
    #[serde(default)]
    importance: Option<Vec<f32>>,
}

/// What [`parse_spec`] reads: the selection, the mixed-precision tensors and the recorded info.
pub type ParsedSpec = (Vec<(String, QuantConfig)>, BTreeMap<String, RowAllocation>, CompressionInfo);

/// Parses a spec into the selection (tensor → config, in name order), the row allocations and
/// the recorded info. Malformed JSON, an unknown method or a bad config is `E_CONFIG`.
pub fn parse_spec(text: &str) -> Result<ParsedSpec> {
    let s: Spec = serde_json::from_str(text).map_err(|e| Error::config(format!("compression spec: {e}")))?;
    let method = Method::parse(&s.method)?;
    compress::prune::check_sparsity(s.sparsity)?;
    let selection = s
        .tensors
        .into_iter()
        .map(|(name, bits)| {
            let cfg = QuantConfig { bits, method, cycles: s.cycles, group_size: s.group_size };
            cfg.validate().map(|()| (name, cfg))
        })
        .collect::<Result<Vec<_>>>()?;
    let info = CompressionInfo {
        method,
        cycles: s.cycles,
        group_size: s.group_size,
        layers: s.layers,
        sparsity: s.sparsity,
        fp_model_bytes: s.fp_model_bytes,
    };
    let rows = s
        .rows
        .into_iter()
        .map(|(name, r)| (name, RowAllocation { max_bits: r.max_bits, importance: r.importance, mean_bits: r.mean_bits }))
        .collect();
    Ok((selection, rows, info))
}

/// `{"format", "config", "bits": {name: k}, "method", "cycles", "groupSize", "layers",
/// "sparsity", "gateOrder", "fpModelBytes", "quantizedWeights", "quantizedBytes", "fpParams",
/// "fpBytes", "bitsPerQuantizedWeight", "masked": [names], "activationBits": k | null,
/// "meanBits": {name: mean bits per weight}, "rowBits": {name: {bits: rows with them}} (mixed
/// precision only)}` of a compressed model; `bits` is a mixed matrix's most bits of a row.
pub fn header_json(m: &CompressedModel) -> String {
    let s = m.stats();
    let bits: BTreeMap<&str, usize> = m.quantized.iter().map(|q| (q.name.as_str(), q.matrix.bits())).collect();
    let masked: Vec<&str> = m.quantized.iter().filter(|q| q.matrix.mask().is_some()).map(|q| q.name.as_str()).collect();
    json!({
        "format": compress::file::COMPRESSED_FORMAT,
        "config": serde_json::to_value(&m.config).expect("config serialises"),
        "bits": bits,
        "method": m.info.method.name(),
        "cycles": m.info.cycles,
        "groupSize": m.info.group_size,
        "layers": m.info.layers,
        "sparsity": m.info.sparsity,
        "gateOrder": GATE_ORDER,
        "fpModelBytes": m.info.fp_model_bytes,
        "quantizedWeights": s.quantized_weights,
        "quantizedBytes": s.quantized_bytes,
        "fpParams": s.fp_params,
        "fpBytes": s.fp_bytes,
        "bitsPerQuantizedWeight": s.bits_per_quantized_weight(),
        "masked": masked,
        "meanBits": m.quantized.iter().map(|q| (q.name.as_str(), q.matrix.mean_bits())).collect::<BTreeMap<_, _>>(),
        "rowBits": m.quantized.iter().filter_map(|q| q.matrix.row_bits().map(|rb| (q.name.as_str(), histogram(rb)))).collect::<BTreeMap<_, _>>(),
        // Validated when the model was built or read, so an error cannot occur here.
        "activationBits": compress::activation_bits(&m.metadata).ok().flatten(),
    })
    .to_string()
}

/// `{bits: rows with that many}` of a mixed-precision matrix's row bits.
fn histogram(row_bits: &[u8]) -> BTreeMap<u8, usize> {
    let mut out = BTreeMap::new();
    for &b in row_bits {
        *out.entry(b).or_default() += 1;
    }
    out
}
