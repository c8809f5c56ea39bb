import { QuireError } from '../errors.js';
import type { QuantMethod } from '../quantize.js';
import type { CompressionSpec, RowAllocation } from './compressed-model.js';
import type { PruneScope } from './masks.js';
import { type GroupShape, groupTensors, VOCABULARY_MATRICES } from './layout.js';

/** Which matrices are quantized: the LSTM matrices, plus the softmax, plus the embedding. */
export type LayerSelection = 'lstm' | 'lstm,softmax' | 'all';
export const LAYER_SELECTIONS: readonly LayerSelection[] = ['lstm', 'lstm,softmax', 'all'];
export const METHODS: readonly QuantMethod[] = ['greedy', 'refined', 'alternating'];
export type RowBitsMode = 'frequency' | 'error' | 'uniform';
export const ROW_BITS_MODES: readonly RowBitsMode[] = ['frequency', 'error', 'uniform'];
/** A mixed-precision row gets at most this many bits more than its matrix's mean, and at most {@link MAX_ROW_BITS}. */
export const ROW_BITS_HEADROOM = 2;
export const MAX_ROW_BITS = 7;

/**
 * Every setting of a compress run (docs/method.md §2). All of them are recorded in the report; a
 * resumed run must have the same ones.
 */
export interface CompressSettings {
  /** Bits of the LSTM matrices. */
  bits: number;
  /** Bits of the softmax weight and of the embedding when selected (default: `bits`); equal for a tied model (one shared matrix). */
  softmaxBits: number;
  embeddingBits: number;
  method: QuantMethod;
  /** Rounds of the alternating solver. */
  cycles: number;
  /** Columns per scale group (0 = per row; else a multiple of 64). */
  groupSize: number;
  layers: LayerSelection;
  /**
   * Size budget instead of hand-set bits: whole-model bits per parameter, or file bytes (bits then come from measured
   * sensitivity; see budget.ts).
   */
  targetBits: number | null;
  targetSize: number | null;
  /** Quantize → retrain iterations T (iteration 0, one-shot quantization, comes on top). */
  iterations: number;
  /** Retraining per iteration: S windows (default 400, continuing through the data), or E epochs when S is null (`--retrain-epochs`). */
  retrainEpochs: number;
  retrainSteps: number | null;
  /** Learning rate of the first retraining; iteration t uses `lr · lrDecay^(t−1)`. */
  lr: number;
  lrDecay: number;
  /** How `lr` was chosen: `fp-initial <rate> × <fraction> (...)` or `given`. */
  lrSource: string;
  /** Dropout on the non-recurrent connections during retraining (default 0.3, or the FP run's own when lower but not 0). */
  dropout: number;
  /** Weight α of distillation from the FP model during retraining: the loss is `(1−α)·CE + α·KL(FP ‖ model)`; 0 = off (default 0.5). */
  distill: number;
  /** Temperature T of distillation: the KL term compares both distributions at T, scaled by T² (default 1). */
  distillTemperature: number;
  /**
   * Scale tuning after the last iteration: this many training windows on the quantized model with
   * its codes and masks fixed, the scales re-fitted by least squares after every window (a
   * projected-gradient step on the scales; the FP tensors train as usual), kept only when it
   * lowers the validation perplexity; 0 = off.
   */
  tuneSteps: number;
  /** Learning rate of scale tuning (default: half the first retraining rate). */
  tuneLr: number;
  /**
   * Retraining through the quantizer (straight-through) instead of from it: the quantized
   * matrices keep full-precision shadow weights across windows and iterations; the windows run
   * on their quantization, each window's update is added to the shadow weights, and every
   * `straightThrough` windows the shadow weights are quantized again into the model. The
   * retrained FP model of an iteration is the shadow weights. 0 = off (default): the paper's
   * retraining from the quantized values.
   */
  straightThrough: number;
  /** Gradient-norm clip during retraining (the FP run's). */
  clip: number;
  /** Target sparsity of the quantized matrices (0 = no pruning). */
  prune: number;
  /**
   * `once`: mask computed before iteration 0 at `prune`; `each`: recomputed before every quantization, sparsity ramping
   * `prune·(t+1)/(T+1)`.
   */
  pruneMask: 'once' | 'each';
  pruneScope: PruneScope;
  /**
   * Activations quantized to this many greedy bits per vector in the forward pass of retraining
   * and evaluation, straight-through gradients (the W+A setting; the file then runs on the
   * `popcount-a<k>` kernel); null = FP activations (default).
   */
  activationBits: number | null;
  /**
   * How the rows of the vocabulary matrices (embedding, full softmax) share their bits:
   * `frequency` (default) gives each row 0 to `bits + 2` at the same mean where they lower the
   * quantization error most, a softmax row's error weighted by √ of its word's count in the
   * training text ({@link mixedSpec}); `error` weighs every row 1; `uniform` gives every row
   * the same bits.
   */
  rowBits: RowBitsMode;
  /** Truncated-BPTT window and streams for retraining and evaluation (the FP run's). */
  steps: number;
  batch: number;
  evalBatch: number;
  /** Use only the first N tokens of each split (tests). */
  limitTokens: number | null;
}

/**
 * Default restart learning rate of retraining, as a fraction of the FP run's initial rate (so
 * 1.0 for the Zaremba presets), halved per iteration by default. Measured on the 13-epoch small
 * model, 1-bit LSTM, 5 × 400 windows (docs/results.md): restarting at 0.031 (its final rate × 16)
 * ends at valid ppl 143.9 (the weights barely leave Q(W)), at 0.25 at 128.8, at 1.0 at 123.4.
 */
export const DEFAULT_LR_FRACTION = 1;

/**
 * Default schedule, chosen from the sweep on the trained small preset (docs/results.md, "Defaults
 * from data"): T = 10 iterations of 400 retraining windows each (1.7 epochs in all; ≈ 10–15
 * minutes on this machine) beat T = 5 × 1 epoch (test 1.078 × FP) and T = 5 × 400 (1.027 ×);
 * retraining with dropout 0.3 on an FP model trained without dropout turns 1.008 × into 0.993 ×,
 * and distilling from the FP model (α = 0.5) on top helps most where the most is quantized (whole
 * model at 1.9 bits per parameter: 1.128 × without either, 1.048 × with both).
 */
export const DEFAULT_RETRAIN_STEPS = 400;
/**
 * Default scale tuning (docs/results.md, "Scale tuning"), for models trained WITHOUT dropout only:
 * five iterations' worth of retraining windows (2,000 with the default 400 per iteration) at half
 * the first retraining rate. On the PyTorch-trained small model (no dropout) at `--target-bits 2`
 * it took test perplexity from 1.024 × FP to 1.011 ×; on two models trained with dropout (small
 * at 0.25, tied medium at 0.5) it did not lower the validation perplexity and was not kept, so
 * for those it is off unless asked for (`--tune-steps`).
 */
export const TUNE_STEPS_PER_RETRAIN_STEP = 5;
export const DEFAULT_TUNE_LR_FRACTION = 0.5;
/**
 * Settings newer than some stored runs. Scale tuning may be added to such a run on resume (the
 * loop turns it off unless given); the others had a fixed value then, which a resume must keep.
 */
export const ADDABLE_SETTINGS: readonly (keyof CompressSettings)[] = ['tuneSteps', 'tuneLr'];
const IMPLIED_BY_OLDER_RUNS: Partial<CompressSettings> = { distillTemperature: 1, rowBits: 'uniform', straightThrough: 0 };
/**
 * The schedule for a model trained WITH dropout (docs/results.md, "A model trained with dropout"):
 * 800 retraining windows per iteration and the rate decaying by 0.7 instead of 400 and 0.5. On the
 * small preset trained with dropout 0.25, at `--target-bits 2`, it took test perplexity from
 * 107.53 to 105.39 (FP 97.61) for 1.3 × the time; 1,600 windows (decay 0.5) reached 105.08 for 2 ×.
 * Such a model loses more at 2 bits and needs the longer retraining to recover.
 */
export const DROPOUT_RETRAIN_STEPS = 800;
export const DROPOUT_LR_DECAY = 0.7;
/**
 * Retraining dropout: 0.3, or the FP run's own when it is lower (but not 0). On the small model
 * trained without dropout, retraining at 0.3 turned 1.008 × FP into 0.993 × (above); on the tied
 * medium model trained at 0.5 (docs/results.md, "What lifts the retrained model"), retraining at
 * 0.3 instead of 0.5 ended at test 83.29 instead of 84.04 at 2 bits per parameter (the retrained
 * FP model 0.9 closer to its baseline after 800 windows), and 0.2 was no better than 0.3 after
 * one iteration. A model trained at 0.25 keeps its 0.25 (the schedule above was measured so).
 */
export const RETRAIN_DROPOUT = 0.3;

export const DEFAULTS = {
  method: 'alternating' as QuantMethod,
  cycles: 2,
  groupSize: 0,
  layers: 'lstm' as LayerSelection,
  iterations: 10,
  retrainEpochs: 1,
  lrDecay: 0.5,
  distill: 0.5,
  distillTemperature: 1,
  rowBits: 'frequency' as RowBitsMode,
  prune: 0,
  pruneMask: 'once' as const,
  pruneScope: 'matrix' as PruneScope,
  straightThrough: 0,
};

const bad = (msg: string) => new QuireError('E_CONFIG', msg);
const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/** Throws `E_CONFIG` naming the first setting out of range. Runs before anything is written. */
export function validateSettings(s: CompressSettings): void {
  if (!isInt(s.bits, 1, 8)) throw bad(`bits must be an integer from 1 to 8 (got ${s.bits})`);
  for (const k of ['softmaxBits', 'embeddingBits'] as const) {
    // Mixed-precision rows may have a fractional mean (a size budget between whole bits).
    const fractional = s.rowBits !== 'uniform' && Number.isFinite(s[k]) && s[k] > 0 && s[k] < MAX_ROW_BITS;
    if (!isInt(s[k], 1, 8) && !fractional)
      throw bad(`${k} must be an integer from 1 to 8, or with mixed-precision rows a number in (0, ${MAX_ROW_BITS}) (got ${s[k]})`);
  }
  if (!METHODS.includes(s.method)) throw bad(`method must be one of ${METHODS.join(', ')} (got ${s.method})`);
  if (!isInt(s.cycles, 0, 1000)) throw bad(`cycles must be an integer from 0 to 1000 (got ${s.cycles})`);
  if (!isInt(s.groupSize, 0) || s.groupSize % 64 !== 0) throw bad(`groupSize must be 0 or a positive multiple of 64 (got ${s.groupSize})`);
  if (!LAYER_SELECTIONS.includes(s.layers)) throw bad(`layers must be one of ${LAYER_SELECTIONS.join(', ')} (got ${s.layers})`);
  if (!isInt(s.iterations, 1, 1000)) throw bad(`iterations must be an integer >= 1 (got ${s.iterations})`);
  if (!isInt(s.retrainEpochs, 1, 1000)) throw bad(`retrainEpochs must be an integer >= 1 (got ${s.retrainEpochs})`);
  if (s.retrainSteps !== null && !isInt(s.retrainSteps, 1)) throw bad(`retrainSteps must be an integer >= 1 (got ${s.retrainSteps})`);
  if (!(Number.isFinite(s.lr) && s.lr > 0)) throw bad(`lr must be a finite number > 0 (got ${s.lr})`);
  if (!(Number.isFinite(s.lrDecay) && s.lrDecay > 0 && s.lrDecay <= 1)) throw bad(`lrDecay must be in (0, 1] (got ${s.lrDecay})`);
  if (s.targetBits !== null && !(Number.isFinite(s.targetBits) && s.targetBits >= 1 && s.targetBits <= 32))
    throw bad(`targetBits must be a number from 1 to 32 (got ${s.targetBits})`);
  if (s.targetSize !== null && !isInt(s.targetSize, 1))
    throw bad(`targetSize must be a positive integer number of bytes (got ${s.targetSize})`);
  if (s.targetBits !== null && s.targetSize !== null) throw bad('give targetBits or targetSize, not both');
  if ((s.targetBits !== null || s.targetSize !== null) && s.prune > 0)
    throw bad('a size budget (targetBits/targetSize) cannot be combined with pruning yet');
  if (!(Number.isFinite(s.dropout) && s.dropout >= 0 && s.dropout < 1)) throw bad(`dropout must be in [0, 1) (got ${s.dropout})`);
  if (!(Number.isFinite(s.distill) && s.distill >= 0 && s.distill <= 1)) throw bad(`distill must be in [0, 1] (got ${s.distill})`);
  if (!(Number.isFinite(s.distillTemperature) && s.distillTemperature > 0 && s.distillTemperature <= 100))
    throw bad(`distillTemperature must be in (0, 100] (got ${s.distillTemperature})`);
  if (!isInt(s.tuneSteps, 0)) throw bad(`tuneSteps must be an integer >= 0 (got ${s.tuneSteps})`);
  if (!(Number.isFinite(s.tuneLr) && s.tuneLr > 0)) throw bad(`tuneLr must be a finite number > 0 (got ${s.tuneLr})`);
  if (!isInt(s.straightThrough, 0)) throw bad(`straightThrough must be an integer >= 0 (got ${s.straightThrough})`);
  if (!(Number.isFinite(s.clip) && s.clip >= 0)) throw bad(`clip must be a finite number >= 0 (got ${s.clip})`);
  if (!(Number.isFinite(s.prune) && s.prune >= 0 && s.prune < 1)) throw bad(`prune (sparsity) must be in [0, 1) (got ${s.prune})`);
  if (!ROW_BITS_MODES.includes(s.rowBits)) throw bad(`rowBits must be one of ${ROW_BITS_MODES.join(', ')} (got ${s.rowBits})`);
  if (s.pruneMask !== 'once' && s.pruneMask !== 'each') throw bad(`pruneMask must be once or each (got ${s.pruneMask})`);
  if (s.pruneScope !== 'matrix' && s.pruneScope !== 'global') throw bad(`pruneScope must be matrix or global (got ${s.pruneScope})`);
  for (const k of ['steps', 'batch', 'evalBatch'] as const) if (!isInt(s[k], 1)) throw bad(`${k} must be a positive integer (got ${s[k]})`);
  if (s.activationBits !== null && !isInt(s.activationBits, 1, 8))
    throw bad(`activationBits must be an integer from 1 to 8 (got ${s.activationBits})`);
  if (s.limitTokens !== null && !isInt(s.limitTokens, 1)) throw bad(`limitTokens must be a positive integer (got ${s.limitTokens})`);
}

/**
 * Tensor name → bits for a model of `shape`. A tied model's shared matrix is selected with the
 * softmax (`lstm,softmax` or `all`), at `embeddingBits` (which resolve makes equal to `softmaxBits`).
 */
export function selectedTensors(s: CompressSettings, shape: GroupShape): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of groupTensors('lstm', shape)) out[n] = s.bits;
  if (s.layers !== 'lstm') for (const n of groupTensors('softmax', shape)) out[n] = s.softmaxBits;
  if (s.layers === 'all' || (shape.tied && s.layers !== 'lstm')) for (const n of groupTensors('embedding', shape)) out[n] = s.embeddingBits;
  return out;
}

/**
 * The tensors and mixed-precision rows to quantize for the selected `tensors` (see
 * {@link CompressSettings.rowBits}): the vocabulary matrices whose rows are words (the embedding;
 * the softmax weight of a full softmax) get rows of 0 (zeros) to `⌈bits⌉ + 2` bits at a mean of
 * `bits`, which may be fractional (a size budget between whole bits; the core then gets `⌈bits⌉`
 * and the mean). In `frequency` mode the softmax rows (and a tied model's shared matrix, which is
 * the softmax too) are weighted by `√(count + 1)`, `counts` being each word's count in the
 * training text (needed only then): which words the model predicts is what the counts tell; an
 * untied embedding's rows are weighted equally, which measured better for it (docs/results.md,
 * "Mixed-precision rows").
 */
export function mixedSpec(
  mode: RowBitsMode,
  tensors: Record<string, number>,
  counts: ArrayLike<number> | undefined,
  tied = false,
): Pick<CompressionSpec, 'tensors' | 'rows'> {
  const rows: Record<string, RowAllocation> = {};
  const whole = Object.fromEntries(Object.entries(tensors).map(([n, b]) => [n, Math.ceil(b)]));
  if (mode === 'uniform') return { tensors: whole, rows };
  for (const name of VOCABULARY_MATRICES) {
    const bits = tensors[name];
    if (bits === undefined || bits >= MAX_ROW_BITS) continue;
    const maxBits = Math.min(MAX_ROW_BITS, Math.ceil(bits) + ROW_BITS_HEADROOM);
    const mean = Number.isInteger(bits) ? {} : { meanBits: bits };
    const predicts = name === 'softmax.weight' || tied;
    if (mode === 'error' || !predicts) rows[name] = { maxBits, ...mean };
    else {
      if (!counts) throw bad('rowBits frequency needs the word counts of the training text');
      rows[name] = { maxBits, ...mean, importance: Array.from(counts, (c) => Math.sqrt(c + 1)) };
    }
  }
  return { tensors: whole, rows };
}

/** Sparsity of the mask used at quantization `t` (0..T). */
export function sparsityAt(s: CompressSettings, t: number): number {
  return s.pruneMask === 'once' ? s.prune : (s.prune * (t + 1)) / (s.iterations + 1);
}

/** Learning rate of the retraining in iteration `t` (1..T). */
export function learningRateAt(s: CompressSettings, t: number): number {
  return s.lr * s.lrDecay ** (t - 1);
}

/** The settings that differ between two runs (for refusing a changed `--resume`). */
export function changedSettings(a: CompressSettings, b: CompressSettings): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof CompressSettings>;
  for (const k of ADDABLE_SETTINGS) if (!(k in b)) keys.delete(k);
  // A setting missing from an older run's report had the value it implies, else null.
  const stored = (k: keyof CompressSettings) => (k in b ? b[k] : IMPLIED_BY_OLDER_RUNS[k]) ?? null;
  return [...keys]
    .filter((k) => JSON.stringify(a[k] ?? null) !== JSON.stringify(stored(k)))
    .map((k) => `${k}: ${JSON.stringify(stored(k))} → ${JSON.stringify(a[k])}`);
}
