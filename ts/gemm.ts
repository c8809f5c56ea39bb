import { loadBackend } from './backend/loader.js';
import type { BackendName, RawDenseMatrix } from './backend/types.js';
import { Handle } from './handle.js';
import { checkBatch, finiteNumber, flag, floats, integerIn, objectArg } from './args.js';
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
 * Wrong lengths give `E_SHAPE`; dimensions must be non-negative integers and `α`, `β` numbers
 * (`E_CONFIG`); a NaN or infinite `α` or `β` is `E_NONFINITE`, as NaN weights are elsewhere.
 */
export function gemm(spec: GemmSpec, a: Float32Array, b: Float32Array, c?: Float32Array, options: BackendOption = {}): Float32Array {
  const s = objectArg('gemm: spec', spec);
  for (const key of ['m', 'n', 'k'] as const) integerIn(`gemm: ${key}`, s[key], 0, 0xffffffff);
  const { m, n, k } = s as GemmSpec;
  if (m * n * 4 > 2 ** 32 - 1) {
    throw new QuireError('E_CONFIG', `gemm: a ${m}×${n} output exceeds the 4 GiB a JavaScript typed array can hold`);
  }
  const transA = flag('gemm: transA', s.transA);
  const transB = flag('gemm: transB', s.transB);
  const alpha = finiteNumber('gemm: alpha', s.alpha ?? 1, 'E_NONFINITE');
  const beta = finiteNumber('gemm: beta', s.beta ?? 0, 'E_NONFINITE');
  const [fa, fb, fc] = [floats('a', a), floats('b', b), c === undefined || c === null ? undefined : floats('c', c)];
  const { raw } = loadBackend(objectArg('options', options).backend);
  return guard(() => raw.gemm(m, n, k, transA, transB, alpha, fa, fb, beta, fc));
}

/**
 * A full-precision matrix `W` (row-major, rows × cols) kept where the kernels run: in wasm memory
 * on the wasm backend, on the native heap natively. `gemm()` copies both operands into the core on
 * every call; a product with a `DenseMatrix` copies only its input and output, which is what
 * serving one weight matrix many times (a GEMV per token) needs. `dispose()` frees it now.
 */
export class DenseMatrix extends Handle<RawDenseMatrix> {
  readonly #rows: number;
  readonly #cols: number;
  readonly #backend: BackendName;

  private constructor(raw: RawDenseMatrix, backend: BackendName) {
    super(raw, 'DenseMatrix');
    this.#backend = backend;
    this.#rows = raw.rows();
    this.#cols = raw.cols();
  }

  get rows(): number {
    return this.live(this.#rows);
  }

  get cols(): number {
    return this.live(this.#cols);
  }

  get backend(): BackendName {
    return this.live(this.#backend);
  }

  /** Copies `weights` (`rows·cols` finite values) into the backend. `E_SHAPE` on a wrong length, `E_NONFINITE` on NaN/∞. */
  static fromArray(weights: Float32Array, rows: number, cols: number, options: BackendOption = {}): DenseMatrix {
    integerIn('rows', rows, 1, 0xffffffff);
    integerIn('cols', cols, 1, 0xffffffff);
    const w = floats('weights', weights);
    const be = loadBackend(objectArg('options', options).backend);
    return new DenseMatrix(
      guard(() => be.raw.DenseMatrix.fromArray(w, rows, cols)),
      be.name,
    );
  }

  /**
   * `Y[b] = W·X[b]` for `batch` row-major vectors (`x`: batch×cols): returns batch×rows values.
   * `E_SHAPE` unless `x` holds batch×cols values, checked before the output is allocated.
   */
  matmul(x: Float32Array, batch = 1): Float32Array {
    const raw = this.raw;
    integerIn('batch', batch, 1, 0xffffffff);
    const xs = floats('x', x);
    checkBatch(xs, batch, this.#cols);
    return guard(() => raw.matmul(xs, batch));
  }

  /** `y = W·x`. */
  matvec(x: Float32Array): Float32Array {
    return this.matmul(x, 1);
  }
}
