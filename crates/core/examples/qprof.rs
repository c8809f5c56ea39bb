use quire_core::bcq::{matvec, Kernel};
use quire_core::quant::{quantize_rows, Method, QuantConfig};
use quire_core::rng::Rng;
use std::time::Instant;
fn main() {
    let (rows, cols) = (650, 2600);
    let mut rng = Rng::new(1);
    let w: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
    let x: Vec<f32> = (0..cols).map(|_| rng.normal()).collect();
    for bits in [1, 2, 3] {
        let t = Instant::now();
        let m = quantize_rows(&w, rows, cols, &QuantConfig::new(bits, Method::Alternating), None).unwrap();
        let tq = t.elapsed();
        let t = Instant::now();
        let e = m.relative_error(&w).unwrap();
        println!("bits {bits} quantize {:?} relerr {:?} ({e:.4})", tq, t.elapsed());
        let mut y = vec![0f32; rows];
        for kernel in [Kernel::LutI8, Kernel::LutF32, Kernel::Popcount { activation_bits: 1 }] {
            matvec(&m, &x, &mut y, kernel).unwrap();
            let n = 2000;
            let t = Instant::now();
            for _ in 0..n { matvec(&m, &x, &mut y, kernel).unwrap(); }
            println!("  {kernel:?}: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
    }
}
