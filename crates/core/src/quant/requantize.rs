//! A matrix quantized again for new weights in its own layout: the same bits per row (mixed
//! precision), mask and scale groups, the codes and scales solved afresh. Retraining through the
//! quantizer re-quantizes its shadow weights after every window; allocating a mixed-precision
//! matrix's rows measures every bit count (about five quantizations), while keeping the rows'
//! bits costs one. For a row of `b` bits the result is exactly what [`quantize_rows`] gives that
//! row at `b` bits, so a uniform matrix re-quantizes to `quantize_rows` of the new weights.

use super::mixed::assemble_rows;
use super::packed::{unpack_codes, BinaryMatrix};
use super::{quantize_rows, Method, QuantConfig};
use crate::error::{check_finite, check_len, Result};

impl BinaryMatrix {
    /// `w` (row-major, rows×cols) quantized with `method` (`cycles` rounds of the alternating
    /// solver) into this matrix's layout: row `r` gets `bits_of_row(r)` bits (0: zeros), the
    /// mask and group size are this matrix's (scales fitted on kept weights; pruned positions
    /// stay 0). Scales are not rounded to f16. Errors: `E_SHAPE` (length of `w`), `E_NONFINITE`
    /// (`w`), `E_CONFIG` (`cycles`).
    pub fn requantize(&self, w: &[f32], method: Method, cycles: usize) -> Result<BinaryMatrix> {
        let (rows, cols, max) = (self.rows(), self.cols(), self.bits());
        check_len("weights", w.len(), rows * cols)?;
        check_finite("weights", w)?;
        let group_size = if self.group_size() == cols { 0 } else { self.group_size() };
        let cfg = QuantConfig { bits: max, method, cycles, group_size };
        cfg.validate()?;
        let keep = self.mask().map(|m| unpack_codes(m, rows, cols, 1));
        let Some(row_bits) = self.row_bits() else {
            return quantize_rows(w, rows, cols, &cfg, keep.as_deref());
        };
        // Each bit count's rows quantized together as a matrix of their own: `(matrix, index of row r in it)`.
        let mut tiers = Vec::with_capacity(max);
        let mut index = vec![0usize; rows];
        for k in 1..=max {
            let members: Vec<usize> = (0..rows).filter(|&r| usize::from(row_bits[r]) == k).collect();
            if members.is_empty() {
                tiers.push(None);
                continue;
            }
            members.iter().enumerate().for_each(|(i, &r)| index[r] = i);
            let sub_mask = keep.as_deref().map(|m| gather_rows(m, &members, cols));
            let sub = QuantConfig { bits: k, ..cfg };
            tiers.push(Some(quantize_rows(&gather_rows(w, &members, cols), members.len(), cols, &sub, sub_mask.as_deref())?));
        }
        let tier = |r: usize, b: usize| (tiers[b - 1].as_ref().expect("a row of b bits has its tier"), index[r]);
        assemble_rows(cols, max, group_size, row_bits.to_vec(), self.mask(), tier)
    }
}

/// The rows `members` of the row-major `v` (rows of `cols`), one after another.
fn gather_rows<T: Copy>(v: &[T], members: &[usize], cols: usize) -> Vec<T> {
    members.iter().flat_map(|&r| v[r * cols..(r + 1) * cols].iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode;
    use crate::quant::{quantize_rows, quantize_rows_mixed, Method, QuantConfig, RowAllocation};
    use crate::rng::Rng;

    fn gaussian(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n).map(|_| rng.normal()).collect()
    }

    #[test]
    fn a_uniform_matrix_requantizes_to_quantize_rows_of_the_new_weights() {
        let (rows, cols) = (23, 150);
        let mask: Vec<u8> = (0..rows * cols).map(|i| u8::from(i % 3 != 0)).collect();
        for (bits, group, m) in [(1, 0, None), (2, 0, Some(&mask)), (3, 64, None)] {
            let cfg = QuantConfig { group_size: group, ..QuantConfig::new(bits, Method::Alternating) };
            let q = quantize_rows(&gaussian(rows * cols, 1), rows, cols, &cfg, m.map(Vec::as_slice)).unwrap();
            let w = gaussian(rows * cols, 2);
            let again = q.requantize(&w, Method::Alternating, 2).unwrap();
            let direct = quantize_rows(&w, rows, cols, &cfg, m.map(Vec::as_slice)).unwrap();
            assert_eq!(again.planes(), direct.planes(), "{bits} bits, group {group}");
            assert_eq!(again.scales(), direct.scales());
            assert_eq!(again.mask(), direct.mask());
            assert!(again.row_bits().is_none());
        }
    }

    #[test]
    fn a_mixed_matrix_keeps_its_row_bits_and_solves_each_row_at_them() {
        let (rows, cols) = (40, 130);
        let mask: Vec<u8> = (0..rows * cols).map(|i| u8::from(i % 5 != 1)).collect();
        let cfg = QuantConfig::new(2, Method::Alternating);
        let alloc = RowAllocation { max_bits: 4, importance: Some((0..rows).map(|r| (r * r) as f32).collect()), mean_bits: Some(1.5) };
        let q = quantize_rows_mixed(&gaussian(rows * cols, 3), rows, cols, &cfg, Some(&mask), &alloc).unwrap();
        let row_bits = q.row_bits().unwrap().to_vec();
        assert!(row_bits.contains(&0) && row_bits.iter().any(|&b| b >= 3), "{row_bits:?}");
        // The same weights give the same matrix; new ones keep the layout.
        let w0 = gaussian(rows * cols, 3);
        let same = q.requantize(&w0, Method::Alternating, 2).unwrap();
        assert_eq!((same.planes(), same.scales()), (q.planes(), q.scales()));
        let w = gaussian(rows * cols, 4);
        let again = q.requantize(&w, Method::Alternating, 2).unwrap();
        assert_eq!(again.row_bits().unwrap(), &row_bits[..]);
        assert_eq!(again.mask(), q.mask());
        let hat = again.dequantize();
        for (r, &b) in row_bits.iter().enumerate() {
            let row = &hat[r * cols..(r + 1) * cols];
            if b == 0 {
                assert!(row.iter().all(|&x| x == 0.0));
                continue;
            }
            let alone = QuantConfig::new(usize::from(b), Method::Alternating);
            let expected = quantize_rows(&w[r * cols..(r + 1) * cols], 1, cols, &alone, Some(&mask[r * cols..(r + 1) * cols])).unwrap();
            assert_eq!(row, &expected.dequantize()[..], "row {r} at {b} bits");
        }
    }

    #[test]
    fn bad_weights_are_errors() {
        let q = quantize_rows(&gaussian(6 * 64, 5), 6, 64, &QuantConfig::new(2, Method::Greedy), None).unwrap();
        assert_eq!(q.requantize(&[0.0; 10], Method::Greedy, 2).err().map(|e| e.code), Some(ErrorCode::Shape));
        let mut w = gaussian(6 * 64, 6);
        w[7] = f32::NAN;
        assert_eq!(q.requantize(&w, Method::Greedy, 2).err().map(|e| e.code), Some(ErrorCode::NonFinite));
        assert_eq!(q.requantize(&gaussian(6 * 64, 6), Method::Alternating, 5000).err().map(|e| e.code), Some(ErrorCode::Config));
    }
}
