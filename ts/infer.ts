import { loadBackend } from './backend/loader.js';
import type { Backend, RawInferenceEngine } from './backend/types.js';
import { guard } from './errors.js';
import { Handle } from './handle.js';
import { bytes as byteArg, floats, integerIn, numberIn, objectArg, text, tokenIds } from './args.js';
import { configFromRaw, type LanguageModel, languageModelArg, type ModelConfig, type RawConfig } from './model.js';
import type { Kernel } from './kernel.js';
import type { BackendOption } from './options.js';

export interface InferenceOptions extends BackendOption {
  /** Kernel of the packed products (default `auto`). */
  kernel?: Kernel;
}

/** How the next token is drawn from the logits. */
export interface SampleOptions {
  /** `softmax(z / temperature)`; 0 picks the most likely token. Default 1. */
  temperature?: number;
  /** Sample among the k most likely tokens only; 0 (default) = all. */
  topK?: number;
}

/** The largest number of streams an engine steps at once. */
export const MAX_STREAMS = 64;

/** The largest sampling temperature: the largest f32, what the core computes with. */
export const MAX_TEMPERATURE = 3.4028234663852886e38;

/**
 * Runs an LSTM language model token by token for 1..64 streams. Loaded from a compressed file,
 * every quantized matrix (LSTM, softmax, embedding) stays bit-packed and goes through the LUT
 * kernels; full-precision matrices use the f32 kernels. Weights, state and work buffers live in
 * Rust; a step passes B token ids in and returns the B×V logits (row b = stream b).
 */
export class InferenceEngine extends Handle<RawInferenceEngine> {
  readonly #backend: Backend;

  private constructor(backend: Backend, raw: RawInferenceEngine) {
    super(raw, 'InferenceEngine');
    this.#backend = backend;
  }

  /** The backend that runs the engine. */
  get backend(): Backend {
    return this.live(this.#backend);
  }

  /** Loads a `quire-compressed`, `quire-model` or `quire-checkpoint` file (`E_FORMAT` when corrupt). */
  static fromBytes(bytes: Uint8Array, options: InferenceOptions = {}): InferenceEngine {
    const b = byteArg('bytes', bytes);
    const o = objectArg('options', options);
    const kernel = text('kernel', o.kernel ?? 'auto');
    const backend = loadBackend(o.backend);
    return new InferenceEngine(
      backend,
      guard(() => backend.raw.InferenceEngine.fromBytes(b, kernel)),
    );
  }

  /** An engine over a model's current full-precision weights (on the model's backend). */
  static fromModel(model: LanguageModel, options: Omit<InferenceOptions, 'backend'> = {}): InferenceEngine {
    languageModelArg('model', model);
    const kernel = text('kernel', objectArg('options', options).kernel ?? 'auto');
    const raw = model.raw;
    return new InferenceEngine(
      model.backend,
      guard(() => model.backend.raw.InferenceEngine.fromModel(raw, kernel)),
    );
  }

  get config(): ModelConfig {
    return configFromRaw(JSON.parse(this.raw.configJson()) as RawConfig);
  }

  /** The file's string metadata (e.g. `vocabulary`). */
  get metadata(): Record<string, string> {
    return JSON.parse(this.raw.metadataJson()) as Record<string, string>;
  }

  /** The kernel in use, resolved: `lut-i8`, `lut-f32` or `popcount-a<k>` (never `auto` or `popcount`). */
  get kernel(): Kernel {
    return this.raw.kernel() as Kernel;
  }

  /** Bits per weight of every matrix (`embedding`, `lstm.<l>.w_ih`, ...); 32 = full precision. */
  get bits(): Record<string, number> {
    return JSON.parse(this.raw.bitsJson()) as Record<string, number>;
  }

  /** Bytes the weights occupy in memory (packed matrices with their kernel layout). */
  get weightBytes(): number {
    return this.raw.weightBytes();
  }

  /** Streams B of the carried state. */
  get batch(): number {
    return this.raw.batch();
  }

  /** Zeroes the state for `batch` streams (1..64, else `E_CONFIG`). */
  resetState(batch = 1): void {
    integerIn('batch', batch, 1, 64);
    guard(() => this.raw.reset(batch));
  }

  /** Seeds the sampler (a non-negative safe integer). */
  seed(seed: number): void {
    const raw = this.raw;
    integerIn('seed', seed, 0, Number.MAX_SAFE_INTEGER);
    guard(() => raw.seed(seed));
  }

  /** Feeds one token per stream; returns the B×V logits. Ids out of range or a wrong count: `E_SHAPE`. */
  step(tokens: Uint32Array | readonly number[]): Float32Array {
    const t = tokenIds('tokens', tokens);
    return guard(() => this.raw.step(t));
  }

  /**
   * Feeds one token per stream like {@link step}, leaving the same state bit for bit, but computes no logits (about
   * half a step's work when the vocabulary is large): for tokens whose predictions nobody reads. Errors as `step`'s.
   */
  advance(tokens: Uint32Array | readonly number[]): void {
    const t = tokenIds('tokens', tokens);
    guard(() => this.raw.advance(t));
  }

  /**
   * The B×V logits of the step that left the carried state: the output layer again, with no token fed and the state
   * unchanged. After {@link setState} (or {@link advance}) they are, bit for bit, what the step that made that state
   * returned; after a reset, the output bias.
   */
  logitsOfState(): Float32Array {
    return guard(() => this.raw.logitsOfState());
  }

  /**
   * Feeds one token per stream like {@link step}, leaving the same state and the same logits for every reader
   * ({@link topK}, {@link candidates}, {@link values}, {@link sample}, {@link logits}), but returns nothing and computes
   * the output layer on demand: a model with an adaptive softmax computes its head now (shortlist and one entry per
   * cluster) and a tail cluster only when a reader needs a word of it (top-k skips a cluster whose probability is below
   * the k-th best found). Errors as `step`'s.
   */
  feed(tokens: Uint32Array | readonly number[]): void {
    const t = tokenIds('tokens', tokens);
    guard(() => this.raw.feed(t));
  }

  /** {@link logitsOfState} with the output layer computed on demand, as {@link feed} computes it. */
  outputOfState(): void {
    guard(() => this.raw.outputOfState());
  }

  /**
   * Ids of `stream` (among `among`, else all) with the `k` largest logits and every other whose logit is at least the
   * k-th's minus `slack` (default 0), best first (ties: lower id first): what ranking the whole row gives, with an
   * adaptive model's tail clusters computed only when they can hold one. `E_STATE` before a step.
   */
  candidates(k: number, options: { slack?: number; among?: Uint32Array | readonly number[]; stream?: number } = {}): Uint32Array {
    const o = objectArg('options', options);
    integerIn('k', k, 0, 0xffffffff);
    const stream = integerIn('stream', o.stream ?? 0, 0, this.batch - 1);
    const slack = numberIn('slack', o.slack ?? 0, 0, MAX_TEMPERATURE);
    const among = o.among === undefined ? undefined : tokenIds('among', o.among);
    return guard(() => Uint32Array.from(this.raw.candidates(stream, k, slack, among)));
  }

  /** The logits of `stream` for `ids` (computing the tail clusters that hold them). */
  values(ids: Uint32Array | readonly number[], stream = 0): Float32Array {
    const t = tokenIds('ids', ids);
    integerIn('stream', stream, 0, this.batch - 1);
    return guard(() => this.raw.values(stream, t));
  }

  /** Tail clusters of the adaptive softmax computed for the current output so far, and of the model (0 and 0 without). */
  get tailsComputed(): { computed: number; total: number } {
    const [computed, total] = this.raw.tailsComputed();
    return { computed, total };
  }

  /** Mean cross-entropy (nats per token) of a time-major window of T·B tokens; the state carries. */
  evaluate(inputs: Uint32Array, targets: Uint32Array): number {
    const [i, t] = [tokenIds('inputs', inputs), tokenIds('targets', targets)];
    return guard(() => this.raw.evaluate(i, t));
  }

  /** The next token of every stream, drawn from the last step's logits with the seeded sampler. */
  sample(options: SampleOptions = {}): Uint32Array {
    const raw = this.raw;
    const o = objectArg('options', options);
    const topK = integerIn('topK', o.topK ?? 0, 0, 0xffffffff);
    const temperature = numberIn('temperature', o.temperature ?? 1, 0, MAX_TEMPERATURE);
    return guard(() => Uint32Array.from(raw.sample(temperature, topK)));
  }

  /** Ids of the k largest logits of `stream` in the last step, most likely first. */
  topK(k: number, stream = 0): Uint32Array {
    integerIn('k', k, 1, 0xffffffff);
    integerIn('stream', stream, 0, this.batch - 1);
    return guard(() => Uint32Array.from(this.raw.topK(stream, k)));
  }

  /** The carried state of `stream`: per layer `h`, then per layer `c` (`2·layers·hidden` values). */
  state(stream = 0): Float32Array {
    integerIn('stream', stream, 0, this.batch - 1);
    return guard(() => this.raw.state(stream));
  }

  /**
   * Replaces the carried state of `stream` (as {@link state} gives it; `E_SHAPE` / `E_NONFINITE` otherwise); the last logits
   * are dropped.
   */
  setState(state: Float32Array, stream = 0): void {
    integerIn('stream', stream, 0, this.batch - 1);
    const s = floats('state', state);
    guard(() => this.raw.setState(stream, s));
  }
}
