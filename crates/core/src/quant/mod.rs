//! Binary-coding (multi-bit) quantization of weight matrices, per row (and optionally per group
//! of columns): `w ≈ Σ_{i<k} α_i·b_i` with `b_i ∈ {−1,+1}^n`, k = 1..=8 bits.
//!
//! Solvers: [`greedy`], [`refined`] (least-squares scales re-fitted after each bit) and
//! [`alternating`] (Xu et al.: least squares ↔ nearest-level codes, `cycles` rounds).
//! The masked variant fits scales on kept weights only; pruned positions reconstruct to 0.
//! Rows are solved in parallel natively. The result is a packed [`BinaryMatrix`].

pub mod aligned;
pub mod alternating;
pub mod greedy;
pub mod packed;
pub mod refined;

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
            other => Err(Error::config(format!(
                "unknown quantization method '{other}': use greedy, refined or alternating"
            ))),
        }
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
        if !(1..=8).contains(&self.bits) {
            return Err(Error::config(format!("bits must be 1 to 8 (got {})", self.bits)));
        }
        if self.cycles > 1000 {
            return Err(Error::config(format!("cycles must be at most 1000 (got {})", self.cycles)));
        }
        if self.group_size % 64 != 0 {
            return Err(Error::config(format!(
                "groupSize must be 0 (whole row) or a positive multiple of 64 (got {})",
                self.group_size
            )));
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
pub fn quantize_rows(
    w: &[f32],
    rows: usize,
    cols: usize,
    cfg: &QuantConfig,
    mask: Option<&[u8]>,
) -> Result<BinaryMatrix> {
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
    let group = if cfg.group_size == 0 { cols } else { cfg.group_size.min(cols) };
    let groups = cols.div_ceil(group);
    let mut codes = vec![0u8; n];
    let mut scales = vec![0f32; rows * groups * k];
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
        done.lock().unwrap_or_else(|p| p.into_inner()).push((range, c, s));
    });
    for (range, c, s) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
        codes[range.start * cols..range.end * cols].copy_from_slice(&c);
        scales[range.start * groups * k..range.end * groups * k].copy_from_slice(&s);
    }
    let mask_bits = mask.map(|m| m.iter().map(|&v| u8::from(v != 0)).collect::<Vec<u8>>());
    BinaryMatrix::from_codes(rows, cols, k, group, &codes, scales, mask_bits.as_deref())
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
