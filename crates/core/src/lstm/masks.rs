//! Keep-masks on parameter tensors (pruning): a masked tensor's pruned entries are held at
//! exactly 0 — they are zeroed when the mask is set and again after every SGD update, so
//! pruned weights never revive during retraining.

use super::model::LstmModel;
use crate::error::{check_len, Result};

impl LstmModel {
    /// Sets (`Some`, same length as the tensor, nonzero = keep) or clears (`None`) the
    /// keep-mask of tensor `name`, zeroing its pruned entries at once. `E_CONFIG` for an
    /// unknown name, `E_SHAPE` for a wrong length.
    pub fn set_mask(&mut self, name: &str, mask: Option<&[u8]>) -> Result<()> {
        let i = self.index(name)?;
        match mask {
            None => self.masks[i] = None,
            Some(m) => {
                check_len(&format!("mask of '{name}'"), m.len(), self.params.tensors[i].data.len())?;
                self.masks[i] = Some(m.iter().map(|&k| u8::from(k != 0)).collect());
                self.apply_mask(i);
            }
        }
        Ok(())
    }

    /// The 0/1 keep-mask of tensor `name`, if one is set.
    pub fn mask(&self, name: &str) -> Result<Option<&[u8]>> {
        Ok(self.masks[self.index(name)?].as_deref())
    }

    /// Zeroes the pruned entries of tensor `i` (no-op without a mask).
    fn apply_mask(&mut self, i: usize) {
        if let Some(m) = &self.masks[i] {
            for (w, &k) in self.params.tensors[i].data.iter_mut().zip(m) {
                if k == 0 {
                    *w = 0.0;
                }
            }
        }
    }

    /// Re-applies every mask; called after each parameter update.
    pub(super) fn apply_masks(&mut self) {
        for i in 0..self.masks.len() {
            self.apply_mask(i);
        }
    }
}
