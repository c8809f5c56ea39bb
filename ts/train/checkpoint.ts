import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Vocabulary } from '../data/vocabulary.js';
import { QuireError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { LanguageModel, type ModelFormat } from '../model.js';
import type { BackendOption } from '../options.js';
import type { TrainConfig } from './presets.js';

export const CHECKPOINT_FILE = 'checkpoint.qckpt';
export const MODEL_FILE = 'model.qmodel';
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
}

/** Metadata keys quire's TypeScript side adds to model files (the core adds format, version, config, batch). */
const VOCAB_KEY = 'vocabulary';
const TRAINING_KEY = 'training';

/** Writes a model file atomically: the vocabulary always, the trainer state for checkpoints. */
export function saveModel(path: string, model: LanguageModel, format: ModelFormat, vocabulary: Vocabulary, state?: TrainState): void {
  const meta: Record<string, string> = { [VOCAB_KEY]: JSON.stringify(vocabulary.words), created_by: 'quire' };
  if (state) meta[TRAINING_KEY] = JSON.stringify(state);
  writeFileAtomic(path, model.toBytes(format, meta, format === 'quire-checkpoint' && state !== undefined && state.window > 0));
}

/** A model file read back: the model, its vocabulary and (for checkpoints) the trainer state. */
export interface LoadedModel {
  model: LanguageModel;
  vocabulary: Vocabulary;
  training?: TrainState;
}

/**
 * Reads a model or checkpoint. `path` may be a run directory (its `model.qmodel`, else its
 * `checkpoint.qckpt`). A missing file is `E_IO`; a corrupt one `E_FORMAT`.
 */
export function loadModel(path: string, options: BackendOption = {}): LoadedModel {
  let file = path;
  if (existsSync(path) && statSync(path).isDirectory()) {
    file = [MODEL_FILE, CHECKPOINT_FILE].map((f) => join(path, f)).find((f) => existsSync(f)) ?? join(path, MODEL_FILE);
  }
  if (!existsSync(file)) throw new QuireError('E_IO', `no model file at ${file}`);
  const model = LanguageModel.fromBytes(readFileSync(file), options);
  const meta = model.metadata;
  const parse = <T>(key: string): T | undefined => {
    if (meta[key] === undefined) return undefined;
    try {
      return JSON.parse(meta[key]) as T;
    } catch {
      throw new QuireError('E_FORMAT', `${file}: metadata '${key}' is not valid JSON`);
    }
  };
  const words = parse<string[]>(VOCAB_KEY);
  if (!Array.isArray(words) || words.length !== model.config.vocab || !words.every((w) => typeof w === 'string')) {
    throw new QuireError('E_FORMAT', `${file}: the vocabulary metadata is missing or does not match the model's ${model.config.vocab} words`);
  }
  return { model, vocabulary: new Vocabulary(words), training: parse<TrainState>(TRAINING_KEY) };
}
