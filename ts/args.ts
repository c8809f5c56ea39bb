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
 * The intrinsic accessors of typed arrays. The bindings must see a typed array's real memory:
 * a subclass can override `length`, a `Proxy` passes `instanceof` but is no typed array, and a
 * detached buffer reads as empty; so kinds, lengths and buffers are read through these getters,
 * and the bindings get a fresh plain view of the same memory (nothing is copied).
 */
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
const intrinsic = (key: PropertyKey) => Object.getOwnPropertyDescriptor(TYPED_ARRAY, key)?.get as (this: unknown) => unknown;
const tagOf = intrinsic(Symbol.toStringTag);
const bufferOf = intrinsic('buffer');
const offsetOf = intrinsic('byteOffset');
const lengthOf = intrinsic('length');

type TypedKind =
  | 'Int8Array'
  | 'Uint8Array'
  | 'Uint8ClampedArray'
  | 'Int16Array'
  | 'Uint16Array'
  | 'Int32Array'
  | 'Uint32Array'
  | 'Float32Array'
  | 'Float64Array'
  | 'BigInt64Array'
  | 'BigUint64Array';

/** The kind of a real typed array (`'Float32Array'`, ...), else undefined (a Proxy, a DataView, anything else). */
function kindOf(value: unknown): TypedKind | undefined {
  return ArrayBuffer.isView(value) ? (tagOf.call(value) as TypedKind | undefined) : undefined;
}

/** `E_SHAPE` when the typed array's buffer was detached (transferred to a worker, or freed). */
function live(name: string, value: ArrayBufferView): void {
  const buffer = bufferOf.call(value) as ArrayBufferLike;
  try {
    new Uint8Array(buffer, 0, 0);
  } catch {
    throw new QuireError('E_SHAPE', `${name}'s buffer is detached (transferred or freed): pass an array that still holds its data`);
  }
}

/** A plain view of a real typed array's memory, of constructor `ctor`, after checking it is live. */
function plainView<T>(name: string, value: ArrayBufferView, ctor: new (buffer: ArrayBufferLike, offset: number, length: number) => T): T {
  live(name, value);
  return new ctor(bufferOf.call(value) as ArrayBufferLike, offsetOf.call(value) as number, lengthOf.call(value) as number);
}

/** `Array.isArray` that answers false for a revoked Proxy instead of throwing a TypeError. */
function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

/** The length of a plain array (perhaps a Proxy): a safe size, else `E_SHAPE`. */
function arrayLength(name: string, list: unknown[]): number {
  const n = list.length;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff)
    throw new QuireError('E_SHAPE', `${name} has an invalid length (${describe(n)})`);
  return n;
}

/**
 * Token ids as a `Uint32Array`: a `Uint32Array` passes as a view of its memory; a plain array or
 * another typed array is accepted when every entry is an integer in 0..2³²−1, else `E_SHAPE`
 * naming the entry.
 */
export function tokenIds(name: string, value: unknown): Uint32Array {
  const kind = kindOf(value);
  if (kind === 'Uint32Array') return plainView(name, value as Uint32Array, Uint32Array);
  if (kind !== undefined) live(name, value as ArrayBufferView);
  if (isArray(value) || kind !== undefined) {
    const list = value as ArrayLike<unknown>;
    const n = kind === undefined ? arrayLength(name, value as unknown[]) : (lengthOf.call(value) as number);
    const out = allocate(name, n, Uint32Array);
    for (let i = 0; i < n; i++) {
      const raw = list[i];
      const v = typeof raw === 'bigint' ? Number(raw) : raw;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new QuireError('E_SHAPE', `${name}[${i}] is not a token id (a non-negative integer): ${describe(raw)}`);
      }
      out[i] = v;
    }
    return out;
  }
  throw new QuireError('E_SHAPE', `${name} must be a Uint32Array or an array of token ids (got ${describe(value)})`);
}

/**
 * Numbers as a `Float32Array`: a `Float32Array` passes as a view of its memory; a plain array or
 * another numeric typed array is converted (every entry must be a number, else `E_SHAPE`).
 */
export function floats(name: string, value: unknown): Float32Array {
  const kind = kindOf(value);
  if (kind === 'Float32Array') return plainView(name, value as Float32Array, Float32Array);
  const numeric = kind !== undefined && kind !== 'BigInt64Array' && kind !== 'BigUint64Array';
  if (numeric) live(name, value as ArrayBufferView);
  if (isArray(value) || numeric) {
    const list = value as ArrayLike<unknown>;
    const n = numeric ? (lengthOf.call(value) as number) : arrayLength(name, value as unknown[]);
    const out = allocate(name, n, Float32Array);
    for (let i = 0; i < n; i++) {
      const v = list[i];
      if (typeof v !== 'number') throw new QuireError('E_SHAPE', `${name}[${i}] is not a number: ${describe(v)}`);
      out[i] = v;
    }
    return out;
  }
  throw new QuireError('E_SHAPE', `${name} must be a Float32Array or an array of numbers (got ${describe(value)})`);
}

/**
 * Bytes as a plain `Uint8Array` view (a `Buffer` is one): anything else — a plain array, a
 * string, null, another typed array, a Proxy — is `code` (default `E_FORMAT`: what a reader of
 * file bytes reports), a detached buffer `E_SHAPE`.
 */
export function bytes(name: string, value: unknown, code: 'E_FORMAT' | 'E_CONFIG' = 'E_FORMAT'): Uint8Array {
  if (kindOf(value) === 'Uint8Array') return plainView(name, value as Uint8Array, Uint8Array);
  throw new QuireError(code, `${name} must be a Uint8Array (a Buffer, or the bytes of a file as read) (got ${describe(value)})`);
}

/**
 * A number the caller passes as a scalar: a `number` (no coercion of strings or objects: else
 * `E_CONFIG`) that is finite (else `nonFinite`: `E_CONFIG` for settings, `E_NONFINITE` for values
 * that enter the arithmetic).
 */
export function finiteNumber(name: string, value: unknown, nonFinite: 'E_CONFIG' | 'E_NONFINITE' = 'E_CONFIG'): number {
  if (typeof value !== 'number') throw new QuireError('E_CONFIG', `${name} must be a number (got ${describe(value)})`);
  if (!Number.isFinite(value)) throw new QuireError(nonFinite, `${name} must be a finite number (got ${value})`);
  return value;
}

/** A finite number in `[min, max]`, else `E_CONFIG` naming the range and the value as given. */
export function numberIn(name: string, value: unknown, min: number, max: number): number {
  const v = finiteNumber(name, value);
  if (v < min || v > max) throw new QuireError('E_CONFIG', `${name} must be a number from ${min} to ${max} (got ${v})`);
  return v;
}

/** A string (a name, a kernel, a format), else `E_CONFIG`. */
export function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new QuireError('E_CONFIG', `${name} must be a string (got ${describe(value)})`);
  return value;
}

/** A boolean, or `fallback` when undefined; anything else is `E_CONFIG`. */
export function flag(name: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new QuireError('E_CONFIG', `${name} must be true or false (got ${describe(value)})`);
  return value;
}

/** An object of string values (file metadata; an undefined value is an absent key), else `E_CONFIG` naming the key. */
export function stringRecord(name: string, value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(objectArg(name, value as object | undefined))) {
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new QuireError('E_CONFIG', `${name}['${k}'] must be a string (got ${describe(v)})`);
    out[k] = v;
  }
  return out;
}

/** An options object (undefined = `{}`), else `E_CONFIG`. */
export function objectArg<T extends object>(name: string, value: T | undefined): Partial<T> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw new QuireError('E_CONFIG', `${name} must be an object (got ${describe(value)})`);
  return value;
}

/** `E_SHAPE` unless `x` holds `batch` vectors of `cols` values (checked before an output is allocated). */
export function checkBatch(x: Float32Array, batch: number, cols: number): void {
  if (x.length !== batch * cols) throw new QuireError('E_SHAPE', `x has length ${x.length}, expected ${batch}×${cols} = ${batch * cols}`);
}

/** The largest typed array a result may be: 4 GiB of bytes, what JavaScript engines hold. */
const MAX_TYPED_BYTES = 2 ** 32 - 1;

/**
 * A new typed array of `n` elements for a result, checked before allocating: a size beyond what a
 * typed array can hold, or that cannot be allocated, is `E_CONFIG` naming it (never a RangeError).
 */
export function allocate<T>(name: string, n: number, ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }): T {
  if (n * ctor.BYTES_PER_ELEMENT > MAX_TYPED_BYTES) {
    throw new QuireError('E_CONFIG', `${name}: ${n} values exceed the 4 GiB a JavaScript typed array can hold`);
  }
  try {
    return new ctor(n);
  } catch (err) {
    throw new QuireError('E_CONFIG', `${name}: ${n} values cannot be allocated (${err instanceof Error ? err.message : err})`);
  }
}

/** A short description of a value for a message (never throws, even on a revoked Proxy). */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `the string '${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === 'object' || typeof v === 'function') {
    try {
      const name = (v as object).constructor?.name ?? typeof v;
      // A Proxy of a typed array passes `instanceof` but is none: the bindings cannot read it.
      if (!ArrayBuffer.isView(v) && v instanceof (TYPED_ARRAY.constructor as new () => object))
        return `an imitation of a ${name} (a Proxy?); pass the array itself`;
      return name;
    } catch {
      return typeof v;
    }
  }
  return typeof v === 'bigint' ? `${v}n` : String(v);
}
