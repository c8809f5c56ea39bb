import { loadBackend } from './backend/loader.js';
import type { Backend, RawLstmModel } from './backend/types.js';
import { guard, QuireError } from './errors.js';
import { Handle } from './handle.js';
import {
  bytes as byteArg,
  describe,
  finiteNumber,
  flag,
  floats,
  integerIn,
  numberIn,
  objectArg,
  stringRecord,
  text,
  tokenIds,
} from './args.js';
import type { BackendOption } from './options.js';

/** Shapes and regularisation of an LSTM language model (the embedding width is `hidden`). */
export interface ModelConfig {
  /** Vocabulary size V. */
  vocab: number;
  /** Units per LSTM layer H. */
  hidden: number;
  layers: number;
  /** Uniform initialisation range ±initScale for every parameter. */
  initScale: number;
  /** Dropout probability on non-recurrent connections (training only). */
  dropout: number;
  /** Seed of the model's PRNG (initialisation and dropout masks). */
  seed: number;
  /**
   * Tied embeddings (Press & Wolf 2017): one `[V, H]` matrix is the embedding and the softmax
   * weight (no `softmax.weight` tensor; the softmax keeps its bias), `V·H` fewer parameters.
   * Default false; a model's `config` always states it.
   */
  tied?: boolean;
  /**
   * Adaptive softmax (Grave et al. 2017; PyTorch's `AdaptiveLogSoftmaxWithLoss`, `div_value` 4):
   * the increasing cut-offs `c₀ < c₁ < … < V` of its clusters (ids in decreasing frequency: the
   * head predicts `0..c₀` and one entry per cluster; cluster `i` holds `cᵢ..cᵢ₊₁`, projected to
   * `⌊H/4^{i+1}⌋` dimensions). Absent for the full softmax. See `adaptiveCutoffs`.
   */
  cutoffs?: number[];
}

/** `cutoffs` checked to be an array of non-negative integers (`E_CONFIG`); the core checks the rest. */
function cutoffList(cutoffs: unknown): number[] {
  if (!Array.isArray(cutoffs) || !cutoffs.every((c) => Number.isSafeInteger(c) && c >= 0)) {
    throw new QuireError('E_CONFIG', `cutoffs must be an array of increasing token ids (got ${JSON.stringify(cutoffs)})`);
  }
  return cutoffs;
}

/**
 * Cut-offs of an adaptive softmax for a vocabulary of `vocab` tokens sorted by decreasing
 * frequency: a head of the 2,000 most frequent tokens, then clusters growing fivefold (2,000,
 * 10,000, 50,000, …) while they stay below the vocabulary. `E_CONFIG` when the vocabulary is too
 * small (≤ 2,000 tokens) to need one.
 */
export function adaptiveCutoffs(vocab: number): number[] {
  const out: number[] = [];
  for (let c = 2000; c < vocab && out.length < 8; c *= 5) out.push(c);
  if (!out.length)
    throw new QuireError('E_CONFIG', `a vocabulary of ${vocab} tokens is too small for an adaptive softmax (it needs more than 2000)`);
  return out;
}

/** One tail cluster of an adaptive softmax: tokens `lo..hi`, projected to `dim` dimensions. */
export interface AdaptiveTail {
  lo: number;
  hi: number;
  dim: number;
}

/** The tail clusters of a config's adaptive softmax (none for the full softmax), as the core derives them. */
export function adaptiveTails(config: Pick<ModelConfig, 'vocab' | 'hidden' | 'cutoffs'>): AdaptiveTail[] {
  const c = config.cutoffs ?? [];
  return c.map((lo, i) => ({ lo, hi: c[i + 1] ?? config.vocab, dim: tailDim(config.hidden, i) }));
}

/** The projection width of tail cluster `i` with `hidden` units: `max(1, ⌊hidden / 4^{i+1}⌋)` (`div_value` 4). */
export function tailDim(hidden: number, i: number): number {
  return Math.max(1, Math.floor(hidden / 4 ** (i + 1)));
}

/** The facade's form of a config the core reports (the one conversion; every class uses it). */
export function configFromRaw(c: RawConfig): ModelConfig {
  return {
    vocab: c.vocab,
    hidden: c.hidden,
    layers: c.layers,
    initScale: c.init_scale,
    dropout: c.dropout,
    seed: c.seed,
    tied: c.tied ?? false,
    ...(c.cutoffs?.length ? { cutoffs: [...c.cutoffs] } : {}),
  };
}

/** `quire-checkpoint` holds training state; `quire-model` is the trained model. */
export type ModelFormat = 'quire-checkpoint' | 'quire-model';

/** A model config as the core writes it (JSON, snake_case). */
export interface RawConfig {
  vocab: number;
  hidden: number;
  layers: number;
  init_scale: number;
  dropout: number;
  seed: number;
  /** Absent (false) in untied models' files. */
  tied?: boolean;
  /** Absent (full softmax) or non-empty. */
  cutoffs?: number[];
}

/**
 * An LSTM language model held by the Rust core: embedding → `layers` LSTM layers (gate order
 * i, f, g, o) → softmax. Weights, gradients and the carried hidden state stay in Rust; each call
 * passes one window of `T·B` token ids, time-major (`t·B + b`). Tensor names: `embedding`,
 * `lstm.<l>.w_ih`, `lstm.<l>.w_hh`, `lstm.<l>.bias`, `softmax.weight` (absent when `tied`: the
 * embedding is then the softmax weight), `softmax.bias`; with an adaptive softmax (`cutoffs`) the
 * last two are `softmax.head.weight`, `softmax.head.bias`, then `softmax.tail.<i>.proj` and
 * `softmax.tail.<i>.weight` per cluster.
 */
/** `value` as a LanguageModel, else `E_CONFIG` naming it (`name` must be a LanguageModel). */
export function languageModelArg(name: string, value: unknown): LanguageModel {
  if (!(value instanceof LanguageModel)) throw new QuireError('E_CONFIG', `${name} must be a LanguageModel (got ${describe(value)})`);
  return value;
}

export class LanguageModel extends Handle<RawLstmModel> {
  readonly #backend: Backend;

  /** @internal Wraps a raw handle (sibling facades such as `ts/compress/` create models this way). */
  constructor(backend: Backend, raw: RawLstmModel) {
    super(raw, 'LanguageModel');
    this.#backend = backend;
  }

  /** The backend that holds the model. */
  get backend(): Backend {
    return this.live(this.#backend);
  }

  /** A freshly initialised model. Out-of-range settings are `E_CONFIG`. */
  static create(config: ModelConfig, options: BackendOption = {}): LanguageModel {
    objectArg('config', config);
    const backend = loadBackend(objectArg('options', options).backend);
    if (!Number.isSafeInteger(config.seed) || config.seed < 0) {
      throw new QuireError('E_CONFIG', `seed must be a non-negative integer (got ${config.seed})`);
    }
    if (config.tied !== undefined && typeof config.tied !== 'boolean') {
      throw new QuireError('E_CONFIG', `tied must be true or false (got ${JSON.stringify(config.tied)})`);
    }
    const json = JSON.stringify({
      vocab: config.vocab,
      hidden: config.hidden,
      layers: config.layers,
      init_scale: config.initScale,
      dropout: config.dropout,
      seed: config.seed,
      tied: config.tied ?? false,
      ...(config.cutoffs?.length ? { cutoffs: cutoffList(config.cutoffs) } : {}),
    } satisfies RawConfig);
    return new LanguageModel(
      backend,
      guard(() => new backend.raw.LstmModel(json)),
    );
  }

  /** Loads a `quire-model` or `quire-checkpoint` file's bytes (`E_FORMAT` when malformed). */
  static fromBytes(bytes: Uint8Array, options: BackendOption = {}): LanguageModel {
    const b = byteArg('bytes', bytes);
    const backend = loadBackend(objectArg('options', options).backend);
    return new LanguageModel(
      backend,
      guard(() => backend.raw.LstmModel.fromBytes(b)),
    );
  }

  get config(): ModelConfig {
    return configFromRaw(JSON.parse(this.raw.configJson()) as RawConfig);
  }

  /** String metadata of the file the model was loaded from (empty for a new model). */
  get metadata(): Record<string, string> {
    return JSON.parse(this.raw.metadataJson()) as Record<string, string>;
  }

  /** Streams B of the carried state. */
  get batch(): number {
    return this.raw.batch();
  }

  get parameterCount(): number {
    return this.raw.parameterCount();
  }

  /** Zeroes the carried state and sets the number of streams B for later windows. */
  resetState(batch: number): void {
    integerIn('batch', batch, 1, 65536);
    guard(() => this.raw.resetState(batch));
  }

  /**
   * One SGD step on a window (dropout on): gradients of `(1/B)·Σ CE` over the window, clipped
   * to global norm `clip` (≤ 0: no clipping), times `lr`. Returns mean cross-entropy per token
   * (nats). The state carries into the next window. Divergence is `E_NONFINITE` (weights kept).
   */
  trainStep(inputs: Uint32Array, targets: Uint32Array, lr: number, clip: number): number {
    const raw = this.raw;
    const [i, t] = [tokenIds('inputs', inputs), tokenIds('targets', targets)];
    stepSettings(lr, clip);
    return guard(() => raw.trainStep(i, t, lr, clip));
  }

  /**
   * A `trainStep` distilled from `teacher` (an FP model on the same backend with the same
   * vocabulary and batch, e.g. the model being compressed): the teacher runs the window without
   * dropout (its state carries too) and the gradient is that of `(1−α)·CE + α·KL(teacher ‖ this)`;
   * at a `temperature` T ≠ 1 the KL term compares both distributions softened by T, scaled by T².
   * Returns the data cross-entropy.
   */
  trainStepDistilled(
    teacher: LanguageModel,
    alpha: number,
    inputs: Uint32Array,
    targets: Uint32Array,
    lr: number,
    clip: number,
    temperature = 1,
  ): number {
    const raw = this.raw;
    if (!(teacher instanceof LanguageModel))
      throw new QuireError('E_CONFIG', `the teacher must be a LanguageModel (got ${describe(teacher)})`);
    if (teacher === this) throw new QuireError('E_CONFIG', 'a model cannot be its own teacher');
    if (teacher.backend !== this.backend) throw new QuireError('E_CONFIG', 'the teacher must live on the same backend');
    numberIn('alpha', alpha, 0, 1);
    if (!(finiteNumber('temperature', temperature) > 0 && temperature <= 100))
      throw new QuireError('E_CONFIG', `temperature must be a number in (0, 100] (got ${temperature})`);
    const [i, t] = [tokenIds('inputs', inputs), tokenIds('targets', targets)];
    stepSettings(lr, clip);
    return guard(() => raw.trainStepDistilled(teacher.raw, alpha, temperature, i, t, lr, clip));
  }

  /** Restarts the PRNG of the dropout masks from `seed` (a non-negative safe integer). */
  reseed(seed: number): void {
    integerIn('seed', seed, 0, Number.MAX_SAFE_INTEGER);
    guard(() => this.raw.reseed(seed));
  }

  /** Dropout probability of later training steps (`[0, 1)`, else `E_CONFIG`). */
  setDropout(p: number): void {
    const raw = this.raw;
    finiteNumber('dropout', p);
    guard(() => raw.setDropout(p));
  }

  /**
   * Straight-through activation quantization of later forward passes (training and evaluation),
   * or off (`null`): the input of every LSTM matrix product (and of the softmax when
   * `softmax`) is replaced per vector by its greedy `bits`-bit approximation, as the engine's
   * `popcount-a<bits>` kernel does, and gradients pass through the quantizer unchanged.
   * `bits` 1..=8, else `E_CONFIG`. A setting of this handle, not saved with the model.
   */
  setActivationQuant(quant: { bits: number; softmax: boolean } | null): void {
    const raw = this.raw;
    const q = quant === null ? null : objectArg('activation quantization', quant);
    const bits = q === null ? 0 : integerIn('activation bits', q.bits, 1, 8);
    const softmax = q === null ? false : flag('softmax', q.softmax);
    guard(() => raw.setActivationQuant(bits, softmax));
  }

  /** Mean cross-entropy per token of a window without dropout; the state carries. */
  evaluate(inputs: Uint32Array, targets: Uint32Array): number {
    const [i, t] = [tokenIds('inputs', inputs), tokenIds('targets', targets)];
    return guard(() => this.raw.evaluate(i, t));
  }

  /**
   * Gradients of `(1/B)·Σ CE` for a window (read them with `getGradient`) without updating the
   * weights or the carried state; returns the mean cross-entropy per token.
   */
  gradients(inputs: Uint32Array, targets: Uint32Array): number {
    const [i, t] = [tokenIds('inputs', inputs), tokenIds('targets', targets)];
    return guard(() => this.raw.gradients(i, t));
  }

  /** Gradient norm before clipping of the last `trainStep`. */
  get lastGradNorm(): number {
    return this.raw.lastGradNorm();
  }

  tensorNames(): string[] {
    return guard(() => this.raw.tensorNames());
  }

  tensorShape(name: string): number[] {
    const raw = this.raw;
    return Array.from(guard(() => raw.tensorShape(text('tensor name', name))));
  }

  getTensor(name: string): Float32Array {
    const raw = this.raw;
    return guard(() => raw.getTensor(text('tensor name', name)));
  }

  /** Replaces a tensor's values (same length, finite: else `E_SHAPE` / `E_NONFINITE`). */
  setTensor(name: string, data: Float32Array): void {
    const raw = this.raw;
    const n = text('tensor name', name);
    const d = floats('data', data);
    guard(() => raw.setTensor(n, d));
  }

  getGradient(name: string): Float32Array {
    const raw = this.raw;
    return guard(() => raw.getGradient(text('tensor name', name)));
  }

  /** The model in the quire container (a plain `quire-model` by default); `withState` includes the carried `(h, c)`. */
  toBytes(format: ModelFormat = 'quire-model', metadata: Record<string, string> = {}, withState = false): Uint8Array {
    const raw = this.raw;
    const f = text('format', format);
    const meta = JSON.stringify(stringRecord('metadata', metadata));
    const state = flag('withState', withState);
    return guard(() => raw.toBytes(f, meta, state));
  }
}

/** The learning rate (finite, >= 0) and clip (finite) of a training step, else `E_CONFIG`. */
function stepSettings(lr: number, clip: number): void {
  if (finiteNumber('lr', lr) < 0) throw new QuireError('E_CONFIG', `lr must be a finite number >= 0 (got ${lr})`);
  finiteNumber('clip', clip);
}
