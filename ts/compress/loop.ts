import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Batcher } from '../data/batcher.js';
import { type OpenCorpus, openCorpus } from '../data/corpus.js';
import { tokensPerWord } from '../data/encoded-corpus.js';
import { idCounts } from '../data/token-source.js';
import { QuireError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { f32Tensor, f32Values, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { ensureDirectory, isFile, readRegularFile, removeStaleTemporaries, statOrUndefined } from '../io/fs.js';
import { withRunLock } from '../io/run-lock.js';
import { LanguageModel } from '../model.js';
import type { BackendOption } from '../options.js';
import { evaluatePerplexity } from '../train/evaluate.js';
import { textMetadata } from '../train/checkpoint.js';
import { runWindows } from '../train/windows.js';
import type { Progress } from '../train/progress.js';
import { CompressedModel, type CompressionSpec, type TensorLoss } from './compressed-model.js';
import { COMPRESSED_FILE, type FpSource, loadFpModel } from './load.js';
import { type BitGroup, bitsText, groupLabel, vocabularyGroup } from './layout.js';
import { allocateBits, BUDGET_BITS, type BitAllocation, type BudgetStep, MIXED_BUDGET_BITS } from './budget.js';
import { getMask, prune } from './masks.js';
import { reportMarkdown, reportPlots, validateReport, type CompressReport, type IterationRecord } from './report.js';
import { resolveSettings, type SettingsInput } from './resolve.js';
import { changedSettings, learningRateAt, mixedSpec, selectedTensors, sparsityAt, type CompressSettings } from './settings.js';

export const STATE_FILE = 'state.json';
export const REPORT_FILE = 'report.json';

export interface CompressOptions extends BackendOption {
  /** The trained full-precision model (file or run directory). */
  model: string;
  dataDir: string;
  outDir: string;
  settings: SettingsInput;
  /** Continue the run in `outDir` at its next iteration (same settings required). */
  resume?: boolean;
  progress?: Progress;
  /** Aborting stops between windows with `E_INTERRUPTED`; `--resume` redoes the current iteration. */
  signal?: AbortSignal;
  /** Called with the model right before quantization `t` (0..T), after pruning (tests read W here). */
  onBeforeQuantize?: (model: LanguageModel, iteration: number) => void;
}

export interface CompressResult {
  settings: CompressSettings;
  report: CompressReport;
  modelPath: string;
}

/**
 * What `state.json` holds: the report so far, the checkpoint of its last iteration, the data
 * position. `checkpoint` is informative only: the file read on resume is always
 * `checkpointName(last iteration)` inside the run folder, never a path taken from the state.
 */
export interface ResumeState {
  report: CompressReport;
  checkpoint: string;
  /** Next training window (retraining by steps continues through the data). */
  position: number;
}

/** The checkpoint of iteration `t`, inside the run folder. */
export const checkpointName = (t: number) => `checkpoint-${t}.qcomp`;
/** The model after scale tuning, inside the run folder (written only when tuning is kept). */
export const TUNED_CHECKPOINT = 'checkpoint-tuned.qcomp';
/**
 * Straight-through retraining's FP shadow weights after iteration `t` (F32 safetensors, one tensor
 * per quantized matrix), inside the run folder: what `--resume` continues from.
 */
export const shadowName = (t: number) => `shadow-${t}.safetensors`;

/**
 * Straight-through retraining allocates the bits of mixed-precision rows at every this many
 * re-quantizations and keeps them in between: allocating measures every bit count (the tied
 * medium model: 497 ms against 224 ms), and an allocation kept for a whole iteration leaves a
 * row without bits at zero for all of it (valid 87.82 after one iteration against 87.59 when
 * allocating at every window; docs/results.md, "Retraining through the quantizer").
 */
export const ROW_ALLOCATION_INTERVAL = 25;

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A compress run opened by {@link openRun}: nothing of it is written yet. */
export interface CompressRun {
  /** The FP model to compress, as loaded (the caller disposes `src.model`). */
  src: FpSource;
  settings: CompressSettings;
  /** The data, streamed from its token files (closed with the run). */
  corpus: OpenCorpus;
  /** The state of the run being resumed (`--resume` on a folder holding one), else undefined. */
  resumed?: ResumeState;
}

/**
 * Opens the run of `o`: loads the FP model, resolves the settings, loads the data and, when
 * `o.outDir` holds a run, reads its state (`E_CONFIG` without `resume`, `E_FORMAT` when the state
 * is corrupt). Reads only; on an error nothing stays loaded.
 */
export function openRun(o: CompressOptions): CompressRun {
  const src = loadFpModel(o.model, o);
  try {
    const settings = resolveSettings(o.settings, src);
    const corpus = openCorpus(o.dataDir, {
      limit: settings.limitTokens ?? undefined,
      vocabulary: src.vocabulary,
      tokenizer: src.tokenizer,
    });
    try {
      const statePath = join(o.outDir, STATE_FILE);
      if (!statOrUndefined(statePath)) return { src, settings, corpus };
      if (!o.resume)
        throw new QuireError('E_CONFIG', `${o.outDir} already holds a compress run: pass --resume to continue it, or choose another --out`);
      return { src, settings, corpus, resumed: readState(statePath) };
    } catch (err) {
      corpus.close();
      throw err;
    }
  } catch (err) {
    src.model.dispose();
    throw err;
  }
}

/** What every iteration needs besides the model: validation, the file metadata, the spec. */
interface RunContext {
  settings: CompressSettings;
  corpus: OpenCorpus;
  evalValid: (m: LanguageModel) => number;
  /** The metadata of the files of iteration `t` (built once: they differ in `compressIteration` only). */
  metadata: (t: number) => Record<string, string>;
  spec: CompressionSpec;
}

/**
 * The paper's iterative scheme (docs/method.md §2). Iteration 0: [prune,] quantize the FP model
 * (`W ← Q(W)`) and evaluate it — the one-shot baseline. Iteration t = 1..T: retrain all
 * parameters in full precision from the quantized values (pruned entries held at 0) at
 * `lr·lrDecay^(t−1)`, evaluate (`perplexityFp`), measure the loss of quantizing the retrained
 * weights, quantize, evaluate (`perplexityQuantized`). The quantization of iteration T is the
 * exported model. After every iteration the model (`checkpoint-<t>.qcomp`, which holds exactly
 * the quantized weights and masks; with straight-through retraining also `shadow-<t>.safetensors`),
 * `state.json` and the report files are written atomically.
 * All settings, the model and the data are validated before anything is written; `--resume`
 * continues at the next iteration with the bit allocation the run stored. The run holds the
 * folder's lock (`.quire-lock`): a second writer of the same folder is `E_STATE`.
 */
export async function compress(o: CompressOptions): Promise<CompressResult> {
  return withRunLock(o.outDir, () => compressLocked(o));
}

async function compressLocked(o: CompressOptions): Promise<CompressResult> {
  const run = openRun(o);
  try {
    const { src, settings, corpus } = run;
    const evalValid = (m: LanguageModel) =>
      evaluatePerplexity(m, corpus.ids.valid, settings.evalBatch, settings.steps, tokensPerWord(corpus.encoded, 'valid')).perplexity;
    // Recorded in every compressed file of the run: the engine's `auto` kernel reads activation_bits.
    const base: Record<string, string> = {
      ...textMetadata(src),
      created_by: 'quire',
      ...(settings.activationBits === null ? {} : { activation_bits: String(settings.activationBits) }),
    };
    const metadata = (t: number) => ({ ...base, compressIteration: String(t) });
    // Word counts of the training text, for mixed-precision rows weighted by frequency (once).
    let wordCounts: Float64Array | undefined;
    const counts = () => {
      if (settings.rowBits !== 'frequency') return undefined;
      wordCounts ??= idCounts(corpus.ids.train, src.model.config.vocab);
      return wordCounts;
    };
    const allocation = await planBits(run, evalValid, metadata(settings.iterations), o.progress, counts, o.signal);
    if (run.resumed) {
      const stored = run.resumed.report.settings as unknown as CompressSettings;
      // A run stored before mixed-precision rows existed had uniform rows: it resumes so unless told otherwise.
      if (!('rowBits' in stored) && o.settings.rowBits === undefined) settings.rowBits = 'uniform';
      const changed = changedSettings(settings, stored);
      if (changed.length)
        throw new QuireError(
          'E_CONFIG',
          `cannot resume with changed settings (${changed.join('; ')}); rerun with the original ones or use another --out`,
        );
      // A run stored before scale tuning existed had none: it resumes without, unless given
      // (`--resume --tune-steps S` tunes such a run, finished or not).
      if (!('tuneSteps' in stored) && o.settings.tuneSteps === undefined) settings.tuneSteps = 0;
    }
    ensureDirectory(o.outDir);
    removeStaleTemporaries(o.outDir);
    const spec: CompressionSpec = {
      method: settings.method,
      cycles: settings.cycles,
      groupSize: settings.groupSize,
      layers: settings.layers,
      sparsity: settings.prune,
      fpModelBytes: src.fpModelBytes,
      tensors: selectedTensors(settings, src.model.config),
    };
    Object.assign(spec, mixedSpec(settings.rowBits, spec.tensors, counts(), src.model.config.tied));
    return await iterate(run, { settings, corpus, evalValid, metadata, spec }, allocation, o);
  } finally {
    run.src.model.dispose(); // idempotent: `iterate` may have disposed it already
    run.corpus.close();
  }
}

/**
 * The bits of a size budget (`targetBits` / `targetSize`), written into the settings' `bits`,
 * `softmaxBits` and `embeddingBits`: a resumed run takes the allocation its report stored; a new
 * one measures the sensitivity of each group ({@link allocateBits}). Undefined without a budget
 * (or when the resumed run had none: the settings comparison then names the difference).
 * Aborting `signal` stops the measurement after its current evaluation (`E_INTERRUPTED`; nothing
 * of the run is written yet).
 */
async function planBits(
  run: CompressRun,
  evalValid: (m: LanguageModel) => number,
  metadata: Record<string, string>,
  progress: Progress | undefined,
  counts: () => Float64Array | undefined,
  signal: AbortSignal | undefined,
): Promise<BitAllocation | undefined> {
  const { settings } = run;
  if (settings.targetBits === null && settings.targetSize === null) return undefined;
  let allocation: BitAllocation | undefined;
  if (run.resumed) {
    allocation = run.resumed.report.allocation;
    if (!allocation) return undefined;
    progress?.message('size budget: the bit allocation stored by the run');
  } else {
    const tied = run.src.model.config.tied;
    const groupsText = tied ? 'the LSTM matrices and the shared embedding/softmax' : 'the LSTM matrices, the softmax and the embedding';
    const fractional = settings.rowBits !== 'uniform' ? ' (mixed vocabulary rows: 0.75-4 on average)' : '';
    progress?.message(`size budget: measuring the sensitivity of ${groupsText} to 1-4 bits${fractional}`);
    const target = settings.targetBits !== null ? { bitsPerParameter: settings.targetBits } : { fileBytes: settings.targetSize! };
    const base = {
      method: settings.method,
      cycles: settings.cycles,
      groupSize: settings.groupSize,
      sparsity: 0,
      fpModelBytes: run.src.fpModelBytes,
    };
    const quantized = (tensors: Record<string, number>) => mixedSpec(settings.rowBits, tensors, counts(), run.src.model.config.tied);
    // With mixed-precision rows the vocabulary matrices may take a mean between whole bits.
    const candidates = (g: BitGroup) =>
      settings.rowBits !== 'uniform' && vocabularyGroup(g, run.src.model.config) ? MIXED_BUDGET_BITS : BUDGET_BITS;
    const measured = async (m: BudgetStep) => {
      const what = m.group ? `${groupLabel(m.group, tied === true)} at ${bitsText(m.bits!)}` : 'FP';
      const step = m.fill ? 'size budget, spending the rest' : `size budget ${m.done}/${m.total}`;
      progress?.message(`${step}: ${what}, valid ppl ${m.perplexity.toFixed(2)}`);
      // Lets a Ctrl-C (the signal) or a SIGTERM (the run lock's handler) be seen between evaluations.
      await tick();
      if (signal?.aborted)
        throw new QuireError(
          'E_INTERRUPTED',
          'interrupted while measuring the size budget; nothing of the run was saved yet: run the command again',
        );
    };
    allocation = await allocateBits(run.src.model, base, target, evalValid, metadata, quantized, candidates, measured);
  }
  const chosen = (g: BitGroup) => allocation.groups[g]!.chosen;
  // A tied model has no softmax group: its softmax weight is the embedding, one bit count.
  const tied = !allocation.groups.softmax;
  settings.bits = chosen('lstm');
  settings.embeddingBits = chosen('embedding');
  settings.softmaxBits = tied ? settings.embeddingBits : chosen('softmax');
  const rest = tied
    ? `shared embedding/softmax ${settings.embeddingBits}`
    : `softmax ${settings.softmaxBits}, embedding ${settings.embeddingBits}`;
  progress?.message(
    `size budget: LSTM ${settings.bits} bits, ${rest} (predicted ${allocation.bitsPerParameter.toFixed(3)} bits per parameter)`,
  );
  return allocation;
}

/**
 * Iteration 0 (or the resumed run's state), then iterations up to T, then the export. A new run
 * quantizes `run.src.model` in place; a resumed one disposes it for the last checkpoint's model.
 */
async function iterate(
  run: CompressRun,
  ctx: RunContext,
  allocation: BitAllocation | undefined,
  o: CompressOptions,
): Promise<CompressResult> {
  const { settings, corpus, evalValid } = ctx;
  // W+A: from iteration 0 on, every forward pass (retraining, evaluation) sees quantized
  // activations; the FP baseline and the size budget's sensitivities are measured without.
  const activationQuant = settings.activationBits === null ? null : { bits: settings.activationBits, softmax: settings.layers !== 'lstm' };
  const batcher = new Batcher(corpus.ids.train, settings.batch, settings.steps, false);
  // The FP model as it was loaded: the teacher of distillation (a copy: the model is quantized in place).
  const teacher = settings.distill > 0 ? LanguageModel.fromBytes(run.src.model.toBytes('quire-model', {}, false), o) : null;
  // The model the run quantizes in place: the loaded FP model for a new run, the last checkpoint on resume.
  let model = run.src.model;
  // Straight-through retraining: the FP shadow weights of the quantized matrices, kept across
  // iterations and stored with each iteration's checkpoint.
  let shadow: Map<string, Float32Array> | null = null;
  try {
    let state: ResumeState;
    if (run.resumed) {
      state = run.resumed;
      model.dispose();
      model = checkpointModel(readRegularFile(finalCheckpoint(o.outDir, state), 'compress checkpoint'), o);
      o.progress?.message(`resuming after iteration ${state.report.iterations.length - 1} of ${settings.iterations}`);
      if (settings.straightThrough > 0) shadow = resumedShadow(model, ctx, state, o);
    } else {
      if (settings.straightThrough > 0) shadow = readTensors(model, Object.keys(ctx.spec.tensors));
      state = firstIteration(model, ctx, allocation, activationQuant, shadow, o);
    }
    for (let t = state.report.iterations.length; t <= settings.iterations; t++) {
      const t0 = performance.now();
      const lr = learningRateAt(settings, t);
      const through = shadow ? straightThrough(model, shadow, ctx, t) : undefined;
      const position = await retrain(
        model,
        teacher,
        batcher,
        settings,
        { lr, t, windows: retrainWindows(settings, batcher), ...through },
        state.position,
        o,
      );
      const ppl = evalValid(model);
      if (!Number.isFinite(ppl)) throw diverged(o.outDir, t, `validation perplexity after retraining is ${ppl}`);
      const { cm, record } = quantizeStep(model, ctx, t, t0, { lr, ppl }, o);
      if (!Number.isFinite(record.perplexityQuantized) || !Number.isFinite(record.quantizationLoss)) {
        cm.dispose();
        throw diverged(o.outDir, t, `the quantized model's validation perplexity is ${record.perplexityQuantized}`);
      }
      state.position = position;
      commit(o.outDir, state, cm, record, shadow);
      o.progress?.message(line(record, state.report.baseline.perplexityValid));
    }
    if (settings.tuneSteps > 0 && !state.report.tuning) model = await tune(model, teacher, batcher, ctx, state, o);
    return finish(o.outDir, state, settings, model, corpus, run.src.fpModelBytes);
  } finally {
    teacher?.dispose();
    model.dispose();
  }
}

/** Measures the FP baseline, runs iteration 0 (the one-shot quantization) and commits it: the run's first state. */
function firstIteration(
  model: LanguageModel,
  ctx: RunContext,
  allocation: BitAllocation | undefined,
  activationQuant: { bits: number; softmax: boolean } | null,
  shadow: Map<string, Float32Array> | null,
  o: CompressOptions,
): ResumeState {
  const { settings, corpus, evalValid } = ctx;
  const t0 = performance.now();
  const baseline = {
    // A budget has measured the FP model's validation perplexity already.
    perplexityValid: allocation?.perplexityFp ?? evalValid(model),
    perplexityTest: evaluatePerplexity(model, corpus.ids.test, settings.evalBatch, settings.steps, tokensPerWord(corpus.encoded, 'test'))
      .perplexity,
  };
  const report: CompressReport = {
    format: 'quire-compress-report',
    version: 1,
    settings: { ...settings },
    baseline,
    ...(allocation ? { allocation } : {}),
    iterations: [],
  };
  model.setActivationQuant(activationQuant);
  const { cm, record } = quantizeStep(model, ctx, 0, t0, null, o);
  if (
    !Number.isFinite(record.perplexityQuantized) ||
    !Number.isFinite(baseline.perplexityValid) ||
    !Number.isFinite(baseline.perplexityTest)
  ) {
    cm.dispose();
    throw new QuireError(
      'E_NONFINITE',
      `the model's perplexity is not finite (FP valid ${baseline.perplexityValid}, quantized ${record.perplexityQuantized}); ` +
        `nothing was written to ${o.outDir}`,
    );
  }
  const state: ResumeState = { report, checkpoint: '', position: 0 };
  commit(o.outDir, state, cm, record, shadow);
  o.progress?.message(line(record, baseline.perplexityValid));
  return state;
}

/** Iteration `t`'s [pruning and] quantization in place and its evaluation: the compressed model and the record. */
function quantizeStep(
  model: LanguageModel,
  ctx: RunContext,
  t: number,
  t0: number,
  retrain: { lr: number; ppl: number } | null,
  o: CompressOptions,
): { cm: CompressedModel; record: IterationRecord } {
  const { settings, spec } = ctx;
  if (settings.prune > 0 && (t === 0 || settings.pruneMask === 'each')) {
    prune(model, Object.keys(spec.tensors), sparsityAt(settings, t), settings.pruneScope);
  }
  o.onBeforeQuantize?.(model, t);
  const cm = CompressedModel.fromModel(model, spec, ctx.metadata(t));
  const losses = Object.entries(cm.losses);
  const sum = (f: (l: TensorLoss) => number) => losses.reduce((a, [, l]) => a + f(l), 0);
  const record: IterationRecord = {
    iteration: t,
    // Σ error / Σ norm over the matrices (each matrix's own ratio is its `relative`).
    quantizationLoss:
      sum((l) => l.error) /
      Math.max(
        sum((l) => l.norm),
        Number.MIN_VALUE,
      ),
    perMatrix: Object.fromEntries(losses.map(([n, l]) => [n, l.relative])),
    perplexityQuantized: ctx.evalValid(model),
    perplexityFp: retrain?.ppl ?? null,
    learningRate: retrain?.lr ?? null,
    seconds: (performance.now() - t0) / 1000,
  };
  return { cm, record };
}

function diverged(outDir: string, t: number, what: string): QuireError {
  return new QuireError(
    'E_NONFINITE',
    `iteration ${t}: ${what}; retraining diverged (learning rate too high?). The run in ${outDir} is kept at iteration ${t - 1}: ` +
      `--resume repeats iteration ${t} with the same settings, or start again in another --out with a lower --lr`,
  );
}

function line(r: IterationRecord, fp: number): string {
  const retrained =
    r.perplexityFp === null ? 'one-shot' : `retrained at lr ${r.learningRate!.toPrecision(3)}: FP ppl ${r.perplexityFp.toFixed(2)},`;
  return (
    `iteration ${r.iteration}: ${retrained} quantization loss ${r.quantizationLoss.toFixed(5)}, quantized ppl ` +
    `${r.perplexityQuantized.toFixed(2)} (FP baseline ${fp.toFixed(2)}) ${r.seconds.toFixed(0)} s`
  );
}

/**
 * Scale tuning ({@link CompressSettings.tuneSteps}): trains the last iteration's quantized model
 * with its codes fixed, re-fitting the scales after every window, then keeps the result
 * (`checkpoint-tuned.qcomp`) only when it lowers the validation perplexity. Records it in the
 * report and commits the state; returns the model the run ends with (the tuned one, or the last
 * iteration's again). Interrupted, `--resume` redoes the tuning from the last iteration.
 */
async function tune(
  model: LanguageModel,
  teacher: LanguageModel | null,
  batcher: Batcher,
  ctx: RunContext,
  state: ResumeState,
  o: CompressOptions,
): Promise<LanguageModel> {
  const { settings } = ctx;
  const t0 = performance.now();
  const last = readRegularFile(lastCheckpoint(o.outDir, state), 'compress checkpoint');
  const before = state.report.iterations[state.report.iterations.length - 1].perplexityQuantized;
  const cm = CompressedModel.fromBytes(last, o);
  let after = NaN;
  let position = state.position;
  try {
    const phase = {
      lr: settings.tuneLr,
      t: settings.iterations + 1,
      windows: settings.tuneSteps,
      tuning: true,
      afterWindow: () => void cm.refitScales(model),
    };
    position = await retrain(model, teacher, batcher, settings, phase, state.position, o);
    after = ctx.evalValid(model);
    if (after < before) writeFileAtomic(join(o.outDir, TUNED_CHECKPOINT), cm.toBytes());
  } catch (err) {
    // A diverged tuning is a tuning that did not help: the last iteration stays the model.
    if (!(err instanceof QuireError && err.code === 'E_NONFINITE')) throw err;
    o.progress?.message(`scale tuning diverged (${err.message})`);
  } finally {
    cm.dispose();
  }
  const kept = after < before;
  state.position = position;
  // The tuning's settings join the stored ones (a run stored before they existed lacked them).
  Object.assign(state.report.settings, { tuneSteps: settings.tuneSteps, tuneLr: settings.tuneLr });
  state.report.tuning = {
    steps: settings.tuneSteps,
    learningRate: settings.tuneLr,
    perplexityBefore: before,
    perplexityAfter: Number.isFinite(after) ? after : null,
    kept,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileAtomic(join(o.outDir, STATE_FILE), JSON.stringify(state));
  writeReports(o.outDir, state.report);
  o.progress?.message(
    `scale tuning: ${settings.tuneSteps} windows at lr ${settings.tuneLr.toPrecision(3)}, quantized ppl ${before.toFixed(2)} → ` +
      `${after.toFixed(2)}${kept ? '' : ' (not better: the last iteration is kept)'}`,
  );
  if (kept) return model;
  model.dispose();
  return checkpointModel(last, o);
}

/** The model a checkpoint file holds (dequantized, with the run's activation quantization, recorded in its metadata). */
function checkpointModel(bytes: Uint8Array, o: CompressOptions): LanguageModel {
  const ck = CompressedModel.fromBytes(bytes, o);
  try {
    return ck.toModel();
  } finally {
    ck.dispose();
  }
}

/** Windows of one iteration's retraining: `retrainSteps`, or `retrainEpochs` whole epochs. */
function retrainWindows(s: CompressSettings, batcher: Batcher): number {
  return s.retrainSteps ?? s.retrainEpochs * batcher.windows;
}

/**
 * Runs `phase.windows` training windows: an iteration's retraining in full precision (whole
 * epochs start at window 0 from a zero state; `retrainSteps` windows continue from window
 * `position`), or scale tuning (continuing from `position`); `phase.afterWindow` after every window.
 * Returns the next position. Masks on the model keep pruned entries at 0.
 */
async function retrain(
  model: LanguageModel,
  teacher: LanguageModel | null,
  batcher: Batcher,
  s: CompressSettings,
  phase: Phase,
  position: number,
  o: CompressOptions,
): Promise<number> {
  const { lr, t, windows: total } = phase;
  const tuning = phase.tuning === true;
  const label = tuning ? 'scale tuning' : `iteration ${t}`;
  // Whole epochs start at window 0; steps (and tuning) continue through the data.
  const start = s.retrainSteps === null && !tuning ? 0 : position;
  let lossSum = 0;
  const { dropout, seed } = model.config;
  model.setDropout(s.dropout);
  // Dropout masks drawn from a seed of the iteration: a resumed run draws the same ones.
  model.reseed((seed % 1_000_000_007) * 1009 + t);
  model.resetState(s.batch);
  teacher?.resetState(s.batch);
  try {
    await runWindows({
      model,
      teacher,
      distill: s.distill,
      temperature: s.distillTemperature,
      batcher,
      first: start,
      count: total,
      lr,
      clip: s.clip,
      resetAtWrap: { batch: s.batch },
      diverged: (done, _w, message) =>
        tuning
          ? new QuireError('E_NONFINITE', `window ${done + 1}: ${message}; a lower --tune-lr may help`)
          : diverged(o.outDir, t, `window ${done + 1}: ${message}`),
      afterWindow: async (done, _w, loss, rate) => {
        phase.afterWindow?.(done, done === total);
        lossSum += loss;
        o.progress?.update({
          label: tuning ? 'tuning' : 'iteration',
          epoch: tuning ? 1 : t,
          epochs: tuning ? 1 : s.iterations,
          window: done,
          windows: total,
          loss: lossSum / done,
          tokensPerSecond: rate,
          etaSeconds: ((total - done) * s.steps * s.batch) / rate,
          // The iterations left and the scale tuning after them (its windows at this speed).
          runEtaSeconds: tuning ? undefined : (((s.iterations - t + 1) * total - done + s.tuneSteps) * s.steps * s.batch) / rate,
        });
        await tick();
        if (o.signal?.aborted) {
          throw new QuireError('E_INTERRUPTED', `interrupted in ${label}; the run in ${o.outDir} continues with --resume from ${label}`);
        }
        return false;
      },
    });
  } finally {
    phase.close?.();
    // The compressed model records the FP run's config; dropout is a retraining setting only.
    model.setDropout(dropout);
  }
  return (start + total) % batcher.windows;
}

/** One retraining pass: iteration `t`'s (1..T), or scale tuning (`t` = T + 1, `tuning`). */
interface Phase {
  lr: number;
  t: number;
  windows: number;
  tuning?: boolean;
  /**
   * Run after window `done` (1-based; `last` for the pass's last one): scale tuning's re-fit of
   * the scales, straight-through retraining's shadow update.
   */
  afterWindow?: (done: number, last: boolean) => void;
  /** Run when the pass ends, completed or not: releases what the hooks hold. */
  close?: () => void;
}

/** Copies of `names` tensors of `model`. */
function readTensors(model: LanguageModel, names: string[]): Map<string, Float32Array> {
  return new Map(names.map((n) => [n, model.getTensor(n)]));
}

/**
 * The hooks of iteration `t`'s straight-through retraining ({@link CompressSettings.straightThrough}).
 * The model holds `Q(shadow)` when it starts. After each window the update the window made to a
 * quantized matrix (model − the quantization it started from) is added to its shadow; every
 * `straightThrough` windows the model takes the shadow weights and is quantized again in place;
 * after the last window it keeps the shadow weights (the retrained FP model of the iteration).
 * Every {@link ROW_ALLOCATION_INTERVAL}-th re-quantization allocates the bits of mixed-precision
 * rows afresh; those between keep them ({@link CompressedModel.requantize}: one quantization
 * instead of one per bit count).
 * With pruning, the shadow of a pruned weight is held at 0 (the masks nest, as without).
 */
function straightThrough(
  model: LanguageModel,
  shadow: Map<string, Float32Array>,
  ctx: RunContext,
  t: number,
): Pick<Phase, 'afterWindow' | 'close'> {
  const names = [...shadow.keys()];
  let quantized = readTensors(model, names);
  // Pruning's masks (fixed during retraining): a pruned weight's shadow is 0, so it never revives.
  const masks = new Map(names.map((n) => [n, getMask(model, n)]));
  let layout: CompressedModel | null = null;
  let requantized = 0;
  const accumulate = () => {
    for (const n of names) {
      const w = model.getTensor(n);
      const q = quantized.get(n)!;
      const sh = shadow.get(n)!;
      const mask = masks.get(n);
      if (mask) for (let i = 0; i < sh.length; i++) sh[i] = mask[i] ? sh[i] + w[i] - q[i] : 0;
      else for (let i = 0; i < sh.length; i++) sh[i] += w[i] - q[i];
      model.setTensor(n, sh);
    }
  };
  return {
    afterWindow: (done, last) => {
      if (!last && done % ctx.settings.straightThrough !== 0) return;
      accumulate();
      if (last) return;
      if (layout && ++requantized % ROW_ALLOCATION_INTERVAL !== 0) layout.requantize(model);
      else {
        layout?.dispose();
        layout = CompressedModel.fromModel(model, ctx.spec, ctx.metadata(t));
      }
      quantized = readTensors(model, names);
    },
    close: () => layout?.dispose(),
  };
}

/**
 * Appends `record`, writes the checkpoint (and the shadow weights of straight-through retraining),
 * then `state.json` (the commit point), then removes the previous iteration's files and writes the reports.
 */
function commit(
  outDir: string,
  state: ResumeState,
  cm: CompressedModel,
  record: IterationRecord,
  shadow: Map<string, Float32Array> | null,
): void {
  const t = record.iteration;
  const name = checkpointName(t);
  writeFileAtomic(join(outDir, name), cm.toBytes());
  cm.dispose();
  if (shadow) {
    const tensors = new Map([...shadow].map(([n, values]) => [n, f32Tensor([values.length], values)]));
    writeFileAtomic(join(outDir, shadowName(t)), writeSafetensors(tensors, { format: 'quire-shadow', iteration: String(t) }));
  }
  state.report.iterations.push(record);
  state.checkpoint = name;
  writeFileAtomic(join(outDir, STATE_FILE), JSON.stringify(state));
  if (t > 0) {
    rmSync(join(outDir, checkpointName(t - 1)), { force: true });
    rmSync(join(outDir, shadowName(t - 1)), { force: true });
  }
  writeReports(outDir, state.report);
}

/**
 * The shadow weights a resumed straight-through run continues from: those stored with its last
 * iteration, or (a run stored without them) the last quantized model's, said in a message.
 * `E_FORMAT` when the stored file does not hold exactly the quantized matrices at their sizes.
 */
function resumedShadow(model: LanguageModel, ctx: RunContext, state: ResumeState, o: CompressOptions): Map<string, Float32Array> {
  const names = Object.keys(ctx.spec.tensors);
  const path = join(o.outDir, shadowName(state.report.iterations.length - 1));
  if (!isFile(path)) {
    o.progress?.message(`${path} is missing: the shadow weights restart from the last quantized model`);
    return readTensors(model, names);
  }
  const stored = readSafetensors(readRegularFile(path, 'straight-through shadow weights'), path).tensors;
  const shadow = new Map<string, Float32Array>();
  for (const n of names) {
    const t = stored.get(n);
    const values = t ? f32Values(n, t, path) : undefined;
    const expected = model.tensorShape(n).reduce((a, d) => a * d, 1);
    if (!values || values.length !== expected)
      throw new QuireError(
        'E_FORMAT',
        `${path}: tensor '${n}' ${values ? `has ${values.length} values, not ${expected}` : 'is missing'}; ` +
          'delete the file to restart the shadow weights from the last quantized model',
      );
    shadow.set(n, values);
  }
  if (stored.size !== names.length)
    throw new QuireError('E_FORMAT', `${path} holds ${stored.size} tensors, not the run's ${names.length} quantized matrices`);
  return shadow;
}

function writeReports(outDir: string, report: CompressReport): void {
  const problems = validateReport(report);
  if (problems.length) throw new QuireError('E_STATE', `internal: the report does not validate: ${problems.join('; ')}`);
  writeFileAtomic(join(outDir, REPORT_FILE), JSON.stringify(report, null, 2) + '\n');
  writeFileAtomic(join(outDir, 'report.md'), reportMarkdown(report));
  const plots = reportPlots(report);
  writeFileAtomic(join(outDir, 'loss.svg'), plots.loss);
  writeFileAtomic(join(outDir, 'perplexity.svg'), plots.perplexity);
}

/** Exports the last iteration's quantized model and completes the report with its test perplexity and size. */
function finish(
  outDir: string,
  state: ResumeState,
  settings: CompressSettings,
  model: LanguageModel,
  corpus: OpenCorpus,
  fpModelBytes: number,
): CompressResult {
  const bytes = readRegularFile(finalCheckpoint(outDir, state), 'compress checkpoint');
  const modelPath = join(outDir, COMPRESSED_FILE);
  writeFileAtomic(modelPath, bytes);
  const cm = CompressedModel.fromBytes(bytes, { backend: model.backend.name });
  const header = cm.header;
  cm.dispose();
  const last = state.report.iterations[state.report.iterations.length - 1];
  state.report.final = {
    perplexityValid: state.report.tuning?.kept ? state.report.tuning.perplexityAfter! : last.perplexityQuantized,
    perplexityTest: evaluatePerplexity(model, corpus.ids.test, settings.evalBatch, settings.steps, tokensPerWord(corpus.encoded, 'test'))
      .perplexity,
    modelBytes: bytes.length,
    fpModelBytes,
    bitsPerWeight: header.bitsPerQuantizedWeight,
    bitsPerParameter: (8 * (header.quantizedBytes + header.fpBytes)) / (header.quantizedWeights + header.fpParams),
  };
  writeFileAtomic(join(outDir, STATE_FILE), JSON.stringify(state));
  writeReports(outDir, state.report);
  return { settings, report: state.report, modelPath };
}

/** The model the run ends with so far: the tuned checkpoint when tuning was kept, else the last iteration's. */
function finalCheckpoint(outDir: string, state: ResumeState): string {
  if (!state.report.tuning?.kept) return lastCheckpoint(outDir, state);
  const file = join(outDir, TUNED_CHECKPOINT);
  if (!isFile(file))
    throw new QuireError('E_FORMAT', `${file} is missing: the run in ${outDir} cannot be resumed; start a new run in another --out`);
  return file;
}

/** The checkpoint of the state's last iteration, derived from the iteration number inside `outDir`. */
function lastCheckpoint(outDir: string, state: ResumeState): string {
  const file = join(outDir, checkpointName(state.report.iterations.length - 1));
  if (!isFile(file))
    throw new QuireError('E_FORMAT', `${file} is missing: the run in ${outDir} cannot be resumed; start a new run in another --out`);
  return file;
}

function readState(path: string): ResumeState {
  try {
    const s = JSON.parse(readRegularFile(path, 'compress state', 2 ** 26).toString('utf8')) as ResumeState;
    const problems = s?.report ? validateReport(s.report) : ['no report'];
    if (problems.length) throw new Error(problems.join('; '));
    if (!Number.isSafeInteger(s.position) || s.position < 0)
      throw new Error(`position must be a non-negative integer (got ${JSON.stringify(s.position)})`);
    if (s.report.iterations.length === 0) throw new Error('no finished iteration');
    return s;
  } catch (err) {
    throw new QuireError(
      'E_FORMAT',
      `${path} is not a valid compress state (${err instanceof Error ? err.message : err}); start a new run in another --out`,
    );
  }
}
