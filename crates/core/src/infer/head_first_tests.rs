//! Head first: an adaptive model's top-k, candidates, values and draws after [`Engine::feed`]
//! against the full rows of [`Engine::step`] (several cut-offs, k inside and past the head,
//! batches that take the batched products, packed and full-precision weights), and the draw from
//! all V against the full distribution (fixed seed, chi-square).

use super::tests::compress;
use super::*;
use crate::lstm::{LstmConfig, LstmModel};
use crate::rng::Rng;
use crate::ErrorCode;
use std::collections::BTreeMap;

fn adaptive(vocab: usize, cutoffs: &[usize], seed: u64) -> LstmModel {
    let config = LstmConfig { vocab, hidden: 32, layers: 1, init_scale: 1.5, dropout: 0.0, seed, tied: false, cutoffs: cutoffs.to_vec() };
    LstmModel::new(config).unwrap()
}

/// The full row's `k` best ids (ties: lower id first) and every other within `slack` of the k-th.
fn reference(z: &[f32], k: usize, slack: f32, among: &[u32]) -> Vec<u32> {
    let mut ids = among.to_vec();
    ids.sort_by(|&a, &b| z[b as usize].total_cmp(&z[a as usize]).then(a.cmp(&b)));
    if ids.len() > k {
        let floor = z[ids[k - 1] as usize] - slack;
        let extra = if slack > 0.0 { ids[k..].iter().take_while(|&&i| z[i as usize] >= floor).count() } else { 0 };
        ids.truncate(k + extra);
    }
    ids
}

fn engines(bytes: &[u8], kernel: Kernel, batch: usize) -> (Engine, Engine) {
    let (mut full, mut lazy) = (Engine::from_bytes(bytes, kernel).unwrap(), Engine::from_bytes(bytes, kernel).unwrap());
    full.reset(batch).unwrap();
    lazy.reset(batch).unwrap();
    (full, lazy)
}

/// The model's full-precision file and its 2-bit compression (packed matrices, LUT kernels).
fn files(m: &mut LstmModel) -> Vec<Vec<u8>> {
    let fp = m.to_bytes("quire-model", &BTreeMap::new(), false).unwrap();
    vec![fp, compress(m, 2, false).to_bytes()]
}

#[test]
fn head_first_top_k_and_candidates_are_the_full_rows() {
    let configs: [(usize, &[usize]); 4] = [(11, &[4, 7]), (60, &[50]), (9, &[2, 3, 4]), (120, &[8, 30, 70])];
    let mut skipped = 0;
    for (ci, &(v, cutoffs)) in configs.iter().enumerate() {
        let mut m = adaptive(v, cutoffs, 10 + ci as u64);
        let mut r = Rng::new(ci as u64);
        for bytes in files(&mut m) {
            for batch in [1, 5] {
                let (mut full, mut lazy) = engines(&bytes, Kernel::LutI8, batch);
                for step in 0..4 {
                    let tokens: Vec<u32> = (0..batch).map(|_| r.below(v as u64) as u32).collect();
                    let z = full.step(&tokens).unwrap().to_vec();
                    lazy.feed(&tokens).unwrap();
                    for b in 0..batch {
                        let row = &z[b * v..(b + 1) * v];
                        let all: Vec<u32> = (0..v as u32).collect();
                        let some: Vec<u32> = all.iter().copied().filter(|_| r.below(3) == 0).collect();
                        for k in [1, 2, 3, cutoffs[0] - 1, cutoffs[0], cutoffs[0] + 1, cutoffs[0] + 5, v - 1, v, v + 3].map(|k| k.max(1)) {
                            let what = format!("V {v} cut-offs {cutoffs:?} batch {batch} step {step} stream {b} k {k}");
                            // A fresh head for each question, so each starts with no tail computed.
                            lazy.output_of_state();
                            let top = lazy.top_k(b, k).unwrap();
                            let (done, n) = lazy.tails_computed();
                            skipped += n - done;
                            assert_eq!(top, reference(row, k, 0.0, &all), "{what}");
                            assert_eq!(full.top_k(b, k).unwrap(), top, "{what}: the full engine");
                            lazy.output_of_state();
                            assert_eq!(lazy.candidates(b, k, 0.5, None).unwrap(), reference(row, k, 0.5, &all), "{what}, slack");
                            lazy.output_of_state();
                            assert_eq!(lazy.candidates(b, k, 0.25, Some(&some)).unwrap(), reference(row, k, 0.25, &some), "{what}, among");
                            let want: Vec<u32> = some.iter().map(|&i| row[i as usize].to_bits()).collect();
                            let got: Vec<u32> = lazy.values(b, &some).unwrap().iter().map(|x| x.to_bits()).collect();
                            assert_eq!(got, want, "{what}: values");
                        }
                    }
                    lazy.output_of_state();
                    assert_eq!(lazy.logits().unwrap(), &z[..], "the full rows on demand");
                }
            }
        }
    }
    assert!(skipped > 0, "some question needed no tail");
}

#[test]
fn head_first_argmax_and_top_k_draws_are_the_full_draws() {
    let mut m = adaptive(60, &[6, 20], 3);
    for bytes in files(&mut m) {
        for batch in [1, 4] {
            let (mut full, mut lazy) = engines(&bytes, Kernel::LutF32, batch);
            for (t, k) in [(0.0, 0), (1.0, 1), (1.0, 3), (0.7, 10), (1.3, 40), (1.0, 59)] {
                full.seed(5);
                lazy.seed(5);
                for step in 0..30u32 {
                    let tokens: Vec<u32> = (0..batch as u32).map(|b| (step * 7 + b * 13) % 60).collect();
                    full.step(&tokens).unwrap();
                    lazy.feed(&tokens).unwrap();
                    let (mut a, mut b) = (vec![0; batch], vec![0; batch]);
                    full.sample(t, k, &mut a).unwrap();
                    lazy.sample(t, k, &mut b).unwrap();
                    assert_eq!(a, b, "temperature {t}, top-k {k}, batch {batch}, step {step}");
                }
            }
        }
    }
}

#[test]
fn head_first_draws_from_all_words_follow_the_full_distribution() {
    let (v, n) = (40, 40_000);
    let m = adaptive(v, &[5, 15], 4);
    let bytes = m.to_bytes("quire-model", &BTreeMap::new(), false).unwrap();
    let (mut full, mut lazy) = engines(&bytes, Kernel::LutF32, 1);
    let p: Vec<f64> = full.step(&[3]).unwrap().iter().map(|&z| (z as f64).exp()).collect();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    lazy.feed(&[3]).unwrap();
    full.seed(9);
    lazy.seed(9);
    let (mut counts, mut same) = (vec![0usize; v], 0);
    for _ in 0..n {
        let (mut a, mut b) = ([0u32], [0u32]);
        lazy.output_of_state();
        lazy.sample(1.0, 0, &mut b).unwrap();
        full.sample(1.0, 0, &mut a).unwrap();
        counts[b[0] as usize] += 1;
        same += usize::from(a == b);
    }
    // One PRNG draw each: the same word unless the draw lies within rounding of a boundary.
    assert!(same >= n - n / 1000, "{same} of {n} draws equal the full draw");
    // Chi-square over bins of expected count ≥ 5 (the rest pooled) at a fixed seed.
    let (mut chi2, mut df, mut pool_e, mut pool_o) = (0.0, 0usize, 0.0, 0.0);
    for (w, &c) in counts.iter().enumerate() {
        let e = p[w] * n as f64;
        if e >= 5.0 {
            chi2 += (c as f64 - e).powi(2) / e;
            df += 1;
        } else {
            pool_e += e;
            pool_o += c as f64;
        }
    }
    if pool_e > 0.0 {
        chi2 += (pool_o - pool_e).powi(2) / pool_e.max(1e-9);
        df += 1;
    }
    // Far beyond the 99.9% quantile (≈ df + 3.1·√(2·df) for these df).
    let bound = df as f64 + 5.0 * (2.0 * df as f64).sqrt();
    assert!(chi2 < bound, "chi-square {chi2} over {df} bins (bound {bound})");
}

#[test]
fn head_first_calls_check_their_arguments() {
    let m = adaptive(11, &[4, 7], 1);
    let bytes = m.to_bytes("quire-model", &BTreeMap::new(), false).unwrap();
    let mut e = Engine::from_bytes(&bytes, Kernel::LutF32).unwrap();
    assert_eq!(e.candidates(0, 3, 0.0, None).unwrap_err().code, ErrorCode::State);
    assert_eq!(e.values(0, &[1]).unwrap_err().code, ErrorCode::State);
    assert_eq!(e.feed(&[11]).unwrap_err().code, ErrorCode::Shape);
    e.feed(&[2]).unwrap();
    assert_eq!(e.candidates(1, 3, 0.0, None).unwrap_err().code, ErrorCode::Config);
    assert_eq!(e.candidates(0, 3, -1.0, None).unwrap_err().code, ErrorCode::Config);
    assert_eq!(e.candidates(0, 3, f32::NAN, None).unwrap_err().code, ErrorCode::Config);
    assert_eq!(e.candidates(0, 3, 0.0, Some(&[1, 11])).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(e.values(0, &[12]).unwrap_err().code, ErrorCode::Shape);
    assert_eq!(e.candidates(0, 0, 0.0, None).unwrap(), Vec::<u32>::new());
    assert_eq!(e.candidates(0, 3, 0.0, Some(&[])).unwrap(), Vec::<u32>::new());
    e.advance(&[1]).unwrap();
    assert_eq!(e.top_k(0, 1).unwrap_err().code, ErrorCode::State);
}
