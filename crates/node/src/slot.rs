//! The Rust value behind a JS handle, released by `free()` (the TypeScript facade's
//! `dispose()`), so that disposing frees the memory now instead of whenever V8 collects the
//! handle. Use after `free()` is `E_STATE` (the same contract as the wasm binding, whose
//! generated `free()` the facade guards the same way).

pub struct Slot<T>(Option<T>);

fn disposed() -> napi::Error {
    napi::Error::from_reason("[E_STATE] this object was disposed; create or load a new one")
}

impl<T> Slot<T> {
    pub fn new(value: T) -> Self {
        Slot(Some(value))
    }
    pub fn get(&self) -> napi::Result<&T> {
        self.0.as_ref().ok_or_else(disposed)
    }
    pub fn get_mut(&mut self) -> napi::Result<&mut T> {
        self.0.as_mut().ok_or_else(disposed)
    }
    /// Drops the value (idempotent).
    pub fn free(&mut self) {
        self.0 = None;
    }
}
