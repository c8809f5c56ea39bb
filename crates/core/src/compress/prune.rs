//! Magnitude pruning: the `⌊s·n⌋` entries of smallest `|w|` are pruned (mask 0), the rest kept
//! (mask 1). Ties at the threshold are broken by position (lower index pruned first), so the
//! pruned count is exact and the result deterministic.

use crate::error::{check_finite, Error, Result};
use crate::lstm::LstmModel;

/// Where the threshold is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneScope {
    /// Each matrix pruned to the target sparsity on its own.
    PerMatrix,
    /// One threshold over all matrices together (sparsity per matrix then varies).
    Global,
}

impl PruneScope {
    /// `matrix` or `global`; anything else is `E_CONFIG`.
    pub fn parse(name: &str) -> Result<PruneScope> {
        match name {
            "matrix" => Ok(PruneScope::PerMatrix),
            "global" => Ok(PruneScope::Global),
            other => Err(Error::config(format!("unknown prune scope '{other}': use matrix or global"))),
        }
    }
}

/// `E_CONFIG` unless `0 ≤ s < 1`.
pub fn check_sparsity(sparsity: f64) -> Result<()> {
    if (0.0..1.0).contains(&sparsity) {
        Ok(())
    } else {
        Err(Error::config(format!("sparsity must be in [0, 1) (got {sparsity})")))
    }
}

/// Keep-masks (0/1, one per tensor, same lengths) pruning the fraction `sparsity` of entries
/// with the smallest magnitude, per tensor or over all tensors together.
/// Errors: `E_CONFIG` (sparsity outside [0, 1)), `E_NONFINITE` (a weight).
pub fn magnitude_masks(tensors: &[&[f32]], sparsity: f64, scope: PruneScope) -> Result<Vec<Vec<u8>>> {
    check_sparsity(sparsity)?;
    for (i, t) in tensors.iter().enumerate() {
        check_finite(&format!("tensor {i}"), t)?;
    }
    match scope {
        PruneScope::PerMatrix => Ok(tensors.iter().map(|t| prune_smallest(&[t], sparsity).remove(0)).collect()),
        PruneScope::Global => Ok(prune_smallest(tensors, sparsity)),
    }
}

/// Masks over the concatenation of `tensors`, pruning the `⌊s·n⌋` smallest magnitudes.
fn prune_smallest(tensors: &[&[f32]], sparsity: f64) -> Vec<Vec<u8>> {
    let n: usize = tensors.iter().map(|t| t.len()).sum();
    let cut = ((sparsity * n as f64).floor() as usize).min(n);
    let mut order: Vec<(f32, u32, u32)> = Vec::with_capacity(n);
    for (ti, t) in tensors.iter().enumerate() {
        order.extend(t.iter().enumerate().map(|(j, v)| (v.abs(), ti as u32, j as u32)));
    }
    let mut masks: Vec<Vec<u8>> = tensors.iter().map(|t| vec![1u8; t.len()]).collect();
    if cut > 0 {
        let key = |e: &(f32, u32, u32)| (e.0, e.1, e.2);
        order.select_nth_unstable_by(cut - 1, |a, b| key(a).partial_cmp(&key(b)).expect("finite"));
        for &(_, ti, j) in &order[..cut] {
            masks[ti as usize][j as usize] = 0;
        }
    }
    masks
}

/// Computes masks for the tensors `names` of `model` from their current values and installs
/// them (pruned entries become 0 and stay 0 through later updates). Errors as
/// [`magnitude_masks`], plus `E_CONFIG` for an unknown name.
pub fn prune_model(model: &mut LstmModel, names: &[String], sparsity: f64, scope: PruneScope) -> Result<()> {
    let values = names.iter().map(|n| model.get_tensor(n)).collect::<Result<Vec<_>>>()?;
    let refs: Vec<&[f32]> = values.iter().map(Vec::as_slice).collect();
    let masks = magnitude_masks(&refs, sparsity, scope)?;
    for (name, mask) in names.iter().zip(&masks) {
        model.set_mask(name, Some(mask))?;
    }
    Ok(())
}
