//! Every kernel set of `exp_shift_sum` against the scalar twin on ragged lengths (and NaN inputs), forced one
//! after the other (one test function: forcing is process-wide).

use quire_core::kernels::{self, exp};
use quire_core::rng::Rng;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn every_supported_set_matches_the_scalar_twin() {
    for set in kernels::sets_to_test() {
        kernels::force(set).unwrap();
        for (i, n) in [0usize, 1, 3, 7, 8, 15, 16, 17, 33, 100, 10_000, 10_003].into_iter().enumerate() {
            let mut r = Rng::new(10 + i as u64);
            let z: Vec<f32> = (0..n).map(|_| r.uniform(-100.0, 20.0)).collect();
            let (mut a, mut b) = (z.clone(), z.clone());
            let sa = exp::exp_shift_sum(&mut a, 5.0);
            assert_eq!(kernels::last_used(), Some(set), "{set:?} did not run");
            let sb = exp::scalar::exp_shift_sum(&mut b, 5.0);
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 4e-7 * y.abs(), "{set:?} n {n}: {x} vs {y}");
            }
            assert!((sa - sb).abs() <= 1e-6 * sb.abs(), "{set:?} n {n}: sum {sa} vs {sb}");
        }
        // A NaN stays NaN (and makes the sum NaN) in every set, never clamped to a bound.
        for n in [1usize, 8, 16, 17, 40] {
            for at in [0, n / 2, n - 1] {
                let mut z = vec![-3.0f32; n];
                z[at] = f32::NAN;
                let sum = exp::exp_shift_sum(&mut z, 0.0);
                assert!(z[at].is_nan() && sum.is_nan(), "{set:?} n {n}: a NaN at {at} gave {} (sum {sum})", z[at]);
                assert!(z.iter().enumerate().all(|(i, v)| i == at || v.is_finite()), "{set:?} n {n}: NaN leaked into other lanes");
            }
        }
    }
}
