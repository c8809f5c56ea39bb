//! Metadata maps as JSON text, the form in which they cross the bindings.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Parses a JSON object whose values are all strings (`E_CONFIG` otherwise).
pub fn metadata_from_json(text: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text).map_err(|e| Error::config(format!("metadata must be a JSON object of strings: {e}")))
}

pub fn metadata_to_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).expect("string map serialises")
}
