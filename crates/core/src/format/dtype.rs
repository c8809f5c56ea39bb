//! Element types a container tensor may hold (all little-endian).

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F16,
    F32,
    U8,
    U32,
    I32,
    U64,
}

impl DType {
    /// The safetensors spelling, e.g. `"F32"`.
    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "F16",
            DType::F32 => "F32",
            DType::U8 => "U8",
            DType::U32 => "U32",
            DType::I32 => "I32",
            DType::U64 => "U64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::U8 => 1,
            DType::F16 => 2,
            DType::F32 | DType::U32 | DType::I32 => 4,
            DType::U64 => 8,
        }
    }

    /// Parses a dtype name; anything else is `E_FORMAT`.
    pub fn parse(name: &str) -> Result<DType> {
        match name {
            "F16" => Ok(DType::F16),
            "F32" => Ok(DType::F32),
            "U8" => Ok(DType::U8),
            "U32" => Ok(DType::U32),
            "I32" => Ok(DType::I32),
            "U64" => Ok(DType::U64),
            other => Err(Error::format(format!("unsupported tensor dtype '{other}'"))),
        }
    }
}
