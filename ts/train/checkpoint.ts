import { join } from 'node:path';
import { type ModelText, textMetadata, textOf } from '../data/model-text.js';

export { type ModelText, textMetadata, textOf };
import { QuireError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { isDirectory, isFile, readRegularFile } from '../io/fs.js';
import { LanguageModel, type ModelFormat } from '../model.js';
import type { BackendOption } from '../options.js';
import { validateTrainConfig, type TrainConfig } from './presets.js';

export const CHECKPOINT_FILE = 'checkpoint.qckpt';
export const MODEL_FILE = 'model.qmodel';
/** The best-validation epoch's model of a `keepBest` run. */
export const BEST_FILE = 'best.qmodel';
export const LOG_FILE = 'log.jsonl';

/** One finished epoch, as logged to `log.jsonl` and kept in the checkpoint. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainPerplexity: number;
  validPerplexity: number;
  tokensPerSecond: number;
  seconds: number;
}

/**
 * Trainer state stored in a checkpoint's `training` metadata: epochs completed, windows done in
 * the next epoch (non-zero after an interruption; the carried state is then in the file), the
 * running loss of that partial epoch, and the history.
 */
export interface TrainState {
  config: TrainConfig;
  epoch: number;
  window: number;
  lossSum: number;
  lossTokens: number;
  seconds: number;
  history: EpochRecord[];
  /** `keepBest` runs: the epoch whose model `best.qmodel` holds (the lowest validation perplexity so far). */
  bestEpoch?: number;
}

/** Metadata key of the trainer state (besides the vocabulary and tokenizer; the core adds format, version, config, batch). */
const TRAINING_KEY = 'training';

/** Writes a model file atomically: the vocabulary and tokenizer always, the trainer state for checkpoints. */
export function saveModel(path: string, model: LanguageModel, format: ModelFormat, text: ModelText, state?: TrainState): void {
  const meta: Record<string, string> = { ...textMetadata(text), created_by: 'quire' };
  if (state) meta[TRAINING_KEY] = JSON.stringify(state);
  writeFileAtomic(path, model.toBytes(format, meta, format === 'quire-checkpoint' && state !== undefined && state.window > 0));
}

/** A model file read back: the model, its vocabulary and (for checkpoints) the trainer state. */
export interface LoadedModel extends ModelText {
  model: LanguageModel;
  training?: TrainState;
}

/**
 * Reads a model or checkpoint. `path` may be a run directory (its `model.qmodel`, else its
 * `checkpoint.qckpt`); `bytes`, when given, are the file's already-read contents. A missing file
 * is `E_IO`; a corrupt one `E_FORMAT`.
 */
export function loadModel(path: string, options: BackendOption = {}, bytes?: Uint8Array): LoadedModel {
  let file = path;
  if (isDirectory(path)) {
    file = [MODEL_FILE, CHECKPOINT_FILE].map((f) => join(path, f)).find((f) => isFile(f)) ?? join(path, MODEL_FILE);
  }
  const model = LanguageModel.fromBytes(bytes ?? readRegularFile(file, 'model file'), options);
  const meta = model.metadata;
  const parse = <T>(key: string): T | undefined => {
    if (meta[key] === undefined) return undefined;
    try {
      return JSON.parse(meta[key]) as T;
    } catch {
      throw new QuireError('E_FORMAT', `${file}: metadata '${key}' is not valid JSON`);
    }
  };
  let text: ModelText;
  try {
    text = textOf(meta, model.config.vocab, file);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const training = parse<TrainState>(TRAINING_KEY);
  if (training !== undefined) {
    try {
      validateTrainStateOf(training, model.config);
    } catch (err) {
      model.dispose();
      throw new QuireError('E_FORMAT', `${file}: the training state is invalid (${err instanceof Error ? err.message : err})`);
    }
  }
  return { model, ...text, training };
}

const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isAmount = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** {@link validateTrainState}, and the state must describe a model of `model`'s layers and width. */
export function validateTrainStateOf(s: TrainState, model: { hidden: number; layers: number }): void {
  validateTrainState(s);
  if (s.config.hidden !== model.hidden || s.config.layers !== model.layers) {
    throw new Error(`it describes ${s.config.layers} layers of ${s.config.hidden} units, the model has ${model.layers} of ${model.hidden}`);
  }
}

/** Throws naming the first field of a checkpoint's trainer state that is missing or out of range. */
export function validateTrainState(s: TrainState): void {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new Error('not an object');
  validateTrainConfig(s.config, 'config');
  if (!isCount(s.epoch) || s.epoch > s.config.epochs)
    throw new Error(`epoch must be an integer from 0 to ${s.config.epochs} (got ${JSON.stringify(s.epoch)})`);
  if (!isCount(s.window)) throw new Error(`window must be a non-negative integer (got ${JSON.stringify(s.window)})`);
  if (!isAmount(s.lossSum) || !isCount(s.lossTokens) || !isAmount(s.seconds))
    throw new Error('lossSum, lossTokens and seconds must be finite numbers >= 0');
  if (s.window > 0 && s.lossTokens === 0) throw new Error('a mid-epoch state must have counted tokens');
  if (s.bestEpoch !== undefined && !(Number.isSafeInteger(s.bestEpoch) && s.bestEpoch >= 1 && s.bestEpoch <= s.epoch))
    throw new Error(`bestEpoch must be a finished epoch, 1 to ${JSON.stringify(s.epoch)} (got ${JSON.stringify(s.bestEpoch)})`);
  if (!Array.isArray(s.history) || s.history.length !== s.epoch)
    throw new Error(`history must list the ${JSON.stringify(s.epoch)} finished epochs`);
  s.history.forEach((r, i) => {
    const ok =
      r &&
      r.epoch === i + 1 &&
      ['lr', 'trainLoss', 'trainPerplexity', 'validPerplexity', 'tokensPerSecond', 'seconds'].every((k) =>
        isAmount((r as unknown as Record<string, unknown>)[k]),
      );
    if (!ok) throw new Error(`history entry ${i + 1} is malformed`);
  });
}
