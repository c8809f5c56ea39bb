import { QuireError } from '../errors.js';
import type { FpSource } from './load.js';
import {
  DEFAULT_LR_FRACTION,
  RETRAIN_DROPOUT,
  DEFAULT_RETRAIN_STEPS,
  DROPOUT_LR_DECAY,
  DROPOUT_RETRAIN_STEPS,
  DEFAULT_TUNE_LR_FRACTION,
  TUNE_STEPS_PER_RETRAIN_STEP,
  DEFAULTS,
  validateSettings,
  type CompressSettings,
} from './settings.js';

/** Settings as given by the caller: anything left out takes its default or the FP run's value. */
export type SettingsInput = Partial<Omit<CompressSettings, 'lrSource'>> &
  ({ bits: number } | { targetBits: number } | { targetSize: number });

/**
 * Completes and validates the settings (`E_CONFIG`). Defaults: docs/method.md §2 values in
 * `DEFAULTS`; `lr` = the FP run's initial learning rate × `DEFAULT_LR_FRACTION`; clip, window and
 * streams from the FP run (an FP file without its training record needs them given).
 */
export function resolveSettings(input: SettingsInput, src: FpSource): CompressSettings {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as SettingsInput;
  const tc = src.trainConfig;
  const fromRun = <K extends 'clip' | 'steps' | 'batch' | 'evalBatch'>(k: K): number => {
    const v = given[k] ?? tc?.[k];
    if (v === undefined)
      throw new QuireError(
        'E_CONFIG',
        `${src.file} records no training settings: pass --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`,
      );
    return v;
  };
  let lr = given.lr;
  let lrSource = 'given';
  if (lr === undefined) {
    if (tc === undefined) throw new QuireError('E_CONFIG', `${src.file} records no training schedule to restart from: pass --lr`);
    lr = tc.lr * DEFAULT_LR_FRACTION;
    lrSource = `fp-initial ${tc.lr} × ${DEFAULT_LR_FRACTION} (fp-final was ${src.finalLr})`;
  }
  const fpDropout = tc?.dropout ?? src.model.config.dropout;
  const budget = (given.targetBits ?? null) !== null || (given.targetSize ?? null) !== null;
  if (!budget && given.bits === undefined)
    throw new QuireError('E_CONFIG', 'give the bits (--bits) or a size budget (--target-bits / --target-size)');
  // With a budget the bits are chosen later (budget.ts); 1 is a placeholder until then.
  const bits = given.bits ?? 1;
  // A tied model has one embedding/softmax matrix: one bit count, from either setting.
  if (src.model.config.tied) {
    if (given.softmaxBits !== undefined && given.embeddingBits !== undefined && given.softmaxBits !== given.embeddingBits)
      throw new QuireError(
        'E_CONFIG',
        `the model ties its embedding to its softmax (one matrix): give the same softmaxBits and embeddingBits, or only one (got ${given.softmaxBits} and ${given.embeddingBits})`,
      );
    const shared = given.embeddingBits ?? given.softmaxBits;
    if (shared !== undefined) Object.assign(given, { softmaxBits: shared, embeddingBits: shared });
  }
  const s: CompressSettings = {
    ...DEFAULTS,
    bits,
    softmaxBits: bits,
    embeddingBits: bits,
    targetBits: null,
    targetSize: null,
    // Steps by default (more, decaying slower, for a model trained with dropout: settings.ts);
    // an explicit --retrain-epochs means epochs.
    retrainSteps: given.retrainEpochs !== undefined ? null : fpDropout > 0 ? DROPOUT_RETRAIN_STEPS : DEFAULT_RETRAIN_STEPS,
    lrDecay: fpDropout > 0 ? DROPOUT_LR_DECAY : DEFAULTS.lrDecay,
    limitTokens: null,
    activationBits: null,
    ...given,
    ...(budget ? { layers: 'all' as const } : {}),
    lr,
    lrSource,
    // Measured to help only models trained without dropout (settings.ts): five iterations' worth
    // of retraining windows for those (2,000 by default; with whole epochs, 2,000), else off.
    tuneSteps:
      given.tuneSteps ??
      (fpDropout > 0
        ? 0
        : TUNE_STEPS_PER_RETRAIN_STEP *
          (given.retrainEpochs === undefined ? (given.retrainSteps ?? DEFAULT_RETRAIN_STEPS) : DEFAULT_RETRAIN_STEPS)),
    tuneLr: given.tuneLr ?? lr * DEFAULT_TUNE_LR_FRACTION,
    dropout: given.dropout ?? (fpDropout > 0 ? Math.min(fpDropout, RETRAIN_DROPOUT) : RETRAIN_DROPOUT),
    clip: fromRun('clip'),
    steps: fromRun('steps'),
    batch: fromRun('batch'),
    evalBatch: fromRun('evalBatch'),
  };
  validateSettings(s);
  // The popcount kernel binarizes every packed product's input, a tail's projection too, which
  // retraining with quantized activations does not model.
  if (s.activationBits !== null && src.model.config.cutoffs?.length)
    throw new QuireError(
      'E_CONFIG',
      'activation bits are not available for a model with an adaptive softmax (its tails run on FP activations)',
    );
  return s;
}
