//! Tight bit streams for the compressed file: in memory every row of a bit-plane (and of a
//! mask) is padded to whole u64 words (`⌈cols/64⌉`, padding bits 0); in the file the rows are
//! concatenated without padding, so a 200-column 1-bit matrix costs 200 bits per row, not 256.
//!
//! Stream layout: segment `s` (a row of one plane) occupies bits `s·cols .. (s+1)·cols`, bit `b`
//! of the stream being bit `b mod 64` of word `⌊b/64⌋` (LSB first); bits past the end are 0.

use crate::error::{Error, Result};

/// Words of a stream of `segments` runs of `cols` bits.
pub fn stream_words(segments: usize, cols: usize) -> usize {
    (segments * cols).div_ceil(64)
}

/// Concatenates `segments` padded rows (`⌈cols/64⌉` words each, padding bits 0) into a stream.
pub fn squeeze(padded: &[u64], segments: usize, cols: usize) -> Vec<u64> {
    let w = cols.div_ceil(64);
    let mut out = vec![0u64; stream_words(segments, cols)];
    let mut pos = 0usize;
    for s in 0..segments {
        for x in 0..w {
            let bits = (cols - 64 * x).min(64);
            let v = padded[s * w + x];
            let (q, r) = (pos / 64, pos % 64);
            out[q] |= v << r;
            if r != 0 && r + bits > 64 {
                out[q + 1] |= v >> (64 - r);
            }
            pos += bits;
        }
    }
    out
}

/// Inverse of [`squeeze`]; `E_FORMAT` if the stream has the wrong length or bits set past its end.
pub fn expand(stream: &[u64], segments: usize, cols: usize) -> Result<Vec<u64>> {
    if stream.len() != stream_words(segments, cols) {
        return Err(Error::format(format!("bit stream has {} words, expected {}", stream.len(), stream_words(segments, cols))));
    }
    let used = (segments * cols) % 64;
    if used != 0 && stream[stream.len() - 1] >> used != 0 {
        return Err(Error::format("bit stream has bits set past its end (must be 0)"));
    }
    let w = cols.div_ceil(64);
    let mut out = vec![0u64; segments * w];
    let mut pos = 0usize;
    for s in 0..segments {
        for x in 0..w {
            let bits = (cols - 64 * x).min(64);
            let (q, r) = (pos / 64, pos % 64);
            let mut v = stream[q] >> r;
            if r != 0 && q + 1 < stream.len() {
                v |= stream[q + 1] << (64 - r);
            }
            if bits < 64 {
                v &= (1u64 << bits) - 1;
            }
            out[s * w + x] = v;
            pos += bits;
        }
    }
    Ok(out)
}

/// Weights a keep-mask keeps (set bits of `mask`, padded rows of `⌈cols/64⌉` words).
pub fn kept(mask: &[u64]) -> usize {
    mask.iter().map(|w| w.count_ones() as usize).sum()
}

/// Code bits of the kept weights when row `r` has `bits(r)` planes: `Σ_r bits(r)·kept(row r)`.
pub fn kept_codes(mask: &[u64], rows: usize, cols: usize, bits: impl Fn(usize) -> usize) -> usize {
    let w = cols.div_ceil(64);
    (0..rows).map(|r| bits(r) * kept(&mask[r * w..(r + 1) * w])).sum()
}

/// The code bits of kept weights only, as one stream: for row `r`, plane `i < bits(r)`, the
/// bits of the kept columns in order (LSB first); pruned weights need no code (they decode to 0
/// whatever it is), so a masked matrix stores `k` bits per kept weight, not per weight.
/// `planes` holds the rows one after another, `bits(r)` padded planes each.
pub fn pack_kept(planes: &[u64], mask: &[u64], rows: usize, cols: usize, bits: impl Fn(usize) -> usize) -> Vec<u64> {
    let w = cols.div_ceil(64);
    let mut out = vec![0u64; kept_codes(mask, rows, cols, &bits).div_ceil(64)];
    let (mut pos, mut plane) = (0usize, 0usize);
    for r in 0..rows {
        let m = &mask[r * w..(r + 1) * w];
        for _ in 0..bits(r) {
            let p = &planes[plane * w..(plane + 1) * w];
            plane += 1;
            for (&mw, &pw) in m.iter().zip(p) {
                let mut set = mw;
                while set != 0 {
                    let t = set.trailing_zeros();
                    out[pos / 64] |= (pw >> t & 1) << (pos % 64);
                    pos += 1;
                    set &= set - 1;
                }
            }
        }
    }
    out
}

/// Inverse of [`pack_kept`]: the rows' padded planes (`bits(r)` each, one after another) with
/// the kept codes in place and pruned positions 0. `E_FORMAT` if the stream has the wrong
/// length or bits set past its end.
pub fn unpack_kept(stream: &[u64], mask: &[u64], rows: usize, cols: usize, bits: impl Fn(usize) -> usize) -> Result<Vec<u64>> {
    let total = kept_codes(mask, rows, cols, &bits);
    if stream.len() != total.div_ceil(64) {
        return Err(Error::format(format!("code stream has {} words, expected {}", stream.len(), total.div_ceil(64))));
    }
    if !total.is_multiple_of(64) && stream[stream.len() - 1] >> (total % 64) != 0 {
        return Err(Error::format("code stream has bits set past its end (must be 0)"));
    }
    let w = cols.div_ceil(64);
    let mut planes = Vec::with_capacity((0..rows).map(&bits).sum::<usize>() * w);
    let mut pos = 0usize;
    for r in 0..rows {
        for _ in 0..bits(r) {
            for x in 0..w {
                let mut set = mask[r * w + x];
                let mut word = 0u64;
                while set != 0 {
                    let t = set.trailing_zeros();
                    word |= (stream[pos / 64] >> (pos % 64) & 1) << t;
                    pos += 1;
                    set &= set - 1;
                }
                planes.push(word);
            }
        }
    }
    Ok(planes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn squeeze_and_expand_round_trip_ragged_rows() {
        let mut r = Rng::new(4);
        for cols in [1usize, 5, 63, 64, 65, 127, 128, 200, 333] {
            let segments = 7;
            let w = cols.div_ceil(64);
            let mut padded = vec![0u64; segments * w];
            for s in 0..segments {
                for j in 0..cols {
                    if r.below(2) == 1 {
                        padded[s * w + j / 64] |= 1 << (j % 64);
                    }
                }
            }
            let stream = squeeze(&padded, segments, cols);
            assert_eq!(stream.len(), (segments * cols).div_ceil(64));
            for b in 0..segments * cols {
                let (s, j) = (b / cols, b % cols);
                assert_eq!(stream[b / 64] >> (b % 64) & 1, padded[s * w + j / 64] >> (j % 64) & 1, "cols {cols} bit {b}");
            }
            assert_eq!(expand(&stream, segments, cols).unwrap(), padded, "cols {cols}");
            if (segments * cols) % 64 != 0 {
                let mut bad = stream.clone();
                *bad.last_mut().unwrap() |= 1 << 63;
                assert!(expand(&bad, segments, cols).is_err());
            }
            assert!(expand(&stream[1..], segments, cols).is_err());
        }
    }

    #[test]
    fn kept_codes_round_trip_and_cost_k_bits_per_kept_weight() {
        let mut r = Rng::new(9);
        for (rows, cols, k) in [(3usize, 200usize, 1usize), (5, 65, 3), (2, 64, 2), (4, 1, 1)] {
            let w = cols.div_ceil(64);
            let mut planes = vec![0u64; rows * k * w];
            let mut mask = vec![0u64; rows * w];
            for j in 0..rows * cols {
                let (row, col) = (j / cols, j % cols);
                if r.below(2) == 1 {
                    mask[row * w + col / 64] |= 1 << (col % 64);
                }
                for i in 0..k {
                    if r.below(2) == 1 {
                        planes[(row * k + i) * w + col / 64] |= 1 << (col % 64);
                    }
                }
            }
            let stream = pack_kept(&planes, &mask, rows, cols, |_| k);
            assert_eq!(stream.len(), (k * kept(&mask)).div_ceil(64));
            let back = unpack_kept(&stream, &mask, rows, cols, |_| k).unwrap();
            for row in 0..rows {
                for i in 0..k {
                    for x in 0..w {
                        let m = mask[row * w + x];
                        assert_eq!(back[(row * k + i) * w + x], planes[(row * k + i) * w + x] & m);
                    }
                }
            }
            assert!(unpack_kept(&stream[..stream.len().saturating_sub(1)], &mask, rows, cols, |_| k).is_err() || stream.is_empty());
        }
    }
}
