//! The optimized GEMM against the naive reference (`kernels::gemm::scalar::gemm`), for every
//! kernel set this machine supports, on ragged shapes, all transpose modes and α/β values;
//! plus thread-count independence, NaN handling and shape errors.
//!
//! Kernel set and thread count are process-wide, so every test takes `LOCK`.

use quire_core::gemm::{gemm, GemmSpec};
use quire_core::kernels::gemm::scalar;
use quire_core::kernels::{self, KernelSet};
use quire_core::rng::Rng;
use quire_core::threads::set_threads;
use quire_core::ErrorCode;
use std::sync::Mutex;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with each kernel set this machine supports forced (`QUIRE_REQUIRE_KERNELS` makes a
/// missing one fail), then restores the default.
fn for_each_set(mut f: impl FnMut(KernelSet)) {
    for set in kernels::sets_to_test() {
        kernels::force(set).unwrap();
        f(set);
    }
    kernels::force(kernels::detect()).unwrap();
}

fn random(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Runs `spec` with the active set and checks it against the naive reference within the
/// rounding bound `4·k·ε·(|α|·Σ|a||b| + |β|·|c|)` per element (both sides round differently).
fn check(spec: GemmSpec, rng: &mut Rng) {
    let GemmSpec { m, n, k, trans_a, trans_b, alpha, beta } = spec;
    let a = random(m * k, rng);
    let b = random(k * n, rng);
    let c0 = random(m * n, rng);
    let mut want = c0.clone();
    scalar::gemm(m, n, k, trans_a, trans_b, alpha, &a, &b, beta, &mut want);
    let mut got = c0.clone();
    gemm(&spec, &a, &b, &mut got).unwrap();
    for i in 0..m {
        for j in 0..n {
            let mut mag = 0.0f64;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                mag += (av as f64 * bv as f64).abs();
            }
            let bound =
                4.0 * (k as f64 + 2.0) * f32::EPSILON as f64 * (alpha.abs() as f64 * mag + (beta as f64 * c0[i * n + j] as f64).abs())
                    + 1e-30;
            let (g, w) = (got[i * n + j] as f64, want[i * n + j] as f64);
            assert!((g - w).abs() <= bound, "{spec:?} at ({i},{j}): got {g}, reference {w}, bound {bound}");
        }
    }
}

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 37, 1),
    (1, 100, 300),
    (1, 2600, 65),
    (37, 1, 300),
    (200, 1, 19),
    (2, 2, 1),
    (5, 7, 3),
    (10, 32, 256),
    (11, 33, 257),
    (20, 800, 200),
    (21, 95, 513),
    (33, 17, 9),
    (64, 64, 64),
    (130, 70, 40),
    (250, 31, 300),
    (3, 2100, 20),
    (129, 2081, 17),
];

#[test]
fn every_kernel_set_matches_the_reference() {
    let _g = lock();
    let mut rng = Rng::new(42);
    for_each_set(|set| {
        for &(m, n, k) in SHAPES {
            for (ti, (trans_a, trans_b)) in [(false, false), (true, false), (false, true), (true, true)].into_iter().enumerate() {
                let (alpha, beta) = [(1.0, 0.0), (0.5, 1.0), (-1.25, 0.75), (2.0, -0.5)][ti];
                check(GemmSpec { m, n, k, trans_a, trans_b, alpha, beta }, &mut rng);
                assert_eq!(kernels::last_used(), Some(set), "{m}x{n}x{k} did not run {set:?}");
            }
        }
    });
}

#[test]
fn random_shapes_with_ragged_tails() {
    let _g = lock();
    let mut rng = Rng::new(7);
    for_each_set(|set| {
        for _ in 0..60 {
            let m = 1 + rng.below(45) as usize;
            let n = 1 + rng.below(90) as usize;
            let k = 1 + rng.below(300) as usize;
            let spec = GemmSpec {
                m,
                n,
                k,
                trans_a: rng.below(2) == 1,
                trans_b: rng.below(2) == 1,
                alpha: rng.uniform(-2.0, 2.0),
                beta: [0.0, 1.0, rng.uniform(-1.0, 1.0)][rng.below(3) as usize],
            };
            check(spec, &mut rng);
            assert_eq!(kernels::last_used(), Some(set));
        }
    });
}

#[test]
fn result_does_not_depend_on_the_thread_count() {
    let _g = lock();
    let mut rng = Rng::new(3);
    for &(m, n, k, trans_a, trans_b) in &[
        (700, 300, 200, false, false),
        (20, 2600, 650, false, false),
        (20, 650, 2600, false, true),
        (650, 200, 20, true, false),
        (1, 2600, 650, false, false),
        (1, 2600, 650, false, true),
        (2600, 1, 650, false, false),
    ] {
        let a = random(m * k, &mut rng);
        let b = random(k * n, &mut rng);
        let c0 = random(m * n, &mut rng);
        let spec = GemmSpec { m, n, k, trans_a, trans_b, alpha: 0.5, beta: 0.25 };
        let mut outs = Vec::new();
        for t in [1, 2, 3] {
            set_threads(t);
            let mut c = c0.clone();
            gemm(&spec, &a, &b, &mut c).unwrap();
            outs.push(c);
        }
        assert!(outs[0] == outs[1] && outs[0] == outs[2], "{m}x{n}x{k} differs across thread counts");
    }
    set_threads(2);
}

#[test]
fn beta_zero_ignores_nan_in_c_on_every_path() {
    let _g = lock();
    let mut rng = Rng::new(5);
    for &(m, n, k) in &[(1, 50, 30), (40, 1, 30), (20, 100, 30), (300, 100, 30), (4, 5, 0)] {
        let a = random(m * k, &mut rng);
        let b = random(k * n, &mut rng);
        let mut c = vec![f32::NAN; m * n];
        gemm(&GemmSpec::new(m, n, k), &a, &b, &mut c).unwrap();
        assert!(c.iter().all(|v| v.is_finite()), "{m}x{n}x{k}");
    }
}

#[test]
fn zero_alpha_or_depth_only_scales_c() {
    let _g = lock();
    let mut c = vec![2.0f32; 6];
    gemm(&GemmSpec { alpha: 0.0, beta: 0.5, ..GemmSpec::new(2, 3, 1) }, &[f32::NAN; 2], &[1.0; 3], &mut c).unwrap();
    assert_eq!(c, vec![1.0; 6]);
    gemm(&GemmSpec { beta: 3.0, ..GemmSpec::new(2, 3, 0) }, &[], &[], &mut c).unwrap();
    assert_eq!(c, vec![3.0; 6]);
}

#[test]
fn wrong_lengths_are_shape_errors() {
    let _g = lock();
    let mut c = vec![0.0f32; 4];
    let e = gemm(&GemmSpec::new(2, 2, 3), &[0.0; 5], &[0.0; 6], &mut c).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    let e = gemm(&GemmSpec::new(2, 2, 3), &[0.0; 6], &[0.0; 6], &mut c[..3]).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
    let huge = usize::MAX / 2;
    let e = gemm(&GemmSpec::new(huge, 1, 4), &[], &[0.0; 4], &mut c).unwrap_err();
    assert_eq!(e.code, ErrorCode::Shape);
}
