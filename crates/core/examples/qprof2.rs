use quire_core::bcq::{matvec, Kernel};
use quire_core::quant::{greedy, packed::pack_codes, quantize_rows, Method, QuantConfig};
use quire_core::rng::Rng;
use std::time::Instant;
fn best(mut f: impl FnMut()) -> f64 {
    let mut b = f64::MAX;
    for _ in 0..20 { let n = 500; let t = Instant::now(); for _ in 0..n { f(); } b = b.min(t.elapsed().as_secs_f64() * 1e6 / n as f64); }
    b
}
fn main() {
    let (rows, cols) = (650, 2600);
    let mut rng = Rng::new(1);
    let w: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
    let x: Vec<f32> = (0..cols).map(|_| rng.normal()).collect();
    let m = quantize_rows(&w, rows, cols, &QuantConfig::new(1, Method::Greedy), None).unwrap();
    let mut y = vec![0f32; rows];
    let mut codes = vec![0u8; cols];
    let mut betas = vec![0f32; 1];
    println!("greedy x: {:.2}", best(|| greedy::solve(&x, &mut codes, &mut betas)));
    println!("pack x: {:.2}", best(|| { std::hint::black_box(pack_codes(&codes, 1, cols, 1)); }));
    for kernel in [Kernel::LutI8, Kernel::LutF32, Kernel::Popcount { activation_bits: 1 }] {
        println!("{kernel:?}: {:.2}", best(|| matvec(&m, &x, &mut y, kernel).unwrap()));
    }
}
