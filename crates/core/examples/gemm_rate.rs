//! Core-level GEMM throughput, without any binding in the way (no copies, no JS allocation):
//!
//!     cargo run --release -p quire-core --example gemm_rate -- M K N THREADS [ta] [tb]
//!
//! Times `C = op(A)·op(B)` (op(A) M×K, op(B) K×N; `ta`/`tb` transpose) with the active kernel
//! set (`QUIRE_KERNELS` overrides it) and prints the best and median of repeated calls in
//! GFLOP/s (2·M·N·K / time). The `npm run bench -- gemm` suite measures the public JS calls.

use quire_core::gemm::{gemm, GemmSpec};
use quire_core::kernels;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok());
    let (Some(m), Some(k), Some(n), Some(t)) = (num(0), num(1), num(2), num(3)) else {
        eprintln!("usage: gemm_rate M K N THREADS [ta] [tb]");
        std::process::exit(2);
    };
    let (trans_a, trans_b) = (args.iter().any(|s| s == "ta"), args.iter().any(|s| s == "tb"));
    quire_core::threads::set_threads(t);
    let mut rng = quire_core::rng::Rng::new(1);
    let a: Vec<f32> = (0..m * k).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut c = vec![0.0f32; m * n];
    let spec = GemmSpec { trans_a, trans_b, ..GemmSpec::new(m, n, k) };
    let flops = 2.0 * (m * n * k) as f64;
    let reps = (2e10 / flops).clamp(5.0, 2000.0) as usize;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..=reps {
        let t0 = Instant::now();
        if let Err(e) = gemm(&spec, &a, &b, &mut c) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        times.push(t0.elapsed().as_secs_f64());
    }
    times.remove(0);
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "{m}×{k}·{k}×{n} ta={trans_a} tb={trans_b} threads={t} kernels={}: best {:.4} ms ({:.1} GFLOP/s), median {:.4} ms ({:.1} GFLOP/s)",
        kernels::active().name(),
        best * 1e3,
        flops / best / 1e9,
        median * 1e3,
        flops / median / 1e9
    );
}
