//! Core-level checks of the model: finite-difference gradients, state carrying, files.

use super::{ActivationQuant, LstmConfig, LstmModel};
use crate::rng::Rng;
use std::collections::BTreeMap;

fn tiny(dropout: f32) -> LstmModel {
    tiny_tied(dropout, false)
}

fn tiny_tied(dropout: f32, tied: bool) -> LstmModel {
    LstmModel::new(LstmConfig { vocab: 11, hidden: 6, layers: 2, init_scale: 0.5, dropout, seed: 3, tied, cutoffs: vec![] }).unwrap()
}

fn window(seed: u64, n: usize, v: u64) -> (Vec<u32>, Vec<u32>) {
    let mut r = Rng::new(seed);
    let ids: Vec<u32> = (0..n + 1).map(|_| r.below(v) as u32).collect();
    (ids[..n].to_vec(), ids[1..].to_vec())
}

/// Central differences of `J = T · mean CE` for every parameter. Each evaluation starts from a
/// copy of the model made before the analytic pass (same weights, state and PRNG, hence the same
/// dropout masks), so the check covers dropout too. With `tied` the embedding is also the
/// softmax weight: perturbing it moves both, so its gradient must be the sum of the two.
fn check_gradients(dropout: f32, tied: bool) {
    check_gradients_of(tiny_tied(dropout, tied));
}

/// [`check_gradients`] of any model (on a window of ids below its vocabulary).
fn check_gradients_of(mut m: LstmModel) {
    let (b, t) = (2, 4);
    let (dropout, tied) = (m.config().dropout, m.config().tied);
    m.reset_state(b).unwrap();
    let (x, y) = window(9, b * t, m.config().vocab as u64);
    let snapshot = m.to_bytes("quire-checkpoint", &BTreeMap::new(), true).unwrap();
    m.gradients(&x, &y).unwrap();
    let objective = |name: &str, w: &[f32]| {
        let (mut c, _) = LstmModel::from_bytes(&snapshot).unwrap();
        c.set_tensor(name, w).unwrap();
        c.gradients(&x, &y).unwrap() * t as f64
    };
    for name in m.tensor_names() {
        let g = m.get_gradient(&name).unwrap();
        let w = m.get_tensor(&name).unwrap();
        let mut worst = 0.0f64;
        for i in 0..w.len() {
            let eps = 1e-2f32;
            let mut p = w.clone();
            p[i] = w[i] + eps;
            let up = objective(&name, &p);
            p[i] = w[i] - eps;
            let down = objective(&name, &p);
            let fd = (up - down) / (2.0 * eps as f64);
            worst = worst.max((fd - g[i] as f64).abs() / (1e-2 + fd.abs().max(g[i].abs() as f64)));
        }
        assert!(worst < 2e-2, "dropout {dropout}, tied {tied}, {name}: worst relative gradient error {worst}");
    }
}

#[test]
fn gradients_match_finite_differences() {
    check_gradients(0.0, false);
}

#[test]
fn gradients_with_dropout_match_finite_differences() {
    check_gradients(0.3, false);
}

#[test]
fn tied_gradients_match_finite_differences() {
    check_gradients(0.0, true);
    check_gradients(0.3, true);
}

/// A tied model: no `softmax.weight` tensor, `V·H` fewer parameters, the embedding acting as the
/// softmax weight (the logits of an untied model whose softmax weight is a copy of its embedding),
/// training lowers the loss, and its file round-trips byte for byte with `tied` in its config.
#[test]
fn tied_model_shares_the_embedding_with_the_softmax() {
    let (untied, mut tied) = (tiny_tied(0.0, false), tiny_tied(0.0, true));
    assert!(!tied.tensor_names().contains(&"softmax.weight".to_string()));
    assert_eq!(tied.tensor_names().len() + 1, untied.tensor_names().len());
    assert_eq!(untied.parameter_count() - tied.parameter_count(), 11 * 6);
    assert_eq!(Some(tied.parameter_count()), tied.config().parameter_count());
    assert_eq!(tied.get_tensor("softmax.weight").unwrap_err().code, crate::ErrorCode::Config);
    // The same function as an untied model holding the tied one's weights, the embedding copied.
    let mut copy = tiny_tied(0.0, false);
    for name in tied.tensor_names() {
        copy.set_tensor(&name, &tied.get_tensor(&name).unwrap()).unwrap();
    }
    copy.set_tensor("softmax.weight", &tied.get_tensor("embedding").unwrap()).unwrap();
    let (x, y) = window(6, 2 * 5, 11);
    tied.reset_state(2).unwrap();
    copy.reset_state(2).unwrap();
    assert_eq!(tied.evaluate(&x, &y).unwrap(), copy.evaluate(&x, &y).unwrap());
    // Its embedding gradient is the untied copy's embedding + softmax-weight gradients.
    tied.gradients(&x, &y).unwrap();
    copy.gradients(&x, &y).unwrap();
    let (ge, gs) = (copy.get_gradient("embedding").unwrap(), copy.get_gradient("softmax.weight").unwrap());
    for ((g, e), s) in tied.get_gradient("embedding").unwrap().iter().zip(&ge).zip(&gs) {
        assert!((g - (e + s)).abs() <= 1e-5 * (1.0 + g.abs()), "{g} vs {e} + {s}");
    }
    let first = tied.train_step(&x, &y, 1.0, 5.0).unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = tied.train_step(&x, &y, 1.0, 5.0).unwrap();
    }
    assert!(last < first * 0.8, "loss {first} -> {last}");
    let bytes = tied.to_bytes("quire-checkpoint", &BTreeMap::new(), true).unwrap();
    let (back, _) = LstmModel::from_bytes(&bytes).unwrap();
    assert!(back.config().tied);
    assert_eq!(back.to_bytes("quire-checkpoint", &BTreeMap::new(), true).unwrap(), bytes);
}

/// An untied file whose config is edited to say tied still holds its `softmax.weight`: `E_FORMAT`,
/// not a model that silently drops its softmax weight.
#[test]
fn a_tied_config_with_a_softmax_weight_is_a_format_error() {
    let bytes = tiny(0.0).to_bytes("quire-model", &BTreeMap::new(), false).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    let from = "\\\"seed\\\":3}";
    assert!(header.contains(from), "{header}");
    let mut h = header.replacen(from, "\\\"seed\\\":3,\\\"tied\\\":true}", 1);
    while !h.len().is_multiple_of(8) {
        h.push(' ');
    }
    let mut edited = (h.len() as u64).to_le_bytes().to_vec();
    edited.extend_from_slice(h.as_bytes());
    edited.extend_from_slice(&bytes[8 + n..]);
    let e = LstmModel::from_bytes(&edited).unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::Format);
    assert!(e.message.contains("softmax.weight"), "{}", e.message);
}

/// `tied` is absent from an untied config's JSON (files written before it read unchanged, and
/// untied files are byte-identical to theirs); a wrong type is `E_CONFIG`.
#[test]
fn tied_flag_in_the_config_json() {
    let untied = tiny(0.0).config().to_json();
    assert!(!untied.contains("tied"), "{untied}");
    assert!(!LstmConfig::from_json(&untied).unwrap().tied);
    let tied = tiny_tied(0.0, true).config().to_json();
    assert!(tied.contains("\"tied\":true"), "{tied}");
    assert!(LstmConfig::from_json(&tied).unwrap().tied);
    let bad = untied.replace('}', ",\"tied\":1}");
    assert_eq!(LstmConfig::from_json(&bad).unwrap_err().code, crate::ErrorCode::Config);
}

#[test]
fn training_lowers_the_loss_and_state_carries() {
    let mut m = tiny(0.1);
    m.reset_state(2).unwrap();
    let (x, y) = window(1, 2 * 5, 11);
    let first = m.train_step(&x, &y, 1.0, 5.0).unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = m.train_step(&x, &y, 1.0, 5.0).unwrap();
    }
    assert!(last < first * 0.8, "loss {first} -> {last}");
    let a = m.evaluate(&x, &y).unwrap();
    let b2 = m.evaluate(&x, &y).unwrap();
    assert_ne!(a, b2, "the second window must start from the carried state");
}

#[test]
fn bytes_round_trip_with_state() {
    let mut m = tiny(0.0);
    m.reset_state(3).unwrap();
    let (x, y) = window(2, 3 * 4, 11);
    m.train_step(&x, &y, 0.5, 5.0).unwrap();
    let extra = BTreeMap::from([("vocab".to_string(), "[]".to_string())]);
    let bytes = m.to_bytes("quire-checkpoint", &extra, true).unwrap();
    let (mut back, meta) = LstmModel::from_bytes(&bytes).unwrap();
    assert_eq!(meta["vocab"], "[]");
    assert_eq!(back.batch(), 3);
    assert_eq!(m.train_step(&x, &y, 0.5, 5.0).unwrap(), back.train_step(&x, &y, 0.5, 5.0).unwrap());
    assert!(m.to_bytes("quire-checkpoint", &BTreeMap::from([("config".into(), "x".into())]), false).is_err());
}

#[test]
fn bad_windows_are_shape_errors() {
    let mut m = tiny(0.0);
    m.reset_state(2).unwrap();
    assert_eq!(m.train_step(&[1, 2, 3], &[1, 2, 3], 1.0, 5.0).unwrap_err().code, crate::ErrorCode::Shape);
    assert_eq!(m.evaluate(&[1, 20], &[1, 2]).unwrap_err().code, crate::ErrorCode::Shape);
    assert_eq!(m.get_gradient("embedding").unwrap_err().code, crate::ErrorCode::State);
}

/// Distillation: α = 0 is the plain step; a teacher equal to the student at α = 1 has zero
/// gradient (the KL is at its minimum), so the weights do not move.
#[test]
fn distillation_reduces_to_the_plain_step_and_to_zero_gradient() {
    let (x, y) = window(5, 2 * 4, 11);
    let bytes = tiny(0.0).to_bytes("quire-checkpoint", &BTreeMap::new(), false).unwrap();
    let fresh = || {
        let (mut m, _) = LstmModel::from_bytes(&bytes).unwrap();
        m.reset_state(2).unwrap();
        m
    };
    let (mut plain, mut distilled, mut teacher) = (fresh(), fresh(), fresh());
    let a = plain.train_step(&x, &y, 0.5, 5.0).unwrap();
    let b = distilled.train_step_distilled(&mut teacher, 0.0, 1.0, &x, &y, 0.5, 5.0).unwrap();
    assert_eq!(a, b);
    for name in plain.tensor_names() {
        assert_eq!(plain.get_tensor(&name).unwrap(), distilled.get_tensor(&name).unwrap(), "{name}");
    }
    let (mut student, mut teacher) = (fresh(), fresh());
    student.train_step_distilled(&mut teacher, 1.0, 1.0, &x, &y, 0.5, 0.0).unwrap();
    assert!(student.last_grad_norm() < 1e-5, "gradient norm {}", student.last_grad_norm());
    assert!(student.train_step_distilled(&mut teacher, 1.5, 1.0, &x, &y, 0.5, 0.0).is_err());
    // At any temperature the KL is at its minimum when the teacher is the student.
    let (mut student, mut teacher) = (fresh(), fresh());
    student.train_step_distilled(&mut teacher, 1.0, 2.5, &x, &y, 0.5, 0.0).unwrap();
    assert!(student.last_grad_norm() < 1e-5, "gradient norm at T 2.5: {}", student.last_grad_norm());
    for bad in [0.0, -1.0, f32::NAN, 101.0] {
        let e = student.train_step_distilled(&mut teacher, 0.5, bad, &x, &y, 0.5, 0.0).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Config, "temperature {bad}");
    }
    assert!(student.set_dropout(1.0).is_err());
    student.set_dropout(0.3).unwrap();
    assert_eq!(student.config().dropout, 0.3);
}

/// Distillation at temperature T: the fused gradient equals finite differences of
/// `(1−α)·CE + α·T²·KL(q ‖ softmax(z/T))` (q = the teacher's softmax at T), at T = 1 the
/// untempered formula, and a teacher equal to the student gives the plain CE gradient times (1−α).
#[test]
fn tempered_distillation_gradient_matches_finite_differences() {
    use super::softmax::{cross_entropy_with, Teacher};
    let (rows, v) = (3, 7);
    let mut rng = Rng::new(17);
    let z: Vec<f32> = (0..rows * v).map(|_| 2.0 * rng.normal()).collect();
    let zt: Vec<f32> = (0..rows * v).map(|_| 2.0 * rng.normal()).collect();
    let targets = [2u32, 0, 6];
    let soft = |z: &[f32], t: f64| -> Vec<f64> {
        z.chunks(v)
            .flat_map(|row| {
                let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64 / t));
                let e: Vec<f64> = row.iter().map(|&x| (x as f64 / t - m).exp()).collect();
                let s: f64 = e.iter().sum();
                e.into_iter().map(move |x| x / s)
            })
            .collect()
    };
    for (alpha, temp) in [(0.5f32, 2.0f32), (1.0, 3.0), (0.3, 0.5), (0.7, 1.0)] {
        let q: Vec<f32> = soft(&zt, temp as f64).into_iter().map(|x| x as f32).collect();
        let objective = |z: &[f32]| -> f64 {
            let (p1, pt) = (soft(z, 1.0), soft(z, temp as f64));
            let mut total = 0.0;
            for r in 0..rows {
                total += -(1.0 - alpha as f64) * p1[r * v + targets[r] as usize].ln();
                for j in 0..v {
                    let qj = q[r * v + j] as f64;
                    total += alpha as f64 * (temp as f64).powi(2) * qj * (qj.ln() - pt[r * v + j].ln());
                }
            }
            total
        };
        let mut g = z.clone();
        let mut loss = vec![0.0; rows];
        let teacher = Teacher { probs: &q, alpha, temperature: temp };
        cross_entropy_with(&mut g, v, &targets, &mut loss, Some(1.0), Some(teacher));
        for k in 0..rows * v {
            let (mut up, mut down) = (z.clone(), z.clone());
            let h = 1e-2;
            up[k] += h;
            down[k] -= h;
            let numeric = (objective(&up) - objective(&down)) / (2.0 * h as f64);
            assert!((numeric - g[k] as f64).abs() < 1e-3 * (1.0 + numeric.abs()), "α {alpha} T {temp} [{k}]: {numeric} vs {}", g[k]);
        }
    }
}

/// Straight-through activation quantization: where the loss depends on a weight only through
/// products whose quantized inputs do not depend on that weight, the gradient is exact. With one
/// layer and a zero initial state, `W_ih` and the bias act on the quantized embedding rows (in
/// a 1-step window), `W_hh` on the quantized `h_0`, which `W_hh` does not change (in a 2-step
/// window), the softmax on the unquantized output: the backward pass must have used the
/// quantized inputs for these to match finite differences.
#[test]
fn straight_through_gradients_are_exact_where_the_quantizer_is_constant() {
    for (steps, names) in [(1, ["lstm.0.w_ih", "lstm.0.bias", "softmax.weight"]), (2, ["lstm.0.w_hh", "softmax.bias", "softmax.weight"])] {
        let b = 2;
        let mut m = LstmModel::new(LstmConfig {
            vocab: 9,
            hidden: 5,
            layers: 1,
            init_scale: 0.5,
            dropout: 0.0,
            seed: 4,
            tied: false,
            cutoffs: vec![],
        })
        .unwrap();
        m.set_activation_quant(Some(ActivationQuant::new(2, false).unwrap()));
        m.reset_state(b).unwrap();
        let (x, y) = window(10, b * steps, 9);
        let snapshot = m.to_bytes("quire-checkpoint", &BTreeMap::new(), true).unwrap();
        let plain = {
            let (mut c, _) = LstmModel::from_bytes(&snapshot).unwrap();
            c.gradients(&x, &y).unwrap()
        };
        let loss = m.gradients(&x, &y).unwrap();
        assert_ne!(loss, plain, "the quantized forward pass must differ from the plain one");
        let objective = |name: &str, w: &[f32]| {
            let (mut c, _) = LstmModel::from_bytes(&snapshot).unwrap();
            c.set_activation_quant(m.activation_quant());
            c.set_tensor(name, w).unwrap();
            c.gradients(&x, &y).unwrap() * steps as f64
        };
        for name in names {
            let (g, w) = (m.get_gradient(name).unwrap(), m.get_tensor(name).unwrap());
            let mut worst = 0.0f64;
            for i in 0..w.len() {
                let eps = 1e-2f32;
                let mut p = w.clone();
                p[i] = w[i] + eps;
                let up = objective(name, &p);
                p[i] = w[i] - eps;
                let fd = (up - objective(name, &p)) / (2.0 * eps as f64);
                worst = worst.max((fd - g[i] as f64).abs() / (1e-2 + fd.abs().max(g[i].abs() as f64)));
            }
            assert!(worst < 2e-2, "{steps} steps, {name}: worst relative gradient error {worst}");
        }
    }
    assert!(ActivationQuant::new(0, false).is_err() && ActivationQuant::new(9, true).is_err());
}

/// The greedy approximation of an activation vector is the one the popcount kernel packs.
#[test]
fn activation_approximation_is_the_greedy_code() {
    let mut r = Rng::new(8);
    let x: Vec<f32> = (0..37).map(|_| r.uniform(-2.0, 2.0)).collect();
    for bits in 1..=4 {
        let (mut codes, mut alphas) = (vec![0u8; x.len()], vec![0f32; bits]);
        crate::quant::greedy::solve(&x, &mut codes, &mut alphas);
        let mut got = vec![0f32; x.len()];
        crate::quant::greedy::approximate(&x, bits, &mut got);
        for (j, g) in got.iter().enumerate() {
            let want: f32 = (0..bits).map(|i| if codes[j] >> i & 1 == 1 { alphas[i] } else { -alphas[i] }).sum();
            assert!((g - want).abs() <= 1e-5, "bits {bits}, entry {j}: {g} vs {want}");
        }
    }
}

/// A model with an adaptive softmax: vocabulary 11 in a head of 4 words and 2 clusters (tokens
/// 4..7 projected to 2 dimensions, 7..11 to 1), 8 units.
fn tiny_adaptive(dropout: f32) -> LstmModel {
    let config = LstmConfig { vocab: 11, hidden: 8, layers: 2, init_scale: 0.5, dropout, seed: 3, tied: false, cutoffs: vec![4, 7] };
    LstmModel::new(config).unwrap()
}

#[test]
fn adaptive_softmax_gradients_match_finite_differences() {
    check_gradients_of(tiny_adaptive(0.0));
    check_gradients_of(tiny_adaptive(0.3));
}

/// The adaptive softmax's tensors follow the layout (PyTorch's `AdaptiveLogSoftmaxWithLoss` shapes
/// with `div_value` 4), its loss is `−log p(target)` of a distribution over all V tokens that
/// sums to 1 (computed here from the tensors by hand), training lowers it, and the file
/// round-trips with the cut-offs in its config.
#[test]
fn adaptive_softmax_is_a_normalized_distribution_over_the_vocabulary() {
    let mut m = tiny_adaptive(0.0);
    let shapes: Vec<(String, Vec<usize>)> =
        m.tensor_names().into_iter().skip(7).map(|n| (n.clone(), m.tensor_shape(&n).unwrap())).collect();
    let want = [
        ("softmax.head.weight", vec![6, 8]),
        ("softmax.head.bias", vec![6]),
        ("softmax.tail.0.proj", vec![2, 8]),
        ("softmax.tail.0.weight", vec![3, 2]),
        ("softmax.tail.1.proj", vec![1, 8]),
        ("softmax.tail.1.weight", vec![4, 1]),
    ];
    assert_eq!(shapes, want.iter().map(|(n, s)| (n.to_string(), s.clone())).collect::<Vec<_>>());
    assert_eq!(Some(m.parameter_count()), m.config().parameter_count());
    // One step (T = B = 1) from the zero state: h is the last layer's output, which the
    // single-token loss of every possible target reveals through p(w) = exp(−loss).
    let snapshot = m.to_bytes("quire-checkpoint", &BTreeMap::new(), true).unwrap();
    let probs: Vec<f64> = (0..11u32)
        .map(|target| {
            let (mut c, _) = LstmModel::from_bytes(&snapshot).unwrap();
            (-c.evaluate(&[3], &[target]).unwrap()).exp()
        })
        .collect();
    let total: f64 = probs.iter().sum();
    assert!((total - 1.0).abs() < 1e-5, "p sums to {total}");
    // The same probabilities from the engine (exact log-probabilities as its logits).
    let mut engine = crate::infer::Engine::from_model(&m, BTreeMap::new(), crate::bcq::Kernel::LutI8).unwrap();
    let logits = engine.step(&[3]).unwrap().to_vec();
    for (w, (&lp, &p)) in logits.iter().zip(&probs).enumerate() {
        assert!((lp as f64 - p.ln()).abs() < 1e-4, "token {w}: engine log p {lp}, model {}", p.ln());
    }
    // Training lowers the loss; the file keeps the cut-offs.
    m.reset_state(2).unwrap();
    let (x, y) = window(5, 2 * 6, 11);
    let first = m.train_step(&x, &y, 1.0, 5.0).unwrap();
    let mut last = first;
    for _ in 0..30 {
        m.reset_state(2).unwrap();
        last = m.train_step(&x, &y, 1.0, 5.0).unwrap();
    }
    assert!(last < first * 0.7, "loss {first} -> {last}");
    let (back, _) = LstmModel::from_bytes(&m.to_bytes("quire-model", &BTreeMap::new(), false).unwrap()).unwrap();
    assert_eq!(back.config().cutoffs, vec![4, 7]);
    assert_eq!(back.get_tensor("softmax.tail.1.weight").unwrap(), m.get_tensor("softmax.tail.1.weight").unwrap());
}

#[test]
fn bad_adaptive_cutoffs_are_config_errors() {
    let base = LstmConfig { vocab: 11, hidden: 8, layers: 1, init_scale: 0.1, dropout: 0.0, seed: 1, tied: false, cutoffs: vec![] };
    for (cutoffs, tied, needle) in [
        (vec![4, 4], false, "increase strictly"),
        (vec![0, 4], false, "increase strictly"),
        (vec![4, 11], false, "increase strictly"),
        (vec![5, 2], false, "increase strictly"),
        (vec![4], true, "cannot be tied"),
        ((1..10).collect(), false, "at most 8"),
    ] {
        let err = LstmModel::new(LstmConfig { cutoffs, tied, ..base.clone() }).unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::Config);
        assert!(err.message.contains(needle), "{}", err.message);
    }
    assert!(LstmConfig::from_json(&LstmConfig { cutoffs: vec![2, 9], ..base.clone() }.to_json()).is_ok());
    assert!(!base.to_json().contains("cutoffs"), "a full-softmax config keeps its JSON");
}
