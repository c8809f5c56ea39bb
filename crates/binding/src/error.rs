//! Maps a core error to a JS `Error` whose message is `[CODE] message`; the TypeScript facade
//! parses the code back out into a `QuireError`. The `#[export]` wrappers call these.

#[cfg(not(target_arch = "wasm32"))]
pub fn to_napi(e: quire_core::Error) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

#[cfg(target_arch = "wasm32")]
pub fn to_js(e: quire_core::Error) -> wasm_bindgen::JsError {
    wasm_bindgen::JsError::new(&e.to_string())
}
