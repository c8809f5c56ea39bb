import { loadBackend } from './backend/loader.js';
import { floats, integerIn } from './args.js';
import { guard, QuireError } from './errors.js';
import type { BackendOption } from './options.js';

/** Shape and scalars of `C ← α·op(A)·op(B) + β·C` (row-major). */
export interface GemmSpec {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Columns of op(A), rows of op(B). */
  k: number;
  /** A is stored k×m and used transposed. */
  transA?: boolean;
  /** B is stored n×k and used transposed. */
  transB?: boolean;
  alpha?: number;
  /** Weight of the old C; ignored (taken as 0) when no `c` is given. */
  beta?: number;
}

/**
 * f32 matrix product `α·op(A)·op(B) + β·C`, returned as a new array (inputs are not modified).
 * Wrong lengths give `E_SHAPE`; dimensions must be non-negative integers (`E_CONFIG`).
 */
export function gemm(spec: GemmSpec, a: Float32Array, b: Float32Array, c?: Float32Array, options: BackendOption = {}): Float32Array {
  for (const key of ['m', 'n', 'k'] as const) integerIn(`gemm: ${key}`, spec[key], 0, 0xffffffff);
  if (spec.m * spec.n * 4 > 2 ** 32 - 1) {
    throw new QuireError('E_CONFIG', `gemm: a ${spec.m}×${spec.n} output exceeds the 4 GiB a JavaScript typed array can hold`);
  }
  const [fa, fb, fc] = [floats('a', a), floats('b', b), c === undefined || c === null ? undefined : floats('c', c)];
  const { raw } = loadBackend(options.backend);
  return guard(() => raw.gemm(spec.m, spec.n, spec.k, !!spec.transA, !!spec.transB, spec.alpha ?? 1, fa, fb, spec.beta ?? 0, fc));
}
