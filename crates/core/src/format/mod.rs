//! The quire container: the safetensors layout shared by checkpoints, trained models and
//! compressed models (`compress::file`).
//!
//! Layout: an 8-byte little-endian header length `N`, then `N` bytes of JSON
//! `{"__metadata__": {string: string}, "<tensor>": {"dtype", "shape", "data_offsets": [begin, end]}}`,
//! then the raw little-endian tensor bytes; `data_offsets` are relative to the end of the header.
//! [`read`] validates everything before it allocates; every failure is `E_FORMAT`.

mod dtype;
pub mod half;
mod reader;
mod writer;

pub use dtype::DType;
pub use reader::{read, Container, TensorEntry};
pub use writer::{check_metadata_fits, Writer};
