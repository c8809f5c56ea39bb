import { QuireError } from './errors.js';

/** The part every Rust-owned binding object shares: `free()` releases its memory now. */
export interface RawHandle {
  free?(): void;
}

/**
 * Base of the facade classes that own a Rust object (a model, a compressed model, an engine).
 * One contract on both backends: `dispose()` frees the Rust memory at once (idempotent), and any
 * use afterwards is `E_STATE`, never a raw binding error or a silent success.
 */
export abstract class Handle<R extends RawHandle> {
  #raw: R | undefined;
  readonly #kind: string;

  protected constructor(raw: R, kind: string) {
    this.#raw = raw;
    this.#kind = kind;
  }

  /** @internal The live binding object; `E_STATE` after `dispose()`. Sibling facades pass it to other bindings. */
  get raw(): R {
    if (this.#raw === undefined) throw new QuireError('E_STATE', `this ${this.#kind} was disposed; create or load a new one`);
    return this.#raw;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#raw === undefined;
  }

  /** Releases the Rust memory now; later calls on this object are `E_STATE`. Idempotent. */
  dispose(): void {
    const raw = this.#raw;
    this.#raw = undefined;
    raw?.free?.();
  }
}
