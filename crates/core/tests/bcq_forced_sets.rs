//! Forcing each kernel set changes process-wide state, so this check runs in its own test
//! binary: every set this CPU supports gives the scalar results and is the set that really ran.

use quire_core::bcq::{matmul, Kernel};
use quire_core::kernels::{self, KernelSet};
use quire_core::quant::{quantize_rows, Method, QuantConfig};
use quire_core::rng::Rng;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn every_kernel_set_agrees_with_scalar_and_really_runs() {
    let mut rng = Rng::new(23);
    let (rows, cols) = (37, 777);
    let w: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
    let x: Vec<f32> = (0..2 * cols).map(|_| rng.normal()).collect();
    let mask: Vec<u8> = (0..rows * cols).map(|_| !rng.next_u64().is_multiple_of(3) as u8).collect();
    let plain = quantize_rows(&w, rows, cols, &QuantConfig::new(3, Method::Greedy), None).unwrap();
    let cfg = QuantConfig { group_size: 128, ..QuantConfig::new(2, Method::Alternating) };
    let masked = quantize_rows(&w, rows, cols, &cfg, Some(&mask)).unwrap();
    for m in [&plain, &masked] {
        for kernel in [Kernel::LutF32, Kernel::LutI8, Kernel::Popcount { activation_bits: 3 }] {
            let mut want = vec![0f32; 2 * rows];
            kernels::force(KernelSet::Scalar).unwrap();
            matmul(m, &x, 2, &mut want, kernel).unwrap();
            assert_eq!(kernels::last_used(), Some(KernelSet::Scalar));
            for set in kernels::sets_to_test().into_iter().filter(|&s| s != KernelSet::Scalar) {
                kernels::force(set).unwrap();
                let mut got = vec![0f32; 2 * rows];
                matmul(m, &x, 2, &mut got, kernel).unwrap();
                assert_eq!(kernels::last_used(), Some(set));
                for (a, b) in got.iter().zip(&want) {
                    assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{set:?} {kernel:?}: {a} vs {b}");
                }
            }
        }
    }
}
