//! Builds a container in memory: tensors are appended in order, metadata is a string map.

use super::dtype::DType;
use super::reader::{DEFLATED_METADATA, MAX_HEADER};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Metadata values at least this long are stored deflated (see [`Writer::finish`]).
pub const DEFLATE_FROM: usize = 4096;

/// Accumulates metadata and tensors, then [`Writer::finish`] lays out header and data.
#[derive(Debug, Default)]
pub struct Writer {
    metadata: BTreeMap<String, String>,
    entries: Vec<(String, DType, Vec<usize>, Vec<u8>)>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one metadata entry (later calls with the same key replace it).
    pub fn meta(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.metadata.insert(key.to_string(), value.into());
        self
    }

    pub fn f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries.push((name.to_string(), DType::F32, shape.to_vec(), bytes));
        self
    }

    /// An F16 tensor of `data` rounded to the nearest f16 (exact when the values are f16s; see
    /// [`super::half::all_f16`]).
    pub fn f16(&mut self, name: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        let bytes = data.iter().flat_map(|&v| super::half::f16_bits(v).to_le_bytes()).collect();
        self.entries.push((name.to_string(), DType::F16, shape.to_vec(), bytes));
        self
    }

    pub fn u64(&mut self, name: &str, shape: &[usize], data: &[u64]) -> &mut Self {
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries.push((name.to_string(), DType::U64, shape.to_vec(), bytes));
        self
    }

    /// The complete file: 8-byte header length, JSON header (space-padded to a multiple of 8
    /// so tensor data stays aligned), tensor bytes in insertion order. A metadata value of
    /// [`DEFLATE_FROM`] bytes or more (a model's vocabulary) is stored instead as a U8 tensor
    /// `__metadata__.<key>` of its DEFLATE stream (RFC 1951), after the other tensors, when that
    /// is smaller; [`super::read`] puts it back, so callers see the same metadata.
    pub fn finish(&self) -> Vec<u8> {
        let mut metadata = self.metadata.clone();
        let mut deflated = Vec::new();
        for (key, value) in &self.metadata {
            if value.len() >= DEFLATE_FROM {
                let stream = miniz_oxide::deflate::compress_to_vec(value.as_bytes(), 9);
                if stream.len() < value.len() {
                    metadata.remove(key);
                    deflated.push((format!("{DEFLATED_METADATA}{key}"), DType::U8, vec![stream.len()], stream));
                }
            }
        }
        let mut header = Map::new();
        header.insert("__metadata__".into(), json!(metadata));
        let mut offset = 0usize;
        for (name, dtype, shape, bytes) in self.entries.iter().chain(&deflated) {
            header.insert(name.clone(), json!({"dtype": dtype.name(), "shape": shape, "data_offsets": [offset, offset + bytes.len()]}));
            offset += bytes.len();
        }
        let mut text = Value::Object(header).to_string().into_bytes();
        while !text.len().is_multiple_of(8) {
            text.push(b' ');
        }
        let mut out = Vec::with_capacity(8 + text.len() + offset);
        out.extend_from_slice(&(text.len() as u64).to_le_bytes());
        out.extend_from_slice(&text);
        for (_, _, _, bytes) in self.entries.iter().chain(&deflated) {
            out.extend_from_slice(bytes);
        }
        out
    }
}

/// Room left in a header for the tensor entries (a few hundred names with dtype, shape, offsets).
const TENSOR_ENTRIES_RESERVE: usize = 1 << 20;

/// Checks, before anything is written, that `metadata` leaves a header every reader accepts
/// (at most 100 MiB with the tensor entries): a file quire writes, quire reads. `E_CONFIG`
/// naming the largest entry otherwise.
pub fn check_metadata_fits(metadata: &BTreeMap<String, String>) -> Result<()> {
    let size = serde_json::to_string(metadata).map(|s| s.len()).unwrap_or(usize::MAX);
    if (size.saturating_add(TENSOR_ENTRIES_RESERVE) as u64) <= MAX_HEADER {
        return Ok(());
    }
    let (key, value) = metadata.iter().max_by_key(|(_, v)| v.len()).map(|(k, v)| (k.as_str(), v.len())).unwrap_or(("", 0));
    Err(Error::config(format!(
        "the metadata would take {size} bytes of the file header, above the {MAX_HEADER} bytes readers accept \
         (largest entry '{key}': {value} bytes); a smaller vocabulary (--vocab-size) keeps it readable"
    )))
}
