import { loadBackend } from './backend/loader.js';
import type { BackendName, RawQuantizedMatrix } from './backend/types.js';
import { guard, QuireError } from './errors.js';
import { bytes, checkBatch, floats, integerIn, objectArg, text } from './args.js';
import { Handle } from './handle.js';
import type { Kernel } from './kernel.js';
import type { BackendOption } from './options.js';

/** Per-row binary-coding solvers (docs/method.md §1). */
export type QuantMethod = 'greedy' | 'refined' | 'alternating';

export interface QuantizeOptions extends BackendOption {
  /** Bits per weight, 1 to 8. */
  bits: number;
  /** Solver (default `alternating`, the most accurate; `greedy` is the fastest). */
  method?: QuantMethod;
  /** Rounds of the alternating solver (default 2). */
  cycles?: number;
  /** Columns per scale group along the input axis: 0 (default) = whole row, else a multiple of 64. */
  groupSize?: number;
  /** Keep-mask (nonzero = keep), one entry per weight: scales fit on kept weights, pruned ones dequantize to 0. */
  mask?: Uint8Array;
  /**
   * Round each scale to the nearest f16 (where f16 holds it at full precision), as `quire
   * compress` does so that its files store scales in half the bytes (default false: f32 scales).
   */
  halfScales?: boolean;
}

export interface MatvecOptions {
  /** Default `auto` (= `lut-i8`). */
  kernel?: Kernel;
  /** Activation codes for `popcount`, 1 to 8 (default 2); `popcount-a<k>` names its own. */
  activationBits?: number;
}

/** Largest batch of `matmul`. */
export const MAX_BATCH = 64;

/** `v` (or `fallback` when omitted) as a count the bindings take (`E_CONFIG` otherwise). */
const checkCount = (what: string, v: number | undefined, fallback: number): number => integerIn(what, v ?? fallback, 0, 0xffffffff);

/**
 * A quantized matrix held by the backend (Rust-owned): `Ŵ = Σ_i α_i·b_i` per row and group.
 * `scales`, `planes` and `mask` return copies in the packed format (README, "Packed
 * binary-code format"). The memory is released by `dispose()` (then any use is `E_STATE`), or
 * when this object is garbage-collected.
 */
export class QuantizedMatrix extends Handle<RawQuantizedMatrix> {
  readonly #bits: number;
  readonly #rows: number;
  readonly #cols: number;
  readonly #groupSize: number;
  readonly #relativeError: number;
  readonly #backend: BackendName;

  /** @internal use `quantize()`. */
  constructor(raw: RawQuantizedMatrix, backend: BackendName) {
    super(raw, 'QuantizedMatrix');
    this.#backend = backend;
    this.#bits = raw.bits();
    this.#rows = raw.rows();
    this.#cols = raw.cols();
    this.#groupSize = raw.groupSize();
    this.#relativeError = raw.relativeError();
  }

  get bits(): number {
    return this.live(this.#bits);
  }

  get rows(): number {
    return this.live(this.#rows);
  }

  get cols(): number {
    return this.live(this.#cols);
  }

  /** Columns per scale group (`cols` when scales are per row). */
  get groupSize(): number {
    return this.live(this.#groupSize);
  }

  /** `‖W−Ŵ‖²/‖W‖²` against the quantized weights. */
  get relativeError(): number {
    return this.live(this.#relativeError);
  }

  get backend(): BackendName {
    return this.live(this.#backend);
  }

  /** f32 scales, index `(r·groups + g)·bits + i`. */
  get scales(): Float32Array {
    return guard(() => this.raw.scales());
  }

  /** Bit-planes as u32 words: row-major then plane, `⌈cols/64⌉·2` words per row and plane, bit t of word w = column 32w+t, set = +1. */
  get planes(): Uint32Array {
    return guard(() => this.raw.planes());
  }

  /** Keep-mask bit-plane (same word layout, one plane per row), or null when unmasked. */
  get mask(): Uint32Array | null {
    return guard(() => this.raw.mask()) ?? null;
  }

  /** `Ŵ` as a row-major rows×cols array (pruned positions exactly 0). */
  dequantize(): Float32Array {
    return guard(() => this.raw.dequantize());
  }
}

/**
 * Quantizes the row-major `rows×cols` matrix `weights` per row (or group) to `bits` binary
 * codes. Errors: `E_CONFIG` (bits outside 1..8, unknown method, bad group size),
 * `E_NONFINITE` (NaN/Inf weights), `E_SHAPE` (lengths, zero rows or columns).
 */
export function quantize(weights: Float32Array, rows: number, cols: number, options: QuantizeOptions): QuantizedMatrix {
  const o = objectArg('options', options);
  const r = checkCount('rows', rows, 0);
  const c = checkCount('cols', cols, 0);
  const bits = checkCount('bits', o.bits, 0);
  const cycles = checkCount('cycles', o.cycles, 2);
  const groupSize = checkCount('groupSize', o.groupSize, 0);
  const method = text('method', o.method ?? 'alternating');
  const w = floats('weights', weights);
  const mask = o.mask === undefined || o.mask === null ? null : bytes('mask', o.mask, 'E_CONFIG');
  const be = loadBackend(o.backend);
  const half = o.halfScales ?? false;
  if (typeof half !== 'boolean') throw new QuireError('E_CONFIG', `halfScales must be true or false (got ${JSON.stringify(half)})`);
  const raw = guard(() => be.raw.QuantizedMatrix.quantize(w, r, c, bits, method, cycles, groupSize, mask, half));
  return new QuantizedMatrix(raw, be.name);
}

/**
 * `Y[b] = Ŵ·X[b]` for `batch` (1..64) row-major vectors: returns batch×rows values. `E_CONFIG`
 * for a batch outside 1..64, `E_SHAPE` unless `x` holds batch×cols values (both checked before
 * the output is allocated).
 */
export function matmul(q: QuantizedMatrix, x: Float32Array, batch: number, options: MatvecOptions = {}): Float32Array {
  if (!(q instanceof QuantizedMatrix)) throw new QuireError('E_CONFIG', 'matmul: q must be a QuantizedMatrix (from quantize())');
  const raw = q.raw;
  const o = objectArg('options', options);
  const b = integerIn('batch', batch, 1, MAX_BATCH);
  const ka = checkCount('activationBits', o.activationBits, 2);
  const kernel = o.kernel === undefined || o.kernel === 'auto' ? 'lut-i8' : text('kernel', o.kernel);
  const xs = floats('x', x);
  checkBatch(xs, b, q.cols);
  return guard(() => raw.matmul(xs, b, kernel, ka));
}

/** `y = Ŵ·x` without dequantizing, on the backend that holds `q`. */
export function matvec(q: QuantizedMatrix, x: Float32Array, options: MatvecOptions = {}): Float32Array {
  return matmul(q, x, 1, options);
}
