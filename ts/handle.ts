import { QuireError } from './errors.js';

/** The part every Rust-owned binding object shares: `free()` releases its memory now. */
export interface RawHandle {
  free?(): void;
}

/**
 * Frees the Rust object of a facade that was garbage-collected without `dispose()`. Runtimes
 * without `FinalizationRegistry` (older Cloudflare Workers compatibility dates) get none: there
 * memory is released by `dispose()` only.
 */
const finalizer = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<RawHandle>((raw) => raw.free?.()) : undefined;

/**
 * Base of the facade classes that own a Rust object (a model, a compressed model, an engine, a
 * quantized matrix). One contract on both backends: `dispose()` frees the Rust memory at once
 * (idempotent), and any use afterwards — a method or a getter (`rows`, `backend`, ...) — is
 * `E_STATE`, never a raw binding error or a silent success (only `disposed` answers); an object
 * dropped without `dispose()` is freed when collected.
 */
export abstract class Handle<R extends RawHandle> {
  #raw: R | undefined;
  readonly #kind: string;

  protected constructor(raw: R, kind: string) {
    this.#raw = raw;
    this.#kind = kind;
    finalizer?.register(this, raw, this);
  }

  /** @internal The live binding object; `E_STATE` after `dispose()`. Sibling facades pass it to other bindings. */
  get raw(): R {
    if (this.#raw === undefined) throw new QuireError('E_STATE', `this ${this.#kind} was disposed; create or load a new one`);
    return this.#raw;
  }

  /**
   * `value` (a fact of this object kept in JavaScript: its shape, its backend, ...) while the
   * object lives; `E_STATE` after `dispose()`, like every method.
   */
  protected live<T>(value: T): T {
    void this.raw;
    return value;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#raw === undefined;
  }

  /** Releases the Rust memory now; later calls on this object are `E_STATE`. Idempotent. */
  dispose(): void {
    const raw = this.#raw;
    if (raw === undefined) return;
    this.#raw = undefined;
    finalizer?.unregister(this);
    raw.free?.();
  }
}
