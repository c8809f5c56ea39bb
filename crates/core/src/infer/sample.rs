//! Decoding helpers over one row of logits `z` (V values): top-k selection and
//! temperature / top-k sampling with the core's seeded PRNG. Buffers are owned by the
//! [`Sampler`] and sized once, so drawing allocates nothing.

use crate::rng::Rng;
use std::cmp::Ordering;

/// Larger logit first; equal logits by lower id.
pub(super) fn by_logit(z: &[f32]) -> impl Fn(&u32, &u32) -> Ordering + '_ {
    move |&a, &b| z[b as usize].total_cmp(&z[a as usize]).then(a.cmp(&b))
}

/// Seeded sampler with a candidate buffer of V ids.
pub struct Sampler {
    rng: Rng,
    order: Vec<u32>,
}

impl Sampler {
    pub fn new(vocab: usize, seed: u64) -> Sampler {
        Sampler { rng: Rng::new(seed), order: (0..vocab as u32).collect() }
    }

    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// The ids of the `k ≤ V` largest logits of `z`, in decreasing order (ties: lower id first).
    pub fn top(&mut self, z: &[f32], k: usize) -> &[u32] {
        for (i, o) in self.order.iter_mut().enumerate() {
            *o = i as u32;
        }
        if k == 0 {
            return &[];
        }
        let cmp = by_logit(z);
        if k < self.order.len() {
            self.order.select_nth_unstable_by(k - 1, &cmp);
        }
        self.order[..k].sort_unstable_by(&cmp);
        &self.order[..k]
    }

    /// One id drawn from `softmax(z/temperature)` over the `top_k` largest logits (0 or ≥ V:
    /// all); `temperature == 0` returns the argmax. One PRNG draw per call when sampling.
    pub fn draw(&mut self, z: &[f32], temperature: f32, top_k: usize) -> u32 {
        let v = z.len();
        if temperature == 0.0 {
            return self.top(z, 1)[0];
        }
        let k = if top_k == 0 || top_k >= v { v } else { top_k };
        let u = self.uniform();
        let ids: &[u32] = if k < v {
            self.top(z, k)
        } else {
            for (i, o) in self.order.iter_mut().enumerate() {
                *o = i as u32;
            }
            &self.order
        };
        pick(z, ids.iter().copied(), temperature, u).0
    }

    /// The PRNG's next uniform draw in `[0, 1)` (what [`Sampler::draw`] consumes per call).
    pub fn uniform(&mut self) -> f64 {
        self.rng.next_f64()
    }
}

/// The id of `ids` (non-empty) where the uniform draw `u ∈ [0, 1)` falls in the cumulative
/// weights `exp((z[id] − max)/temperature)` taken in the order of `ids` (the last id when
/// rounding leaves `u` past the end), and the fraction `∈ [0, 1)` of that id's weight left
/// below `u` (a fresh uniform draw within it, for a second, nested choice).
pub fn pick<I: Iterator<Item = u32> + Clone>(z: &[f32], ids: I, temperature: f32, u: f64) -> (u32, f64) {
    let max = ids.clone().fold(f32::NEG_INFINITY, |m, i| m.max(z[i as usize]));
    let t = temperature as f64;
    let weight = |i: u32| (((z[i as usize] - max) as f64) / t).exp();
    let total: f64 = ids.clone().map(weight).sum();
    let mut u = u * total;
    let mut last = 0;
    for i in ids {
        let w = weight(i);
        if u < w {
            return (i, (u / w).clamp(0.0, 1.0 - f64::EPSILON));
        }
        u -= w;
        last = i;
    }
    (last, 1.0 - f64::EPSILON)
}
