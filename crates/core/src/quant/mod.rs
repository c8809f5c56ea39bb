//! Binary-coding (multi-bit) quantization of weight matrices, per row (and optionally per group
//! of columns): `w ≈ Σ_{i<k} α_i·b_i` with `b_i ∈ {−1,+1}^n`, k = 1..=8 bits.
//!
//! Solvers ([`Method`]): greedy, refined (least-squares scales re-fitted after each bit) and
//! alternating (Xu et al.: least squares ↔ nearest-level codes, `cycles` rounds).
//! The masked variant fits scales on kept weights only; pruned positions reconstruct to 0.
//! Rows are solved in parallel natively. The result is a packed [`BinaryMatrix`].

pub(crate) mod aligned;
pub(crate) mod alternating;
pub(crate) mod greedy;
pub mod mixed;
pub mod packed;
pub(crate) mod refined;
mod refit;
mod requantize;

pub use mixed::{quantize_rows_mixed, RowAllocation};
use packed::pack_codes;
pub use packed::BinaryMatrix;

use crate::error::{check_finite, check_len, Error, Result};
use crate::threads;
use std::sync::Mutex;

/// The solver used per row (or group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Greedy,
    Refined,
    Alternating,
}

impl Method {
    /// `greedy`, `refined` or `alternating`; anything else is `E_CONFIG`.
    pub fn parse(name: &str) -> Result<Method> {
        match name {
            "greedy" => Ok(Method::Greedy),
            "refined" => Ok(Method::Refined),
            "alternating" => Ok(Method::Alternating),
            other => Err(Error::config(format!("unknown quantization method '{other}': use greedy, refined or alternating"))),
        }
    }

    /// The name [`Method::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Method::Greedy => "greedy",
            Method::Refined => "refined",
            Method::Alternating => "alternating",
        }
    }
}

/// The most bits per weight a binary code may have.
pub const MAX_BITS: usize = 8;

/// `E_CONFIG` unless `bits` ∈ 1..=[`MAX_BITS`] (the one check of a bit count).
pub fn check_bits(bits: usize) -> Result<()> {
    if (1..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(Error::config(format!("bits must be 1 to {MAX_BITS} (got {bits})")))
    }
}

/// Columns per scale group of a `cols`-column matrix: `group_size` 0 (or ≥ cols) means the
/// whole row (the one normalisation of a group size).
pub fn effective_group(group_size: usize, cols: usize) -> usize {
    if group_size == 0 || group_size >= cols {
        cols
    } else {
        group_size
    }
}

/// Settings of one quantization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantConfig {
    /// Bits per weight, 1..=8.
    pub bits: usize,
    pub method: Method,
    /// Rounds of the alternating solver (ignored by the others); default 2.
    pub cycles: usize,
    /// Columns per scale group along the input axis; 0 = whole row. Otherwise a positive
    /// multiple of 64 (the packed word size), so groups never split a word.
    pub group_size: usize,
}

impl QuantConfig {
    pub fn new(bits: usize, method: Method) -> Self {
        QuantConfig { bits, method, cycles: 2, group_size: 0 }
    }

    /// `E_CONFIG` unless bits ∈ 1..=8, cycles ≤ 1000 and the group size is 0 or a multiple of 64.
    pub fn validate(&self) -> Result<()> {
        check_bits(self.bits)?;
        if self.cycles > 1000 {
            return Err(Error::config(format!("cycles must be at most 1000 (got {})", self.cycles)));
        }
        if !self.group_size.is_multiple_of(64) {
            return Err(Error::config(format!("groupSize must be 0 (whole row) or a positive multiple of 64 (got {})", self.group_size)));
        }
        Ok(())
    }
}

/// The level `Σ_i ±α_i` of code `c` (bit `i` set ↔ `b_i = +1`).
#[inline]
pub(crate) fn level(c: u8, alphas: &[f32]) -> f32 {
    alphas.iter().enumerate().map(|(i, &a)| if c >> i & 1 == 1 { a } else { -a }).sum()
}

/// Quantizes the row-major `rows×cols` matrix `w`.
///
/// `mask` (same length, nonzero = keep) selects the masked variant: scales are fitted on the
/// kept weights of each row/group only, and pruned positions dequantize to exactly 0.
/// Errors: `E_CONFIG` (bad config), `E_SHAPE` (zero rows/cols, wrong lengths), `E_NONFINITE`.
pub fn quantize_rows(w: &[f32], rows: usize, cols: usize, cfg: &QuantConfig, mask: Option<&[u8]>) -> Result<BinaryMatrix> {
    cfg.validate()?;
    if rows == 0 || cols == 0 {
        return Err(Error::shape(format!("cannot quantize a {rows}×{cols} matrix: rows and cols must be positive")));
    }
    let n = rows.checked_mul(cols).ok_or_else(|| Error::shape("rows×cols overflows"))?;
    check_len("weights", w.len(), n)?;
    if let Some(m) = mask {
        check_len("mask", m.len(), n)?;
    }
    check_finite("weights", w)?;
    let k = cfg.bits;
    let group = effective_group(cfg.group_size, cols);
    let groups = cols.div_ceil(group);
    let words = cols.div_ceil(64);
    let done = Mutex::new(Vec::new());
    // Roughly 64k weights per chunk keeps thread start-up negligible.
    threads::parallel_ranges(rows, 1, (65536 / cols).max(1), |range| {
        let mut c = vec![0u8; range.len() * cols];
        let mut s = vec![0f32; range.len() * groups * k];
        for (i, r) in range.clone().enumerate() {
            for g in 0..groups {
                let cols_g = g * group..((g + 1) * group).min(cols);
                let seg = r * cols + cols_g.start..r * cols + cols_g.end;
                solve_segment(
                    &w[seg.clone()],
                    mask.map(|m| &m[seg]),
                    cfg,
                    &mut c[i * cols + cols_g.start..i * cols + cols_g.end],
                    &mut s[(i * groups + g) * k..(i * groups + g + 1) * k],
                );
            }
        }
        let planes = pack_codes(&c, range.len(), cols, k);
        let m = mask.map(|m| {
            let keep: Vec<u8> = m[range.start * cols..range.end * cols].iter().map(|&v| u8::from(v != 0)).collect();
            pack_codes(&keep, range.len(), cols, 1)
        });
        done.lock().unwrap_or_else(|p| p.into_inner()).push((range, planes, s, m));
    });
    let mut planes = vec![0u64; rows * k * words];
    let mut scales = vec![0f32; rows * groups * k];
    let mut mask_words = mask.map(|_| vec![0u64; rows * words]);
    for (range, p, s, m) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
        planes[range.start * k * words..range.end * k * words].copy_from_slice(&p);
        scales[range.start * groups * k..range.end * groups * k].copy_from_slice(&s);
        if let (Some(all), Some(m)) = (mask_words.as_mut(), m) {
            all[range.start * words..range.end * words].copy_from_slice(&m);
        }
    }
    BinaryMatrix::from_parts(rows, cols, k, group, scales, &planes, mask_words.as_deref())
}

/// Solves one segment. With a mask, the kept weights are gathered, solved densely and
/// scattered back; pruned codes are set to all ones (they are don't-care). A segment with no
/// kept weight gets zero scales.
fn solve_segment(w: &[f32], mask: Option<&[u8]>, cfg: &QuantConfig, codes: &mut [u8], alphas: &mut [f32]) {
    match mask {
        None => solve_dense(w, cfg, codes, alphas),
        Some(m) => {
            let kept: Vec<f32> = w.iter().zip(m).filter(|(_, &k)| k != 0).map(|(&v, _)| v).collect();
            codes.fill(0xFF);
            if kept.is_empty() {
                alphas.fill(0.0);
                return;
            }
            let mut kc = vec![0u8; kept.len()];
            solve_dense(&kept, cfg, &mut kc, alphas);
            let mut it = kc.into_iter();
            for (c, &k) in codes.iter_mut().zip(m) {
                if k != 0 {
                    *c = it.next().unwrap_or(0xFF);
                }
            }
        }
    }
}

fn solve_dense(w: &[f32], cfg: &QuantConfig, codes: &mut [u8], alphas: &mut [f32]) {
    match cfg.method {
        Method::Greedy => greedy::solve(w, codes, alphas),
        Method::Refined => refined::solve(w, codes, alphas),
        Method::Alternating => alternating::solve(w, codes, alphas, cfg.cycles),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::rng::Rng;

    fn gaussian(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..rows * cols).map(|_| rng.normal()).collect()
    }

    fn error(w: &[f32], rows: usize, cols: usize, bits: usize, method: Method, mask: Option<&[u8]>) -> f64 {
        let m = quantize_rows(w, rows, cols, &QuantConfig::new(bits, method), mask).unwrap();
        m.relative_error(w).unwrap()
    }

    /// docs/method.md §1's reference figures, i.i.d. Gaussian 256×1024, per-row scales.
    const TABLE: [(usize, f64, f64, f64); 4] =
        [(1, 0.3634, 0.3634, 0.3634), (2, 0.1305, 0.1250, 0.1183), (3, 0.0585, 0.0505, 0.0444), (4, 0.0331, 0.0246, 0.0194)];

    #[test]
    fn gaussian_errors_match_the_reference_table_and_order() {
        let (rows, cols) = (256, 1024);
        let w = gaussian(rows, cols, 11);
        for (bits, g, r, a) in TABLE {
            let eg = error(&w, rows, cols, bits, Method::Greedy, None);
            let er = error(&w, rows, cols, bits, Method::Refined, None);
            let ea = error(&w, rows, cols, bits, Method::Alternating, None);
            assert!(eg <= g * 1.03 && er <= r * 1.03 && ea <= a * 1.03, "{bits} bits: {eg} {er} {ea}");
            assert!(eg >= g * 0.97 && er >= r * 0.97, "{bits} bits: {eg} {er}");
            assert!(ea <= er + 1e-12 && er <= eg + 1e-12, "{bits} bits: {eg} {er} {ea}");
        }
    }

    #[test]
    fn masked_fit_uses_survivors_and_zeroes_pruned() {
        let (rows, cols) = (64, 1024);
        let w = gaussian(rows, cols, 12);
        // 50 % magnitude pruning per row.
        let mut mask = vec![0u8; w.len()];
        let mut pruned = w.clone();
        for r in 0..rows {
            let mut mags: Vec<f32> = w[r * cols..(r + 1) * cols].iter().map(|v| v.abs()).collect();
            mags.sort_by(f32::total_cmp);
            let t = mags[cols / 2];
            for j in 0..cols {
                let keep = w[r * cols + j].abs() >= t;
                mask[r * cols + j] = keep as u8;
                if !keep {
                    pruned[r * cols + j] = 0.0;
                }
            }
        }
        for (bits, want) in [(1, 0.130), (2, 0.042)] {
            let m = quantize_rows(&pruned, rows, cols, &QuantConfig::new(bits, Method::Alternating), Some(&mask)).unwrap();
            let e = m.relative_error(&pruned).unwrap();
            assert!((e - want).abs() < 0.1 * want, "{bits} bits masked: {e}");
            let d = m.dequantize();
            assert!(mask.iter().zip(&d).all(|(&k, &v)| k != 0 || v == 0.0));
            let unmasked = error(&pruned, rows, cols, bits, Method::Alternating, None);
            assert!(unmasked > 2.0 * e, "fitting on zeros should be much worse: {unmasked} vs {e}");
        }
    }

    #[test]
    fn groups_never_hurt_and_pack_round_trips() {
        let (rows, cols) = (8, 300);
        let w = gaussian(rows, cols, 13);
        let whole = error(&w, rows, cols, 2, Method::Refined, None);
        let cfg = QuantConfig { group_size: 64, ..QuantConfig::new(2, Method::Refined) };
        let m = quantize_rows(&w, rows, cols, &cfg, None).unwrap();
        assert_eq!((m.groups(), m.scales().len()), (5, rows * 5 * 2));
        assert!(m.relative_error(&w).unwrap() < whole);
        let again = BinaryMatrix::from_parts(rows, cols, 2, 64, m.scales().to_vec(), m.planes(), None).unwrap();
        assert_eq!(again.dequantize(), m.dequantize());
        assert_eq!(packed::unpack_codes(m.planes(), rows, cols, 2), m.codes());
    }

    #[test]
    fn bad_input_is_an_error() {
        let w = gaussian(2, 3, 1);
        let code = |r: Result<BinaryMatrix>| r.err().map(|e| e.code);
        let q = |bits, rows, cols, w: &[f32], mask: Option<&[u8]>| {
            code(quantize_rows(w, rows, cols, &QuantConfig::new(bits, Method::Greedy), mask))
        };
        assert_eq!(q(0, 2, 3, &w, None), Some(ErrorCode::Config));
        assert_eq!(q(9, 2, 3, &w, None), Some(ErrorCode::Config));
        assert_eq!(q(1, 0, 3, &[], None), Some(ErrorCode::Shape));
        assert_eq!(q(1, 2, 0, &[], None), Some(ErrorCode::Shape));
        assert_eq!(q(1, 2, 4, &w, None), Some(ErrorCode::Shape));
        assert_eq!(q(1, 2, 3, &w, Some(&[1, 0])), Some(ErrorCode::Shape));
        let mut bad = w.clone();
        bad[4] = f32::NAN;
        assert_eq!(q(1, 2, 3, &bad, None), Some(ErrorCode::NonFinite));
        let cfg = QuantConfig { group_size: 10, ..QuantConfig::new(2, Method::Greedy) };
        assert_eq!(code(quantize_rows(&w, 2, 3, &cfg, None)), Some(ErrorCode::Config));
        let bad_pad = code(BinaryMatrix::from_parts(1, 3, 1, 0, vec![1.0], &[0b1000], None));
        assert_eq!(bad_pad, Some(ErrorCode::Format));
    }

    #[test]
    fn degenerate_rows_are_handled() {
        // Constant rows make least squares singular; all-zero rows give zero scales.
        let w = [1.0f32, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        for method in [Method::Greedy, Method::Refined, Method::Alternating] {
            let m = quantize_rows(&w, 2, 4, &QuantConfig::new(3, method), None).unwrap();
            let d = m.dequantize();
            assert!(d.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-6), "{method:?}: {d:?}");
        }
    }
}
