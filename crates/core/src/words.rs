//! Counting the words of a corpus as it streams by: the `words` tokenizer (split at whitespace
//! and control characters) over UTF-8 bytes, each distinct word numbered in order of first
//! appearance. It is the encoder's hot loop for large corpora; the TypeScript tokenizer
//! (`ts/data/tokenizer.ts`) defines the same split and the tests compare the two.

use crate::error::{Error, ErrorCode, Result};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The id of `<eos>`, emitted after every line that has words.
pub const EOS_ID: u32 = 0;
/// An incomplete line longer than this is cut at its last space or tab (its words are the same).
const MAX_PENDING: usize = 16 << 20;

/// FxHash (rustc's): fast for short keys, and word keys come from the user's own files.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Whether `c` separates words: JavaScript's `\s` (white space and line terminators, U+FEFF
/// included) and the control characters (Unicode `Cc`), exactly the tokenizer's `[\s\p{Cc}]`.
pub fn is_separator(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{20}' | '\u{7f}'..='\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// Streams text through the `words` tokenizer: [`WordCounter::feed`] takes the bytes of a file
/// chunk by chunk and returns the ids of the words of its complete lines, `<eos>` (id 0) after
/// every line with words; a line ends at `\n` or `\r` (so `\r\n`, `\n` and a lone `\r` read the
/// same). Counts accumulate per id; memory is the distinct words plus one incomplete line.
#[derive(Default)]
pub struct WordCounter {
    index: HashMap<Box<str>, u32, BuildHasherDefault<FxHasher>>,
    counts: Vec<u64>,
    lowercase: bool,
    /// Bytes of the incomplete last line, and the file offset of its first byte.
    pending: Vec<u8>,
    pending_offset: u64,
    /// Whether the line in `pending` already gave words (its earlier parts were cut off).
    line_has_words: bool,
}

impl WordCounter {
    /// A counter whose id 0 is `<eos>`; with `lowercase` words are lowercased (Unicode rules).
    pub fn new(lowercase: bool) -> Self {
        let mut c = WordCounter { lowercase, ..Default::default() };
        c.index.insert("<eos>".into(), EOS_ID);
        c.counts.push(0);
        c
    }

    /// Feeds the next `bytes` of the file (`last`: nothing follows) and returns the ids of the
    /// words of every line completed so far. A NUL byte (a binary file) or invalid UTF-8 is
    /// `E_DATA` with the byte offset in the file.
    pub fn feed(&mut self, bytes: &[u8], last: bool) -> Result<Vec<u32>> {
        self.pending.extend_from_slice(bytes);
        let end = if last {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|&b| b == b'\n' || b == b'\r') {
                Some(i) => i + 1,
                None if self.pending.len() > MAX_PENDING => {
                    self.pending.iter().rposition(|&b| b == b' ' || b == b'\t').map_or(self.pending.len(), |i| i + 1)
                }
                None => 0,
            }
        };
        let mut ids = Vec::new();
        if end > 0 {
            let block = std::mem::take(&mut self.pending);
            let (text, rest) = block.split_at(end);
            if let Some(i) = text.iter().position(|&b| b == 0) {
                return Err(data_error(format!("not a text file: NUL byte at offset {}", self.pending_offset + i as u64)));
            }
            let text = std::str::from_utf8(text).map_err(|e| {
                data_error(format!("not valid UTF-8: bad byte sequence at offset {}", self.pending_offset + e.valid_up_to() as u64))
            })?;
            self.split(text, last, &mut ids);
            self.pending_offset += end as u64;
            self.pending = rest.to_vec();
        }
        Ok(ids)
    }

    fn split(&mut self, text: &str, last: bool, ids: &mut Vec<u32>) {
        let mut has_words = self.line_has_words;
        let mut lines = text.split(['\n', '\r']).peekable();
        while let Some(line) = lines.next() {
            for word in line.split(is_separator).filter(|w| !w.is_empty()) {
                ids.push(self.id(word));
                has_words = true;
            }
            // The piece after the last line break continues in the next block (unless `last`).
            if lines.peek().is_none() && !last {
                self.line_has_words = has_words;
                return;
            }
            if has_words {
                ids.push(EOS_ID);
                self.counts[EOS_ID as usize] += 1;
            }
            has_words = false;
        }
        self.line_has_words = false;
    }

    fn id(&mut self, word: &str) -> u32 {
        let lower;
        let word = if self.lowercase && word.chars().any(char::is_uppercase) {
            lower = word.to_lowercase();
            lower.as_str()
        } else {
            word
        };
        let id = match self.index.get(word) {
            Some(&id) => id,
            None => {
                let id = self.index.len() as u32;
                self.index.insert(word.into(), id);
                self.counts.push(0);
                id
            }
        };
        self.counts[id as usize] += 1;
        id
    }

    /// Distinct words so far (`<eos>` included).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The words in id order.
    pub fn words(&self) -> Vec<&str> {
        let mut out = vec![""; self.index.len()];
        for (w, &id) in &self.index {
            out[id as usize] = w;
        }
        out
    }

    /// How often each id was seen.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }
}

fn data_error(message: String) -> Error {
    Error::new(ErrorCode::Data, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(c: &mut WordCounter, text: &[u8], chunk: usize) -> Vec<u32> {
        let mut ids = Vec::new();
        for part in text.chunks(chunk) {
            ids.extend(c.feed(part, false).unwrap());
        }
        ids.extend(c.feed(&[], true).unwrap());
        ids
    }

    #[test]
    fn same_ids_for_every_chunking_and_line_ending() {
        let text = "é a\u{a0}b\r\nb\u{1b}c  \u{2028}\rlast é\n\n".as_bytes();
        let mut reference = WordCounter::new(false);
        let want = all(&mut reference, text, text.len());
        assert_eq!(reference.words(), ["<eos>", "é", "a", "b", "c", "last"]);
        assert_eq!(want, [1, 2, 3, 0, 3, 4, 0, 5, 1, 0]);
        for chunk in 1..9 {
            assert_eq!(all(&mut WordCounter::new(false), text, chunk), want, "chunk {chunk}");
        }
        assert_eq!(reference.counts(), [3, 2, 1, 2, 1, 1]);
    }

    #[test]
    fn a_line_without_breaks_is_cut_at_whitespace_and_counts_one_eos() {
        let text = format!("{} end", "word ".repeat(MAX_PENDING / 4));
        let mut c = WordCounter::new(false);
        let ids = all(&mut c, text.as_bytes(), 1 << 20);
        assert_eq!(ids.iter().filter(|&&i| i == EOS_ID).count(), 1);
        assert_eq!(c.counts()[1], (MAX_PENDING / 4) as u64);
    }

    #[test]
    fn offsets_of_bad_bytes_are_exact_whatever_the_chunking() {
        let mut bad = b"abc d\xc3\xa9f\n".to_vec();
        bad.extend_from_slice(b"\xc3\x28 tail");
        for chunk in [1, 3, 100] {
            let mut c = WordCounter::new(false);
            let err = (|| -> Result<()> {
                for part in bad.chunks(chunk) {
                    c.feed(part, false)?;
                }
                c.feed(&[], true).map(|_| ())
            })()
            .unwrap_err();
            assert_eq!(err.code, ErrorCode::Data);
            assert!(err.message.ends_with("offset 9"), "{}", err.message);
        }
        let err = WordCounter::new(false).feed(b"ab\ncd\0e", true).unwrap_err();
        assert!(err.message.ends_with("NUL byte at offset 5"), "{}", err.message);
    }

    #[test]
    fn lowercase_folds_words() {
        let mut c = WordCounter::new(true);
        assert_eq!(c.feed("The THE the ÉTÉ été".as_bytes(), true).unwrap(), [1, 1, 1, 2, 2, 0]);
    }
}
