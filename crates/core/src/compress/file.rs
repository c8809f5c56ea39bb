//! The compressed model file (`format: "quire-compressed"`, version [`COMPRESSED_VERSION`]) in
//! the quire container (safetensors layout, see [`crate::format`]).
//!
//! Tensors: each full-precision tensor under its model name (F32, model shape); each quantized
//! matrix `W` (`rows×cols`, `k` bits, `groups` scale groups per row) as
//! - `W.planes` U64 `[⌈rows·k·cols/64⌉]`: the bit-planes of [`crate::quant::packed`] as one
//!   tight stream (see [`super::bits`]): row `r` of plane `i` is bits `(r·k + i)·cols ..` (LSB
//!   first), column `j` at offset `j`, set = +1; no per-row padding, trailing bits 0,
//! - `W.scales` F16 `[rows, groups, k]` (version 3; F32 when a scale is not an f16, and in
//!   versions 1–2): `α_i` per row and group,
//! - `W.mask` U64 `[⌈rows·cols/64⌉]` (pruned models only): bit `r·cols + j` set = weight kept;
//!   pruned weights decode to exactly 0,
//! - with a mask, `W.codes` U64 `[⌈k·kept/64⌉]` replaces `W.planes` (version 2): the code bits of
//!   the kept weights only, row by row, plane by plane, kept columns in order (see
//!   [`super::bits::pack_kept`]), so 1 bit + 50 % pruning costs 0.5 + 1 bits per weight, not 2.
//! - a mixed-precision matrix (version 4, [`crate::quant::mixed`]) adds `W.rowbits` U64
//!   `[⌈3·rows/64⌉]`: row `r`'s bit count (0–7; 0 = a row of zeros) in bits `3r .. 3r+3` (LSB first); its
//!   planes, codes and scales then hold only the planes each row uses (row `r` has
//!   `row_bits[r]`, so `W.planes` is `Σ row_bits` segments and `W.scales` F16/F32
//!   `[Σ row_bits · groups]`, row by row, group by group), and metadata `bits` is the largest
//!   row's. Files without a mixed matrix are written as version 3.
//!
//! Metadata (strings): `format`, `version`, `config` (the [`LstmConfig`] JSON), `bits` (JSON
//! object: quantized tensor name → bits), `method`, `cycles`, `groupSize`, `layers`,
//! `sparsity`, `gateOrder` ([`GATE_ORDER`]), `fpModelBytes`; any other key is caller metadata
//! (e.g. the vocabulary) and is carried through unchanged.

use super::bits::{expand, pack_kept, squeeze, stream_words, unpack_kept};
use super::model::{CompressedModel, CompressionInfo, QuantizedTensor, GATE_ORDER, RESERVED};
use crate::error::{Error, Result};
use crate::format::half::all_f16;
use crate::format::{read, Container, DType, Writer};
use crate::lstm::{tensor_layout, LstmConfig};
use crate::quant::{BinaryMatrix, Method};
use std::collections::BTreeMap;

pub const COMPRESSED_FORMAT: &str = "quire-compressed";
pub const COMPRESSED_VERSION: &str = "4";
/// The version written when no matrix is mixed-precision (readable by builds from before version 4).
const UNIFORM_VERSION: &str = "3";
/// Versions this build reads: 1 stored the codes of pruned weights too (`W.planes` always);
/// 1 and 2 store every scale as F32; 4 adds mixed-precision rows.
const READABLE_VERSIONS: [&str; 4] = ["1", "2", "3", "4"];
/// Bits per row of the `W.rowbits` table.
const ROW_BITS_WIDTH: usize = crate::quant::mixed::ROW_BITS_TABLE_BITS;

impl CompressedModel {
    /// The file bytes (layout in the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        for (k, v) in &self.metadata {
            w.meta(k, v.clone());
        }
        let bits: BTreeMap<&str, usize> = self.quantized.iter().map(|q| (q.name.as_str(), q.matrix.bits())).collect();
        let mixed = self.quantized.iter().any(|q| q.matrix.row_bits().is_some());
        w.meta("format", COMPRESSED_FORMAT)
            .meta("version", if mixed { COMPRESSED_VERSION } else { UNIFORM_VERSION })
            .meta("config", self.config.to_json())
            .meta("bits", serde_json::to_string(&bits).expect("map serialises"))
            .meta("method", self.info.method.name())
            .meta("cycles", self.info.cycles.to_string())
            .meta("groupSize", self.info.group_size.to_string())
            .meta("layers", self.info.layers.clone())
            .meta("sparsity", self.info.sparsity.to_string())
            .meta("gateOrder", GATE_ORDER)
            .meta("fpModelBytes", self.info.fp_model_bytes.to_string());
        let order = tensor_layout(&self.config);
        for (name, _) in &order {
            if let Some((_, shape, values)) = self.fp.iter().find(|(n, _, _)| n == name) {
                w.f32(name, shape, values);
            } else if let Some(q) = self.quantized.iter().find(|q| &q.name == name) {
                let m = &q.matrix;
                let (r, c, coded) = (m.rows(), m.cols(), m.coded_rows());
                let planes = m.compact_planes();
                match m.mask() {
                    None => w.u64(&format!("{name}.planes"), &[stream_words(coded, c)], &squeeze(&planes, coded, c)),
                    Some(mask) => {
                        let codes = pack_kept(&planes, mask, r, c, |row| m.bits_of_row(row));
                        w.u64(&format!("{name}.codes"), &[codes.len()], &codes);
                        w.u64(&format!("{name}.mask"), &[stream_words(r, c)], &squeeze(mask, r, c))
                    }
                };
                let scales = m.compact_scales();
                let shape = match m.row_bits() {
                    None => vec![r, m.groups(), m.bits()],
                    Some(rb) => {
                        let table: Vec<u64> = rb.iter().map(|&b| u64::from(b)).collect();
                        w.u64(&format!("{name}.rowbits"), &[stream_words(r, ROW_BITS_WIDTH)], &squeeze(&table, r, ROW_BITS_WIDTH));
                        vec![scales.len()]
                    }
                };
                let sname = format!("{name}.scales");
                match scales_dtype(&scales) {
                    DType::F16 => w.f16(&sname, &shape, &scales),
                    _ => w.f32(&sname, &shape, &scales),
                };
            }
        }
        w.finish()
    }

    /// Parses and fully validates a compressed model file. Everything malformed — not a
    /// compressed model, unknown version, bad metadata, a tensor missing, duplicated, unknown,
    /// mis-shaped or non-finite, padding bits set — is `E_FORMAT`.
    pub fn from_bytes(bytes: &[u8]) -> Result<CompressedModel> {
        let c = read(bytes)?;
        let format = c.meta("format")?;
        if format != COMPRESSED_FORMAT {
            return Err(Error::format(format!("not a compressed quire model (format '{format}', expected '{COMPRESSED_FORMAT}')")));
        }
        let version = c.meta("version")?;
        if !READABLE_VERSIONS.contains(&version) {
            return Err(Error::format(format!(
                "unsupported compressed model version '{version}' (this build reads {})",
                READABLE_VERSIONS.join(", ")
            )));
        }
        super::model::check_gate_order(&c.metadata)?;
        let fmt = |e: Error| Error::format(e.message);
        let config = LstmConfig::from_json(c.meta("config")?).map_err(fmt)?;
        let bits: BTreeMap<String, usize> = serde_json::from_str(c.meta("bits")?)
            .map_err(|e| Error::format(format!("metadata 'bits' must map tensor names to bit counts: {e}")))?;
        let info = CompressionInfo {
            method: Method::parse(c.meta("method")?).map_err(fmt)?,
            // Parsed as u32 so that the same files load on 64-bit hosts and wasm32.
            cycles: parse_num::<u32>(&c, "cycles")? as usize,
            group_size: parse_num::<u32>(&c, "groupSize")? as usize,
            layers: c.meta("layers")?.to_string(),
            sparsity: parse_num(&c, "sparsity")?,
            fp_model_bytes: parse_num(&c, "fpModelBytes")?,
        };
        if !(0.0..1.0).contains(&info.sparsity) {
            return Err(Error::format(format!("metadata 'sparsity' must be in [0, 1) (got {})", info.sparsity)));
        }
        let layout = tensor_layout(&config);
        if let Some(unknown) = bits.keys().find(|n| !layout.iter().any(|(l, _)| l == *n)) {
            return Err(Error::format(format!("metadata 'bits' names '{unknown}', which is not a tensor of this model")));
        }
        let mut expected = 0;
        let mut fp = Vec::new();
        let mut quantized = Vec::new();
        for (name, shape) in layout {
            match bits.get(&name) {
                None => {
                    let values = c.f32s(&name, &shape)?;
                    if values.iter().any(|v| !v.is_finite()) {
                        return Err(Error::format(format!("tensor '{name}' holds non-finite values")));
                    }
                    expected += 1;
                    fp.push((name, shape, values));
                }
                Some(&k) => {
                    let matrix = read_matrix(&c, &name, &shape, k, info.group_size)?;
                    expected += 2 + usize::from(matrix.mask().is_some()) + usize::from(matrix.row_bits().is_some());
                    quantized.push(QuantizedTensor { name, matrix });
                }
            }
        }
        if c.tensors.len() != expected {
            let known = |n: &str| {
                fp.iter().any(|(f, _, _)| f == n)
                    || quantized.iter().any(|q| {
                        n.strip_prefix(q.name.as_str()).is_some_and(|s| [".planes", ".codes", ".scales", ".mask", ".rowbits"].contains(&s))
                    })
            };
            let extra = c.tensors.keys().find(|n| !known(n)).cloned().unwrap_or_default();
            return Err(Error::format(format!("unexpected tensor '{extra}' in a compressed model")));
        }
        let metadata = c.metadata.iter().filter(|(k, _)| !RESERVED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        super::model::activation_bits(&metadata)?;
        Ok(CompressedModel { config, info, metadata, fp, quantized })
    }
}

/// How a quantized matrix's scales are stored: F16 when every one is exactly an f16 (what
/// compression makes them), else F32.
pub(super) fn scales_dtype(scales: &[f32]) -> DType {
    if all_f16(scales) {
        DType::F16
    } else {
        DType::F32
    }
}

fn parse_num<T: std::str::FromStr>(c: &Container<'_>, key: &str) -> Result<T> {
    let v = c.meta(key)?;
    v.parse().map_err(|_| Error::format(format!("metadata '{key}' is not a valid number: '{v}'")))
}

/// Reads the planes, scales, optional mask and optional row bits of the quantized matrix `name`
/// (model shape `shape`, `k` bits, the most of any row when mixed); every inconsistency is `E_FORMAT`.
fn read_matrix(c: &Container<'_>, name: &str, shape: &[usize], k: usize, group_size: usize) -> Result<BinaryMatrix> {
    let [rows, cols] = shape[..] else {
        return Err(Error::format(format!("tensor '{name}' is not a matrix and cannot be quantized")));
    };
    let in_tensor = |e: Error| Error::format(format!("quantized tensor '{name}': {}", e.message));
    crate::quant::check_bits(k).map_err(|e| Error::format(format!("tensor '{name}': {}", e.message)))?;
    let groups = cols.div_ceil(crate::quant::effective_group(group_size, cols));
    let rname = format!("{name}.rowbits");
    let row_bits: Option<Vec<u8>> = match c.tensors.contains_key(&rname) {
        true => Some(
            expand(&c.u64s(&rname, &[stream_words(rows, ROW_BITS_WIDTH)])?, rows, ROW_BITS_WIDTH)?.into_iter().map(|v| v as u8).collect(),
        ),
        false => None,
    };
    let bits_of = |r: usize| row_bits.as_ref().map_or(k, |rb| usize::from(rb[r]));
    let coded: usize = (0..rows).map(bits_of).sum();
    let sname = format!("{name}.scales");
    let scales = match &row_bits {
        None => c.floats(&sname, &[rows, groups, k])?,
        Some(_) => c.floats(&sname, &[coded * groups])?,
    };
    let mname = format!("{name}.mask");
    let mask = match c.tensors.contains_key(&mname) {
        true => Some(expand(&c.u64s(&mname, &[stream_words(rows, cols)])?, rows, cols)?),
        false => None,
    };
    let cname = format!("{name}.codes");
    let planes = match (&mask, c.tensors.contains_key(&cname)) {
        // Version 2 with a mask: codes of the kept weights only.
        (Some(m), true) => {
            let words = super::bits::kept_codes(m, rows, cols, bits_of).div_ceil(64);
            unpack_kept(&c.u64s(&cname, &[words])?, m, rows, cols, bits_of)?
        }
        (None, true) => return Err(Error::format(format!("tensor '{cname}' needs a mask '{mname}'"))),
        (_, false) => expand(&c.u64s(&format!("{name}.planes"), &[stream_words(coded, cols)])?, coded, cols)?,
    };
    match row_bits {
        None => BinaryMatrix::from_parts(rows, cols, k, group_size, scales, &planes, mask.as_deref()),
        Some(rb) => BinaryMatrix::from_compact(rows, cols, k, group_size, rb, &scales, &planes, mask.as_deref()),
    }
    .map_err(in_tensor)
}
