//! The packed binary-code format ([`BinaryMatrix`]) with pack, unpack, dequantize and the
//! relative error `‖W−Ŵ‖²/‖W‖²`.
//!
//! Format (rows×cols matrix, k bits, G columns per scale group, `groups = ⌈cols/G⌉`):
//! - `planes`: u64 words, little-endian, `W = ⌈cols/64⌉` words per row and plane, laid out
//!   row-major then plane: word `(r·k + i)·W + w`. Bit `t` of word `w` is column `64w + t`
//!   (LSB first); a set bit means `b_i = +1`, a clear bit `−1`. Padding bits past `cols` are 0.
//!   Read as u32 words (JS), bit `t` of word `w'` is column `32w' + t`.
//! - `scales`: f32, `(r·groups + g)·k + i` is `α_i` of row `r`, group `g` (columns `gG..`).
//! - `mask` (optional): one plane of `W` words per row, bit set = kept; a pruned position
//!   dequantizes to exactly 0 whatever its codes.
//!
//! Kernels see a masked matrix as `2k` unmasked planes with halved scales:
//! `m·b = (b + b′)/2` with `b′ = b XNOR m` (equal to `b` where kept, `−b` where pruned),
//! which is exact and keeps the kernels mask-free. The LUT kernels read a derived row-tiled
//! copy (built on first use): tiles of 16 rows, `tile[(p·B + c)·16 + r]` = byte `c` of row `r`
//! of plane `p`, `B = 8W` bytes per row, with the scales regrouped per tile ([`Tiles`]).

use super::aligned::AlignedWords;
use crate::error::{check_len, Error, Result};
use crate::threads;
use std::sync::{Mutex, OnceLock};

/// Rows per tile of the LUT kernels' layout.
pub const TILE_ROWS: usize = 16;

/// A quantized matrix: codes, scales and optional mask, in the packed format above.
pub struct BinaryMatrix {
    rows: usize,
    cols: usize,
    bits: usize,
    group: usize,
    groups: usize,
    words: usize,
    scales: Vec<f32>,
    planes: AlignedWords,
    mask: Option<AlignedWords>,
    /// The `2k` mask-free planes and their scales, for masked matrices only.
    masked_view: Option<(Vec<f32>, AlignedWords)>,
    tiles: OnceLock<(AlignedWords, Vec<f32>)>,
    /// The tiles in the batched int8 kernel's index layout (`kernels::bcq::batched`), built on demand.
    index: OnceLock<AlignedWords>,
    /// Mixed precision ([`BinaryMatrix::with_row_bits`]): the bits of each row, `0..=bits`.
    row_bits: Option<Vec<u8>>,
}

/// The LUT kernels' row-tiled layout: `bytes[((t·k + p)·B + c)·16 + r]` = byte `c` of row
/// `16t + r`, plane `p` (64-byte aligned), and the matching scales
/// `scales[((t·k + p)·groups + g)·16 + r]` (0 for the padding rows of the last tile).
pub struct Tiles<'a> {
    pub bytes: &'a [u8],
    pub scales: &'a [f32],
}

/// The mask-free planes kernels multiply with: `bits` planes, scales `(r·groups+g)·bits + i`.
pub struct KernelPlanes<'a> {
    pub bits: usize,
    pub scales: &'a [f32],
    pub planes: &'a [u64],
}

/// Packs per-weight codes (bit `i` of `codes[r·cols + j]` = plane `i`) into planes.
pub fn pack_codes(codes: &[u8], rows: usize, cols: usize, bits: usize) -> Vec<u64> {
    let mut planes = vec![0u64; rows * bits * cols.div_ceil(64)];
    pack_codes_into(codes, rows, cols, bits, &mut planes);
    planes
}

/// [`pack_codes`] into `planes` (`rows·bits·⌈cols/64⌉` words, overwritten), without allocating.
pub fn pack_codes_into(codes: &[u8], rows: usize, cols: usize, bits: usize, planes: &mut [u64]) {
    let words = cols.div_ceil(64);
    for (r, row) in codes.chunks(cols).enumerate().take(rows) {
        for i in 0..bits {
            let plane = &mut planes[(r * bits + i) * words..][..words];
            for (word, chunk) in plane.iter_mut().zip(row.chunks(64)) {
                *word = chunk.iter().enumerate().fold(0u64, |acc, (t, &c)| acc | (u64::from(c >> i & 1) << t));
            }
        }
    }
}

/// Inverse of [`pack_codes`].
pub fn unpack_codes(planes: &[u64], rows: usize, cols: usize, bits: usize) -> Vec<u8> {
    let words = cols.div_ceil(64);
    let mut codes = vec![0u8; rows * cols];
    for r in 0..rows {
        for i in 0..bits {
            let plane = &planes[(r * bits + i) * words..(r * bits + i + 1) * words];
            for (j, c) in codes[r * cols..(r + 1) * cols].iter_mut().enumerate() {
                *c |= ((plane[j / 64] >> (j % 64) & 1) as u8) << i;
            }
        }
    }
    codes
}

impl BinaryMatrix {
    /// Builds a matrix from packed parts, validating everything a file reader could get wrong:
    /// `E_CONFIG` (bits, group size), `E_SHAPE` (lengths), `E_NONFINITE` (scales),
    /// `E_FORMAT` (padding bits set). `group_size` is clamped to `cols`; 0 means whole row.
    pub fn from_parts(
        rows: usize,
        cols: usize,
        bits: usize,
        group_size: usize,
        scales: Vec<f32>,
        planes: &[u64],
        mask: Option<&[u64]>,
    ) -> Result<BinaryMatrix> {
        super::check_bits(bits)?;
        if rows == 0 || cols == 0 {
            return Err(Error::shape(format!("a {rows}×{cols} matrix is empty: rows and cols must be positive")));
        }
        let group = super::effective_group(group_size, cols);
        if group != cols && !group.is_multiple_of(64) {
            return Err(Error::config(format!("group size must be a multiple of 64 (got {group_size})")));
        }
        let groups = cols.div_ceil(group);
        let words = cols.div_ceil(64);
        check_len("scales", scales.len(), rows * groups * bits)?;
        check_len("planes", planes.len(), rows * bits * words)?;
        crate::error::check_finite("scales", &scales)?;
        let pad = if cols.is_multiple_of(64) { 0 } else { !0u64 << (cols % 64) };
        let padded = |ws: &[u64]| ws.chunks(words).any(|row| row[words - 1] & pad != 0);
        if padded(planes) {
            return Err(Error::format("planes have bits set past the last column (padding must be 0)"));
        }
        if let Some(m) = mask {
            check_len("mask", m.len(), rows * words)?;
            if padded(m) {
                return Err(Error::format("mask has bits set past the last column (padding must be 0)"));
            }
        }
        let mut out = BinaryMatrix {
            rows,
            cols,
            bits,
            group,
            groups,
            words,
            scales,
            planes: AlignedWords::from_slice(planes),
            mask: mask.map(AlignedWords::from_slice),
            masked_view: None,
            tiles: OnceLock::new(),
            index: OnceLock::new(),
            row_bits: None,
        };
        out.masked_view = out.mask.as_ref().map(|m| out.split_masked(m.as_slice(), !pad));
        Ok(out)
    }

    /// This matrix with every scale rounded to the nearest f16 where f16 holds it at full
    /// precision ([`crate::format::half::round_to_f16`]), so that a file stores the scales in
    /// half the bytes and reads back exactly this matrix. Codes and mask are unchanged.
    pub fn with_half_scales(self) -> Result<BinaryMatrix> {
        let scales = self.scales.iter().map(|&a| crate::format::half::round_to_f16(a)).collect();
        self.with_scales(scales)
    }

    /// This matrix's codes, mask and row bits with other `scales` (same layout); errors as
    /// [`BinaryMatrix::from_parts`] and [`BinaryMatrix::with_row_bits`].
    pub fn with_scales(&self, scales: Vec<f32>) -> Result<BinaryMatrix> {
        let out = BinaryMatrix::from_parts(
            self.rows,
            self.cols,
            self.bits,
            self.group,
            scales,
            self.planes.as_slice(),
            self.mask.as_ref().map(|m| m.as_slice()),
        )?;
        match &self.row_bits {
            Some(rb) => out.with_row_bits(rb.clone()),
            None => Ok(out),
        }
    }

    /// Mixed precision: row `r` uses only its first `row_bits[r]` planes (`0..=bits`; a row of
    /// 0 bits is all zeros); the planes past them must be all 0 and their scales 0, so every
    /// product and decoding of the `bits`-plane layout is exact as it is (kernels may skip the
    /// unused planes, [`BinaryMatrix::tiers`]), and files store `row_bits[r]` planes and scales
    /// for row `r`. `E_SHAPE` (length), `E_FORMAT` (a count past `bits`, unused planes or scales not 0).
    pub fn with_row_bits(mut self, row_bits: Vec<u8>) -> Result<BinaryMatrix> {
        check_len("row bits", row_bits.len(), self.rows)?;
        let (k, w, groups) = (self.bits, self.words, self.groups);
        for (r, &b) in row_bits.iter().enumerate() {
            let b = usize::from(b);
            if b > k {
                return Err(Error::format(format!("row {r} has {b} bits; rows of a {k}-bit matrix have 0 to {k}")));
            }
            let unused_planes = &self.planes.as_slice()[(r * k + b) * w..(r + 1) * k * w];
            let unused_scales = (0..groups).flat_map(|g| &self.scales[(r * groups + g) * k + b..(r * groups + g + 1) * k]);
            if unused_planes.iter().any(|&x| x != 0) || unused_scales.into_iter().any(|&a| a != 0.0) {
                return Err(Error::format(format!("row {r} has {b} bits but codes or scales past its planes are not 0")));
            }
        }
        self.row_bits = Some(row_bits);
        Ok(self)
    }

    /// The bits of each row of a mixed-precision matrix ([`BinaryMatrix::with_row_bits`]), else `None`.
    pub fn row_bits(&self) -> Option<&[u8]> {
        self.row_bits.as_deref()
    }

    /// The planes row `r` uses (`bits` unless mixed).
    pub fn bits_of_row(&self, r: usize) -> usize {
        self.row_bits.as_ref().map_or(self.bits, |rb| usize::from(rb[r]))
    }

    /// Planes stored over all rows, `Σ_r bits_of_row(r)` (the code bits are this × cols).
    pub fn coded_rows(&self) -> usize {
        self.row_bits.as_ref().map_or(self.rows * self.bits, |rb| rb.iter().map(|&b| usize::from(b)).sum())
    }

    /// Mean bits per weight over the rows.
    pub fn mean_bits(&self) -> f64 {
        self.coded_rows() as f64 / self.rows as f64
    }

    /// `2k` planes `b_i, b_i XNOR m` (padding cleared with `valid`) and scales `α_i/2` twice.
    fn split_masked(&self, mask: &[u64], valid: u64) -> (Vec<f32>, AlignedWords) {
        let (k, w) = (self.bits, self.words);
        let mut planes = AlignedWords::zeroed(self.rows * 2 * k * w);
        let out = planes.as_mut_slice();
        let src = self.planes.as_slice();
        for r in 0..self.rows {
            for i in 0..k {
                for x in 0..w {
                    let b = src[(r * k + i) * w + x];
                    let keep = if x + 1 == w { valid } else { !0 };
                    out[(r * 2 * k + i) * w + x] = b;
                    out[(r * 2 * k + k + i) * w + x] = !(b ^ mask[r * w + x]) & keep;
                }
            }
        }
        let mut scales = Vec::with_capacity(self.scales.len() * 2);
        for s in self.scales.chunks(k) {
            scales.extend(s.iter().map(|a| 0.5 * a));
            scales.extend(s.iter().map(|a| 0.5 * a));
        }
        (scales, planes)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn bits(&self) -> usize {
        self.bits
    }
    /// Columns per scale group (`cols` when scales are per row).
    pub fn group_size(&self) -> usize {
        self.group
    }
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// u64 words per row and plane, `⌈cols/64⌉`.
    pub fn words_per_row(&self) -> usize {
        self.words
    }
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }
    pub fn planes(&self) -> &[u64] {
        self.planes.as_slice()
    }
    pub fn mask(&self) -> Option<&[u64]> {
        self.mask.as_ref().map(|m| m.as_slice())
    }
    /// Per-weight codes (bit `i` = plane `i`), row-major.
    pub fn codes(&self) -> Vec<u8> {
        unpack_codes(self.planes(), self.rows, self.cols, self.bits)
    }

    /// The planes kernels use (mask folded in, see the module docs).
    pub fn kernel_planes(&self) -> KernelPlanes<'_> {
        match &self.masked_view {
            Some((scales, planes)) => KernelPlanes { bits: 2 * self.bits, scales, planes: planes.as_slice() },
            None => KernelPlanes { bits: self.bits, scales: &self.scales, planes: self.planes.as_slice() },
        }
    }

    /// The row-tiled copy of the kernel planes, built once on first use.
    pub fn tiles(&self) -> Tiles<'_> {
        let (bytes, scales) = self.tiles.get_or_init(|| {
            let kp = self.kernel_planes();
            let bpr = 8 * self.words;
            let tiles = self.rows.div_ceil(TILE_ROWS);
            let mut out = AlignedWords::zeroed(tiles * kp.bits * bpr * TILE_ROWS / 8);
            let mut scales = vec![0f32; tiles * kp.bits * self.groups * TILE_ROWS];
            let bytes = out.as_bytes_mut();
            for r in 0..self.rows {
                let (t, rr) = (r / TILE_ROWS, r % TILE_ROWS);
                for p in 0..kp.bits {
                    let base = (t * kp.bits + p) * bpr * TILE_ROWS;
                    let row = &kp.planes[(r * kp.bits + p) * self.words..][..self.words];
                    for (c, byte) in row.iter().flat_map(|w| w.to_le_bytes()).enumerate() {
                        bytes[base + c * TILE_ROWS + rr] = byte;
                    }
                    for g in 0..self.groups {
                        scales[((t * kp.bits + p) * self.groups + g) * TILE_ROWS + rr] = kp.scales[(r * self.groups + g) * kp.bits + p];
                    }
                }
            }
            (out, scales)
        });
        Tiles { bytes: bytes.as_bytes(), scales }
    }

    /// [`BinaryMatrix::tiles`] in the index layout of the batched int8 kernel
    /// ([`crate::kernels::bcq::batched::index_tiles`], twice the tiles' bytes), built once on first use.
    pub fn index_tiles(&self) -> &[u8] {
        self.index
            .get_or_init(|| {
                let tiles = self.tiles().bytes;
                let mut out = AlignedWords::zeroed(tiles.len() / 4);
                crate::kernels::bcq::batched::index_tiles(tiles, 8 * self.words, out.as_bytes_mut());
                out
            })
            .as_bytes()
    }

    /// Bytes of the index layout if it was built (see [`BinaryMatrix::index_tiles`]), else 0.
    pub fn index_bytes(&self) -> usize {
        self.index.get().map_or(0, |w| w.as_bytes().len())
    }

    /// Writes row `r` of `Ŵ` into `out` (`cols` values): per group, a table of the `2^k`
    /// levels indexed by the unpacked codes; pruned positions are 0.
    fn dequantize_row(&self, r: usize, codes: &mut [u8], out: &mut [f32]) {
        let (k, w) = (self.bits, self.words);
        codes.fill(0);
        for i in 0..k {
            let plane = &self.planes()[(r * k + i) * w..][..w];
            for (chunk, &word) in codes.chunks_mut(64).zip(plane) {
                for (t, c) in chunk.iter_mut().enumerate() {
                    *c |= ((word >> t & 1) as u8) << i;
                }
            }
        }
        let mut levels = [0f32; 256];
        for (g, (out_g, codes_g)) in out.chunks_mut(self.group).zip(codes.chunks(self.group)).enumerate() {
            let alphas = &self.scales[(r * self.groups + g) * k..][..k];
            for (c, l) in levels.iter_mut().enumerate().take(1 << k) {
                *l = super::level(c as u8, alphas);
            }
            for (o, &c) in out_g.iter_mut().zip(codes_g) {
                *o = levels[c as usize];
            }
        }
        if let Some(m) = self.mask() {
            for (chunk, &word) in out.chunks_mut(64).zip(&m[r * w..(r + 1) * w]) {
                for (t, o) in chunk.iter_mut().enumerate() {
                    if word >> t & 1 == 0 {
                        *o = 0.0;
                    }
                }
            }
        }
    }

    /// Runs `f(row, Ŵ_row)` for every row, in parallel natively, collecting the results in
    /// row order.
    fn map_rows<T: Send>(&self, f: impl Fn(usize, &[f32]) -> T + Sync) -> Vec<T> {
        let parts = Mutex::new(Vec::new());
        threads::parallel_ranges(self.rows, 1, (65536 / self.cols).max(1), |range| {
            let (mut codes, mut row) = (vec![0u8; self.cols], vec![0f32; self.cols]);
            let out: Vec<T> = range
                .clone()
                .map(|r| {
                    self.dequantize_row(r, &mut codes, &mut row);
                    f(r, &row)
                })
                .collect();
            parts.lock().unwrap_or_else(|p| p.into_inner()).push((range.start, out));
        });
        let mut parts = parts.into_inner().unwrap_or_else(|p| p.into_inner());
        parts.sort_by_key(|p| p.0);
        parts.into_iter().flat_map(|p| p.1).collect()
    }

    /// Writes `Ŵ` (row-major rows×cols) into `out`; `E_SHAPE` on a wrong length.
    pub fn dequantize_into(&self, out: &mut [f32]) -> Result<()> {
        check_len("output", out.len(), self.rows * self.cols)?;
        let rows = self.map_rows(|_, row| row.to_vec());
        for (o, row) in out.chunks_mut(self.cols).zip(rows) {
            o.copy_from_slice(&row);
        }
        Ok(())
    }

    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        self.dequantize_into(&mut out).expect("length matches by construction");
        out
    }

    /// `‖W_r−Ŵ_r‖²` of every row `r` against the original `w` (f64 sums); `E_SHAPE` on a wrong length.
    pub fn row_errors(&self, w: &[f32]) -> Result<Vec<f64>> {
        check_len("weights", w.len(), self.rows * self.cols)?;
        Ok(self.map_rows(|r, row| w[r * self.cols..(r + 1) * self.cols].iter().zip(row).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum()))
    }

    /// `‖W−Ŵ‖²/‖W‖²` against the original `w` (0 when `W = 0`); `E_SHAPE` on a wrong length.
    pub fn relative_error(&self, w: &[f32]) -> Result<f64> {
        check_len("weights", w.len(), self.rows * self.cols)?;
        let sums = self.map_rows(|r, row| {
            let orig = &w[r * self.cols..(r + 1) * self.cols];
            let num: f64 = orig.iter().zip(row).map(|(&a, &b)| ((a - b) as f64).powi(2)).sum();
            let den: f64 = orig.iter().map(|&a| (a as f64).powi(2)).sum();
            (num, den)
        });
        let (num, den) = sums.iter().fold((0.0, 0.0), |acc, s| (acc.0 + s.0, acc.1 + s.1));
        Ok(if den == 0.0 { 0.0 } else { num / den })
    }
}
