import { join } from 'node:path';
import { Batcher } from '../data/batcher.js';
import { type EncodedCorpus, encodeCorpus, type EncodeOptions, openSplit, tokensPerWord } from '../data/encoded-corpus.js';
import type { TokenizerSpec } from '../data/tokenizer.js';
import { runWindows } from './windows.js';
import { QuireError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureDirectory, isFile, removeStaleTemporaries } from '../io/fs.js';
import { withRunLock } from '../io/run-lock.js';
import { adaptiveCutoffs, LanguageModel } from '../model.js';
import type { BackendOption } from '../options.js';
import { BEST_FILE, CHECKPOINT_FILE, LOG_FILE, MODEL_FILE, loadModel, saveModel, type EpochRecord, type TrainState } from './checkpoint.js';
import { evaluatePerplexity, type Evaluation } from './evaluate.js';
import { learningRate, resolveConfig, validateTrainConfig, type TrainConfig } from './presets.js';
import type { Progress } from './progress.js';

export interface TrainOptions extends BackendOption {
  /** Preset name (ignored when resuming from a checkpoint, whose config is used). */
  preset: string;
  /** Overrides of preset fields. On resume only schedule fields may differ from the checkpoint. */
  overrides?: Partial<TrainConfig>;
  dataDir: string;
  /** How the corpus becomes tokens (a new run; a resumed run uses its checkpoint's tokenizer and vocabulary). */
  corpus?: CorpusSettings;
  outDir: string;
  /** Continue from `outDir/checkpoint.qckpt` when it exists. */
  resume?: boolean;
  /** Aborting saves a checkpoint at the current window and rejects with `E_INTERRUPTED`. */
  signal?: AbortSignal;
  progress?: Progress;
  /** Called after every training window (tests use it to interrupt or perturb a run). */
  onWindow?: (model: LanguageModel, epoch: number, window: number) => void;
}

/** Tokenizer and vocabulary bound of a new run (see {@link encodeCorpus}). */
export interface CorpusSettings {
  tokenizer?: TokenizerSpec;
  /** Learn byte-pair-encoding subwords (about `vocabSize` pieces). */
  subwords?: boolean;
  vocabSize?: number;
  minCount?: number;
}

/** The encoding options that report to `progress` (reading rate, the vocabulary note). */
export function reporting(progress: Progress | undefined): Pick<EncodeOptions, 'progress' | 'note'> {
  if (!progress) return {};
  return {
    progress: (label, done, total, t0, unit) => progress.task(label, done, total, t0, unit),
    note: (text) => progress.message(text),
  };
}

export interface TrainResult {
  config: TrainConfig;
  history: EpochRecord[];
  test: Evaluation;
  modelPath: string;
  /** `keepBest` runs: the epoch whose model was written (the lowest validation perplexity). */
  bestEpoch?: number;
}

/** Fields that may change when a run is resumed; the rest fix the model and the data order. */
const RESUMABLE: (keyof TrainConfig)[] = ['epochs', 'lr', 'lrDecay', 'decayAfter', 'clip', 'evalBatch', 'keepBest'];

function resumeConfig(saved: TrainConfig, overrides: Partial<TrainConfig>): TrainConfig {
  for (const [k, v] of Object.entries(overrides)) {
    const key = k as keyof TrainConfig;
    // A checkpoint from before `tie` existed is untied.
    const was = key === 'tie' ? (saved.tie ?? false) : saved[key];
    if (v !== undefined && !RESUMABLE.includes(key) && was !== v) {
      throw new QuireError(
        'E_CONFIG',
        `cannot change '${k}' when resuming (checkpoint has ${was}, asked ${v}); only ${RESUMABLE.join(', ')} may change`,
      );
    }
  }
  return { ...saved, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

/** The cut-offs of `--adaptive` (`auto` or `2000,10000`) for a vocabulary of `vocab` tokens. */
function resolveCutoffs(adaptive: string, vocab: number): number[] {
  return adaptive === 'auto' ? adaptiveCutoffs(vocab) : adaptive.split(',').map(Number);
}

/**
 * The best-validation model of a `keepBest` run when it is not the last epoch's (which is the
 * model in memory), read from `path`; undefined otherwise. A missing or unreadable best file
 * is `E_STATE` naming it (the weights of that epoch are not anywhere else).
 */
function keptBest(state: TrainState, path: string, options: TrainOptions): { model: LanguageModel; epoch: number } | undefined {
  const epoch = state.bestEpoch;
  if (!state.config.keepBest || epoch === undefined || epoch === state.epoch) return undefined;
  try {
    return { model: loadModel(path, options).model, epoch };
  } catch (err) {
    throw new QuireError(
      'E_STATE',
      `--keep-best: the model of epoch ${epoch} (the best validation) cannot be read from ${path} ` +
        `(${err instanceof Error ? err.message : err}); the last epoch's model is in ${CHECKPOINT_FILE}`,
    );
  }
}

/** Starts a run, or picks up the checkpoint of a stopped one. */
function start(options: TrainOptions): { model: LanguageModel; state: TrainState; corpus: EncodedCorpus } {
  const ckpt = join(options.outDir, CHECKPOINT_FILE);
  const existing = [CHECKPOINT_FILE, MODEL_FILE, LOG_FILE].filter((f) => isFile(join(options.outDir, f)));
  if (!options.resume && existing.length) {
    throw new QuireError(
      'E_CONFIG',
      `${options.outDir} already holds a training run (${existing.join(', ')}): pass --resume to continue it, or choose another --out`,
    );
  }
  if (options.resume && !isFile(ckpt) && existing.length) {
    throw new QuireError(
      'E_CONFIG',
      `${options.outDir} holds ${existing.join(', ')} but no ${CHECKPOINT_FILE} to resume from: choose another --out`,
    );
  }
  if (options.resume && isFile(ckpt)) {
    const loaded = loadModel(ckpt, options);
    if (!loaded.training) throw new QuireError('E_FORMAT', `${ckpt} holds no training state`);
    const config = resumeConfig(loaded.training.config, options.overrides ?? {});
    validateTrainConfig(config);
    const corpus = encodeCorpus(options.dataDir, {
      vocabulary: loaded.vocabulary,
      tokenizer: loaded.tokenizer,
      ...reporting(options.progress),
    });
    return { model: loaded.model, state: { ...loaded.training, config }, corpus };
  }
  const config = resolveConfig(options.preset, options.overrides);
  validateTrainConfig(config);
  const corpus = encodeCorpus(options.dataDir, { ...options.corpus, ...reporting(options.progress) });
  const model = LanguageModel.create(
    {
      vocab: corpus.vocabulary.size,
      hidden: config.hidden,
      layers: config.layers,
      initScale: config.initScale,
      dropout: config.dropout,
      seed: config.seed,
      tied: config.tie ?? false,
      ...(config.adaptive === undefined ? {} : { cutoffs: resolveCutoffs(config.adaptive, corpus.vocabulary.size) }),
    },
    options,
  );
  return { model, state: { config, epoch: 0, window: 0, lossSum: 0, lossTokens: 0, seconds: 0, history: [] }, corpus };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains a language model (Zaremba et al. recipe): per epoch, the carried state is zeroed, every
 * full window of the training split gets one clipped SGD step at the epoch's learning rate,
 * then validation perplexity is measured, a line is appended to `log.jsonl` and
 * `checkpoint.qckpt` is written atomically, then `log.jsonl` is rewritten atomically from the
 * checkpoint's history (so a kill between the two never duplicates a line). At the end the test
 * perplexity is measured and `model.qmodel` written. A diverging loss (non-finite, or so large
 * that its perplexity overflows) stops with `E_NONFINITE`, keeping the last checkpoint; an abort
 * saves a mid-epoch checkpoint and rejects with `E_INTERRUPTED`. A folder that already holds a
 * run is refused (`E_CONFIG`) unless `resume` is set; nothing is written before every setting,
 * the checkpoint and the data are validated. The run holds the folder's lock (`.quire-lock`) from
 * start to end: a second writer of the same folder is `E_STATE` naming this process.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  return withRunLock(options.outDir, () => run(options));
}

async function run(options: TrainOptions): Promise<TrainResult> {
  const { model, state, corpus } = start(options);
  const c = state.config;
  const ckptPath = join(options.outDir, CHECKPOINT_FILE);
  const logPath = join(options.outDir, LOG_FILE);
  const sources = {
    train: openSplit(corpus, 'train', c.limitTokens),
    valid: openSplit(corpus, 'valid', c.limitTokens),
    test: openSplit(corpus, 'test', c.limitTokens),
  };
  const text = { vocabulary: corpus.vocabulary, tokenizer: corpus.tokenizer };
  const batcher = new Batcher(sources.train, c.batch, c.steps, false);
  const diverged = (what: string, epoch: number) => {
    const kept = isFile(ckptPath)
      ? `the last good checkpoint ${ckptPath} is kept (continue with --resume and a lower --lr)`
      : 'no checkpoint was written yet';
    return new QuireError('E_NONFINITE', `epoch ${epoch}: ${what}; training diverged (learning rate too high?); ${kept}`);
  };
  try {
    if (state.window >= batcher.windows) {
      throw new QuireError(
        'E_FORMAT',
        `${ckptPath}: the training state is at window ${state.window} but an epoch has ${batcher.windows} windows`,
      );
    }
    ensureDirectory(options.outDir);
    removeStaleTemporaries(options.outDir);
    const writeLog = (extra: object[] = []) =>
      writeFileAtomic(logPath, [...state.history, ...extra].map((r) => JSON.stringify(r) + '\n').join(''));
    if (state.epoch > 0) writeLog();
    // `keepBest` turned on when resuming a run that had it off: the epoch resumed from competes
    // too (its weights are the checkpoint's), not only the epochs trained from here on.
    if (c.keepBest && state.bestEpoch === undefined && state.epoch > 0 && state.window === 0) {
      saveModel(join(options.outDir, BEST_FILE), model, 'quire-model', text);
      state.bestEpoch = state.epoch;
    }
    for (let epoch = state.epoch + 1; epoch <= c.epochs; epoch++) {
      const lr = learningRate(c, epoch);
      if (state.window === 0) model.resetState(c.batch);
      const t0 = performance.now();
      await runWindows({
        model,
        batcher,
        first: state.window,
        count: batcher.windows - state.window,
        lr,
        clip: c.clip,
        diverged: (_, w, message) => diverged(`window ${w + 1}: ${message}`, epoch),
        afterWindow: async (_done, w, loss, rate) => {
          state.lossSum += loss * c.steps * c.batch;
          state.lossTokens += c.steps * c.batch;
          state.window = w + 1;
          options.onWindow?.(model, epoch, w + 1);
          options.progress?.update({
            epoch,
            epochs: c.epochs,
            window: w + 1,
            windows: batcher.windows,
            loss: state.lossSum / state.lossTokens,
            tokensPerSecond: rate,
            etaSeconds: ((batcher.windows - w - 1) * c.steps * c.batch) / rate,
            runEtaSeconds: (((c.epochs - epoch + 1) * batcher.windows - w - 1) * c.steps * c.batch) / rate,
          });
          await tick();
          if (options.signal?.aborted) {
            state.seconds += (performance.now() - t0) / 1000;
            saveModel(ckptPath, model, 'quire-checkpoint', text, state);
            throw new QuireError(
              'E_INTERRUPTED',
              `interrupted in epoch ${epoch} after window ${w + 1}/${batcher.windows}; checkpoint saved to ${ckptPath} (continue ` +
                `with --resume)`,
            );
          }
          return false;
        },
      });
      const seconds = state.seconds + (performance.now() - t0) / 1000;
      const trainLoss = state.lossSum / state.lossTokens;
      const valid = evaluatePerplexity(model, sources.valid, c.evalBatch, c.steps, tokensPerWord(corpus, 'valid'));
      if (!Number.isFinite(valid.perplexity)) throw diverged(`validation perplexity ${valid.perplexity}`, epoch);
      const record: EpochRecord = {
        epoch,
        lr,
        trainLoss,
        trainPerplexity: Math.exp(trainLoss * tokensPerWord(corpus, 'train')),
        validPerplexity: valid.perplexity,
        tokensPerSecond: batcher.tokens / seconds,
        seconds,
      };
      // The best model is written before the checkpoint that names it: a kill in between redoes the epoch.
      const bestSoFar = state.bestEpoch === undefined ? Number.POSITIVE_INFINITY : state.history[state.bestEpoch - 1].validPerplexity;
      const improved = c.keepBest === true && record.validPerplexity < bestSoFar;
      if (improved) saveModel(join(options.outDir, BEST_FILE), model, 'quire-model', text);
      Object.assign(state, { epoch, window: 0, lossSum: 0, lossTokens: 0, seconds: 0, history: [...state.history, record] });
      if (improved) state.bestEpoch = epoch;
      saveModel(ckptPath, model, 'quire-checkpoint', text, state);
      writeLog();
      options.progress?.message(
        `epoch ${epoch}/${c.epochs} lr ${lr.toPrecision(4)} train ppl ${record.trainPerplexity.toFixed(2)} valid ppl ` +
          `${valid.perplexity.toFixed(2)} ${Math.round(record.tokensPerSecond)} tok/s ${seconds.toFixed(0)} s`,
      );
    }
    const best = keptBest(state, join(options.outDir, BEST_FILE), options);
    const final = best?.model ?? model;
    try {
      const test = evaluatePerplexity(final, sources.test, c.evalBatch, c.steps, tokensPerWord(corpus, 'test'));
      if (!Number.isFinite(test.perplexity)) throw diverged(`test perplexity ${test.perplexity}`, c.epochs);
      const bestEpoch = c.keepBest ? (best?.epoch ?? c.epochs) : undefined;
      writeLog([{ split: 'test', perplexity: test.perplexity, tokens: test.tokens, ...(bestEpoch ? { epoch: bestEpoch } : {}) }]);
      const modelPath = join(options.outDir, MODEL_FILE);
      saveModel(modelPath, final, 'quire-model', text);
      const which = bestEpoch ? ` (epoch ${bestEpoch}, the best validation)` : '';
      options.progress?.message(`test ppl ${test.perplexity.toFixed(2)} (${test.tokens} tokens); model${which} written to ${modelPath}`);
      return { config: c, history: state.history, test, modelPath, ...(bestEpoch ? { bestEpoch } : {}) };
    } finally {
      best?.model.dispose();
    }
  } finally {
    model.dispose();
    for (const f of Object.values(sources)) f.close();
  }
}
