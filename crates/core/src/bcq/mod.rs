//! Products with a packed [`BinaryMatrix`] without dequantizing: `y = Ŵ·x` and, for up to
//! [`MAX_BATCH`] vectors, `Y = X·Ŵᵀ` (row `b` of Y is `Ŵ·X[b]`).
//!
//! `Ŵ·x = Σ_p Σ_g α_{r,g,p}·(b_{r,g,p}·x_g)`: each bit-plane gives ±1 dot products, scaled per
//! row and group. Three kernels compute the ±1 dot products:
//! - [`Kernel::LutF32`]: exact float lookup tables (one 16-entry table per 4 columns),
//!   interleaved over blocks of vectors (`crate::kernels::bcq::streams`). Equal to the
//!   dequantized float product up to f32 summation order, and bit-identical on every ISA.
//! - [`Kernel::LutI8`]: the same tables rounded to int8 (`Q = round(T·s)`, `s = 127/max_j Σ|x_j|`
//!   over each group of 4 columns), looked up by byte shuffles (16, 32 or 64 lookups per shuffle
//!   with the 128-, 256- or 512-bit sets) and summed in
//!   integers. Each looked-up entry is off by at most `1/(2s)` and one entry is looked up per
//!   4 columns (padding entries are exactly 0), so
//!   `|y_r − (Ŵx)_r| ≤ Σ_{p,g} |α_{r,g,p}|·⌈n_g/4⌉/(2s)` (`n_g` columns in group `g`) plus f32
//!   rounding.
//! - [`Kernel::Popcount`]: activations binarized per call with `k_a` (1..=8) greedy codes,
//!   `x̂ = Σ_a β_a·c_a`, and `b·c_a = n − 2·popcount(b XOR c_a)`. The result is `Ŵ·x̂` up to f32
//!   rounding, so `|y_r − (Ŵx)_r| ≤ ‖Ŵ_r‖₂·‖x − x̂‖₂`.
//!
//! The LUT products live in the crate-private `lut` module (shared with the inference engine);
//! natively, large products are split over the worker pool by row tiles.

use crate::error::{check_finite, check_len, Error, Result};
use crate::kernels;
use crate::quant::packed::BinaryMatrix;

#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub mod lut;
#[cfg(not(feature = "test-hooks"))]
pub(crate) mod lut;
use lut::{packed_matmul, LutScratch};

/// Largest batch of [`matmul`].
pub const MAX_BATCH: usize = 64;

/// Which ±1 dot-product kernel the packed products use: [`matmul`] and the inference engine
/// ([`crate::infer::Engine`]) take the same kernels under the same names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `lut-i8`: int8 tables, looked up by byte shuffles.
    LutI8,
    /// `lut-f32`: exact f32 tables interleaved over blocks of vectors.
    LutF32,
    /// `popcount-a<k>`: activations binarized into `activation_bits` = k (1..=8) greedy codes per
    /// vector, XNOR + popcount.
    Popcount { activation_bits: u8 },
}

impl Kernel {
    /// `lut-i8`, `lut-f32`, `popcount-a<k>` (k = 1..8), or `popcount` with the activation bits
    /// given apart (`activation_bits`: the `activationBits` option of `matmul`, the bits a model
    /// file records; `None` where there are none). Anything else is `E_CONFIG`.
    pub fn parse(name: &str, activation_bits: Option<usize>) -> Result<Kernel> {
        let unknown = || Error::config(format!("unknown kernel '{name}': use lut-i8, lut-f32 or popcount-a1 … popcount-a8"));
        match name {
            "lut-i8" => Ok(Kernel::LutI8),
            "lut-f32" => Ok(Kernel::LutF32),
            "popcount" => match activation_bits {
                Some(k) => Kernel::popcount(k),
                None => Err(Error::config("kernel 'popcount' needs its activation bits: use popcount-a1 … popcount-a8")),
            },
            _ => match name.strip_prefix("popcount-a").and_then(|k| k.parse::<usize>().ok()) {
                Some(k) if name == format!("popcount-a{k}") => Kernel::popcount(k).map_err(|_| unknown()),
                _ => Err(unknown()),
            },
        }
    }

    /// The popcount kernel with `activation_bits` codes; `E_CONFIG` outside 1..=8.
    pub fn popcount(activation_bits: usize) -> Result<Kernel> {
        match u8::try_from(activation_bits) {
            Ok(k @ 1..=8) => Ok(Kernel::Popcount { activation_bits: k }),
            _ => Err(Error::config(format!("activationBits must be 1 to 8 (got {activation_bits})"))),
        }
    }

    /// The kernel itself, or `E_CONFIG` for a popcount kernel with activation bits outside 1..=8
    /// (the enum can be built with any).
    pub fn checked(self) -> Result<Kernel> {
        match self {
            Kernel::Popcount { activation_bits } => Kernel::popcount(activation_bits as usize),
            k => Ok(k),
        }
    }

    /// The name [`Kernel::parse`] reads back: `lut-i8`, `lut-f32` or `popcount-a<k>`.
    pub fn name(self) -> String {
        match self {
            Kernel::LutI8 => "lut-i8".into(),
            Kernel::LutF32 => "lut-f32".into(),
            Kernel::Popcount { activation_bits } => format!("popcount-a{activation_bits}"),
        }
    }
}

/// `y = Ŵ·x` (`x`: cols, `y`: rows, overwritten).
pub fn matvec(m: &BinaryMatrix, x: &[f32], y: &mut [f32], kernel: Kernel) -> Result<()> {
    matmul(m, x, 1, y, kernel)
}

/// `Y[b] = Ŵ·X[b]` for `batch` row-major vectors (`x`: batch×cols, `y`: batch×rows, overwritten).
/// Errors: `E_CONFIG` (batch outside 1..=64, activation bits outside 1..=8), `E_SHAPE`
/// (lengths), `E_NONFINITE` (x).
pub fn matmul(m: &BinaryMatrix, x: &[f32], batch: usize, y: &mut [f32], kernel: Kernel) -> Result<()> {
    if !(1..=MAX_BATCH).contains(&batch) {
        return Err(Error::config(format!("batch must be 1 to {MAX_BATCH} (got {batch})")));
    }
    let kernel = kernel.checked()?;
    check_len("x", x.len(), batch * m.cols())?;
    check_len("y", y.len(), batch * m.rows())?;
    check_finite("x", x)?;
    let mut scratch = LutScratch::new(8 * m.words_per_row(), m.groups(), batch);
    packed_matmul(m, x, batch, y, kernel, kernels::active(), &mut scratch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{quantize_rows, Method, QuantConfig};
    use crate::rng::Rng;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn normal(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.normal()).collect()
    }

    /// `Ŵ·x` in f64 from the dequantized matrix.
    fn reference(m: &BinaryMatrix, x: &[f32]) -> Vec<f64> {
        let d = m.dequantize();
        d.chunks(m.cols()).map(|row| row.iter().zip(x).map(|(&a, &b)| a as f64 * b as f64).sum()).collect()
    }

    /// The int8 kernel's bound `Σ_{p,g}|α|·⌈n_g/4⌉/(2s)` per row, plus slack for f32 rounding.
    fn lut_i8_bound(m: &BinaryMatrix, x: &[f32], r: usize) -> f64 {
        let s = 127.0 / x.chunks(4).map(|q| q.iter().map(|v| v.abs() as f64).sum::<f64>()).fold(0.0, f64::max);
        let g = m.group_size();
        (0..m.groups())
            .map(|gi| {
                let n_g = ((gi + 1) * g).min(m.cols()) - gi * g;
                let a: f64 = m.scales()[(r * m.groups() + gi) * m.bits()..][..m.bits()].iter().map(|v| v.abs() as f64).sum();
                a * n_g.div_ceil(4) as f64 / (2.0 * s)
            })
            .sum::<f64>()
    }

    fn binarized(x: &[f32], ka: usize) -> Vec<f32> {
        let mut codes = vec![0u8; x.len()];
        let mut betas = vec![0f32; ka];
        crate::quant::greedy::solve(x, &mut codes, &mut betas);
        codes.iter().map(|&c| crate::quant::level(c, &betas)).collect()
    }

    fn check_all_kernels(m: &BinaryMatrix, rng: &mut Rng, batch: usize) {
        let x = normal(batch * m.cols(), rng);
        let (rows, cols) = (m.rows(), m.cols());
        for kernel in [Kernel::LutF32, Kernel::LutI8, Kernel::Popcount { activation_bits: 2 }, Kernel::Popcount { activation_bits: 8 }] {
            let mut y = vec![f32::NAN; batch * rows];
            matmul(m, &x, batch, &mut y, kernel).unwrap();
            for b in 0..batch {
                let xb = &x[b * cols..(b + 1) * cols];
                let yb = &y[b * rows..(b + 1) * rows];
                // Absolute bound on top of f32 rounding (relative 1e-5·√cols).
                let (want, bound): (Vec<f64>, Vec<f64>) = match kernel {
                    Kernel::LutF32 => (reference(m, xb), vec![0.0; rows]),
                    Kernel::LutI8 => (reference(m, xb), (0..rows).map(|r| lut_i8_bound(m, xb, r)).collect()),
                    Kernel::Popcount { activation_bits } => (reference(m, &binarized(xb, activation_bits as usize)), vec![0.0; rows]),
                };
                for r in 0..rows {
                    let err = (yb[r] as f64 - want[r]).abs();
                    let scale: f64 = m.dequantize()[r * cols..(r + 1) * cols].iter().zip(xb).map(|(a, b)| (a * b).abs() as f64).sum();
                    assert!(
                        err <= bound[r] + 1e-5 * (cols as f64).sqrt() * (1.0 + scale),
                        "{kernel:?} {rows}×{cols} row {r}: {} vs {}",
                        yb[r],
                        want[r]
                    );
                }
            }
        }
    }

    #[test]
    fn kernels_match_the_dequantized_product() {
        let mut rng = Rng::new(21);
        for (rows, cols, bits, group) in
            // (3, 4480, 8, 64) with 8 activation bits: more popcounts per row (8·8·70) than a worker's stack buffer.
            [(1, 1, 1, 0), (17, 65, 2, 0), (33, 200, 3, 64), (40, 650, 1, 0), (16, 130, 8, 128), (5, 2600, 2, 0), (3, 4480, 8, 64)]
        {
            let w = normal(rows * cols, &mut rng);
            let cfg = QuantConfig { group_size: group, ..QuantConfig::new(bits, Method::Alternating) };
            let m = quantize_rows(&w, rows, cols, &cfg, None).unwrap();
            check_all_kernels(&m, &mut rng, 1);
            check_all_kernels(&m, &mut rng, 3);
            let mask: Vec<u8> = (0..rows * cols).map(|_| (rng.next_u64() & 1) as u8).collect();
            let masked = quantize_rows(&w, rows, cols, &cfg, Some(&mask)).unwrap();
            check_all_kernels(&masked, &mut rng, 2);
        }
    }

    #[test]
    fn popcount_error_is_within_the_activation_bound() {
        let mut rng = Rng::new(22);
        let (rows, cols) = (30, 333);
        let w = normal(rows * cols, &mut rng);
        let m = quantize_rows(&w, rows, cols, &QuantConfig::new(2, Method::Refined), None).unwrap();
        let x = normal(cols, &mut rng);
        let exact = reference(&m, &x);
        let d = m.dequantize();
        for ka in [1, 2, 4] {
            let xh = binarized(&x, ka);
            let dx: f64 = x.iter().zip(&xh).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
            let mut y = vec![0f32; rows];
            matvec(&m, &x, &mut y, Kernel::Popcount { activation_bits: ka as u8 }).unwrap();
            for r in 0..rows {
                let norm: f64 = d[r * cols..(r + 1) * cols].iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                assert!((y[r] as f64 - exact[r]).abs() <= norm * dx * 1.001 + 1e-4);
            }
        }
    }

    #[test]
    fn large_batches_split_over_threads_match_single_vectors() {
        // Big enough that both the tile loop and the row loop are split across threads.
        let mut rng = Rng::new(24);
        let (rows, cols, batch) = (700, 650, MAX_BATCH);
        let w = normal(rows * cols, &mut rng);
        let m = quantize_rows(&w, rows, cols, &QuantConfig::new(2, Method::Refined), None).unwrap();
        let x = normal(batch * cols, &mut rng);
        for kernel in [Kernel::LutF32, Kernel::LutI8, Kernel::Popcount { activation_bits: 2 }, Kernel::Popcount { activation_bits: 8 }] {
            let mut y = vec![0f32; batch * rows];
            matmul(&m, &x, batch, &mut y, kernel).unwrap();
            for b in [0, 31, 63] {
                let mut one = vec![0f32; rows];
                matvec(&m, &x[b * cols..(b + 1) * cols], &mut one, kernel).unwrap();
                assert_eq!(&y[b * rows..(b + 1) * rows], &one[..], "{kernel:?} vector {b}");
            }
        }
    }

    #[test]
    fn kernel_names_parse_both_ways() {
        use crate::error::ErrorCode;
        for k in [Kernel::LutI8, Kernel::LutF32] {
            assert_eq!(Kernel::parse(&k.name(), None), Ok(k));
        }
        for k in 1..=8u8 {
            let pop = Kernel::Popcount { activation_bits: k };
            assert_eq!(Kernel::parse(&format!("popcount-a{k}"), None), Ok(pop));
            assert_eq!(Kernel::parse("popcount", Some(k as usize)), Ok(pop));
            assert_eq!(pop.name(), format!("popcount-a{k}"));
        }
        // `popcount-a<k>` names its own bits; the separate argument is for plain `popcount` only.
        assert_eq!(Kernel::parse("popcount-a3", Some(5)), Ok(Kernel::Popcount { activation_bits: 3 }));
        for (bad, bits) in [("popcount-a0", None), ("popcount-a9", None), ("popcount-a02", None), ("popcount-a", None), ("popcount", None)]
        {
            assert_eq!(Kernel::parse(bad, bits).unwrap_err().code, ErrorCode::Config, "{bad}");
        }
        for (bad, bits) in [("popcount", Some(0)), ("popcount", Some(9)), ("popcount", Some(256 + 2)), ("lut", Some(2)), ("auto", None)] {
            assert_eq!(Kernel::parse(bad, bits).unwrap_err().code, ErrorCode::Config, "{bad} {bits:?}");
        }
        assert_eq!(Kernel::Popcount { activation_bits: 0 }.checked().unwrap_err().code, ErrorCode::Config);
    }

    #[test]
    fn bad_calls_are_errors() {
        let m = quantize_rows(&[1.0, -2.0, 3.0, 0.5], 2, 2, &QuantConfig::new(1, Method::Greedy), None).unwrap();
        let mut y = vec![0f32; 2];
        let code = |r: Result<()>| r.err().map(|e| e.code);
        use crate::error::ErrorCode;
        assert_eq!(code(matvec(&m, &[1.0], &mut y, Kernel::LutI8)), Some(ErrorCode::Shape));
        assert_eq!(code(matvec(&m, &[1.0, f32::INFINITY], &mut y, Kernel::LutF32)), Some(ErrorCode::NonFinite));
        assert_eq!(code(matvec(&m, &[1.0, 1.0], &mut y, Kernel::Popcount { activation_bits: 9 })), Some(ErrorCode::Config));
        assert_eq!(code(matmul(&m, &[], 0, &mut [], Kernel::LutI8)), Some(ErrorCode::Config));
        assert_eq!(code(matvec(&m, &[1.0, 1.0], &mut [0.0; 3], Kernel::LutI8)), Some(ErrorCode::Shape));
        matvec(&m, &[0.0, 0.0], &mut y, Kernel::LutI8).unwrap();
        assert_eq!(y, [0.0, 0.0]);
    }
}
