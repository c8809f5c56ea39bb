//! Maps a core error to a JS `Error` whose message is `[CODE] message`; the TypeScript
//! facade parses the code back out into a `QuireError`.

pub fn to_napi(e: quire_core::Error) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

/// Converts a core result. Binding functions must spell their return type `napi::Result<T>`
/// (the `#[napi]` macro recognises that path, not an alias, as a throwing result).
pub trait IntoNapi<T> {
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for quire_core::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}
