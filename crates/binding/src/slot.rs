//! The Rust value behind a JS handle. On Node, `free()` (the facade's `dispose()`) drops it now
//! instead of whenever V8 collects the handle; wasm-bindgen's generated `free()` drops the whole
//! handle. Use after `free()` is `E_STATE` on both (the facade guards the wasm handle the same way).
use quire_core::{Error, Result};

pub struct Slot<T>(Option<T>);

fn disposed() -> Error {
    Error::state("this object was disposed; create or load a new one")
}

impl<T> Slot<T> {
    pub fn new(value: T) -> Self {
        Slot(Some(value))
    }
    pub fn get(&self) -> Result<&T> {
        self.0.as_ref().ok_or_else(disposed)
    }
    pub fn get_mut(&mut self) -> Result<&mut T> {
        self.0.as_mut().ok_or_else(disposed)
    }
    /// Drops the value (idempotent). Node only: on wasm the generated `free()` drops the handle.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn free(&mut self) {
        self.0 = None;
    }
}
