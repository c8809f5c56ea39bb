//! The corpus encoder's word counter (`quire_core::words`): state stays in Rust, each chunk of
//! a file crosses once as bytes and comes back as word ids.
use crate::slot::Slot;
use quire_binding_macro::export;
use quire_core::words::WordCounter as Core;
use quire_core::Result;

/// Streams text through the `words` tokenizer, numbering distinct words in order of appearance.
#[export]
pub struct WordCounter {
    inner: Slot<Core>,
}

#[export]
impl WordCounter {
    pub fn create(lowercase: bool) -> Result<WordCounter> {
        Ok(WordCounter { inner: Slot::new(Core::new(lowercase)) })
    }
    /// Ids of the words of the lines completed by `bytes` (`<eos>` = 0 after each); `last` ends the text.
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

    /// Releases the counter's memory now; any later call is `E_STATE`.
    #[export(node)]
    pub fn free(&mut self) {
        self.inner.free();
    }
}
