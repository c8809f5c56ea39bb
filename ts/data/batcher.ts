import { QuireError } from '../errors.js';
import { arraySource, type TokenSource } from './token-source.js';

/** One truncated-BPTT window: `steps·batch` ids, time-major (index `t·batch + b`). */
export interface Window {
  inputs: Uint32Array;
  targets: Uint32Array;
  steps: number;
}

/**
 * Zaremba batching: the id stream is cut into `batch` contiguous streams of
 * `len = ⌊n / batch⌋` tokens (the tail is dropped); window `i` holds steps `i·T … i·T+T−1` of
 * every stream as inputs and the next token of each as targets, so the hidden state of stream
 * `b` carries meaningfully from one window to the next.
 */
export class Batcher {
  readonly streamLength: number;
  private readonly ids: TokenSource;
  private readonly scratch: Uint32Array;

  constructor(
    ids: Uint32Array | TokenSource,
    readonly batch: number,
    readonly steps: number,
    /** Whether a shorter last window is produced (evaluation) or dropped (training). */
    readonly partial: boolean,
  ) {
    this.ids = ids instanceof Uint32Array ? arraySource(ids) : ids;
    this.scratch = new Uint32Array(steps + 1);
    this.streamLength = Math.floor(ids.length / batch);
    if (this.streamLength < 2) {
      throw new QuireError('E_DATA', `${ids.length} tokens are too few for batch ${batch}: need at least ${2 * batch}`);
    }
    if (!partial && this.streamLength - 1 < steps) {
      throw new QuireError('E_DATA', `${ids.length} tokens give no full window of ${steps} steps × batch ${batch}`);
    }
  }

  /** Number of windows per pass over the data. */
  get windows(): number {
    const usable = this.streamLength - 1;
    return this.partial ? Math.ceil(usable / this.steps) : Math.floor(usable / this.steps);
  }

  /** Tokens predicted per pass. */
  get tokens(): number {
    return (this.partial ? this.streamLength - 1 : this.windows * this.steps) * this.batch;
  }

  window(i: number): Window {
    const { batch: b, streamLength: len } = this;
    const start = i * this.steps;
    const steps = Math.min(this.steps, len - 1 - start);
    const inputs = new Uint32Array(steps * b);
    const targets = new Uint32Array(steps * b);
    const run = this.scratch.subarray(0, steps + 1);
    for (let s = 0; s < b; s++) {
      this.ids.read(s * len + start, run);
      for (let t = 0; t < steps; t++) {
        inputs[t * b + s] = run[t];
        targets[t * b + s] = run[t + 1];
      }
    }
    return { inputs, targets, steps };
  }
}
