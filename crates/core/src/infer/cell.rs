//! The LSTM cell of one inference step, written as branch-free element-wise passes over
//! contiguous arrays so the compiler vectorizes them (SSE2 natively, simd128 on wasm).
//! Why a second exp next to `kernels::exp` (the training cell's and the softmax's): this one is
//! plain mul/add code compiled once for every target, so an engine step gives bit-identical
//! outputs whatever the kernel set and native or wasm (tested for `lut-f32`), while
//! `kernels::exp` uses each ISA's FMA and differs by a few ulps between sets.
//!
//! Same math as `lstm::cell::forward_step` (gate order i, f, g, o): `i = σ(z_i)`, `f = σ(z_f)`,
//! `g = tanh(z_g)`, `o = σ(z_o)`, `c = f⊙c_prev + i⊙g`, `h = o⊙tanh(c)`, with
//! `σ(x) = 1/(1 + e^{−x})`, `tanh(x) = 2σ(2x) − 1` and [`exp`] below; every activation is within
//! `1e-6` (absolute) of the library functions (tested).

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part exact in f32 and a correction (Cody–Waite reduction).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding then subtracting 1.5·2²³ rounds an f32 of magnitude < 2²² to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// `e^x` for every f32 (inputs clamped to [−87, 88], where the result stays a normal f32):
/// `x = n·ln2 + r` with `|r| ≤ ln2/2`, `e^r` by its degree-6 Taylor polynomial (relative error
/// below 2·10⁻⁷), scaled by `2^n` built in the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // `n` as an integer, read from the mantissa of `shifted` (1.5·2²³ + n, exact): the same
    // value as `n as i32` without a float-to-int conversion (which does not vectorize).
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    p * f32::from_bits(((n_int + 127) as u32) << 23)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

/// One step for `B` rows: `gates [B,4H]` holds the pre-activations (overwritten with the
/// activations), `c [B,H]` the previous cell state (overwritten with the new one), `h [B,H]`
/// receives the output.
pub fn step(hidden: usize, gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    // The same operations compiled for wider registers where the CPU has them: element-wise
    // IEEE adds, multiplies and divides (never fused), so the results are the same bits.
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU supports AVX-512F.
        return unsafe { step_avx512(hidden, gates, c, h) };
    }
    step_body(hidden, gates, c, h)
}

/// [`step`] compiled with AVX-512F.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn step_avx512(hidden: usize, gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    step_body(hidden, gates, c, h)
}

#[inline(always)]
fn step_body(hidden: usize, gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    for ((g, cr), hr) in gates.chunks_exact_mut(4 * hidden).zip(c.chunks_exact_mut(hidden)).zip(h.chunks_exact_mut(hidden)) {
        let (ifg, go) = g.split_at_mut(3 * hidden);
        let (i_f, gg) = ifg.split_at_mut(2 * hidden);
        // Two loops (not a chained iterator), so each vectorizes.
        for v in i_f.iter_mut() {
            *v = sigmoid(*v);
        }
        for v in go.iter_mut() {
            *v = sigmoid(*v);
        }
        for v in gg.iter_mut() {
            *v = tanh(*v);
        }
        let (gi, gf) = i_f.split_at(hidden);
        for ((((cv, hv), &i), &f), (&gv, &o)) in cr.iter_mut().zip(hr.iter_mut()).zip(gi).zip(gf).zip(gg.iter().zip(go.iter())) {
            *cv = f * *cv + i * gv;
            *hv = o * tanh(*cv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn exp_is_accurate_everywhere() {
        let mut x = -100.0f32;
        while x < 100.0 {
            let (want, got) = ((x.clamp(-87.0, 88.0) as f64).exp(), exp(x) as f64);
            assert!((got - want).abs() <= 3e-7 * want, "exp({x}) = {got}, want {want}");
            x += 0.0173;
        }
    }

    /// The exponent read from the mantissa is the float-to-int conversion's, and the AVX-512
    /// build of the cell gives the portable build's bits.
    #[test]
    fn exp_bits_and_the_wide_build_match_the_portable_code() {
        let mut x = -100.0f32;
        while x < 100.0 {
            let c = x.clamp(-87.0, 88.0);
            let n = (c * LOG2E + ROUND) - ROUND;
            let r = (c - n * LN2_HI) - n * LN2_LO;
            let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
            assert_eq!(exp(x).to_bits(), (p * f32::from_bits(((n as i32 + 127) as u32) << 23)).to_bits(), "exp({x})");
            x += 0.0071;
        }
        let mut rng = Rng::new(4);
        let (hd, b) = (53, 3);
        let z: Vec<f32> = (0..b * 4 * hd).map(|_| rng.normal() * 6.0).collect();
        let c0: Vec<f32> = (0..b * hd).map(|_| rng.normal() * 2.0).collect();
        let (mut z1, mut c1, mut h1) = (z.clone(), c0.clone(), vec![0.0; b * hd]);
        step_body(hd, &mut z1, &mut c1, &mut h1);
        let (mut z2, mut c2, mut h2) = (z, c0, vec![0.0; b * hd]);
        step(hd, &mut z2, &mut c2, &mut h2);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!((bits(&z1), bits(&c1), bits(&h1)), (bits(&z2), bits(&c2), bits(&h2)));
    }

    #[test]
    fn matches_the_training_cell() {
        let mut rng = Rng::new(3);
        let (hd, b) = (37, 3);
        let z: Vec<f32> = (0..b * 4 * hd).map(|_| rng.normal() * 4.0).collect();
        let c0: Vec<f32> = (0..b * hd).map(|_| rng.normal() * 2.0).collect();
        let (mut zw, mut cw, mut hw, mut tw) = (z.clone(), vec![0.0; b * hd], vec![0.0; b * hd], vec![0.0; b * hd]);
        crate::lstm::cell::forward_step(hd, &mut zw, &c0, &mut cw, &mut hw, &mut tw);
        let (mut zg, mut cg, mut hg) = (z, c0, vec![0.0; b * hd]);
        step(hd, &mut zg, &mut cg, &mut hg);
        for (want, got) in [(&zw, &zg), (&cw, &cg), (&hw, &hg)] {
            for (w, g) in want.iter().zip(got.iter()) {
                assert!((w - g).abs() <= 1e-6 * (1.0 + w.abs()), "{w} vs {g}");
            }
        }
    }
}
