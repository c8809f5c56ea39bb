use super::scalar;
use crate::rng::Rng;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn row(n: usize, seed: u64) -> Vec<f32> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.uniform(-100.0, 20.0)).collect()
}

#[test]
fn scalar_matches_std_exp() {
    for x in row(100_000, 1) {
        let x = x.clamp(-87.0, 20.0);
        let (a, b) = (scalar::exp(x) as f64, (x as f64).exp());
        assert!(((a - b) / b).abs() < 2e-7, "exp({x}) = {a}, want {b}");
    }
    assert_eq!(scalar::exp(0.0), 1.0);
    assert!(scalar::exp(-1000.0) > 0.0 && scalar::exp(-1000.0) < 1.2e-38);
}
