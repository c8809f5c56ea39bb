//! Counting the words of a corpus as it streams by: the `words` tokenizer (split at whitespace
//! and control characters) over UTF-8 bytes, each distinct word numbered in order of first
//! appearance; then the choice of the vocabulary from the counts ([`WordCounter::select`]) and
//! the encoding of text with it ([`WordCounter::use_vocabulary`]). It is the encoder's hot loop
//! for large corpora; the TypeScript tokenizer (`ts/data/tokenizer.ts`) defines the same split
//! and `Vocabulary.fromCounts` (`ts/data/vocabulary.ts`) the same choice, and the tests compare
//! them.
//!
//! The words live in one byte arena, indexed by an open-addressing table whose slots hold a
//! word's first 8 bytes, so most lookups touch one cache line and no per-word allocation.

use crate::error::{Error, ErrorCode, Result};
use std::cmp::Ordering;

/// The id of `<eos>`, emitted after every line that has words.
pub const EOS_ID: u32 = 0;
/// The end-of-sentence and out-of-vocabulary tokens (`ts/data/tokenizer.ts`).
pub const EOS: &str = "<eos>";
pub const UNK: &str = "<unk>";
/// An incomplete line longer than this is cut at its last space or tab (its words are the same).
const MAX_PENDING: usize = 16 << 20;

/// Whether `c` separates words: JavaScript's `\s` (white space and line terminators, U+FEFF
/// included) and the control characters (Unicode `Cc`), exactly the tokenizer's `[\s\p{Cc}]`.
pub fn is_separator(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{20}' | '\u{7f}'..='\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

// Byte classes of the splitter: a word byte, an ASCII separator, a line break (`\n`, `\r`), or
// the lead byte of a multi-byte character that may be a separator (see `separator_len`).
const WORD: u8 = 0;
const SEP: u8 = 1;
const BREAK: u8 = 2;
const LEAD: u8 = 3;

static CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    let mut b = 0;
    while b <= 0x20 {
        t[b] = SEP;
        b += 1;
    }
    t[0x7f] = SEP;
    t[b'\n' as usize] = BREAK;
    t[b'\r' as usize] = BREAK;
    t[0xc2] = LEAD; // U+0080 … U+00A0
    t[0xe1] = LEAD; // U+1680
    t[0xe2] = LEAD; // U+2000 … U+205F
    t[0xe3] = LEAD; // U+3000
    t[0xef] = LEAD; // U+FEFF
    t
};

/// Byte length of the separator that starts at `b[i]` (a `LEAD` byte of valid UTF-8), 0 if the
/// character there is not one: the non-ASCII part of [`is_separator`].
#[inline]
fn separator_len(b: &[u8], i: usize) -> usize {
    let sep = match b[i] {
        0xc2 => b[i + 1] <= 0xa0,
        0xe1 => b[i + 1] == 0x9a && b[i + 2] == 0x80,
        0xe2 => matches!((b[i + 1], b[i + 2]), (0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf) | (0x81, 0x9f)),
        0xe3 => b[i + 1] == 0x80 && b[i + 2] == 0x80,
        0xef => b[i + 1] == 0xbb && b[i + 2] == 0xbf,
        _ => false,
    };
    if !sep {
        0
    } else if b[i] == 0xc2 {
        2
    } else {
        3
    }
}

/// The bytes of a word of at most 8 bytes as a little-endian u64, zero-padded.
#[inline]
fn load_short(w: &[u8]) -> u64 {
    let n = w.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as u64;
        let hi = u32::from_le_bytes([w[n - 4], w[n - 3], w[n - 2], w[n - 1]]) as u64;
        lo | hi << ((n - 4) * 8)
    } else if n >= 2 {
        let lo = u16::from_le_bytes([w[0], w[1]]) as u64;
        let hi = u16::from_le_bytes([w[n - 2], w[n - 1]]) as u64;
        lo | hi << ((n - 2) * 8)
    } else if n == 1 {
        w[0] as u64
    } else {
        0
    }
}

#[inline]
fn load8(w: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(w[at..at + 8].try_into().expect("8 bytes"))
}

/// The first 16 bytes of a word (zero-padded): kept in its table slot.
#[inline]
fn head(w: &[u8]) -> (u64, u64) {
    let n = w.len();
    if n <= 8 {
        (load_short(w), 0)
    } else if n <= 16 {
        (load8(w, 0), load_short(&w[8..]))
    } else {
        (load8(w, 0), load8(w, 8))
    }
}

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128).wrapping_mul(b as u128);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A 64-bit hash of a word whose [`head`] is `(w0, w1)` (folded multiplies, as foldhash does):
/// fast for short keys, and every bit depends on every byte, so the low bits index the table and
/// the high bits tag its slots.
#[inline]
fn hash(w: &[u8], (w0, w1): (u64, u64)) -> u64 {
    const K0: u64 = 0x243f_6a88_85a3_08d3;
    const K1: u64 = 0x1319_8a2e_0370_7344;
    const K2: u64 = 0xa409_3822_299f_31d0;
    let n = w.len();
    let mut h = fold_mul(w0 ^ K0, w1 ^ K1 ^ n as u64);
    if n > 16 {
        let mut i = 16;
        while i + 8 < n {
            h = fold_mul(h ^ load8(w, i), K1);
            i += 8;
        }
        h = fold_mul(h ^ load8(w, n - 8), K0);
    }
    fold_mul(h, K2)
}

/// A slot of the word table (one per distinct word, 32 bytes): the word's first 16 bytes,
/// `tag << 32 | id + 1` (0: empty) where the tag is 24 high bits of the hash and the length (up
/// to 255), and the word's count; so counting a word of up to 16 bytes touches one cache line.
#[derive(Clone, Copy, Default)]
struct Slot {
    head: (u64, u64),
    meta: u64,
    count: u64,
}

#[inline]
fn tag_of(h: u64, len: usize) -> u64 {
    ((h >> 40) << 8) | len.min(255) as u64
}

/// A word's bytes with their [`head`] and [`hash`].
#[derive(Clone, Copy)]
struct Key<'a> {
    bytes: &'a [u8],
    head: (u64, u64),
    hash: u64,
}

impl<'a> Key<'a> {
    #[inline]
    fn new(bytes: &'a [u8]) -> Self {
        let head = head(bytes);
        Key { bytes, head, hash: hash(bytes, head) }
    }
}

/// Distinct words numbered 0, 1, … in order of insertion, with a count each: their bytes in one
/// arena, found by linear probing in a power-of-two table kept at most 3/4 full.
struct WordTable {
    slots: Vec<Slot>,
    arena: Vec<u8>,
    /// Word `id` is `arena[starts[id] … starts[id + 1]]`.
    starts: Vec<u64>,
}

impl WordTable {
    fn with_capacity(words: usize) -> Self {
        let slots = (words * 4 / 3 + 1).next_power_of_two().max(64);
        WordTable { slots: vec![Slot::default(); slots], arena: Vec::new(), starts: vec![0] }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn word(&self, id: u32) -> &[u8] {
        &self.arena[self.starts[id as usize] as usize..self.starts[id as usize + 1] as usize]
    }

    /// Asks the CPU to bring `k`'s first slot into cache (the lookups of a batch of words then
    /// wait for memory together instead of one after the other).
    #[inline]
    fn prefetch(&self, k: &Key) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let slot = &self.slots[k.hash as usize & (self.slots.len() - 1)];
            // SAFETY: SSE is part of x86-64, and a prefetch only hints the cache: it never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((slot as *const Slot).cast()) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = k;
    }

    /// The slot index of `k`'s word: `Ok` if it is in the table, else `Err` of the empty slot where it would go.
    #[inline]
    fn find(&self, k: &Key) -> std::result::Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let tag = tag_of(k.hash, k.bytes.len());
        let mut i = k.hash as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.meta == 0 {
                return Err(i);
            }
            if s.meta >> 32 == tag && s.head == k.head && (k.bytes.len() <= 16 || self.word(id_of(s)) == k.bytes) {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    fn get(&self, w: &[u8]) -> Option<u32> {
        self.find(&Key::new(w)).ok().map(|i| id_of(&self.slots[i]))
    }

    /// Numbers `k`'s word (not in the table; `find` gave its empty slot) with a count of `count`.
    fn insert_at(&mut self, slot: usize, k: &Key, count: u64) -> Result<u32> {
        let id = self.len();
        if id >= u32::MAX as usize - 1 {
            return Err(data_error(format!("more than {} distinct words", u32::MAX - 1)));
        }
        self.slots[slot] = Slot { head: k.head, meta: tag_of(k.hash, k.bytes.len()) << 32 | (id as u64 + 1), count };
        self.arena.extend_from_slice(k.bytes);
        self.starts.push(self.arena.len() as u64);
        if self.len() * 4 > self.slots.len() * 3 {
            self.grow();
        }
        Ok(id as u32)
    }

    fn grow(&mut self) {
        let mut slots = vec![Slot::default(); self.slots.len() * 2];
        let mask = slots.len() - 1;
        for s in &self.slots {
            if s.meta == 0 {
                continue;
            }
            let mut i = Key::new(self.word(id_of(s))).hash as usize & mask;
            while slots[i].meta != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = *s;
        }
        self.slots = slots;
    }

    /// Every word's count, in id order.
    fn counts(&self) -> Vec<u64> {
        let mut counts = vec![0; self.len()];
        for s in self.slots.iter().filter(|s| s.meta != 0) {
            counts[id_of(s) as usize] = s.count;
        }
        counts
    }
}

#[inline]
fn id_of(s: &Slot) -> u32 {
    (s.meta as u32).wrapping_sub(1)
}

/// Decodes the character of valid UTF-8 that starts at `b[i]`.
fn char_at(b: &[u8], i: usize) -> u32 {
    let c = b[i] as u32;
    let cont = |k: usize| (b[i + k] & 0x3f) as u32;
    match c {
        0..=0x7f => c,
        0xc0..=0xdf => (c & 0x1f) << 6 | cont(1),
        0xe0..=0xef => (c & 0x0f) << 12 | cont(1) << 6 | cont(2),
        _ => (c & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
    }
}

/// Orders two valid UTF-8 words as JavaScript's `<` orders strings: by UTF-16 code units, so a
/// character above U+FFFF (a surrogate pair, 0xD800…) sorts before U+E000 … U+FFFF.
pub fn cmp_utf16(a: &[u8], b: &[u8]) -> Ordering {
    let Some(d) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return a.len().cmp(&b.len());
    };
    let mut start = d;
    while start > 0 && a[start] & 0xc0 == 0x80 {
        start -= 1;
    }
    let key = |c: u32| if (0xe000..=0xffff).contains(&c) { c + 0x20_0000 } else { c };
    key(char_at(a, start)).cmp(&key(char_at(b, start)))
}

/// The vocabulary chosen from the counts, and how much of the corpus it leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The kept words in id order.
    pub words: Vec<String>,
    /// Distinct words with a count (`<eos>` included).
    pub distinct: u64,
    /// Distinct words left out (read as `<unk>`), and their tokens.
    pub folded_words: u64,
    pub folded_tokens: u64,
    /// All tokens counted.
    pub tokens: u64,
}

enum Mode {
    /// Numbering new words and counting.
    Count,
    /// Encoding with a fixed vocabulary: its ids, `unk` for other words (an error without it).
    Encode { eos: u32, unk: Option<u32> },
}

/// Words looked up together (see [`WordTable::prefetch`]).
const BATCH: usize = 32;

/// Streams text through the `words` tokenizer: [`WordCounter::feed`] takes the bytes of a file
/// chunk by chunk and returns the ids of the words of its complete lines, `<eos>` after every
/// line with words; a line ends at `\n` or `\r` (so `\r\n`, `\n` and a lone `\r` read the same).
/// First it numbers distinct words in order of appearance (`<eos>` = 0) and counts them; after
/// [`WordCounter::use_vocabulary`] it gives a vocabulary's ids instead. Memory is the distinct
/// words (about 40 bytes each plus their text) plus one chunk and one incomplete line.
pub struct WordCounter {
    table: WordTable,
    /// Line ends counted (`<eos>` tokens that are not the word `<eos>` in the text).
    line_ends: u64,
    mode: Mode,
    lowercase: bool,
    /// Bytes of the incomplete last line, and the file offset of its first byte.
    pending: Vec<u8>,
    pending_offset: u64,
    /// Whether the line in `pending` already gave words (its earlier parts were cut off).
    line_has_words: bool,
    /// A lowercased word (reused buffer).
    lowered: Vec<u8>,
}

impl WordCounter {
    /// A counter whose id 0 is `<eos>`; with `lowercase` words are lowercased (Unicode rules).
    pub fn new(lowercase: bool) -> Self {
        let mut table = WordTable::with_capacity(1 << 10);
        let eos = Key::new(EOS.as_bytes());
        let slot = table.find(&eos).expect_err("empty table");
        table.insert_at(slot, &eos, 0).expect("room for <eos>");
        WordCounter {
            table,
            line_ends: 0,
            mode: Mode::Count,
            lowercase,
            pending: Vec::new(),
            pending_offset: 0,
            line_has_words: false,
            lowered: Vec::new(),
        }
    }

    /// Feeds the next `bytes` of the file (`last`: nothing follows, and the next call starts
    /// another file) and returns the ids of the words of every line completed so far. A NUL byte (a binary file) or invalid UTF-8 is
    /// `E_DATA` with the byte offset in the file (checked in that order over the lines completed
    /// by this call, which are then dropped); so is, when encoding with a vocabulary without
    /// `<unk>`, a word outside it.
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
        if end == 0 && !last {
            return Ok(Vec::new());
        }
        let mut block = std::mem::take(&mut self.pending);
        let result = self.check(&block[..end]).and_then(|()| {
            let mut ids = Vec::with_capacity(end / 5);
            self.split(&block[..end], last, &mut ids)?;
            Ok(ids)
        });
        if result.is_ok() {
            // After the `last` bytes the next feed starts another text, at offset 0.
            self.pending_offset = if last { 0 } else { self.pending_offset + end as u64 };
            block.drain(..end);
            self.pending = block;
        }
        result
    }

    /// `E_DATA` at the first NUL byte, else at the first invalid UTF-8 sequence, of `text`.
    fn check(&self, text: &[u8]) -> Result<()> {
        if text.contains(&0) {
            let i = text.iter().position(|&b| b == 0).unwrap_or(0);
            return Err(data_error(format!("not a text file: NUL byte at offset {}", self.pending_offset + i as u64)));
        }
        std::str::from_utf8(text).map(|_| ()).map_err(|e| {
            data_error(format!("not valid UTF-8: bad byte sequence at offset {}", self.pending_offset + e.valid_up_to() as u64))
        })
    }

    /// The ids of the words of `text` (valid UTF-8 whose last line continues unless `last`):
    /// the words are found first, then looked up in batches.
    fn split(&mut self, text: &[u8], last: bool, ids: &mut Vec<u32>) -> Result<()> {
        // Word spans `(start, end)` of the batch; `(0, 0)` is a line end with words before it.
        let mut spans = [(0usize, 0usize); BATCH];
        let mut used = 0;
        let mut has_words = self.line_has_words;
        let n = text.len();
        let mut i = 0;
        loop {
            if used == BATCH || (i == n && used > 0) {
                self.lookup(text, &spans[..used], ids)?;
                used = 0;
            }
            if i == n {
                break;
            }
            match CLASS[text[i] as usize] {
                SEP => i += 1,
                BREAK => {
                    if has_words {
                        spans[used] = (0, 0);
                        used += 1;
                    }
                    has_words = false;
                    i += 1;
                }
                LEAD if separator_len(text, i) > 0 => i += separator_len(text, i),
                _ => {
                    let start = i;
                    i += 1;
                    while i < n {
                        match CLASS[text[i] as usize] {
                            WORD => i += 1,
                            LEAD if separator_len(text, i) == 0 => i += 1,
                            _ => break,
                        }
                    }
                    spans[used] = (start, i);
                    used += 1;
                    has_words = true;
                }
            }
        }
        if last && has_words {
            ids.push(self.eos());
            has_words = false;
        }
        self.line_has_words = has_words;
        Ok(())
    }

    /// Pushes the ids of a batch of spans of `text` (see `split`).
    fn lookup(&mut self, text: &[u8], spans: &[(usize, usize)], ids: &mut Vec<u32>) -> Result<()> {
        if self.lowercase {
            for &(a, b) in spans {
                let id = if b == 0 { self.eos() } else { self.lowercased_id(&text[a..b])? };
                ids.push(id);
            }
            return Ok(());
        }
        let mut keys = [Key { bytes: &[], head: (0, 0), hash: 0 }; BATCH];
        for (k, &(a, b)) in keys.iter_mut().zip(spans) {
            if b > 0 {
                *k = Key::new(&text[a..b]);
                self.table.prefetch(k);
            }
        }
        for (k, &(_, b)) in keys.iter().zip(spans) {
            let id = if b == 0 { self.eos() } else { self.id(k)? };
            ids.push(id);
        }
        Ok(())
    }

    fn eos(&mut self) -> u32 {
        match self.mode {
            Mode::Count => {
                self.line_ends += 1;
                EOS_ID
            }
            Mode::Encode { eos, .. } => eos,
        }
    }

    #[inline]
    fn id(&mut self, k: &Key) -> Result<u32> {
        match (self.table.find(k), &self.mode) {
            (Ok(i), Mode::Count) => {
                let s = &mut self.table.slots[i];
                s.count += 1;
                Ok(id_of(s))
            }
            (Err(slot), Mode::Count) => self.table.insert_at(slot, k, 1),
            (Ok(i), Mode::Encode { .. }) => Ok(id_of(&self.table.slots[i])),
            (Err(_), &Mode::Encode { unk, .. }) => unk.ok_or_else(|| not_in_vocabulary(k.bytes)),
        }
    }

    fn lowercased_id(&mut self, word: &[u8]) -> Result<u32> {
        let mut lowered = std::mem::take(&mut self.lowered);
        let id = self.id(&Key::new(if lowercase(word, &mut lowered) { &lowered } else { word }));
        self.lowered = lowered;
        id
    }

    /// Distinct words so far (`<eos>` included), or the vocabulary's size after `use_vocabulary`.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// The words in id order.
    pub fn words(&self) -> Vec<&str> {
        (0..self.table.len() as u32).map(|id| std::str::from_utf8(self.table.word(id)).expect("words are UTF-8")).collect()
    }

    /// How often each id was seen (after `use_vocabulary`: zeros).
    pub fn counts(&self) -> Vec<u64> {
        let mut counts = self.table.counts();
        if let Mode::Count = self.mode {
            counts[EOS_ID as usize] += self.line_ends;
        }
        counts
    }

    /// The vocabulary of the counted text, as `Vocabulary.fromCounts` chooses it: the
    /// `vocab_size` most frequent words (0: no bound) seen at least `min_count` times (`<unk>`
    /// whatever its count), ties in JavaScript string order ([`cmp_utf16`]), `<unk>` always
    /// among them: when the text has none or it fell outside the bound, at the place of the
    /// tokens it stands for (every word left out: after every kept word at least as frequent,
    /// last when nothing is left out). A bound of
    /// 1 or a `min_count` of 0 is `E_CONFIG`; after `use_vocabulary` it is `E_STATE`.
    pub fn select(&self, vocab_size: usize, min_count: u64) -> Result<Selection> {
        if vocab_size == 1 {
            return Err(Error::config("vocabulary size must be 0 (no bound) or an integer >= 2 (got 1)"));
        }
        if min_count == 0 {
            return Err(Error::config("minimum count must be an integer >= 1 (got 0)"));
        }
        if matches!(self.mode, Mode::Encode { .. }) {
            return Err(Error::state("the words were not counted: this counter encodes with a given vocabulary"));
        }
        let counts = self.counts();
        let unk = self.table.get(UNK.as_bytes());
        let mut order: Vec<u32> =
            (0..counts.len() as u32).filter(|&i| counts[i as usize] > 0 && (counts[i as usize] >= min_count || Some(i) == unk)).collect();
        let cmp = |a: &u32, b: &u32| {
            counts[*b as usize].cmp(&counts[*a as usize]).then_with(|| cmp_utf16(self.table.word(*a), self.table.word(*b)))
        };
        let limit = if vocab_size == 0 { usize::MAX } else { vocab_size };
        if order.len() > limit {
            order.select_nth_unstable_by(limit, cmp);
            order.truncate(limit);
        }
        order.sort_unstable_by(cmp);
        let mut kept = vec![false; counts.len()];
        let has_unk = unk.is_some_and(|u| order.contains(&u));
        if !has_unk {
            order.truncate(order.len().min(limit - 1));
        }
        for &i in &order {
            kept[i as usize] = true;
        }
        let mut words: Vec<String> = order.iter().map(|&i| String::from_utf8_lossy(self.table.word(i)).into_owned()).collect();
        if !has_unk {
            let stands_for: u64 = counts.iter().zip(&kept).filter(|(_, &k)| !k).map(|(&c, _)| c).sum();
            let at = order.iter().position(|&i| counts[i as usize] < stands_for).unwrap_or(order.len());
            words.insert(at, UNK.to_string());
            if let Some(u) = unk {
                kept[u as usize] = true;
            }
        }
        let mut s = Selection { words, distinct: 0, folded_words: 0, folded_tokens: 0, tokens: 0 };
        for (i, &c) in counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            s.distinct += 1;
            s.tokens += c;
            if !kept[i] {
                s.folded_words += 1;
                s.folded_tokens += c;
            }
        }
        Ok(s)
    }

    /// Switches to encoding with `vocabulary` (its words in id order): from now on `feed` gives
    /// their ids, `<unk>`'s for any other word. Returns the vocabulary id of every word numbered
    /// so far (to map ids already given out); the counts and the other words are dropped. A word
    /// twice in `vocabulary` is `E_FORMAT`; a word (or `<eos>`) outside a vocabulary without
    /// `<unk>` is `E_DATA`, now or when `feed` meets it.
    pub fn use_vocabulary(&mut self, vocabulary: &[&str]) -> Result<Vec<u32>> {
        let mut table = WordTable::with_capacity(vocabulary.len());
        for w in vocabulary {
            let k = Key::new(w.as_bytes());
            match table.find(&k) {
                Ok(i) => {
                    let first = id_of(&table.slots[i]);
                    return Err(Error::format(format!("vocabulary has the word {w:?} twice (ids {first} and {})", table.len())));
                }
                Err(slot) => table.insert_at(slot, &k, 0)?,
            };
        }
        let unk = table.get(UNK.as_bytes());
        let id_of = |w: &[u8]| table.get(w).or(unk).ok_or_else(|| not_in_vocabulary(w));
        let map = (0..self.table.len() as u32).map(|id| id_of(self.table.word(id))).collect::<Result<Vec<u32>>>()?;
        let eos = id_of(EOS.as_bytes())?;
        self.table = table;
        self.mode = Mode::Encode { eos, unk };
        Ok(map)
    }
}

/// Lowercases `word` into `out` (Unicode rules) when that changes it; returns whether it did.
fn lowercase(word: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if word.is_ascii() {
        if !word.iter().any(u8::is_ascii_uppercase) {
            return false;
        }
        out.extend(word.iter().map(u8::to_ascii_lowercase));
        return true;
    }
    let lower = String::from_utf8_lossy(word).to_lowercase();
    if lower.as_bytes() == word {
        return false;
    }
    out.extend_from_slice(lower.as_bytes());
    true
}

fn not_in_vocabulary(word: &[u8]) -> Error {
    data_error(format!("the word '{}' of the corpus is not in the vocabulary, which has no {UNK}", String::from_utf8_lossy(word)))
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
    fn byte_classes_agree_with_is_separator_for_every_character() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let b = c.encode_utf8(&mut buf).as_bytes();
            let sep = match CLASS[b[0] as usize] {
                SEP | BREAK => true,
                LEAD => separator_len(b, 0) == b.len(),
                _ => false,
            };
            assert_eq!(sep, is_separator(c), "U+{:04X}", c as u32);
        }
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
    fn many_words_of_every_length_keep_their_ids_as_the_table_grows() {
        let words: Vec<String> = (0..50_000).map(|i| format!("{}{i}", "x".repeat(i % 23))).collect();
        let text = words.join(" ") + "\n" + &words.join("\t");
        let mut c = WordCounter::new(false);
        let ids = all(&mut c, text.as_bytes(), 4096);
        let n = words.len() as u32;
        let want: Vec<u32> = (1..=n).chain([0]).chain(1..=n).chain([0]).collect();
        assert_eq!(ids, want);
        assert_eq!(c.words()[1..], words.iter().map(String::as_str).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn a_line_without_breaks_is_cut_at_whitespace_and_counts_one_eos() {
        let text = format!("{} end", "word ".repeat(MAX_PENDING / 4));
        let mut c = WordCounter::new(false);
        let ids = all(&mut c, text.as_bytes(), 1 << 20);
        assert_eq!(ids.iter().filter(|&&i| i == EOS_ID).count(), 1);
        assert_eq!(c.counts()[1], (MAX_PENDING / 4) as u64);
        // A line cut at its last space ends with the text even when no byte follows the cut.
        let mut c = WordCounter::new(false);
        let mut ids = c.feed("word ".repeat(MAX_PENDING / 4).as_bytes(), false).unwrap();
        ids.extend(c.feed(&[], true).unwrap());
        assert_eq!((ids.len(), ids.last()), (MAX_PENDING / 4 + 1, Some(&EOS_ID)));
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
        // Offsets count from the start of each text (`last` ends one).
        let mut c = WordCounter::new(false);
        c.feed(b"first text\n", true).unwrap();
        let err = c.feed(b"ab\ncd\0e", true).unwrap_err();
        assert!(err.message.ends_with("NUL byte at offset 5"), "{}", err.message);
    }

    #[test]
    fn lowercase_folds_words() {
        let mut c = WordCounter::new(true);
        assert_eq!(c.feed("The THE the ÉTÉ été ǅ ǆ".as_bytes(), true).unwrap(), [1, 1, 1, 2, 2, 3, 3, 0]);
    }

    #[test]
    fn ties_sort_as_javascript_strings() {
        // U+FF01 (one UTF-16 unit, 0xFF01) sorts after U+1F600 (units 0xD83D 0xDE00) in JavaScript.
        assert_eq!(cmp_utf16("\u{ff01}".as_bytes(), "\u{1f600}".as_bytes()), Ordering::Greater);
        assert_eq!(cmp_utf16("a".as_bytes(), "\u{1f600}".as_bytes()), Ordering::Less);
        assert_eq!(cmp_utf16("ab".as_bytes(), "a".as_bytes()), Ordering::Greater);
        assert_eq!(cmp_utf16("é".as_bytes(), "ê".as_bytes()), Ordering::Less);
        let mut c = WordCounter::new(false);
        c.feed("b a c c \u{ff01} \u{1f600} d d d\n".as_bytes(), true).unwrap();
        let s = c.select(4, 1).unwrap();
        // <unk> stands for the 4 tokens left out, more than any kept word: it comes first.
        assert_eq!(s.words, ["<unk>", "d", "c", "<eos>"]);
        assert_eq!((s.distinct, s.folded_words, s.folded_tokens, s.tokens), (7, 4, 4, 10));
        assert_eq!(c.select(0, 1).unwrap().words, ["d", "c", "<eos>", "a", "b", "\u{1f600}", "\u{ff01}", "<unk>"]);
        assert_eq!(c.select(0, 2).unwrap().words, ["<unk>", "d", "c"]);
        assert_eq!(c.select(1, 1).unwrap_err().code, ErrorCode::Config);
    }

    #[test]
    fn encodes_with_a_vocabulary_and_maps_the_ids_given_so_far() {
        let mut c = WordCounter::new(false);
        assert_eq!(c.feed(b"x y <unk> z\n", true).unwrap(), [1, 2, 3, 4, 0]);
        let s = c.select(3, 1).unwrap();
        assert_eq!(s.words, ["<eos>", "<unk>", "x"]);
        let words: Vec<&str> = s.words.iter().map(String::as_str).collect();
        assert_eq!(c.use_vocabulary(&words).unwrap(), [0, 2, 1, 1, 1]);
        assert_eq!(c.feed(b"x w\r\rz", true).unwrap(), [2, 1, 0, 1, 0]);
        assert_eq!(c.select(3, 1).unwrap_err().code, ErrorCode::State);
        let mut strict = WordCounter::new(false);
        strict.use_vocabulary(&["x", "<eos>"]).unwrap();
        assert_eq!(strict.feed(b"x\n", false).unwrap(), [0, 1]);
        let err = strict.feed(b"x q\n", true).unwrap_err();
        assert_eq!(err.message, "the word 'q' of the corpus is not in the vocabulary, which has no <unk>");
        assert_eq!(WordCounter::new(false).use_vocabulary(&["x"]).unwrap_err().code, ErrorCode::Data);
        assert_eq!(WordCounter::new(false).use_vocabulary(&["x", "x"]).unwrap_err().code, ErrorCode::Format);
    }
}
