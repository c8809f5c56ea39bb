//! Maps a core error to a JS `Error` whose message is `[CODE] message`; the TypeScript
//! facade parses the code back out into a `QuireError`.
use wasm_bindgen::JsError;

pub type WasmResult<T> = Result<T, JsError>;

pub trait IntoJs<T> {
    fn js(self) -> WasmResult<T>;
}

impl<T> IntoJs<T> for quire_core::Result<T> {
    fn js(self) -> WasmResult<T> {
        self.map_err(|e| JsError::new(&e.to_string()))
    }
}
