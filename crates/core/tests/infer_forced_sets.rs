//! The inference engine under forced kernel sets and thread counts. Forcing a set changes
//! process-wide state that other tests read (`kernels::last_used`), so these checks run in their
//! own test binary, one test function.

use quire_core::compress::{prune_model, CompressedModel, CompressionInfo, PruneScope};
use quire_core::infer::{Engine, Kernel};
use quire_core::lstm::{LstmConfig, LstmModel};
use quire_core::quant::{Method, QuantConfig};
use quire_core::{kernels, threads};
use std::collections::BTreeMap;

/// The model quantized to 2 bits with 30 % of its LSTM weights pruned, as file bytes.
fn compressed_bytes(m: &mut LstmModel) -> Vec<u8> {
    let names: Vec<String> = m.tensor_names().into_iter().filter(|n| !n.ends_with("bias")).collect();
    let lstm: Vec<String> = names.iter().filter(|n| n.starts_with("lstm.")).cloned().collect();
    prune_model(m, &lstm, 0.3, PruneScope::PerMatrix).unwrap();
    let sel: Vec<(String, QuantConfig)> = names.iter().map(|n| (n.clone(), QuantConfig::new(2, Method::Alternating))).collect();
    let info =
        CompressionInfo { method: Method::Alternating, cycles: 2, group_size: 0, layers: "all".into(), sparsity: 0.0, fp_model_bytes: 1 };
    let meta = BTreeMap::from([("vocabulary".to_string(), "[]".to_string())]);
    CompressedModel::from_model(m, &sel, &BTreeMap::new(), info, meta).unwrap().0.to_bytes()
}

#[test]
fn engine_steps_under_every_forced_kernel_set() {
    // Untrained weights: the checks are of bit identity and dispatch, not of quality.
    let mut m = LstmModel::new(LstmConfig {
        vocab: 41,
        hidden: 72,
        layers: 2,
        init_scale: 0.3,
        dropout: 0.0,
        seed: 10,
        tied: false,
        cutoffs: vec![],
    })
    .unwrap();
    let bytes = compressed_bytes(&mut m);

    // A step runs its kernels on the set in force, and records it.
    for kernel in [Kernel::LutI8, Kernel::LutF32, Kernel::Popcount { activation_bits: 2 }] {
        for set in kernels::sets_to_test() {
            kernels::force(set).unwrap();
            let mut e = Engine::from_bytes(&bytes, kernel).unwrap();
            e.reset(4).unwrap();
            e.step(&[1, 2, 3, 4]).unwrap();
            assert_eq!(kernels::last_used(), Some(set), "{kernel:?} on {set:?}");
        }
    }

    // `lut-f32` runs the stream-parallel kernel: each stream's logits are bit-identical whatever
    // the batch it shares a step with, the thread count and the kernel set.
    let saved_threads = threads::threads();
    let batch = 11;
    let tokens = |t: u32| -> Vec<u32> { (0..batch as u32).map(|b| (b * 7 + t * 3) % 41).collect() };
    let run_batched = |threads: usize| -> Vec<Vec<f32>> {
        threads::set_threads(threads);
        let mut e = Engine::from_bytes(&bytes, Kernel::LutF32).unwrap();
        e.reset(batch).unwrap();
        (0..3).map(|t| e.step(&tokens(t)).unwrap().to_vec()).collect()
    };
    let mut reference: Option<Vec<Vec<f32>>> = None;
    for set in kernels::sets_to_test() {
        kernels::force(set).unwrap();
        for threads in [1, 2] {
            let got = run_batched(threads);
            match &reference {
                None => reference = Some(got),
                Some(want) => assert!(got == *want, "{set:?} with {threads} threads differs"),
            }
        }
    }
    let want = reference.unwrap();
    for b in 0..batch {
        let mut single = Engine::from_bytes(&bytes, Kernel::LutF32).unwrap();
        for (t, logits) in want.iter().enumerate() {
            let row = single.step(&[tokens(t as u32)[b]]).unwrap();
            assert!(row == &logits[b * 41..(b + 1) * 41], "stream {b} step {t} differs from its own batch-1 run");
        }
    }
    kernels::force(kernels::detect()).unwrap();
    threads::set_threads(saved_threads);
}
