import { QuireError } from '../errors.js';

/** Everything that defines a training run (Zaremba et al. 2014 settings for the presets). */
export interface TrainConfig {
  preset: string;
  /** Units per layer (and embedding width). */
  hidden: number;
  layers: number;
  /** Unrolled steps T per window (truncated BPTT). */
  steps: number;
  /** Streams B per window. */
  batch: number;
  initScale: number;
  dropout: number;
  epochs: number;
  /** Learning rate of the first epochs. */
  lr: number;
  /** Factor applied per epoch once `epoch > decayAfter`. */
  lrDecay: number;
  decayAfter: number;
  /** Global gradient-norm clip (≤ 0: none). */
  clip: number;
  seed: number;
  /** Streams used for validation and test evaluation. */
  evalBatch: number;
  /** Use only the first N tokens of each split (all when undefined). */
  limitTokens?: number;
  /** Tie the embedding to the softmax weight (one shared matrix; `--tie`). Untied when undefined. */
  tie?: boolean;
  /**
   * Adaptive softmax (`--adaptive`): `auto` (cut-offs from the vocabulary size, `adaptiveCutoffs`)
   * or increasing cut-offs written `2000,10000`. Full softmax when undefined.
   */
  adaptive?: string;
  /**
   * Write `model.qmodel` from the epoch with the lowest validation perplexity (kept as
   * `best.qmodel` whenever it improves) instead of the last epoch (`--keep-best`). Off when undefined.
   */
  keepBest?: boolean;
}

const base = { seed: 1, lr: 1, evalBatch: 10 };

/** The presets: `tiny` for tests, `small`/`medium`/`large` as in Zaremba et al. (docs/method.md §3). */
export const PRESETS: Record<string, TrainConfig> = {
  tiny: {
    ...base,
    preset: 'tiny',
    hidden: 16,
    layers: 2,
    steps: 5,
    batch: 4,
    initScale: 0.5,
    dropout: 0,
    epochs: 2,
    lrDecay: 0.5,
    decayAfter: 1,
    clip: 5,
    evalBatch: 4,
  },
  small: {
    ...base,
    preset: 'small',
    hidden: 200,
    layers: 2,
    steps: 20,
    batch: 20,
    initScale: 0.1,
    dropout: 0,
    epochs: 13,
    lrDecay: 0.5,
    decayAfter: 4,
    clip: 5,
  },
  medium: {
    ...base,
    preset: 'medium',
    hidden: 650,
    layers: 2,
    steps: 35,
    batch: 20,
    initScale: 0.05,
    dropout: 0.5,
    epochs: 39,
    lrDecay: 1 / 1.2,
    decayAfter: 6,
    clip: 5,
  },
  large: {
    ...base,
    preset: 'large',
    hidden: 1500,
    layers: 2,
    steps: 35,
    batch: 20,
    initScale: 0.04,
    dropout: 0.65,
    epochs: 55,
    lrDecay: 1 / 1.15,
    decayAfter: 14,
    clip: 10,
  },
};

/** A preset with overrides applied (undefined overrides are ignored); unknown presets are `E_CONFIG`. */
export function resolveConfig(preset: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const p = PRESETS[preset];
  if (!p) throw new QuireError('E_CONFIG', `unknown preset '${preset}' (have: ${Object.keys(PRESETS).join(', ')})`);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...p, ...defined };
}

/** Learning rate of epoch `epoch` (1-based): `lr · lrDecay^max(0, epoch − decayAfter)`. */
export function learningRate(config: TrainConfig, epoch: number): number {
  return config.lr * config.lrDecay ** Math.max(0, epoch - config.decayAfter);
}

/**
 * Throws `E_CONFIG` naming the first field of `c` that is missing or out of range (a config
 * read back from a checkpoint goes through here too, so no field is ever trusted).
 */
export function validateTrainConfig(c: TrainConfig, where = 'the training settings'): void {
  const bad = (msg: string) => new QuireError('E_CONFIG', `${where}: ${msg}`);
  if (c === null || typeof c !== 'object') throw bad('not an object');
  if (typeof c.preset !== 'string') throw bad(`preset must be a string (got ${JSON.stringify(c.preset)})`);
  const ints: [keyof TrainConfig, number][] = [
    ['hidden', 1],
    ['layers', 1],
    ['steps', 1],
    ['batch', 1],
    ['epochs', 1],
    ['evalBatch', 1],
    ['decayAfter', 0],
    ['seed', 0],
  ];
  for (const [k, min] of ints) {
    const v = c[k];
    if (!Number.isSafeInteger(v) || (v as number) < min)
      throw bad(`${k} must be ${min ? 'a positive' : 'a non-negative'} integer (got ${JSON.stringify(v)})`);
  }
  for (const k of ['lr', 'lrDecay', 'clip', 'initScale'] as const) {
    if (typeof c[k] !== 'number' || !Number.isFinite(c[k]) || c[k] < 0)
      throw bad(`${k} must be a finite number >= 0 (got ${JSON.stringify(c[k])})`);
  }
  if (typeof c.dropout !== 'number' || !(c.dropout >= 0 && c.dropout < 1))
    throw bad(`dropout must be in [0, 1) (got ${JSON.stringify(c.dropout)})`);
  if (c.tie !== undefined && typeof c.tie !== 'boolean') throw bad(`tie must be true or false (got ${JSON.stringify(c.tie)})`);
  if (c.adaptive !== undefined && !(c.adaptive === 'auto' || /^\d+(,\d+)*$/.test(String(c.adaptive)))) {
    throw bad(`adaptive must be 'auto' or increasing cut-offs such as 2000,10000 (got ${JSON.stringify(c.adaptive)})`);
  }
  if (c.keepBest !== undefined && typeof c.keepBest !== 'boolean')
    throw bad(`keepBest must be true or false (got ${JSON.stringify(c.keepBest)})`);
  if (c.adaptive !== undefined && c.tie) throw bad('an adaptive softmax cannot be tied to the embedding: choose --tie or --adaptive');
  if (c.limitTokens !== undefined && c.limitTokens !== null && !(Number.isSafeInteger(c.limitTokens) && c.limitTokens >= 1)) {
    throw bad(`limitTokens must be a positive integer (got ${JSON.stringify(c.limitTokens)})`);
  }
}
