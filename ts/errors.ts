/**
 * The one error type users see. `code` is stable and machine-readable; `message` says what
 * was wrong and what to do.
 */
export type ErrorCode = 'E_SHAPE' | 'E_CONFIG' | 'E_NONFINITE' | 'E_FORMAT' | 'E_IO' | 'E_STATE' | 'E_BACKEND' | 'E_DATA' | 'E_INTERRUPTED';

export class QuireError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuireError';
    this.code = code;
  }
}

const CODED = /^\[(E_[A-Z]+)\] ([\s\S]*)$/;

/**
 * Turns an error thrown by a binding (message `[E_CODE] text`, the form both the napi and the
 * wasm crates produce) into a `QuireError`; other errors pass through unchanged.
 */
export function rewrap(err: unknown): unknown {
  if (err instanceof QuireError) return err;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : undefined;
  const m = message === undefined ? null : CODED.exec(message);
  if (m) return new QuireError(m[1] as ErrorCode, m[2]);
  return err;
}

/** Runs `fn`, rethrowing binding errors as `QuireError`s. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw rewrap(err);
  }
}
