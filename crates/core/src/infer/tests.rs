//! The engine against the training model's own evaluation (FP and dequantized), the stream
//! kernel's independence of batch, threads and kernel set, sampling, validation, no allocation per
//! step, and every truncation / random bit flips of a model file.

use super::*;
use crate::compress::{prune_model, CompressedModel, CompressionInfo, PruneScope};
use crate::lstm::{LstmConfig, LstmModel};
use crate::quant::{Method, QuantConfig, RowAllocation};
use crate::rng::Rng;
use crate::ErrorCode;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;

/// Counts allocations made by the current thread (tests on other threads do not interfere).
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCS.with(Cell::get)
}

fn trained(vocab: usize, hidden: usize, seed: u64) -> LstmModel {
    let mut m =
        LstmModel::new(LstmConfig { vocab, hidden, layers: 2, init_scale: 0.3, dropout: 0.0, seed, tied: false, cutoffs: vec![] }).unwrap();
    let mut r = Rng::new(seed);
    m.reset_state(2).unwrap();
    // A repetitive stream the model can learn a little, so the logits are not flat.
    let ids: Vec<u32> = (0..400).map(|i| ((i * 7 + r.below(3) as usize) % vocab) as u32).collect();
    for w in ids.windows(17).step_by(16).take(20) {
        m.train_step(&w[..16], &w[1..], 0.5, 5.0).unwrap();
    }
    m
}

fn window(vocab: usize, n: usize, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let mut r = Rng::new(seed);
    let ids: Vec<u32> = (0..=n).map(|i| ((i * 7 + r.below(3) as usize) % vocab) as u32).collect();
    (ids[..n].to_vec(), ids[1..].to_vec())
}

pub(super) fn compress(m: &mut LstmModel, bits: usize, prune: bool) -> CompressedModel {
    compress_mixed(m, bits, prune, false)
}

/// [`compress`], with mixed precision across the rows of the embedding and softmax when `mixed`.
fn compress_mixed(m: &mut LstmModel, bits: usize, prune: bool, mixed: bool) -> CompressedModel {
    let names: Vec<String> = m.tensor_names().into_iter().filter(|n| !n.ends_with("bias")).collect();
    if prune {
        let lstm: Vec<String> = names.iter().filter(|n| n.starts_with("lstm.")).cloned().collect();
        prune_model(m, &lstm, 0.3, PruneScope::PerMatrix).unwrap();
    }
    let sel: Vec<(String, QuantConfig)> = names.iter().map(|n| (n.clone(), QuantConfig::new(bits, Method::Alternating))).collect();
    let info =
        CompressionInfo { method: Method::Alternating, cycles: 2, group_size: 0, layers: "all".into(), sparsity: 0.0, fp_model_bytes: 1 };
    let mut meta = BTreeMap::new();
    meta.insert("vocabulary".to_string(), "[]".to_string());
    let rows: BTreeMap<String, RowAllocation> = match mixed {
        // Like word frequencies: a few rows matter far more than the rest.
        true => ["embedding", "softmax.weight"]
            .map(|n| {
                let importance = (0..m.tensor_shape(n).unwrap()[0]).map(|r| if r < 6 { 100.0 } else { 1.0 }).collect();
                (n.to_string(), RowAllocation { max_bits: bits + 2, importance: Some(importance), mean_bits: None })
            })
            .into(),
        false => BTreeMap::new(),
    };
    CompressedModel::from_model(m, &sel, &rows, info, meta).unwrap().0
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn fp_engine_matches_the_model_evaluation() {
    // 3 streams take the dot-product path, 5 the micro-kernel over packed panels (`BATCHED_MIN`).
    for batch in [3, 5] {
        let mut m = trained(37, 48, 1);
        let (inp, tgt) = window(37, batch * 12, 2);
        m.reset_state(batch).unwrap();
        let want = m.evaluate(&inp, &tgt).unwrap();
        let mut e = Engine::from_model(&m, BTreeMap::new(), Kernel::LutI8).unwrap();
        e.reset(batch).unwrap();
        let got = e.evaluate(&inp, &tgt).unwrap();
        assert!(rel(got, want) < 1e-5, "batch {batch}: {got} vs {want}");
        assert!(e.bits().iter().all(|(_, b)| *b == 32));
    }
}

#[test]
fn packed_engine_matches_the_dequantized_model() {
    for (bits, prune) in [(1, false), (2, true), (3, false)] {
        let mut m = trained(53, 70, 3);
        let cm = compress(&mut m, bits, prune);
        let mut deq = cm.to_model().unwrap();
        let bytes = cm.to_bytes();
        let (inp, tgt) = window(53, 2 * 20, 4);
        deq.reset_state(2).unwrap();
        let want = deq.evaluate(&inp, &tgt).unwrap();
        let mut exact = Engine::from_bytes(&bytes, Kernel::LutF32).unwrap();
        assert!(exact.bits().iter().all(|(_, b)| *b == bits));
        exact.reset(2).unwrap();
        let got = exact.evaluate(&inp, &tgt).unwrap();
        assert!(rel(got, want) < 1e-5, "lut-f32 {bits} bits: {got} vs {want}");
        let mut fast = Engine::from_bytes(&bytes, Kernel::LutI8).unwrap();
        fast.reset(2).unwrap();
        let ppl = fast.evaluate(&inp, &tgt).unwrap().exp();
        assert!(rel(ppl, want.exp()) < 0.005, "lut-i8 {bits} bits: perplexity {ppl} vs {}", want.exp());
    }
}

#[test]
fn mixed_precision_rows_run_as_tiers_and_match_the_dequantized_model() {
    for (bits, prune) in [(2, false), (3, true)] {
        let mut m = trained(53, 70, 3);
        let cm = compress_mixed(&mut m, bits, prune, true);
        let rb = cm.quantized.iter().find(|q| q.name == "softmax.weight").unwrap().matrix.row_bits().unwrap().to_vec();
        assert!(rb.iter().any(|&b| usize::from(b) < bits) && rb.iter().any(|&b| usize::from(b) > bits), "{rb:?}");
        let bytes = cm.to_bytes();
        let back = CompressedModel::from_bytes(&bytes).unwrap();
        assert_eq!(back.to_bytes(), bytes, "file round trip");
        assert_eq!(crate::format::read(&bytes).unwrap().meta("version").unwrap(), "4");
        let mut deq = cm.to_model().unwrap();
        for batch in [2, 5] {
            let (inp, tgt) = window(53, batch * 20, 4);
            deq.reset_state(batch).unwrap();
            let want = deq.evaluate(&inp, &tgt).unwrap();
            for kernel in [Kernel::LutF32, Kernel::LutI8] {
                let mut e = Engine::from_bytes(&bytes, kernel).unwrap();
                e.reset(batch).unwrap();
                let got = e.evaluate(&inp, &tgt).unwrap();
                let tol = if kernel == Kernel::LutF32 { 1e-5 } else { 0.005 };
                assert!(rel(got.exp(), want.exp()) < tol, "{kernel:?} {bits} bits batch {batch}: {got} vs {want}");
            }
        }
        // The embedding lookup decodes each row from its tier.
        let e = Engine::from_bytes(&bytes, Kernel::LutF32).unwrap();
        let emb = deq.get_tensor("embedding").unwrap();
        let mut row = vec![0f32; 70];
        for r in [0, 17, 52] {
            e.embedding.row_into(r, &mut row);
            assert_eq!(&row[..], &emb[r * 70..(r + 1) * 70], "row {r}");
        }
    }
}

#[test]
fn a_step_allocates_nothing() {
    let mut m = trained(29, 64, 5);
    let bytes = compress(&mut m, 2, true).to_bytes();
    let mixed = compress_mixed(&mut trained(29, 64, 5), 2, false, true).to_bytes();
    for (kernel, bytes) in [Kernel::LutI8, Kernel::LutF32, Kernel::Popcount { activation_bits: 2 }]
        .into_iter()
        .map(|k| (k, &bytes))
        .chain([(Kernel::LutI8, &mixed)])
    {
        let mut e = Engine::from_bytes(bytes, kernel).unwrap();
        e.reset(4).unwrap();
        // The first step sizes the kernel's lazily grown buffers (stream tables, activation planes).
        e.step(&[1, 2, 3, 4]).unwrap();
        let mut out = [0u32; 4];
        e.sample(0.8, 5, &mut out).unwrap();
        let before = allocations();
        for t in 0..10u32 {
            e.step(&[t % 29, (t + 1) % 29, 5, 6]).unwrap();
            e.sample(1.0, 0, &mut out).unwrap();
            e.sample(0.5, 3, &mut out).unwrap();
        }
        assert_eq!(allocations(), before, "{kernel:?}: step/sample allocated");
    }
}

#[test]
fn advance_carries_the_state_of_step_bit_for_bit_and_logits_of_state_are_its_logits() {
    let mut m = trained(37, 48, 8);
    let bytes = compress(&mut m, 2, false).to_bytes();
    for kernel in [Kernel::LutI8, Kernel::LutF32] {
        let (mut a, mut b) = (Engine::from_bytes(&bytes, kernel).unwrap(), Engine::from_bytes(&bytes, kernel).unwrap());
        a.reset(2).unwrap();
        b.reset(2).unwrap();
        for t in 0..6u32 {
            a.step(&[t, 36 - t]).unwrap();
            b.advance(&[t, 36 - t]).unwrap();
            assert_eq!(b.logits().unwrap_err().code, ErrorCode::State);
            for s in 0..2 {
                assert_eq!(a.state(s).unwrap(), b.state(s).unwrap(), "{kernel:?}, token {t}, stream {s}");
            }
        }
        assert_eq!(a.step(&[3, 4]).unwrap(), b.step(&[3, 4]).unwrap());
        // The logits of a state, set on another engine, are the step's that made it.
        let want = a.step(&[5, 6]).unwrap().to_vec();
        b.set_state(0, &a.state(0).unwrap()).unwrap();
        b.set_state(1, &a.state(1).unwrap()).unwrap();
        assert_eq!(b.logits_of_state().unwrap(), &want[..]);
        assert_eq!(b.state(1).unwrap(), a.state(1).unwrap(), "logits_of_state changes no state");
        assert_eq!(b.advance(&[37, 0]).unwrap_err().code, ErrorCode::Shape);
        assert_eq!(b.advance(&[1]).unwrap_err().code, ErrorCode::Shape);
        assert_eq!(a.state(1).unwrap(), b.state(1).unwrap(), "a refused advance changes nothing");
    }
}

#[test]
fn sampling_is_seeded_and_respects_top_k_and_temperature() {
    let m = trained(31, 40, 6);
    let mut e = Engine::from_model(&m, BTreeMap::new(), Kernel::LutI8).unwrap();
    assert_eq!(e.sample(1.0, 0, &mut [0]).unwrap_err().code, ErrorCode::State);
    let logits = e.step(&[3]).unwrap().to_vec();
    let top = e.top_k(0, 5).unwrap();
    assert_eq!(top.len(), 5);
    for w in top.windows(2) {
        assert!(logits[w[0] as usize] >= logits[w[1] as usize]);
    }
    assert!(logits.iter().all(|&z| z <= logits[top[0] as usize]));
    let draw = |e: &mut Engine, seed: u64, t: f32, k: usize| -> Vec<u32> {
        e.seed(seed);
        (0..200)
            .map(|_| {
                let mut o = [0u32];
                e.sample(t, k, &mut o).unwrap();
                o[0]
            })
            .collect()
    };
    assert_eq!(draw(&mut e, 7, 1.0, 0), draw(&mut e, 7, 1.0, 0));
    assert_ne!(draw(&mut e, 7, 1.0, 0), draw(&mut e, 8, 1.0, 0));
    assert!(draw(&mut e, 1, 1.0, 3).iter().all(|t| top[..3].contains(t)));
    assert!(draw(&mut e, 1, 0.0, 0).iter().all(|&t| t == top[0]));
    assert!(draw(&mut e, 1, 5.0, 1).iter().all(|&t| t == top[0]));
    assert_eq!(e.sample(-1.0, 0, &mut [0]).unwrap_err().code, ErrorCode::Config);
    assert_eq!(e.sample(f32::NAN, 0, &mut [0]).unwrap_err().code, ErrorCode::Config);
}

#[test]
fn bad_calls_are_errors_and_leave_the_engine_usable() {
    let m = trained(11, 16, 7);
    let mut e = Engine::from_model(&m, BTreeMap::new(), Kernel::LutF32).unwrap();
    assert_eq!(e.step(&[11]).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(e.step(&[1, 2]).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(e.reset(0).unwrap_err().code, ErrorCode::Config);
    assert_eq!(e.reset(MAX_STREAMS + 1).unwrap_err().code, ErrorCode::Config);
    assert_eq!(e.evaluate(&[1, 2, 3], &[1, 2]).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(e.top_k(1, 3).unwrap_err().code, ErrorCode::Config);
    assert_eq!(kernel_for("popcount", &BTreeMap::new()).unwrap_err().code, ErrorCode::Config);
    let bad_kernel = Engine::from_model(&m, BTreeMap::new(), Kernel::Popcount { activation_bits: 9 });
    assert_eq!(bad_kernel.err().map(|e| e.code), Some(ErrorCode::Config));
    assert!(e.step(&[1]).unwrap().iter().all(|z| z.is_finite()));
}

/// Every prefix of a file is `E_FORMAT`; random bit flips either load into a working engine or
/// are `E_FORMAT` (a flip inside tensor data can be a valid file with other weights).
fn check_corruptions(bytes: &[u8], seed: u64) {
    for len in 0..bytes.len() {
        let err = Engine::from_bytes(&bytes[..len], Kernel::LutI8).err().expect("a truncated file loaded");
        assert_eq!(err.code, ErrorCode::Format, "truncated at {len}: {}", err.message);
    }
    let mut rng = Rng::new(seed);
    for _ in 0..400 {
        let mut b = bytes.to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(b.len() as u64) as usize;
            b[at] ^= 1 << rng.below(8);
        }
        match Engine::from_bytes(&b, Kernel::LutI8) {
            Ok(mut e) => {
                e.step(&[0]).unwrap();
            }
            Err(err) => assert_eq!(err.code, ErrorCode::Format, "{}", err.message),
        }
    }
}

#[test]
fn truncated_or_corrupted_files_are_format_errors() {
    let mut m = trained(9, 12, 8);
    check_corruptions(&m.to_bytes("quire-model", &BTreeMap::new(), false).unwrap(), 1);
    let cm = compress(&mut m, 2, true);
    check_corruptions(&cm.to_bytes(), 2);
    let mixed = compress_mixed(&mut trained(9, 12, 8), 2, true, true);
    assert!(mixed.quantized.iter().any(|q| q.matrix.row_bits().is_some()));
    check_corruptions(&mixed.to_bytes(), 3);
}

/// The popcount mode binarizes the input of every packed product: with 8 activation bits the
/// model is nearly the exact one; with fewer it drifts further.
#[test]
fn popcount_mode_approaches_the_exact_engine_as_activation_bits_grow() {
    let mut m = trained(47, 64, 11);
    let bytes = compress(&mut m, 2, false).to_bytes();
    let (inp, tgt) = window(47, 2 * 24, 12);
    let loss = |kernel: Kernel| {
        let mut e = Engine::from_bytes(&bytes, kernel).unwrap();
        e.reset(2).unwrap();
        e.evaluate(&inp, &tgt).unwrap()
    };
    let exact = loss(Kernel::LutF32);
    let (a1, a8) = (loss(Kernel::Popcount { activation_bits: 1 }), loss(Kernel::Popcount { activation_bits: 8 }));
    assert!(rel(a8, exact) < 0.01, "8 activation bits: {a8} vs {exact}");
    assert!((a1 - exact).abs() > (a8 - exact).abs(), "1 bit {a1}, 8 bits {a8}, exact {exact}");
}

/// Straight-through training evaluates the model the popcount engine runs: the dequantized
/// model with its activations quantized (`k` greedy bits per product input, the softmax input
/// included when the softmax is packed) gives the engine's loss, for every `k`.
#[test]
fn activation_quantized_model_is_the_popcount_engine() {
    let mut m = trained(41, 56, 13);
    let cm = compress(&mut m, 2, false);
    let bytes = cm.to_bytes();
    let (inp, tgt) = window(41, 2 * 18, 14);
    for k in [1usize, 2, 3] {
        let mut deq = cm.to_model().unwrap();
        deq.set_activation_quant(Some(crate::lstm::ActivationQuant::new(k, true).unwrap()));
        deq.reset_state(2).unwrap();
        let want = deq.evaluate(&inp, &tgt).unwrap();
        let mut e = Engine::from_bytes(&bytes, Kernel::Popcount { activation_bits: k as u8 }).unwrap();
        e.reset(2).unwrap();
        let got = e.evaluate(&inp, &tgt).unwrap();
        assert!(rel(got, want) < 1e-4, "{k} activation bits: engine {got} vs model {want}");
    }
    // `auto` runs a file on the kernel its metadata was retrained for.
    assert_eq!(Engine::open(&bytes, "auto").unwrap().kernel(), Kernel::LutI8);
    let mut tagged = compress(&mut m, 2, false);
    tagged.metadata.insert(crate::compress::ACTIVATION_BITS_KEY.into(), "3".into());
    assert_eq!(Engine::open(&tagged.to_bytes(), "auto").unwrap().kernel(), Kernel::Popcount { activation_bits: 3 });
    assert_eq!(Engine::open(&tagged.to_bytes(), "lut-f32").unwrap().kernel(), Kernel::LutF32);
    // The dequantized model quantizes its activations as the file says (the softmax is packed here).
    let want = Some(crate::lstm::ActivationQuant::new(3, true).unwrap());
    assert_eq!(CompressedModel::from_bytes(&tagged.to_bytes()).unwrap().to_model().unwrap().activation_quant(), want);
    tagged.metadata.insert(crate::compress::ACTIVATION_BITS_KEY.into(), "9".into());
    assert_eq!(Engine::open(&tagged.to_bytes(), "auto").err().map(|e| e.code), Some(ErrorCode::Format));
}

/// `popcount` takes the activation bits the file records; `auto` picks that kernel too.
#[test]
fn popcount_without_bits_reads_them_from_the_metadata() {
    let mut meta = BTreeMap::new();
    assert_eq!(kernel_for("auto", &meta), Ok(Kernel::LutI8));
    meta.insert(crate::compress::ACTIVATION_BITS_KEY.to_string(), "4".to_string());
    assert_eq!(kernel_for("popcount", &meta), Ok(Kernel::Popcount { activation_bits: 4 }));
    assert_eq!(kernel_for("auto", &meta), Ok(Kernel::Popcount { activation_bits: 4 }));
    assert_eq!(kernel_for("popcount-a2", &meta), Ok(Kernel::Popcount { activation_bits: 2 }));
    assert_eq!(kernel_for("lut-f32", &meta), Ok(Kernel::LutF32));
}

/// A pruned (masked) matrix holds its mask-free `2k`-plane view besides the planes, scales,
/// mask and tiles, and its byte count says so.
#[test]
fn weight_bytes_count_the_masked_view_of_pruned_matrices() {
    use super::weights::Weight;
    let w: Vec<f32> = (0..16 * 64).map(|i| (i % 7) as f32 - 3.0).collect();
    let mask: Vec<u8> = (0..16 * 64).map(|i| (i % 3 != 0) as u8).collect();
    let cfg = QuantConfig::new(1, Method::Greedy);
    let plain = crate::quant::quantize_rows(&w, 16, 64, &cfg, None).unwrap();
    let masked = crate::quant::quantize_rows(&w, 16, 64, &cfg, Some(&mask)).unwrap();
    // 16 rows of one 64-bit word, 1 plane, 1 scale per row: planes 128 B, scales 64 B, one tile of
    // 128 B planes and 64 B scales.
    assert_eq!(Weight::Packed(plain).bytes(), 128 + 64 + 128 + 64);
    // Masked: the same planes and scales, a 128 B mask, the 2-plane view (256 B planes, 128 B
    // scales) and its tile (256 B planes, 128 B scales).
    assert_eq!(Weight::Packed(masked).bytes(), 128 + 64 + 128 + 256 + 128 + 256 + 128);
}

/// The logits of stream 0 after 5 steps at `batch` streams (the others fed other tokens).
fn stream_zero_logits(e: &mut Engine, batch: usize) -> Vec<f32> {
    let v = e.config().vocab as u32;
    e.reset(batch).unwrap();
    let mut out = Vec::new();
    for t in [3u32, 9, 1, 30, 7] {
        let step: Vec<u32> = (0..batch as u32).map(|b| (t + 3 * b) % v).collect();
        out = e.step(&step).unwrap()[..v as usize].to_vec();
    }
    out
}

/// Packed matrices with the int8 tables: from `bcq::lut::BATCHED_MIN` streams on, the products
/// run the batched kernel where the CPU has one (blocks of `MAX_BLOCK` streams); a stream's
/// logits are the same bit for bit at batch 1 (the per-stream kernel), 4, 5 and 17 (blocks of
/// 8, 8 and 1) and on 1 or 2 threads, for plain and pruned (masked) matrices of 1 to 4 bits.
#[test]
fn batched_int8_products_do_not_depend_on_the_batch() {
    for (bits, prune) in [(1, false), (2, true), (3, false), (4, false)] {
        let mut m = trained(53, 70, 3);
        let bytes = compress(&mut m, bits, prune).to_bytes();
        let mut e = Engine::from_bytes(&bytes, Kernel::LutI8).unwrap();
        let b1 = stream_zero_logits(&mut e, 1);
        for batch in [4, 5, 17] {
            assert_eq!(stream_zero_logits(&mut e, batch), b1, "{bits} bits, batch {batch}");
        }
        let threads = crate::threads::threads();
        crate::threads::set_threads(1);
        let one = stream_zero_logits(&mut e, 17);
        crate::threads::set_threads(threads);
        assert_eq!(one, b1, "{bits} bits, 1 thread and {threads}");
    }
}

/// From `BATCHED_MIN` streams on, full-precision products run on the micro-kernel over packed
/// panels (the model's evaluation still matches: `fp_engine_matches_the_model_evaluation`): a
/// stream's logits are the same bit for bit at batch 5 and 17 and on 1 or 2 threads (each output
/// one sequential chain over its inputs), within 1e-5 of the batch-1 (dot-product) path, and a
/// step allocates nothing.
#[test]
fn batched_fp_products_do_not_depend_on_the_batch() {
    let m = trained(37, 48, 1);
    let mut e = Engine::from_model(&m, BTreeMap::new(), Kernel::LutI8).unwrap();
    let run = stream_zero_logits;
    let (b5, b17, b1) = (run(&mut e, 5), run(&mut e, 17), run(&mut e, 1));
    assert_eq!(b5, b17, "stream 0 at batch 5 and 17");
    for (x, y) in b5.iter().zip(&b1) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "batched {x} vs batch 1 {y}");
    }
    let threads = crate::threads::threads();
    crate::threads::set_threads(1);
    let one = run(&mut e, 5);
    crate::threads::set_threads(threads);
    assert_eq!(one, b5, "1 thread and {threads}");
    e.reset(8).unwrap();
    e.step(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let before = allocations();
    for t in 0..5u32 {
        e.step(&[t, t + 1, 5, 6, 7, 8, 9, 10]).unwrap();
    }
    assert_eq!(allocations(), before, "a batched FP step allocated");
}

/// A packed row decodes (the embedding lookup) to `Σ_i ±α_i` of its group, summed over the
/// planes in order, and to 0 where pruned: checked bit for bit for ragged groups and a mask.
#[test]
fn packed_rows_decode_to_their_levels() {
    use super::weights::Weight;
    let (rows, cols) = (5, 150);
    let mut rng = Rng::new(12);
    let w: Vec<f32> = (0..rows * cols).map(|_| rng.normal()).collect();
    let mask: Vec<u8> = (0..rows * cols).map(|i| (i % 5 != 0) as u8).collect();
    for (bits, group, masked) in [(1, 0, false), (3, 64, true), (2, 128, false)] {
        let cfg = QuantConfig { group_size: group, ..QuantConfig::new(bits, Method::Greedy) };
        let m = crate::quant::quantize_rows(&w, rows, cols, &cfg, masked.then_some(&mask[..])).unwrap();
        let (k, words, groups, gs) = (m.bits(), m.words_per_row(), m.groups(), m.group_size());
        let want: Vec<Vec<u32>> = (0..rows)
            .map(|r| {
                (0..cols)
                    .map(|j| {
                        let (wd, bit) = (j / 64, j % 64);
                        if m.mask().is_some_and(|mk| mk[r * words + wd] >> bit & 1 == 0) {
                            return 0f32.to_bits();
                        }
                        let alphas = &m.scales()[(r * groups + j / gs) * k..][..k];
                        let planes = &m.planes()[r * k * words..];
                        let v: f32 = (0..k).map(|i| if planes[i * words + wd] >> bit & 1 == 1 { alphas[i] } else { -alphas[i] }).sum();
                        v.to_bits()
                    })
                    .collect()
            })
            .collect();
        let weight = Weight::Packed(m);
        for (r, want) in want.iter().enumerate() {
            let mut out = vec![f32::NAN; cols];
            weight.row_into(r, &mut out);
            assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), *want, "bits {bits} group {group} row {r}");
        }
    }
}
