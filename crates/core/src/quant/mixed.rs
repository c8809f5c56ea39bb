//! Mixed precision across rows: a matrix whose rows get different numbers of bits at the same
//! mean, allocated where they lower the (importance-weighted) quantization error most.
//!
//! In a vocabulary matrix (embedding, softmax) a row is one word, and words differ in how much
//! they matter by orders of magnitude (the 100 most frequent words of PTB are half its tokens):
//! giving frequent words' rows 3–4 bits and rare words' 1 bit (or none: a row of zeros) at a
//! mean of 2 keeps the ranking of likely next words far better than 2 bits everywhere. The
//! allocation is greedy on marginal gains: every row starts at 0 bits, and each further bit goes
//! to the row whose weighted squared error it lowers most, until the budget (the uniform
//! matrix's code and scale bits, less the row-bit table a file adds and a word of stream
//! rounding) is spent. The result is one [`BinaryMatrix`] in the `max`-plane
//! layout with unused planes and scales 0 ([`BinaryMatrix::with_row_bits`]); engines multiply
//! its [`BinaryMatrix::tiers`], so the packed kernels run unchanged.

use super::packed::BinaryMatrix;
use super::{check_bits, quantize_rows, QuantConfig, MAX_BITS};
use crate::error::{check_len, Error, Result};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Bits a file spends per row on the row-bit table (see `compress::file`).
pub const ROW_BITS_TABLE_BITS: usize = 3;
/// The most bits a row of a mixed-precision matrix may have (what the table holds).
pub const MAX_ROW_BITS: usize = (1 << ROW_BITS_TABLE_BITS) - 1;

/// How a mixed-precision matrix spends its bits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowAllocation {
    /// Most bits a row may get, `≥` the mean (`QuantConfig::bits`) and `≤` [`MAX_ROW_BITS`].
    pub max_bits: usize,
    /// Weight of each row's squared error (e.g. `√count` of its word in the training text),
    /// finite and `≥ 0`; `None` weighs every row 1.
    pub importance: Option<Vec<f32>>,
    /// A mean below `QuantConfig::bits` (e.g. 1.75: a size budget between whole bits), in
    /// `(0, bits]`; `None` is `bits`.
    pub mean_bits: Option<f64>,
}

impl RowAllocation {
    /// `E_CONFIG` unless `max_bits` ∈ `bits..=MAX_ROW_BITS`, the mean (if given) is in
    /// `(0, bits]` and the importance (one per row) is finite and non-negative.
    pub fn validate(&self, bits: usize, rows: usize) -> Result<()> {
        check_bits(self.max_bits)?;
        if let Some(m) = self.mean_bits {
            if !(m.is_finite() && m > 0.0 && m <= bits as f64) {
                return Err(Error::config(format!("the mean bits of a mixed-precision matrix must be in (0, {bits}] (got {m})")));
            }
        }
        if self.max_bits > MAX_ROW_BITS {
            return Err(Error::config(format!(
                "a row of a mixed-precision matrix has at most {MAX_ROW_BITS} bits (got {})",
                self.max_bits
            )));
        }
        if self.max_bits < bits {
            return Err(Error::config(format!("the most bits of a row ({}) must be at least the mean ({bits})", self.max_bits)));
        }
        if let Some(imp) = &self.importance {
            check_len("row importance", imp.len(), rows).map_err(|e| Error::config(e.message))?;
            if imp.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(Error::config("row importance must be finite and non-negative"));
            }
        }
        Ok(())
    }
}

/// A candidate bit for one row: the weighted error it removes.
struct Gain(f64, usize);

impl PartialEq for Gain {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Gain {}
impl PartialOrd for Gain {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Gain {
    // Larger gain first; ties to the lower row, so the allocation is deterministic.
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

/// The bits of each row: 0 each, then `budget` bits one at a time to the row with the largest
/// `importance · (err[k] − err[k+1])`, never past `errors.len() − 1` bits (`errors[k][r]` is
/// row `r`'s squared error at `k` bits; at 0 bits its squared norm).
pub fn allocate_row_bits(errors: &[Vec<f64>], importance: Option<&[f32]>, budget: usize) -> Vec<u8> {
    let max = errors.len().saturating_sub(1);
    let rows = errors.first().map_or(0, Vec::len);
    let weight = |r: usize| importance.map_or(1.0, |imp| f64::from(imp[r]));
    let gain = |r: usize, k: usize| weight(r) * (errors[k][r] - errors[k + 1][r]);
    let mut bits = vec![0u8; rows];
    let mut heap: BinaryHeap<Gain> = if max > 0 { (0..rows).map(|r| Gain(gain(r, 0), r)).collect() } else { BinaryHeap::new() };
    for _ in 0..budget {
        let Some(Gain(_, r)) = heap.pop() else { break };
        bits[r] += 1;
        let k = usize::from(bits[r]);
        if k < max {
            heap.push(Gain(gain(r, k), r));
        }
    }
    bits
}

/// Quantizes `w` (rows×cols) with `cfg.bits` bits per weight on average (or `alloc.mean_bits`),
/// rows getting 0 to `alloc.max_bits` ([`allocate_row_bits`] on each row's error at every bit
/// count, weighted by `alloc.importance`). The budget is that many planes and their scales per
/// row, less what a file's row-bit table costs, so the file is never larger than a uniform
/// matrix of that mean. With no bit to move (mean = `cfg.bits` = `max_bits`) the result is the
/// uniform matrix.
/// `mask` as in [`quantize_rows`]. Errors: as [`quantize_rows`], and `E_CONFIG` for a bad allocation.
pub fn quantize_rows_mixed(
    w: &[f32],
    rows: usize,
    cols: usize,
    cfg: &QuantConfig,
    mask: Option<&[u8]>,
    alloc: &RowAllocation,
) -> Result<BinaryMatrix> {
    cfg.validate()?;
    alloc.validate(cfg.bits, rows)?;
    let groups = cols.div_ceil(super::effective_group(cfg.group_size, cols));
    // One plane of a row costs its codes and one f16 scale per group.
    let plane_bits = cols + 16 * groups;
    // The table in whole u64 words, plus one word for the rounding of the code stream.
    let table = (64 * (ROW_BITS_TABLE_BITS * rows).div_ceil(64) + 64).div_ceil(plane_bits);
    let mean = alloc.mean_bits.unwrap_or(cfg.bits as f64);
    let budget = ((mean * rows as f64).floor() as usize).saturating_sub(table);
    if alloc.max_bits == cfg.bits && alloc.mean_bits.is_none_or(|m| m == cfg.bits as f64) {
        return quantize_rows(w, rows, cols, cfg, mask);
    }
    let by_bits =
        (1..=alloc.max_bits).map(|k| quantize_rows(w, rows, cols, &QuantConfig { bits: k, ..*cfg }, mask)).collect::<Result<Vec<_>>>()?;
    // At 0 bits a row is zeros: its error is its (kept weights') squared norm.
    let kept = |r: usize, j: usize| mask.is_none_or(|m| m[r * cols + j] != 0);
    let norms = (0..rows).map(|r| (0..cols).filter(|&j| kept(r, j)).map(|j| f64::from(w[r * cols + j]).powi(2)).sum()).collect();
    let errors = std::iter::once(Ok(norms)).chain(by_bits.iter().map(|m| m.row_errors(w))).collect::<Result<Vec<_>>>()?;
    let row_bits = allocate_row_bits(&errors, alloc.importance.as_deref(), budget);
    assemble_rows(cols, alloc.max_bits, cfg.group_size, row_bits, by_bits[0].mask(), |r, b| (&by_bits[b - 1], r))
}

/// The mixed-precision matrix (`cols` columns, `max`-plane layout) whose row `r` has
/// `row_bits[r]` bits, taken from row `source(r, b).1` of the `b`-bit matrix `source(r, b).0`
/// (same columns and groups); rows of 0 bits are zeros. `mask` is the packed keep-mask of the
/// whole matrix.
/// Errors as [`BinaryMatrix::from_parts`] and [`BinaryMatrix::with_row_bits`].
pub(super) fn assemble_rows<'a>(
    cols: usize,
    max: usize,
    group_size: usize,
    row_bits: Vec<u8>,
    mask: Option<&[u64]>,
    source: impl Fn(usize, usize) -> (&'a BinaryMatrix, usize),
) -> Result<BinaryMatrix> {
    let rows = row_bits.len();
    let (groups, words) = (cols.div_ceil(super::effective_group(group_size, cols)), cols.div_ceil(64));
    let mut planes = vec![0u64; rows * max * words];
    let mut scales = vec![0f32; rows * groups * max];
    for (r, &b) in row_bits.iter().enumerate().filter(|(_, &b)| b > 0) {
        let b = usize::from(b);
        let (m, i) = source(r, b);
        planes[r * max * words..][..b * words].copy_from_slice(&m.planes()[i * b * words..][..b * words]);
        for g in 0..groups {
            scales[(r * groups + g) * max..][..b].copy_from_slice(&m.scales()[(i * groups + g) * b..][..b]);
        }
    }
    BinaryMatrix::from_parts(rows, cols, max, group_size, scales, &planes, mask)?.with_row_bits(row_bits)
}

/// One tier of a mixed-precision matrix: its rows of one bit count, as a matrix of their own.
pub struct Tier {
    /// The rows of the whole matrix this tier holds, ascending.
    pub rows: Vec<u32>,
    pub matrix: BinaryMatrix,
}

impl BinaryMatrix {
    /// The planes rows use, row after row (`bits_of_row(r)` padded planes each): what a file
    /// stores. For a uniform matrix this is [`BinaryMatrix::planes`].
    pub fn compact_planes(&self) -> Vec<u64> {
        let (k, w) = (self.bits(), self.words_per_row());
        (0..self.rows()).flat_map(|r| &self.planes()[r * k * w..][..self.bits_of_row(r) * w]).copied().collect()
    }

    /// The scales rows use, `[row][group][bits_of_row(r)]` (a uniform matrix's [`BinaryMatrix::scales`]).
    pub fn compact_scales(&self) -> Vec<f32> {
        let (k, groups) = (self.bits(), self.groups());
        (0..self.rows())
            .flat_map(|r| (0..groups).flat_map(move |g| &self.scales()[(r * groups + g) * k..][..self.bits_of_row(r)]))
            .copied()
            .collect()
    }

    /// Inverse of [`BinaryMatrix::compact_planes`] / [`BinaryMatrix::compact_scales`]: the
    /// mixed-precision matrix whose row `r` has `row_bits[r]` planes (`max_bits` in memory).
    /// Errors as [`BinaryMatrix::from_parts`] and [`BinaryMatrix::with_row_bits`]; `E_SHAPE`
    /// when the compact lengths do not match the row bits.
    #[allow(clippy::too_many_arguments)]
    pub fn from_compact(
        rows: usize,
        cols: usize,
        max_bits: usize,
        group_size: usize,
        row_bits: Vec<u8>,
        scales: &[f32],
        planes: &[u64],
        mask: Option<&[u64]>,
    ) -> Result<BinaryMatrix> {
        check_bits(max_bits)?;
        check_len("row bits", row_bits.len(), rows)?;
        if let Some(r) = row_bits.iter().position(|&b| usize::from(b) > max_bits) {
            return Err(Error::format(format!("row {r} has {} bits; rows of a {max_bits}-bit matrix have 0 to {max_bits}", row_bits[r])));
        }
        let groups = cols.div_ceil(super::effective_group(group_size, cols));
        let (w, coded) = (cols.div_ceil(64), row_bits.iter().map(|&b| usize::from(b)).sum::<usize>());
        check_len("planes", planes.len(), coded * w)?;
        check_len("scales", scales.len(), coded * groups)?;
        let mut full_planes = vec![0u64; rows * max_bits * w];
        let mut full_scales = vec![0f32; rows * groups * max_bits];
        let (mut p, mut s) = (0, 0);
        for (r, &b) in row_bits.iter().enumerate() {
            let b = usize::from(b);
            full_planes[r * max_bits * w..][..b * w].copy_from_slice(&planes[p..p + b * w]);
            p += b * w;
            for g in 0..groups {
                full_scales[(r * groups + g) * max_bits..][..b].copy_from_slice(&scales[s..s + b]);
                s += b;
            }
        }
        BinaryMatrix::from_parts(rows, cols, max_bits, group_size, full_scales, &full_planes, mask)?.with_row_bits(row_bits)
    }

    /// The rows grouped by their bits, each group a uniform matrix with only the planes its rows
    /// use (what the kernels multiply: a mixed matrix costs its mean bits, not its most). Rows of
    /// 0 bits (zeros) are in no tier. A uniform matrix is one tier of every row.
    pub fn tiers(&self) -> Result<Vec<Tier>> {
        let (k, words, groups) = (self.bits(), self.words_per_row(), self.groups());
        let mut out = Vec::new();
        for b in 1..=MAX_BITS.min(k) {
            let rows: Vec<u32> = (0..self.rows()).filter(|&r| self.bits_of_row(r) == b).map(|r| r as u32).collect();
            if rows.is_empty() {
                continue;
            }
            let mut planes = Vec::with_capacity(rows.len() * b * words);
            let mut scales = Vec::with_capacity(rows.len() * groups * b);
            let mut mask = self.mask().map(|_| Vec::with_capacity(rows.len() * words));
            for &r in &rows {
                let r = r as usize;
                planes.extend_from_slice(&self.planes()[r * k * words..][..b * words]);
                for g in 0..groups {
                    scales.extend_from_slice(&self.scales()[(r * groups + g) * k..][..b]);
                }
                if let (Some(all), Some(m)) = (mask.as_mut(), self.mask()) {
                    all.extend_from_slice(&m[r * words..][..words]);
                }
            }
            let matrix = BinaryMatrix::from_parts(rows.len(), self.cols(), b, self.group_size(), scales, &planes, mask.as_deref())?;
            out.push(Tier { rows, matrix });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::quant::Method;
    use crate::rng::Rng;

    /// Rows of very different scale, so that the allocation has something to find.
    fn uneven(rows: usize, cols: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..rows * cols).map(|i| rng.normal() * (1.0 + (i / cols % 7) as f32).powi(2)).collect()
    }

    fn sq_error(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| ((x - y) as f64).powi(2)).sum()
    }

    #[test]
    fn greedy_allocation_spends_the_budget_on_the_largest_gains() {
        // errors[k][r] (k = 0..=3): row 0 gains 25, 15.3, 0.1; row 1 gains 7, 3.4, 0.2; row 2 0.1 each.
        let errors = vec![vec![41.0, 11.0, 1.2], vec![16.0, 4.0, 1.1], vec![0.7, 0.6, 1.0], vec![0.6, 0.4, 0.9]];
        assert_eq!(allocate_row_bits(&errors, None, 0), vec![0, 0, 0]);
        assert_eq!(allocate_row_bits(&errors, None, 1), vec![1, 0, 0]);
        assert_eq!(allocate_row_bits(&errors, None, 4), vec![2, 2, 0]);
        assert_eq!(allocate_row_bits(&errors, None, 100), vec![3, 3, 3], "never past the most bits");
        // Importance reorders: row 2 weighted 1000 gains 100 first.
        assert_eq!(allocate_row_bits(&errors, Some(&[1.0, 1.0, 1000.0]), 1), vec![0, 0, 1]);
    }

    #[test]
    fn mixed_rows_keep_the_budget_and_lower_the_error() {
        let (rows, cols) = (70, 200);
        let w = uneven(rows, cols, 4);
        let cfg = QuantConfig::new(2, Method::Alternating);
        let uniform = quantize_rows(&w, rows, cols, &cfg, None).unwrap();
        let alloc = RowAllocation { max_bits: 4, importance: None, mean_bits: None };
        let mixed = quantize_rows_mixed(&w, rows, cols, &cfg, None, &alloc).unwrap();
        let rb = mixed.row_bits().expect("mixed");
        let table = (64 * (ROW_BITS_TABLE_BITS * rows).div_ceil(64) + 64).div_ceil(cols + 16);
        assert_eq!(mixed.coded_rows(), 2 * rows - table, "the budget is spent exactly");
        assert!(rb.iter().all(|&b| b <= 4) && rb.contains(&1) && rb.contains(&4), "{rb:?}");
        assert!(sq_error(&w, &mixed.dequantize()) < 0.85 * sq_error(&w, &uniform.dequantize()));
        // Each row is exactly its own quantization at its bits (zeros at 0 bits).
        let d = mixed.dequantize();
        assert!((0..rows).filter(|&r| rb[r] == 0).all(|r| d[r * cols..(r + 1) * cols].iter().all(|&v| v == 0.0)));
        for k in 1..=4 {
            let at_k = quantize_rows(&w, rows, cols, &QuantConfig { bits: k, ..cfg }, None).unwrap().dequantize();
            for r in (0..rows).filter(|&r| usize::from(rb[r]) == k) {
                assert_eq!(&mixed.dequantize()[r * cols..(r + 1) * cols], &at_k[r * cols..(r + 1) * cols], "row {r}");
            }
        }
        // Importance moves bits towards the rows that matter.
        let imp: Vec<f32> = (0..rows).map(|r| if r < 10 { 1e6 } else { 1.0 }).collect();
        let weighted =
            quantize_rows_mixed(&w, rows, cols, &cfg, None, &RowAllocation { max_bits: 4, importance: Some(imp), mean_bits: None })
                .unwrap();
        assert!(weighted.row_bits().unwrap()[..10].iter().all(|&b| b == 4));
    }

    #[test]
    fn a_fractional_mean_spends_that_many_bits() {
        let (rows, cols) = (64, 128);
        let w = uneven(rows, cols, 6);
        let cfg = QuantConfig::new(2, Method::Alternating);
        let at = |mean: Option<f64>| {
            quantize_rows_mixed(&w, rows, cols, &cfg, None, &RowAllocation { max_bits: 4, mean_bits: mean, ..Default::default() }).unwrap()
        };
        let table = (64 * (ROW_BITS_TABLE_BITS * rows).div_ceil(64) + 64).div_ceil(cols + 16);
        let (two, less) = (at(None), at(Some(1.5)));
        assert_eq!(two.coded_rows(), 2 * rows - table);
        assert_eq!(less.coded_rows(), 96 - table);
        assert!(sq_error(&w, &less.dequantize()) > sq_error(&w, &two.dequantize()));
        let bad = |m: f64| {
            quantize_rows_mixed(&w, rows, cols, &cfg, None, &RowAllocation { max_bits: 4, mean_bits: Some(m), ..Default::default() })
        };
        for m in [0.0, 2.5, f64::NAN] {
            assert_eq!(bad(m).err().map(|e| e.code), Some(ErrorCode::Config), "mean {m}");
        }
    }

    #[test]
    fn tiers_reassemble_the_matrix_and_refit_keeps_row_bits() {
        let (rows, cols) = (40, 130);
        let w = uneven(rows, cols, 8);
        let mask: Vec<u8> = (0..rows * cols).map(|i| u8::from(i % 5 != 0)).collect();
        let cfg = QuantConfig { group_size: 64, ..QuantConfig::new(2, Method::Refined) };
        let alloc = RowAllocation { max_bits: 3, importance: None, mean_bits: None };
        let m = quantize_rows_mixed(&w, rows, cols, &cfg, Some(&mask), &alloc).unwrap();
        assert!(m.row_bits().is_some());
        let full = m.dequantize();
        let tiers = m.tiers().unwrap();
        let zero_rows = m.row_bits().unwrap().iter().filter(|&&b| b == 0).count();
        assert_eq!(tiers.iter().map(|t| t.rows.len()).sum::<usize>(), rows - zero_rows);
        for t in &tiers {
            let d = t.matrix.dequantize();
            for (i, &r) in t.rows.iter().enumerate() {
                assert_eq!(usize::from(m.row_bits().unwrap()[r as usize]), t.matrix.bits());
                assert_eq!(&d[i * cols..(i + 1) * cols], &full[r as usize * cols..(r as usize + 1) * cols]);
            }
        }
        let (scales, planes) = (m.compact_scales(), m.compact_planes());
        assert_eq!(planes.len(), m.coded_rows() * 3);
        let back = BinaryMatrix::from_compact(rows, cols, 3, 64, m.row_bits().unwrap().to_vec(), &scales, &planes, m.mask()).unwrap();
        assert_eq!(back.dequantize(), full);
        let r = m.refit_scales(&w).unwrap();
        assert_eq!((r.row_bits(), r.planes()), (m.row_bits(), m.planes()));
        assert!(sq_error(&w, &r.dequantize()) <= sq_error(&w, &full) * (1.0 + 1e-3));
    }

    #[test]
    fn nothing_to_move_gives_the_uniform_matrix_and_bad_input_is_an_error() {
        let w = uneven(40, 64, 1);
        let mixed = |bits, max_bits| {
            quantize_rows_mixed(
                &w,
                40,
                64,
                &QuantConfig::new(bits, Method::Greedy),
                None,
                &RowAllocation { max_bits, ..Default::default() },
            )
            .unwrap()
        };
        assert!(mixed(2, 2).row_bits().is_none());
        // At a mean of 1 bit, bits move to the rows that matter from rows that get none.
        let rb = mixed(1, 3).row_bits().unwrap().to_vec();
        assert!(rb.contains(&0) && rb.iter().any(|&b| b > 1), "{rb:?}");
        let w = uneven(8, 64, 1);
        let cfg = QuantConfig::new(2, Method::Greedy);
        let code = |a: RowAllocation| quantize_rows_mixed(&w, 8, 64, &cfg, None, &a).err().map(|e| e.code);
        assert_eq!(code(RowAllocation { max_bits: 1, importance: None, mean_bits: None }), Some(ErrorCode::Config));
        assert_eq!(code(RowAllocation { max_bits: 8, importance: None, mean_bits: None }), Some(ErrorCode::Config));
        assert_eq!(code(RowAllocation { max_bits: 3, importance: Some(vec![1.0; 7]), mean_bits: None }), Some(ErrorCode::Config));
        assert_eq!(code(RowAllocation { max_bits: 3, importance: Some(vec![f32::NAN; 8]), mean_bits: None }), Some(ErrorCode::Config));
        // Row bits that contradict the planes are refused.
        let u = quantize_rows(&w, 8, 64, &cfg, None).unwrap();
        assert_eq!(u.with_scales(u.scales().to_vec()).unwrap().with_row_bits(vec![1; 8]).err().map(|e| e.code), Some(ErrorCode::Format));
        let u = quantize_rows(&w, 8, 64, &cfg, None).unwrap();
        assert_eq!(u.with_row_bits(vec![0; 8]).err().map(|e| e.code), Some(ErrorCode::Format));
        let u = quantize_rows(&w, 8, 64, &cfg, None).unwrap();
        assert_eq!(u.with_row_bits(vec![3; 8]).err().map(|e| e.code), Some(ErrorCode::Format));
    }
}
