//! Pruning, in-place quantization, retraining with masks and the compressed file.

use super::*;
use crate::lstm::tensor_layout;
use crate::lstm::{LstmConfig, LstmModel};
use crate::quant::{quantize_rows, Method, QuantConfig, RowAllocation};
use crate::rng::Rng;
use crate::ErrorCode;
use std::collections::BTreeMap;

fn tiny() -> LstmModel {
    LstmModel::new(LstmConfig { vocab: 13, hidden: 70, layers: 2, init_scale: 0.3, dropout: 0.0, seed: 5, tied: false, cutoffs: vec![] })
        .unwrap()
}

fn lstm_names(m: &LstmModel) -> Vec<String> {
    m.tensor_names().into_iter().filter(|n| n.starts_with("lstm.") && !n.ends_with("bias")).collect()
}

fn info(sparsity: f64) -> CompressionInfo {
    CompressionInfo { method: Method::Alternating, cycles: 2, group_size: 0, layers: "lstm".into(), sparsity, fp_model_bytes: 1234 }
}

fn train_a_bit(m: &mut LstmModel, steps: usize) {
    let mut r = Rng::new(1);
    m.reset_state(2).unwrap();
    for _ in 0..steps {
        let ids: Vec<u32> = (0..9).map(|_| r.below(13) as u32).collect();
        m.train_step(&ids[..8], &ids[1..], 0.5, 5.0).unwrap();
    }
}

#[test]
fn layout_matches_the_model() {
    let m = tiny();
    let layout = tensor_layout(m.config());
    let names: Vec<String> = layout.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, m.tensor_names());
    for (n, s) in layout {
        assert_eq!(s, m.tensor_shape(&n).unwrap());
    }
}

#[test]
fn magnitude_masks_prune_exact_counts() {
    let a = [0.5f32, -0.1, 0.0, 2.0, -3.0, 0.2];
    let b = [10f32, 0.05, -0.3, 0.4];
    let per = magnitude_masks(&[&a, &b], 0.5, PruneScope::PerMatrix).unwrap();
    assert_eq!(per[0], vec![1, 0, 0, 1, 1, 0]);
    assert_eq!(per[1], vec![1, 0, 0, 1]);
    let global = magnitude_masks(&[&a, &b], 0.5, PruneScope::Global).unwrap();
    assert_eq!(global[0], vec![1, 0, 0, 1, 1, 0]);
    assert_eq!(global[1], vec![1, 0, 0, 1]);
    let g3 = magnitude_masks(&[&a, &b], 0.3, PruneScope::Global).unwrap();
    assert_eq!(g3.iter().flatten().filter(|&&k| k == 0).count(), 3);
    assert_eq!(magnitude_masks(&[&a], 1.0, PruneScope::Global).unwrap_err().code, ErrorCode::Config);
    assert_eq!(magnitude_masks(&[&[f32::NAN]], 0.5, PruneScope::Global).unwrap_err().code, ErrorCode::NonFinite);
    assert_eq!(PruneScope::parse("rows").unwrap_err().code, ErrorCode::Config);
}

#[test]
fn pruned_entries_stay_zero_through_training() {
    let mut m = tiny();
    let names = lstm_names(&m);
    prune_model(&mut m, &names, 0.5, PruneScope::PerMatrix).unwrap();
    train_a_bit(&mut m, 5);
    for n in &names {
        let w = m.get_tensor(n).unwrap();
        let mask = m.mask(n).unwrap().unwrap().to_vec();
        assert_eq!(mask.iter().filter(|&&k| k == 0).count(), w.len() / 2);
        for (v, k) in w.iter().zip(&mask) {
            if *k == 0 {
                assert_eq!(*v, 0.0);
            }
        }
        assert!(w.iter().zip(&mask).any(|(v, k)| *k == 1 && *v != 0.0));
    }
    m.set_mask(&names[0], None).unwrap();
    assert!(m.mask(&names[0]).unwrap().is_none());
    assert_eq!(m.set_mask(&names[0], Some(&[1, 0])).unwrap_err().code, ErrorCode::Shape);
}

#[test]
fn quantize_tensor_writes_q_of_w_and_reports_the_loss() {
    let mut m = tiny();
    let cfg = QuantConfig::new(2, Method::Refined);
    let name = "lstm.0.w_hh";
    let w = m.get_tensor(name).unwrap();
    let (q, loss) = quantize_tensor(&mut m, name, &cfg, None).unwrap();
    let exact = quantize_rows(&w, 280, 70, &cfg, None).unwrap();
    let expect = quantize_rows(&w, 280, 70, &cfg, None).unwrap().with_half_scales().unwrap();
    assert!(crate::format::half::all_f16(expect.scales()));
    for (a, b) in exact.scales().iter().zip(expect.scales()) {
        assert!((a - b).abs() <= a.abs() / 2048.0, "{a} rounds to its nearest f16, not {b}");
    }
    assert_eq!(m.get_tensor(name).unwrap(), expect.dequantize());
    assert_eq!(q.dequantize(), expect.dequantize());
    assert!((loss.relative() - expect.relative_error(&w).unwrap()).abs() < 1e-9);
    assert_eq!(quantize_tensor(&mut m, "lstm.0.bias", &cfg, None).err().unwrap().code, ErrorCode::Config);
    assert_eq!(quantize_tensor(&mut m, "nope", &cfg, None).err().unwrap().code, ErrorCode::Config);
}

#[test]
fn compressed_file_round_trips_and_equals_q_of_w() {
    let mut m = tiny();
    let names = lstm_names(&m);
    prune_model(&mut m, &names, 0.5, PruneScope::Global).unwrap();
    let mut sel: Vec<(String, QuantConfig)> = names.iter().map(|n| (n.clone(), QuantConfig::new(1, Method::Alternating))).collect();
    sel.push(("softmax.weight".into(), QuantConfig::new(3, Method::Alternating)));
    let before: Vec<Vec<f32>> = sel.iter().map(|(n, _)| m.get_tensor(n).unwrap()).collect();
    let mut meta = BTreeMap::new();
    meta.insert("vocabulary".to_string(), "[\"a\",\"b\"]".to_string());
    let (cm, losses) = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.5), meta).unwrap();
    assert_eq!(losses.len(), sel.len());
    assert!(sel.iter().all(|(n, _)| losses.contains_key(n)));
    for ((n, cfg), w) in sel.iter().zip(&before) {
        let q = quantize_rows(w, w.len() / 70, 70, cfg, m.mask(n).unwrap()).unwrap().with_half_scales().unwrap();
        assert_eq!(m.get_tensor(n).unwrap(), q.dequantize(), "{n}");
    }
    let bytes = cm.to_bytes();
    let back = CompressedModel::from_bytes(&bytes).unwrap();
    assert_eq!(back.info, cm.info);
    assert_eq!(back.metadata.get("vocabulary").unwrap(), "[\"a\",\"b\"]");
    assert_eq!(back.stats(), cm.stats());
    let restored = back.to_model().unwrap();
    for n in m.tensor_names() {
        assert_eq!(restored.get_tensor(&n).unwrap(), m.get_tensor(&n).unwrap(), "{n}");
    }
    for n in &names {
        assert_eq!(restored.mask(n).unwrap(), m.mask(n).unwrap());
    }
    let s = cm.stats();
    assert_eq!(s.quantized_weights, 4 * 280 * 70 + 13 * 70);
    // Tight streams: 1-bit LSTM codes of the kept weights only (⌈kept/64⌉ words) and masks
    // (280·70 bits, 307 words), one f16 scale per row; 3-bit softmax (not pruned) planes (13·3·70
    // bits = 43 words).
    let codes: usize = names.iter().map(|n| 8 * m.mask(n).unwrap().unwrap().iter().filter(|&&k| k != 0).count().div_ceil(64)).sum();
    assert_eq!(s.quantized_bytes, codes + 4 * (8 * 307 + 2 * 280) + 8 * 43 + 2 * 3 * 13);
    assert_eq!(s.fp_params, 13 * 70 + 2 * 280 + 13);
}

/// Scales are stored as F16 when every one is an f16 (what compression makes them), else as
/// F32 (a scale f16 cannot hold at full precision); files of version 2 (F32 scales) still read.
#[test]
fn scales_are_stored_as_f16_when_exact_and_f32_otherwise() {
    let dtype_of = |bytes: &[u8], name: &str| crate::format::read(bytes).unwrap().tensors[name].dtype;
    let mut m = tiny();
    let sel = vec![("lstm.0.w_hh".to_string(), QuantConfig::new(2, Method::Greedy))];
    let small = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), BTreeMap::new()).unwrap().0.to_bytes();
    assert_eq!(dtype_of(&small, "lstm.0.w_hh.scales"), crate::format::DType::F16);
    // Weights of 1e6: their scales overflow f16 and stay f32, in memory and in the file.
    let big: Vec<f32> = m.get_tensor("lstm.0.w_hh").unwrap().iter().map(|w| w * 1e7).collect();
    m.set_tensor("lstm.0.w_hh", &big).unwrap();
    let (cm, _) = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), BTreeMap::new()).unwrap();
    let bytes = cm.to_bytes();
    assert_eq!(dtype_of(&bytes, "lstm.0.w_hh.scales"), crate::format::DType::F32);
    let back = CompressedModel::from_bytes(&bytes).unwrap().to_model().unwrap();
    assert_eq!(back.get_tensor("lstm.0.w_hh").unwrap(), m.get_tensor("lstm.0.w_hh").unwrap());
    // The same file labelled version 2 (which always stored F32 scales) reads the same.
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap().replacen("\"version\":\"3\"", "\"version\":\"2\"", 1);
    let mut v2 = bytes.clone();
    v2[8..8 + n].copy_from_slice(header.as_bytes());
    let read = CompressedModel::from_bytes(&v2).unwrap().to_model().unwrap();
    assert_eq!(read.get_tensor("lstm.0.w_hh").unwrap(), m.get_tensor("lstm.0.w_hh").unwrap());
}

/// Mixed-precision rows (version 4): a file stores each row's planes and scales only, plus the
/// row-bit table, reads back the same matrices (masked or not), and refuses a table that
/// contradicts the file; a file without mixed rows stays version 3.
#[test]
fn mixed_precision_rows_round_trip_and_corrupt_tables_are_format_errors() {
    let version = |bytes: &[u8]| crate::format::read(bytes).unwrap().meta("version").unwrap().to_string();
    for prune in [false, true] {
        let mut m = tiny();
        train_a_bit(&mut m, 3);
        if prune {
            prune_model(&mut m, &["embedding".to_string()], 0.4, PruneScope::PerMatrix).unwrap();
        }
        let sel = vec![
            ("embedding".to_string(), QuantConfig::new(2, Method::Alternating)),
            ("lstm.0.w_hh".to_string(), QuantConfig::new(2, Method::Alternating)),
        ];
        let importance: Vec<f32> = (0..m.config().vocab).map(|r| if r % 4 == 0 { 50.0 } else { 1.0 }).collect();
        let rows =
            BTreeMap::from([("embedding".to_string(), RowAllocation { max_bits: 4, importance: Some(importance), mean_bits: None })]);
        let (cm, _) = CompressedModel::from_model(&mut m, &sel, &rows, info(0.0), BTreeMap::new()).unwrap();
        let emb = &cm.quantized.iter().find(|q| q.name == "embedding").unwrap().matrix;
        assert!(emb.row_bits().is_some() && emb.mean_bits() <= 2.0);
        let bytes = cm.to_bytes();
        assert_eq!(version(&bytes), "4");
        let back = CompressedModel::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes, "prune {prune}");
        assert_eq!(back.to_model().unwrap().get_tensor("embedding").unwrap(), m.get_tensor("embedding").unwrap());
        assert_eq!(back.stats(), cm.stats());
        // A row-bit table naming more bits than the file's `bits`: every row at 4 + 1.
        let mut bad = bytes.clone();
        let c = crate::format::read(&bytes).unwrap();
        let range = c.tensors["embedding.rowbits"].range.clone();
        for b in &mut bad[range.start..range.start + 8] {
            *b = 0xFF;
        }
        assert_eq!(CompressedModel::from_bytes(&bad).err().unwrap().code, ErrorCode::Format, "prune {prune}");
    }
    let mut m = tiny();
    let sel = vec![("embedding".to_string(), QuantConfig::new(2, Method::Greedy))];
    let uniform = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), BTreeMap::new()).unwrap().0.to_bytes();
    assert_eq!(version(&uniform), "3");
    let rows = BTreeMap::from([("softmax.weight".to_string(), RowAllocation { max_bits: 3, importance: None, mean_bits: None })]);
    let e = CompressedModel::from_model(&mut tiny(), &sel, &rows, info(0.0), BTreeMap::new()).err().unwrap();
    assert_eq!(e.code, ErrorCode::Config, "{}", e.message);
}

#[test]
fn corrupt_compressed_files_are_format_errors() {
    let mut m = tiny();
    let names = lstm_names(&m);
    let sel: Vec<(String, QuantConfig)> = names.iter().map(|n| (n.clone(), QuantConfig::new(1, Method::Greedy))).collect();
    let bytes = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), BTreeMap::new()).unwrap().0.to_bytes();
    for len in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(CompressedModel::from_bytes(&bytes[..len]).err().unwrap().code, ErrorCode::Format, "len {len}");
    }
    let checkpoint = m.to_bytes("quire-model", &BTreeMap::new(), false).unwrap();
    let e = CompressedModel::from_bytes(&checkpoint).err().unwrap();
    assert_eq!(e.code, ErrorCode::Format);
    assert!(e.message.contains("not a compressed"), "{}", e.message);
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8(bytes[8..8 + n].to_vec()).unwrap();
    for (from, to) in [
        ("\"version\":\"3\"", "\"version\":\"9\""),
        ("\\\"lstm.0.w_ih\\\":1", "\\\"lstm.0.w_ih\\\":2"),
        ("\"sparsity\":\"0\"", "\"sparsity\":\"2\""),
    ] {
        assert!(header.contains(from), "{from}");
        let mut h = header.replacen(from, to, 1);
        while h.len() < n {
            h.push(' ');
        }
        let mut b = bytes.clone();
        b[8..8 + n].copy_from_slice(h.as_bytes());
        assert_eq!(CompressedModel::from_bytes(&b).err().unwrap().code, ErrorCode::Format, "{from}");
    }
    let mut meta = BTreeMap::new();
    meta.insert("bits".to_string(), "x".to_string());
    assert_eq!(CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), meta).err().unwrap().code, ErrorCode::Config);
    let dup = vec![sel[0].clone(), sel[0].clone()];
    assert_eq!(
        CompressedModel::from_model(&mut m, &dup, &BTreeMap::new(), info(0.0), BTreeMap::new()).err().unwrap().code,
        ErrorCode::Config
    );
}

/// A tied model compresses its shared matrix once (one quantized `embedding`, no
/// `softmax.weight`); the file round-trips, and the packed engine computes what the dequantized
/// model computes, the one packed matrix serving the lookup and the softmax product.
#[test]
fn tied_model_compresses_the_shared_matrix_once() {
    let mut m = LstmModel::new(LstmConfig {
        vocab: 13,
        hidden: 70,
        layers: 2,
        init_scale: 0.3,
        dropout: 0.0,
        seed: 5,
        tied: true,
        cutoffs: vec![],
    })
    .unwrap();
    train_a_bit(&mut m, 5);
    let mut sel: Vec<(String, QuantConfig)> = lstm_names(&m).into_iter().map(|n| (n, QuantConfig::new(2, Method::Alternating))).collect();
    sel.push(("embedding".into(), QuantConfig::new(3, Method::Alternating)));
    let (cm, _) = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), BTreeMap::new()).unwrap();
    assert!(cm.fp.iter().all(|(n, _, _)| n != "softmax.weight" && n != "embedding"));
    assert_eq!(cm.stats().quantized_weights, 4 * 280 * 70 + 13 * 70);
    assert_eq!(cm.stats().fp_params, 2 * 280 + 13);
    let bytes = cm.to_bytes();
    let back = CompressedModel::from_bytes(&bytes).unwrap();
    assert!(back.config.tied);
    assert_eq!(back.to_bytes(), bytes);
    let mut deq = back.to_model().unwrap();
    for n in m.tensor_names() {
        assert_eq!(deq.get_tensor(&n).unwrap(), m.get_tensor(&n).unwrap(), "{n}");
    }
    let mut r = Rng::new(9);
    let ids: Vec<u32> = (0..2 * 12 + 1).map(|_| r.below(13) as u32).collect();
    deq.reset_state(2).unwrap();
    let want = deq.evaluate(&ids[..24], &ids[1..]).unwrap();
    let mut engine = crate::infer::Engine::from_bytes(&bytes, crate::infer::Kernel::LutF32).unwrap();
    let bits: Vec<(String, usize)> = engine.bits();
    assert_eq!(bits[0], ("embedding".to_string(), 3));
    assert_eq!(bits.len(), 5, "{bits:?}");
    engine.reset(2).unwrap();
    let got = engine.evaluate(&ids[..24], &ids[1..]).unwrap();
    assert!((got - want).abs() <= 1e-5 * want.abs(), "{got} vs {want}");
    // An untied model of the same shape cannot take the tied weights.
    assert_eq!(back.dequantize_into(&mut tiny()).unwrap_err().code, ErrorCode::Config);
    // With activation bits, the softmax input of a tied model with a quantized embedding is quantized too.
    let mut meta = BTreeMap::new();
    meta.insert(ACTIVATION_BITS_KEY.to_string(), "2".to_string());
    let (cm, _) = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.0), meta).unwrap();
    assert!(cm.activation_quant().unwrap().unwrap().softmax);
}

/// Scale tuning: after training the dequantized model, `refit_scales` keeps every code and
/// mask, moves the scales to the least-squares fit of the trained weights, writes exactly the
/// compressed model back into the model and takes its trained FP tensors.
#[test]
fn refit_scales_follows_training_with_codes_fixed() {
    let mut m = tiny();
    let names = lstm_names(&m);
    prune_model(&mut m, &names, 0.3, PruneScope::PerMatrix).unwrap();
    let sel: Vec<(String, QuantConfig)> = names.iter().map(|n| (n.clone(), QuantConfig::new(2, Method::Alternating))).collect();
    let (mut cm, _) = CompressedModel::from_model(&mut m, &sel, &BTreeMap::new(), info(0.3), BTreeMap::new()).unwrap();
    let planes: Vec<Vec<u64>> = cm.quantized.iter().map(|q| q.matrix.planes().to_vec()).collect();
    let scales: Vec<Vec<f32>> = cm.quantized.iter().map(|q| q.matrix.scales().to_vec()).collect();
    train_a_bit(&mut m, 20);
    let trained: Vec<Vec<f32>> = names.iter().map(|n| m.get_tensor(n).unwrap()).collect();
    let losses = cm.refit_scales(&mut m).unwrap();
    for (i, q) in cm.quantized.iter().enumerate() {
        assert_eq!(q.matrix.planes(), &planes[i][..], "{}", q.name);
        assert_ne!(q.matrix.scales(), &scales[i][..], "{}: the scales follow training", q.name);
        assert_eq!(m.get_tensor(&q.name).unwrap(), q.matrix.dequantize(), "{}", q.name);
        let l = losses[&q.name];
        assert_eq!(l, QuantLoss::between(&trained[i], &q.matrix.dequantize()));
        assert!(l.relative() > 0.0 && l.relative() < 0.2, "{}: {}", q.name, l.relative());
    }
    for (name, _, values) in &cm.fp {
        assert_eq!(&m.get_tensor(name).unwrap(), values, "{name}: FP tensors are the trained ones");
    }
    let back = CompressedModel::from_bytes(&cm.to_bytes()).unwrap().to_model().unwrap();
    for n in m.tensor_names() {
        assert_eq!(back.get_tensor(&n).unwrap(), m.get_tensor(&n).unwrap(), "{n}");
    }
    let mut other = LstmModel::new(LstmConfig { hidden: 71, ..m.config().clone() }).unwrap();
    assert_eq!(cm.refit_scales(&mut other).unwrap_err().code, ErrorCode::Config);
}

/// Retraining through the quantizer: `requantize` quantizes the trained weights again in the
/// compressed model's layout — what `from_model` gives for uniform matrices, the same row bits
/// for a mixed-precision one — writes it into the model and takes the FP tensors.
#[test]
fn requantize_solves_again_in_the_same_layout() {
    let mut m = tiny();
    train_a_bit(&mut m, 3);
    prune_model(&mut m, &["lstm.0.w_hh".to_string()], 0.3, PruneScope::PerMatrix).unwrap();
    let sel = vec![
        ("embedding".to_string(), QuantConfig::new(2, Method::Alternating)),
        ("lstm.0.w_hh".to_string(), QuantConfig::new(2, Method::Alternating)),
        ("lstm.1.w_ih".to_string(), QuantConfig::new(1, Method::Alternating)),
    ];
    let importance: Vec<f32> = (0..m.config().vocab).map(|r| if r % 4 == 0 { 50.0 } else { 1.0 }).collect();
    let rows = BTreeMap::from([("embedding".to_string(), RowAllocation { max_bits: 4, importance: Some(importance), mean_bits: None })]);
    let (mut cm, _) = CompressedModel::from_model(&mut m, &sel, &rows, info(0.0), BTreeMap::new()).unwrap();
    let row_bits = cm.quantized[0].matrix.row_bits().unwrap().to_vec();
    train_a_bit(&mut m, 20);
    let mut fresh = tiny();
    for n in m.tensor_names() {
        fresh.set_tensor(&n, &m.get_tensor(&n).unwrap()).unwrap();
    }
    let mask = m.mask("lstm.0.w_hh").unwrap().map(<[u8]>::to_vec);
    fresh.set_mask("lstm.0.w_hh", mask.as_deref()).unwrap();
    let trained: Vec<Vec<f32>> = sel.iter().map(|(n, _)| m.get_tensor(n).unwrap()).collect();
    let losses = cm.requantize(&mut m).unwrap();
    let (direct, _) = CompressedModel::from_model(&mut fresh, &sel[1..], &BTreeMap::new(), info(0.0), BTreeMap::new()).unwrap();
    assert_eq!(cm.quantized[0].matrix.row_bits().unwrap(), &row_bits[..]);
    for (i, q) in cm.quantized.iter().enumerate() {
        assert_eq!(m.get_tensor(&q.name).unwrap(), q.matrix.dequantize(), "{}", q.name);
        assert_eq!(losses[&q.name], QuantLoss::between(&trained[i], &q.matrix.dequantize()));
        if i > 0 {
            let d = &direct.quantized[i - 1].matrix;
            assert_eq!((q.matrix.planes(), q.matrix.scales(), q.matrix.mask()), (d.planes(), d.scales(), d.mask()), "{}", q.name);
        }
    }
    for (name, _, values) in &cm.fp {
        assert_eq!(&m.get_tensor(name).unwrap(), values, "{name}: FP tensors are the trained ones");
    }
    let mut other = LstmModel::new(LstmConfig { hidden: 71, ..m.config().clone() }).unwrap();
    assert_eq!(cm.requantize(&mut other).unwrap_err().code, ErrorCode::Config);
}
