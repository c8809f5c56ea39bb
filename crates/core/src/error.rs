//! The one error type of the core. Every fallible core function returns [`Result`];
//! bindings turn an [`Error`] into a runtime error whose message starts with `[CODE] `.

use std::fmt;

/// Stable machine-readable error codes, shared by both bindings and the TypeScript facade (which
/// adds its own, such as `E_IO` for file-system failures: the core touches no files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Array lengths or dimensions do not fit together.
    Shape,
    /// A setting is out of range or inconsistent.
    Config,
    /// A NaN or infinity where finite numbers are required (weights, losses).
    NonFinite,
    /// A file or buffer is not a valid quire container (truncated, corrupt, wrong kind).
    Format,
    /// A call is not valid in the object's current state.
    State,
    /// Input data (a corpus) is not what it must be: not UTF-8 text, a NUL byte.
    Data,
}

impl ErrorCode {
    /// The code string seen by users, e.g. `E_SHAPE`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Shape => "E_SHAPE",
            ErrorCode::Config => "E_CONFIG",
            ErrorCode::NonFinite => "E_NONFINITE",
            ErrorCode::Format => "E_FORMAT",
            ErrorCode::State => "E_STATE",
            ErrorCode::Data => "E_DATA",
        }
    }
}

/// A core error: a code plus a message that says what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    pub fn shape(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Shape, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Config, message)
    }
    pub fn non_finite(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NonFinite, message)
    }
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Format, message)
    }
    pub fn state(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::State, message)
    }
}

impl fmt::Display for Error {
    /// `[E_SHAPE] message`: the form both bindings throw and the TS facade parses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

/// Returns `E_SHAPE` unless `len == expected`; `what` names the argument in the message.
pub fn check_len(what: &str, len: usize, expected: usize) -> Result<()> {
    if len == expected {
        Ok(())
    } else {
        Err(Error::shape(format!("{what} has length {len}, expected {expected}")))
    }
}

/// Returns `E_NONFINITE` naming the first non-finite entry of `values`, if any.
pub fn check_finite(what: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::non_finite(format!("{what} contains a non-finite value ({}) at index {i}", values[i]))),
    }
}
