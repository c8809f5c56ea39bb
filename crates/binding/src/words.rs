//! The corpus encoder's word counter (`quire_core::words`): state stays in Rust, each chunk of
//! a file crosses once as bytes and comes back as word ids, and only the chosen vocabulary
//! crosses back (not every distinct word).
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::words::WordCounter as Core;
use quire_core::Result;
use serde_json::json;

/// Streams text through the `words` tokenizer, numbering distinct words in order of appearance,
/// then chooses a vocabulary from their counts and encodes with it.
#[export]
pub struct WordCounter {
    inner: Slot<Core>,
}

#[export]
impl WordCounter {
    pub fn create(lowercase: bool) -> Result<WordCounter> {
        Ok(WordCounter { inner: Slot::new(Core::new(lowercase)) })
    }
    /// Ids of the words of the lines completed by `bytes` (`<eos>` after each); `last` ends the text.
    pub fn feed(&mut self, bytes: &[u8], last: bool) -> Result<Vec<u32>> {
        self.inner.get_mut()?.feed(bytes, last)
    }
    /// The distinct words in id order, joined by `\n` (words never hold one).
    pub fn words(&self) -> Result<String> {
        Ok(self.inner.get()?.words().join("\n"))
    }
    /// How often each id was seen (saturating at 2³² − 1).
    pub fn counts(&self) -> Result<Vec<u32>> {
        Ok(self.inner.get()?.counts().iter().map(|&c| c.min(u32::MAX as u64) as u32).collect())
    }
    /// The vocabulary of the counted words (`Vocabulary.fromCounts`' choice) as JSON:
    /// `{"words": [...], "distinct", "foldedWords", "foldedTokens", "tokens"}`. The bounds are
    /// whole numbers (JavaScript numbers: a fraction is cut off, a negative one is 0).
    pub fn select(&self, vocab_size: f64, min_count: f64) -> Result<String> {
        let s = self.inner.get()?.select(vocab_size as usize, min_count as u64)?;
        Ok(json!({
            "words": s.words,
            "distinct": s.distinct,
            "foldedWords": s.folded_words,
            "foldedTokens": s.folded_tokens,
            "tokens": s.tokens,
        })
        .to_string())
    }
    /// Encodes with `words` (a vocabulary, one word a line) from now on; returns the vocabulary id
    /// of every word numbered so far.
    pub fn use_vocabulary(&mut self, words: String) -> Result<Vec<u32>> {
        let list: Vec<&str> = if words.is_empty() { Vec::new() } else { words.split('\n').collect() };
        self.inner.get_mut()?.use_vocabulary(&list)
    }

    /// Releases the counter's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
