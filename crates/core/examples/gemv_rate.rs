//! The batch-1 FP32 step's matrix-vector products against a plain read of the same bytes:
//!
//!     cargo run --release -p quire-core --example gemv_rate -- [HIDDEN] [VOCAB] [THREADS]
//!
//! Runs `y = W·x` (the engine's dense path: `gemm` with m = 1, `trans_b`) over the five weight
//! matrices of a 2-layer LSTM LM step (defaults: the medium shape, 4 × 2600×650 + 10000×650 =
//! 53 MB, more than the L3), alternating with a sum over the same matrices (4 accumulators,
//! vectorized by the compiler), and prints the median and best times and the bandwidth each reaches.

use quire_core::gemm::{gemm, GemmSpec};
use std::time::Instant;

fn read_sum(w: &[f32]) -> f32 {
    let mut acc = [[0f32; 8]; 4];
    for c in w.chunks_exact(32) {
        for (a, v) in acc.iter_mut().zip(c.chunks_exact(8)) {
            for (x, y) in a.iter_mut().zip(v) {
                *x += y;
            }
        }
    }
    acc.iter().flatten().sum()
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let (h, v, threads) = (args.first().copied().unwrap_or(650), args.get(1).copied().unwrap_or(10000), args.get(2).copied().unwrap_or(1));
    quire_core::threads::set_threads(threads);
    let mut rng = quire_core::rng::Rng::new(1);
    let shapes = [(4 * h, h), (4 * h, h), (4 * h, h), (4 * h, h), (v, h)];
    let mats: Vec<Vec<f32>> = shapes.iter().map(|&(r, c)| (0..r * c).map(|_| rng.uniform(-1.0, 1.0)).collect()).collect();
    let x: Vec<f32> = (0..h).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut y = vec![0f32; v.max(4 * h)];
    let bytes: usize = shapes.iter().map(|(r, c)| r * c * 4).sum();
    let (mut step, mut read, mut sink) = (Vec::new(), Vec::new(), 0.0);
    for _ in 0..150 {
        let t0 = Instant::now();
        for (m, &(r, c)) in mats.iter().zip(&shapes) {
            gemm(&GemmSpec { trans_b: true, ..GemmSpec::new(1, r, c) }, &x, m, &mut y[..r]).expect("shapes match");
        }
        step.push(t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        for m in &mats {
            sink += read_sum(m);
        }
        read.push(t0.elapsed().as_secs_f64());
    }
    step.sort_by(f64::total_cmp);
    read.sort_by(f64::total_cmp);
    let gb = |t: f64| bytes as f64 / t / 1e9;
    let (ms, mr) = (step[step.len() / 2], read[read.len() / 2]);
    println!(
        "{bytes} bytes, {threads} thread(s), kernels={}: products median {:.3} ms ({:.1} GB/s, best {:.3} ms); \
         read median {:.3} ms ({:.1} GB/s, best {:.3} ms); products/read {:.2} (checksum {sink:.1})",
        quire_core::kernels::active().name(),
        ms * 1e3,
        gb(ms),
        step[0] * 1e3,
        mr * 1e3,
        gb(mr),
        read[0] * 1e3,
        mr / ms
    );
}
