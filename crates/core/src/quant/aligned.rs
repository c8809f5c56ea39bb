//! A zero-initialised `u64` buffer whose start is aligned to 64 bytes (a cache line, one
//! AVX-512 register). std's wasm allocator only guarantees 8 bytes, so the alignment comes
//! from the element type: the buffer is a vector of 64-byte lines.

#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([u64; 8]);

/// `len` words, 64-byte aligned, padded with zero words up to a whole line.
#[derive(Clone, Default)]
pub struct AlignedWords {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedWords {
    pub fn zeroed(len: usize) -> Self {
        AlignedWords { lines: vec![Line::default(); len.div_ceil(8)], len }
    }

    pub fn from_slice(words: &[u64]) -> Self {
        let mut a = Self::zeroed(words.len());
        a.as_mut_slice().copy_from_slice(words);
        a
    }

    pub fn as_slice(&self) -> &[u64] {
        // SAFETY: `lines` holds at least `len` contiguous, initialised u64s (Line is repr(C)).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u64>(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        // SAFETY: as in `as_slice`, and `&mut self` gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u64>(), self.len) }
    }

    /// The words as little-endian bytes (byte `8w + b` is bits `8b..8b+8` of word `w` on the
    /// little-endian targets quire supports: x86-64 and wasm32).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: any u64 storage is valid as bytes; length is len·8.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<u8>(), self.len * 8) }
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, and `&mut self` gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<u8>(), self.len * 8) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_aligned_and_zeroed() {
        for len in [0, 1, 7, 8, 9, 100] {
            let a = AlignedWords::zeroed(len);
            assert_eq!(a.as_slice().len(), len);
            assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
            assert!(a.as_slice().iter().all(|&w| w == 0));
        }
    }
}
