import { bytes, describe, finiteNumber, text } from '../args.js';
import { guard, QuireError } from '../errors.js';
import type { LanguageModel } from '../model.js';

/** Where the magnitude threshold is computed: per matrix, or one threshold over all of them. */
export type PruneScope = 'matrix' | 'global';

/**
 * Magnitude-prunes the tensors `names` of `model`: the fraction `sparsity` ∈ [0, 1) of entries
 * with the smallest |w| (per matrix, or over all of them together) get mask 0 and become 0.
 * The masks stay on the model and are re-applied after every SGD update, so pruned weights
 * never revive; quantization then fits its scales on the kept weights only.
 */
export function prune(model: LanguageModel, names: string[], sparsity: number, scope: PruneScope = 'matrix'): void {
  const raw = model.raw;
  if (!Array.isArray(names)) throw new QuireError('E_CONFIG', `names must be an array of tensor names (got ${describe(names)})`);
  const list = names.map((n, i) => text(`names[${i}]`, n));
  finiteNumber('sparsity', sparsity);
  const s = text('scope', scope);
  guard(() => raw.prune(list, sparsity, s));
}

/** Sets (`Uint8Array`, nonzero = keep, zeroing the rest) or clears (`null`) a tensor's keep-mask. */
export function setMask(model: LanguageModel, name: string, mask: Uint8Array | null): void {
  const raw = model.raw;
  const n = text('tensor name', name);
  const m = mask === null ? null : bytes('mask', mask, 'E_CONFIG');
  guard(() => raw.setMask(n, m));
}

/** The 0/1 keep-mask of a tensor, or `null` when it has none. */
export function getMask(model: LanguageModel, name: string): Uint8Array | null {
  const raw = model.raw;
  const n = text('tensor name', name);
  return guard(() => raw.getMask(n)) ?? null;
}
