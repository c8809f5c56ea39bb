//! Core-level rate of the bit-packed products against their derived bound (docs/benchmarks.md,
//! "Kernels against their bounds"), without any binding in the way:
//!
//!     cargo run --release -p quire-core --example lut_rate -- ROWS COLS BITS KERNEL BATCH THREADS
//!
//! KERNEL is `lut-i8`, `lut-f32` or `popcount-a<k>`. Quantizes a seeded Gaussian ROWS×COLS
//! matrix (greedy, per-row scales), then times `Y = X·Ŵᵀ` through the engine's product with
//! scratch buffers made once, and prints the best and median time per call with the bytes of
//! packed codes the call reads.

use quire_core::bcq::lut::{packed_matmul, LutScratch};
use quire_core::bcq::Kernel;
use quire_core::kernels;
use quire_core::quant::{quantize_rows, Method, QuantConfig};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok());
    let (Some(rows), Some(cols), Some(bits), Some(kernel), Some(batch), Some(t)) =
        (num(0), num(1), num(2), args.get(3).map(|k| Kernel::parse(k, None)), num(4), num(5))
    else {
        eprintln!("usage: lut_rate ROWS COLS BITS KERNEL BATCH THREADS");
        std::process::exit(2);
    };
    let kernel = kernel.unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    quire_core::threads::set_threads(t);
    let mut rng = quire_core::rng::Rng::new(1);
    let w: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
    let m = quantize_rows(&w, rows, cols, &QuantConfig::new(bits, Method::Greedy), None).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    m.tiles();
    let x: Vec<f32> = (0..batch * cols).map(|_| rng.normal()).collect();
    let mut y = vec![0f32; batch * rows];
    let mut scratch = LutScratch::new(8 * m.words_per_row(), m.groups(), batch);
    let set = kernels::active();
    let code_bytes = rows * 8 * m.words_per_row() * bits;
    let reps = (2e9 / code_bytes as f64 / batch as f64).clamp(20.0, 20000.0) as usize;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..=reps {
        let t0 = Instant::now();
        packed_matmul(&m, &x, batch, &mut y, kernel, set, &mut scratch);
        times.push(t0.elapsed().as_secs_f64());
    }
    times.remove(0);
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "{rows}×{cols} {bits}-bit {} batch={batch} threads={t} kernels={}: \
         code bytes {code_bytes}, best {:.2} µs, median {:.2} µs ({:.1} GB/s of codes)",
        kernel.name(),
        set.name(),
        best * 1e6,
        median * 1e6,
        code_bytes as f64 / median / 1e9
    );
}
