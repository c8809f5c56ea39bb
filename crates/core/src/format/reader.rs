//! Parses and validates a container held in memory.

use super::dtype::DType;
use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// One tensor's description; `range` is absolute within the file bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub range: std::ops::Range<usize>,
}

/// A validated container borrowing the file bytes.
#[derive(Debug)]
pub struct Container<'a> {
    pub metadata: BTreeMap<String, String>,
    pub tensors: BTreeMap<String, TensorEntry>,
    bytes: &'a [u8],
}

/// Name prefix of the U8 tensors that hold large metadata values, deflated.
pub(crate) const DEFLATED_METADATA: &str = "__metadata__.";

/// Largest header accepted (the JSON of any quire file is far smaller; a huge length means corruption).
pub(crate) const MAX_HEADER: u64 = 100 << 20;

/// Validates `bytes` as a container: header length inside the file, JSON object, string
/// metadata, known dtypes, `product(shape) × size == end − begin`, ranges inside the data
/// section and non-overlapping. Nothing proportional to a declared size is allocated before
/// these checks pass. All failures are `E_FORMAT`.
pub fn read(bytes: &[u8]) -> Result<Container<'_>> {
    if bytes.len() < 8 {
        return Err(Error::format(format!("file is {} bytes, too short for a quire container", bytes.len())));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER {
        return Err(Error::format(format!(
            "header length {n} exceeds the limit of {MAX_HEADER} bytes (100 MiB): corrupted or not a quire file"
        )));
    }
    if n > (bytes.len() - 8) as u64 {
        return Err(Error::format(format!(
            "header length {n} does not fit in a file of {} bytes (truncated or not a quire file)",
            bytes.len()
        )));
    }
    let data_start = 8 + n as usize;
    let header: Value =
        serde_json::from_slice(&bytes[8..data_start]).map_err(|e| Error::format(format!("header is not valid JSON: {e}")))?;
    let Value::Object(map) = header else {
        return Err(Error::format("header is not a JSON object"));
    };
    let data_len = bytes.len() - data_start;
    let mut metadata = BTreeMap::new();
    let mut tensors = BTreeMap::new();
    for (name, value) in map {
        if name == "__metadata__" {
            metadata = parse_metadata(&value)?;
        } else {
            let entry = parse_entry(&name, &value, data_len)?;
            let range = entry.0 + data_start..entry.1 + data_start;
            tensors.insert(name, TensorEntry { dtype: entry.2, shape: entry.3, range });
        }
    }
    let mut ranges: Vec<(&String, &std::ops::Range<usize>)> = tensors.iter().map(|(k, t)| (k, &t.range)).collect();
    ranges.sort_by_key(|(_, r)| (r.start, r.end));
    for w in ranges.windows(2) {
        if w[1].1.start < w[0].1.end {
            return Err(Error::format(format!("tensors '{}' and '{}' overlap", w[0].0, w[1].0)));
        }
    }
    inflate_metadata(&mut metadata, &mut tensors, bytes)?;
    Ok(Container { metadata, tensors, bytes })
}

/// Moves the metadata values stored deflated (U8 tensors `__metadata__.<key>`, see
/// [`super::Writer::finish`]) back into `metadata`, each inflated to at most [`MAX_HEADER`] bytes
/// of UTF-8; a value stored twice, a bad stream or bad UTF-8 is `E_FORMAT`.
fn inflate_metadata(metadata: &mut BTreeMap<String, String>, tensors: &mut BTreeMap<String, TensorEntry>, bytes: &[u8]) -> Result<()> {
    let keys: Vec<String> = tensors.keys().filter(|n| n.starts_with(DEFLATED_METADATA)).cloned().collect();
    for name in keys {
        let t = tensors.remove(&name).expect("listed above");
        let key = &name[DEFLATED_METADATA.len()..];
        let bad = |what: String| Error::format(format!("metadata '{key}' (stored deflated): {what}"));
        if t.dtype != DType::U8 || t.shape.len() != 1 {
            return Err(bad(format!("must be a 1-D U8 tensor, not {} {:?}", t.dtype.name(), t.shape)));
        }
        let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(&bytes[t.range], MAX_HEADER as usize)
            .map_err(|e| bad(format!("not a valid DEFLATE stream of at most {MAX_HEADER} bytes ({:?})", e.status)))?;
        let value = String::from_utf8(raw).map_err(|e| bad(format!("not valid UTF-8 at byte {}", e.utf8_error().valid_up_to())))?;
        if metadata.insert(key.to_string(), value).is_some() {
            return Err(bad("stored twice, in the header and deflated".into()));
        }
    }
    Ok(())
}

fn parse_metadata(value: &Value) -> Result<BTreeMap<String, String>> {
    let Value::Object(m) = value else {
        return Err(Error::format("__metadata__ is not an object"));
    };
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(Error::format(format!("metadata '{k}' is not a string"))),
        })
        .collect()
}

/// Returns (begin, end, dtype, shape) with the byte range relative to the data section.
fn parse_entry(name: &str, value: &Value, data_len: usize) -> Result<(usize, usize, DType, Vec<usize>)> {
    let bad = |what: &str| Error::format(format!("tensor '{name}': {what}"));
    let dtype =
        DType::parse(value.get("dtype").and_then(Value::as_str).ok_or_else(|| bad("missing dtype"))?).map_err(|e| bad(&e.message))?;
    let shape: Vec<usize> = value
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("missing shape"))?
        .iter()
        .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()).ok_or_else(|| bad("shape entries must be non-negative integers")))
        .collect::<Result<_>>()?;
    let offsets = value.get("data_offsets").and_then(Value::as_array).ok_or_else(|| bad("missing data_offsets"))?;
    let [b, e] = offsets.as_slice() else {
        return Err(bad("data_offsets must be [begin, end]"));
    };
    let (begin, end) = match (b.as_u64(), e.as_u64()) {
        (Some(b), Some(e)) if b <= e && e <= data_len as u64 => (b as usize, e as usize),
        _ => return Err(bad(&format!("data_offsets {b}..{e} outside the {data_len}-byte data section"))),
    };
    let bytes = shape.iter().try_fold(dtype.size(), |acc, &d| acc.checked_mul(d)).ok_or_else(|| bad("shape overflows"))?;
    if bytes != end - begin {
        return Err(bad(&format!("shape {shape:?} of {} needs {bytes} bytes, range holds {}", dtype.name(), end - begin)));
    }
    Ok((begin, end, dtype, shape))
}

impl Container<'_> {
    /// A metadata entry, or `E_FORMAT` naming the missing key.
    pub fn meta(&self, key: &str) -> Result<&str> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| Error::format(format!("metadata '{key}' is missing")))
    }

    /// The entry of a tensor that must exist with exactly this dtype and shape.
    pub fn expect(&self, name: &str, dtype: DType, shape: &[usize]) -> Result<&TensorEntry> {
        let t = self.tensors.get(name).ok_or_else(|| Error::format(format!("tensor '{name}' is missing")))?;
        if t.dtype != dtype || t.shape != shape {
            return Err(Error::format(format!("tensor '{name}' is {} {:?}, expected {} {shape:?}", t.dtype.name(), t.shape, dtype.name())));
        }
        Ok(t)
    }

    /// Reads an F32 tensor of the given shape (validated before the vector is allocated, so
    /// the allocation is bounded by the file's size).
    pub fn f32s(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self.expect(name, DType::F32, shape)?;
        Ok(self.bytes[t.range.clone()].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }

    /// Copies an F32 tensor of the given shape into `out` (whose length must match).
    pub fn f32_into(&self, name: &str, shape: &[usize], out: &mut [f32]) -> Result<()> {
        let t = self.expect(name, DType::F32, shape)?;
        for (o, c) in out.iter_mut().zip(self.bytes[t.range.clone()].chunks_exact(4)) {
            *o = f32::from_le_bytes(c.try_into().expect("4 bytes"));
        }
        Ok(())
    }

    /// Reads a float tensor of the given shape stored as F32 or F16 (widened exactly to f32).
    pub fn floats(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        if self.tensors.get(name).is_some_and(|t| t.dtype == DType::F16) {
            let t = self.expect(name, DType::F16, shape)?;
            return Ok(self.bytes[t.range.clone()]
                .chunks_exact(2)
                .map(|c| super::half::f16_value(u16::from_le_bytes([c[0], c[1]])))
                .collect());
        }
        self.f32s(name, shape)
    }

    /// Reads a U64 tensor of the given shape.
    pub fn u64s(&self, name: &str, shape: &[usize]) -> Result<Vec<u64>> {
        let t = self.expect(name, DType::U64, shape)?;
        Ok(self.bytes[t.range.clone()].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Writer;
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        w.meta("format", "test").f32("a", &[2, 3], &[1., 2., 3., 4., 5., 6.]).u64("r", &[2], &[7, u64::MAX]);
        w.finish()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let c = read(&bytes).unwrap();
        assert_eq!(c.meta("format").unwrap(), "test");
        let mut a = vec![0.0; 6];
        c.f32_into("a", &[2, 3], &mut a).unwrap();
        assert_eq!(a, vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(c.u64s("r", &[2]).unwrap(), vec![7, u64::MAX]);
        assert_eq!(c.expect("a", DType::F32, &[3, 2]).unwrap_err().code, crate::ErrorCode::Format);
    }

    /// A vocabulary-sized metadata value is stored deflated and read back as it was; a bad
    /// stream, a value stored twice or a stream of the wrong dtype is `E_FORMAT`.
    #[test]
    fn large_metadata_is_stored_deflated_and_read_back() {
        let words: String = (0..20_000).map(|i| format!("word{}\n", i % 977)).collect();
        let mut w = Writer::new();
        w.meta("format", "test").meta("words", words.clone()).f32("a", &[2], &[1., 2.]);
        let bytes = w.finish();
        assert!(bytes.len() < words.len() / 4, "{} bytes for {} of words", bytes.len(), words.len());
        let c = read(&bytes).unwrap();
        assert_eq!(c.meta("words").unwrap(), words);
        assert_eq!(c.tensors.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(c.f32s("a", &[2]).unwrap(), [1., 2.]);
        // Short values stay in the header.
        let c2 = sample();
        assert!(String::from_utf8_lossy(&c2).contains("\"format\":\"test\""));

        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
        let edit = |from: &str, to: &str| {
            let mut h = header.trim_end().replacen(from, to, 1);
            assert_ne!(h, header.trim_end(), "{from}");
            while h.len() < n {
                h.push(' ');
            }
            let mut b = bytes.clone();
            b[8..8 + n].copy_from_slice(h.as_bytes());
            read(&b).unwrap_err()
        };
        assert!(edit("\"format\":\"test\"", "\"words\":\"test\"").message.contains("stored twice"));
        assert!(edit("\"dtype\":\"U8\",\"shape\":[4631]", "\"dtype\":\"U8\",\"shape\":[1,4631]")
            .message
            .contains("must be a 1-D U8 tensor"));
        let mut broken = bytes.clone();
        let start = 8 + n + 8;
        for b in &mut broken[start..start + 16] {
            *b ^= 0x5a;
        }
        let e = read(&broken).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Format);
        assert!(e.message.contains("metadata 'words' (stored deflated)"), "{}", e.message);
    }

    #[test]
    fn every_truncation_is_a_format_error() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert_eq!(read(&bytes[..len]).unwrap_err().code, crate::ErrorCode::Format, "len {len}");
        }
    }

    #[test]
    fn corrupt_headers_are_rejected() {
        let bytes = sample();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
        for (from, to) in [("\"F32\"", "\"F16\""), ("[2,3]", "[2,4]"), ("[0,24]", "[8,32]"), ("{", "[")] {
            let mut h = header.replacen(from, to, 1);
            while h.len() < n {
                h.push(' ');
            }
            h.truncate(n);
            let mut b = bytes.clone();
            b[8..8 + n].copy_from_slice(h.as_bytes());
            assert_eq!(read(&b).unwrap_err().code, crate::ErrorCode::Format, "{from} -> {to}");
        }
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(read(&huge).unwrap_err().code, crate::ErrorCode::Format);
    }

    #[test]
    fn writers_refuse_metadata_that_readers_would_refuse() {
        let mut meta = BTreeMap::new();
        meta.insert("words".to_string(), "w\n".repeat(40 << 20));
        let err = super::super::check_metadata_fits(&meta).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::Config);
        assert!(err.message.contains("'words'"), "{}", err.message);
        meta.insert("words".to_string(), "w\n".repeat(1 << 20));
        assert!(super::super::check_metadata_fits(&meta).is_ok());
    }
}
