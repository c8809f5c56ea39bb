import { QuireError } from './errors.js';

/**
 * Checks of the values a user passes to the facade, the same on both backends (the bindings
 * would otherwise coerce them differently: napi rejects a plain array, wasm-bindgen truncates
 * 1.5 to 1). Nothing is silently rounded or wrapped.
 */

/** An integer in `[min, max]`, else `E_CONFIG` naming it. */
export function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new QuireError('E_CONFIG', `${name} must be an integer from ${min} to ${max} (got ${describe(value)})`);
  }
  return value;
}

/**
 * Token ids as a `Uint32Array`: a `Uint32Array` passes as is; a plain array or another typed
 * array is accepted when every entry is an integer in 0..2³²−1, else `E_SHAPE` naming the entry.
 */
export function tokenIds(name: string, value: unknown): Uint32Array {
  if (value instanceof Uint32Array) return value;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<number | bigint>;
    const out = new Uint32Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const v = typeof list[i] === 'bigint' ? Number(list[i]) : list[i];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new QuireError('E_SHAPE', `${name}[${i}] is not a token id (a non-negative integer): ${describe(list[i])}`);
      }
      out[i] = v;
    }
    return out;
  }
  throw new QuireError('E_SHAPE', `${name} must be a Uint32Array or an array of token ids (got ${describe(value)})`);
}

/** Numbers as a `Float32Array`: a `Float32Array` passes as is; a plain array or another numeric typed array is converted. */
export function floats(name: string, value: unknown): Float32Array {
  if (value instanceof Float32Array) return value;
  if (
    Array.isArray(value) ||
    (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array))
  ) {
    const list = value as ArrayLike<unknown>;
    for (let i = 0; i < list.length; i++) {
      if (typeof list[i] !== 'number') throw new QuireError('E_SHAPE', `${name}[${i}] is not a number: ${describe(list[i])}`);
    }
    return Float32Array.from(list as ArrayLike<number>);
  }
  throw new QuireError('E_SHAPE', `${name} must be a Float32Array or an array of numbers (got ${describe(value)})`);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v === 'string' ? `'${v}'` : String(v);
}
