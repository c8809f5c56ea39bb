//! Thread count and a parallel-for over index ranges on a persistent pool.
//!
//! Natively, [`parallel_ranges`] hands the chunks of a range to `threads() − 1` long-lived
//! workers plus the calling thread. Workers are started on first use (and added when the thread
//! count grows), spin briefly after each job so the next one — the recurrent step of a training
//! window, a token step of the inference engine, both well under a millisecond — starts without a
//! wake-up, then park. A call made while the pool is busy (from a worker, from inside a job, or
//! from a second caller thread) runs on its own thread, so nesting never deadlocks.
//! On wasm32 everything runs on the calling thread.

use std::any::Any;
use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

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
/// `align` (except the first) and holding at least `min_chunk` indices each (except the last),
/// and runs `f` on each chunk, in parallel natively. `f` must be safe to call concurrently on
/// disjoint ranges. Which indices form a chunk depends only on `n`, `align`, `min_chunk` and
/// the thread count; a panic in `f` is re-raised on the caller's thread once every chunk ended.
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
    let chunks = n.div_ceil(per);
    let chunk = |i: usize| i * per..((i + 1) * per).min(n);
    if chunks <= 1 || IN_JOB.with(Cell::get) {
        (0..chunks).for_each(|i| f(chunk(i)));
        return;
    }
    let pool = pool();
    let Ok(_busy) = pool.submit.try_lock() else {
        // Another thread is driving the pool: do this call's work here rather than queue.
        (0..chunks).for_each(|i| f(chunk(i)));
        return;
    };
    pool.ensure_workers(threads() - 1);
    let run = move |i: usize| f(chunk(i));
    let dynamic: &(dyn Fn(usize) + Sync) = &run;
    // SAFETY: the job's pointer outlives its use: this function does not return (nor unwind)
    // before `done == chunks`, and a worker calls the function only for an index it claimed
    // below `chunks` under this job's generation, counting it done afterwards.
    let erased: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(dynamic) };
    let job = pool.publish(erased, chunks);
    IN_JOB.with(|c| c.set(true));
    pool.work(job);
    IN_JOB.with(|c| c.set(false));
    let mut spins = 0u32;
    while pool.done.load(Ordering::Acquire) < chunks {
        spins += 1;
        if spins < 1 << 14 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    let panic = pool.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
}

thread_local! {
    /// Set on pool workers and on a caller while it runs its share of a job.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

/// One parallel-for as the workers see it. Chunk indices are claimed from `Pool::next`, which
/// carries the job's generation in its high 32 bits, so a worker still holding an older job
/// can never claim (nor run) a chunk of a newer one. Nothing is allocated per job.
#[derive(Clone, Copy)]
struct Job {
    run: &'static (dyn Fn(usize) + Sync),
    chunks: usize,
    generation: u64,
}

struct Pool {
    /// Held by the thread driving the pool for the duration of one job.
    submit: Mutex<()>,
    /// The current job, replaced by each submission.
    job: Mutex<Option<Job>>,
    /// Bumped (under `job`'s lock) for every submission; workers compare with the last they saw.
    generation: AtomicU64,
    /// `generation << 32 | next chunk index` of the current job.
    next: AtomicU64,
    /// Chunks of the current job that finished.
    done: AtomicUsize,
    /// The first panic of the current job's chunks.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    wake: Condvar,
    workers: AtomicUsize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        submit: Mutex::new(()),
        job: Mutex::new(None),
        generation: AtomicU64::new(0),
        next: AtomicU64::new(0),
        done: AtomicUsize::new(0),
        panic: Mutex::new(None),
        wake: Condvar::new(),
        workers: AtomicUsize::new(0),
    })
}

/// Spin iterations a worker waits for the next job before parking (tens of microseconds).
const WORKER_SPINS: u32 = 1 << 15;

impl Pool {
    /// Starts workers until there are `want` of them (called by the submitting thread only).
    fn ensure_workers(&'static self, want: usize) {
        while self.workers.load(Ordering::Relaxed) < want {
            let seen = self.generation.load(Ordering::Acquire);
            let started = std::thread::Builder::new().name("quire-worker".into()).spawn(move || self.worker(seen));
            if started.is_err() {
                // No more threads to be had: the caller and the existing workers do the work.
                return;
            }
            self.workers.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Makes `run` over `chunks` the current job (the caller holds `submit`).
    fn publish(&self, run: &'static (dyn Fn(usize) + Sync), chunks: usize) -> Job {
        let mut slot = self.job.lock().unwrap_or_else(|e| e.into_inner());
        let generation = (self.generation.load(Ordering::Relaxed) + 1) & 0xFFFF_FFFF;
        let job = Job { run, chunks, generation };
        self.done.store(0, Ordering::Relaxed);
        self.next.store(generation << 32, Ordering::Relaxed);
        *slot = Some(job);
        self.generation.store(generation, Ordering::Release);
        drop(slot);
        self.wake.notify_all();
        job
    }

    /// Claims and runs chunks of `job` until none is left (or a newer job replaced it).
    fn work(&self, job: Job) {
        loop {
            let cur = self.next.load(Ordering::Acquire);
            let i = (cur & 0xFFFF_FFFF) as usize;
            if cur >> 32 != job.generation || i >= job.chunks {
                return;
            }
            if self.next.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                continue;
            }
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (job.run)(i))) {
                self.panic.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(p);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }

    fn worker(&self, mut seen: u64) {
        IN_JOB.with(|c| c.set(true));
        loop {
            let mut spins = 0;
            while self.generation.load(Ordering::Acquire) == seen && spins < WORKER_SPINS {
                std::hint::spin_loop();
                spins += 1;
            }
            let mut slot = self.job.lock().unwrap_or_else(|e| e.into_inner());
            while self.generation.load(Ordering::Acquire) == seen {
                slot = self.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
            seen = self.generation.load(Ordering::Acquire);
            let job = *slot;
            drop(slot);
            if let Some(job) = job {
                self.work(job);
            }
        }
    }
}

/// Mutable slices cut into rows of `len` elements that [`parallel_ranges`] workers share, each
/// taking a disjoint range of rows.
#[derive(Clone, Copy)]
pub struct Rows<T> {
    ptr: *mut T,
    rows: usize,
    len: usize,
}
// SAFETY: workers only reach the data through `Rows::get` on disjoint row ranges.
unsafe impl<T: Send> Send for Rows<T> {}
unsafe impl<T: Send> Sync for Rows<T> {}

impl<T> Rows<T> {
    /// `data` as `data.len()/len` rows of `len` elements.
    pub fn new(data: &mut [T], len: usize) -> Rows<T> {
        Rows { ptr: data.as_mut_ptr(), rows: data.len() / len.max(1), len }
    }

    /// Rows `range` (panics past the last row).
    ///
    /// # Safety
    /// No other live reference may cover any of these rows (callers hand disjoint ranges to
    /// the workers), and the slice `new` was given must outlive the result.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self, range: Range<usize>) -> &mut [T] {
        assert!(range.start <= range.end && range.end <= self.rows);
        std::slice::from_raw_parts_mut(self.ptr.add(range.start * self.len), range.len() * self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[test]
    fn every_index_once_in_order_within_chunks() {
        for n in [0, 1, 7, 64, 1000, 4097] {
            let hits: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
            parallel_ranges(n, 8, 1, |r| r.for_each(|i| _ = hits[i].fetch_add(1, Ordering::Relaxed)));
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "n = {n}");
        }
    }

    #[test]
    fn nested_calls_run_and_panics_reach_the_caller() {
        let total = AtomicUsize::new(0);
        parallel_ranges(100, 1, 1, |r| {
            parallel_ranges(r.len(), 1, 1, |inner| _ = total.fetch_add(inner.len(), Ordering::Relaxed));
        });
        assert_eq!(total.load(Ordering::Relaxed), 100);
        let caught = std::panic::catch_unwind(|| parallel_ranges(100, 1, 1, |r| assert!(!r.contains(&99), "boom")));
        assert!(caught.is_err());
        // The pool stays usable after a panic.
        let sum = AtomicUsize::new(0);
        parallel_ranges(100, 1, 1, |r| _ = sum.fetch_add(r.sum::<usize>(), Ordering::Relaxed));
        assert_eq!(sum.load(Ordering::Relaxed), 4950);
    }
}
