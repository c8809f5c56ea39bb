//! Thread count and a scoped parallel-for over index ranges.
//!
//! Natively work is split across `threads()` OS threads with `std::thread::scope`
//! (no pool: the products parallelised here are large enough that spawning is noise).
//! On wasm32 everything runs on the calling thread.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads parallel kernels use: the value set with [`set_threads`], else
/// `QUIRE_THREADS` from the environment, else the machine's available parallelism (1 on wasm).
pub fn threads() -> usize {
    let t = THREADS.load(Ordering::Relaxed);
    if t != 0 {
        return t;
    }
    let detected = default_threads();
    THREADS.store(detected, Ordering::Relaxed);
    detected
}

fn default_threads() -> usize {
    if cfg!(target_arch = "wasm32") {
        return 1;
    }
    if let Ok(v) = std::env::var("QUIRE_THREADS") {
        if let Ok(n) = v.trim().parse::<usize>() {
            if n >= 1 {
                return n.min(256);
            }
        }
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Sets the thread count (clamped to 1..=256; always 1 on wasm32). Returns the value in force.
pub fn set_threads(n: usize) -> usize {
    let n = if cfg!(target_arch = "wasm32") { 1 } else { n.clamp(1, 256) };
    THREADS.store(n, Ordering::Relaxed);
    n
}

/// Splits `0..n` into at most `threads()` contiguous chunks whose starts are multiples of
/// `align` (except the first), and runs `f` on each chunk, in parallel natively.
/// `f` must be safe to call concurrently on disjoint ranges.
pub fn parallel_ranges<F>(n: usize, align: usize, min_chunk: usize, f: F)
where
    F: Fn(Range<usize>) + Sync,
{
    let align = align.max(1);
    let t = threads().min(n.div_ceil(min_chunk.max(1))).max(1);
    if t <= 1 || cfg!(target_arch = "wasm32") {
        f(0..n);
        return;
    }
    let per = n.div_ceil(t).div_ceil(align) * align;
    std::thread::scope(|scope| {
        let mut start = 0;
        let mut handles = Vec::new();
        while start < n {
            let end = (start + per).min(n);
            if end == n {
                f(start..end);
            } else {
                let f = &f;
                handles.push(scope.spawn(move || f(start..end)));
            }
            start = end;
        }
        for h in handles {
            // A panic in a worker is a bug in the core; surface it on the caller's thread.
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p);
            }
        }
    });
}
