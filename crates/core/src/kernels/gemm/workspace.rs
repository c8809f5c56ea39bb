//! Reusable packing buffers. A small global pool hands each running GEMM (or each of its
//! threads) one [`Workspace`] and takes it back afterwards, so steady-state calls (the training
//! loop) allocate nothing and never re-fault fresh pages.

use std::sync::Mutex;

/// Packing buffers of one thread of one GEMM call.
#[derive(Default)]
pub struct Workspace {
    a: Vec<f32>,
    b: Vec<f32>,
}

static POOL: Mutex<Vec<Workspace>> = Mutex::new(Vec::new());

fn grown(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

impl Workspace {
    /// The A and B buffers, at least `a_len` and `b_len` floats (contents unspecified).
    pub fn buffers(&mut self, a_len: usize, b_len: usize) -> (&mut [f32], &mut [f32]) {
        (grown(&mut self.a, a_len), grown(&mut self.b, b_len))
    }
}

/// Runs `f` with a workspace taken from the pool (or a new one), then returns it to the pool.
pub fn with_workspace<R>(f: impl FnOnce(&mut Workspace) -> R) -> R {
    let taken = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut ws = taken.unwrap_or_default();
    let r = f(&mut ws);
    POOL.lock().unwrap_or_else(|e| e.into_inner()).push(ws);
    r
}
