import { describe, expect, it } from 'vitest';
import { DenseMatrix, gemm, measurePeak, QuireError, setThreads } from '../ts/index.js';
import { BACKEND_NAMES, backend, maxRelDiff, randomArray } from './backends.js';

/** Plain TypeScript reference in f64: α·op(A)·op(B) + β·C. */
function reference(
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c?: Float32Array,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = alpha * acc + (c ? beta * c[i * n + j] : 0);
    }
  return out;
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 65],
  [20, 800, 200],
  [64, 31, 129],
  [1, 650, 260],
  [37, 1, 300],
  // several cache blocks in every dimension (MC, NC, KC) with ragged edges
  [131, 2081, 300],
];

describe.each(BACKEND_NAMES)('gemm on %s', (name) => {
  const be = backend(name);

  it.each(SHAPES)('matches the f64 reference for %i×%i×%i in all transpose modes', (m, n, k) => {
    for (const transA of [false, true])
      for (const transB of [false, true]) {
        const a = randomArray(m * k, m + 7 * k);
        const b = randomArray(k * n, n + 3 * k);
        const c = randomArray(m * n, m * n);
        const got = gemm({ m, n, k, transA, transB, alpha: 0.75, beta: -0.5 }, a, b, c, { backend: be });
        const want = reference(m, n, k, transA, transB, 0.75, a, b, -0.5, c);
        expect(maxRelDiff(got, want)).toBeLessThan(1e-4 * Math.sqrt(k));
      }
  });

  it('a resident DenseMatrix gives the gemm result, checks shapes, and is unusable after dispose', () => {
    const [rows, cols, batch] = [37, 650, 3];
    const w = randomArray(rows * cols, 11);
    const x = randomArray(batch * cols, 12);
    const m = DenseMatrix.fromArray(w, rows, cols, { backend: be });
    expect([m.rows, m.cols, m.backend]).toEqual([rows, cols, name]);
    const got = m.matmul(x, batch);
    const want = reference(batch, rows, cols, false, true, 1, x, w, 0);
    expect(maxRelDiff(got, want)).toBeLessThan(1e-4 * Math.sqrt(cols));
    const one = m.matvec(x.subarray(0, cols));
    expect(maxRelDiff(one, want.subarray(0, rows))).toBeLessThan(1e-4 * Math.sqrt(cols));
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as QuireError).code;
      }
      return 'no error';
    };
    expect(code(() => m.matmul(x, 2))).toBe('E_SHAPE');
    expect(code(() => DenseMatrix.fromArray(w, rows + 1, cols, { backend: be }))).toBe('E_SHAPE');
    expect(code(() => DenseMatrix.fromArray(new Float32Array([1, Number.NaN]), 1, 2, { backend: be }))).toBe('E_NONFINITE');
    expect(code(() => DenseMatrix.fromArray(w, 0, cols, { backend: be }))).toBe('E_CONFIG');
    // Still usable after errors, then disposed for good.
    expect(Array.from(m.matvec(x.subarray(0, cols)))).toEqual(Array.from(one));
    m.dispose();
    expect(code(() => m.matvec(x.subarray(0, cols)))).toBe('E_STATE');
  });

  it('ignores NaN in C when beta is 0, and does not modify inputs', () => {
    const a = randomArray(12, 1),
      b = randomArray(12, 2),
      c = new Float32Array(9).fill(NaN);
    const aCopy = a.slice();
    const got = gemm({ m: 3, n: 3, k: 4, beta: 0 }, a, b, c, { backend: be });
    expect(got.every(Number.isFinite)).toBe(true);
    expect(a).toEqual(aCopy);
    expect(c.every(Number.isNaN)).toBe(true);
  });

  it('rejects wrong lengths with E_SHAPE and stays usable', () => {
    const a = randomArray(6, 1),
      b = randomArray(6, 2);
    for (const bad of [
      () => gemm({ m: 2, n: 2, k: 3 }, a.subarray(0, 5), b, undefined, { backend: be }),
      () => gemm({ m: 2, n: 2, k: 3 }, a, b.subarray(1), undefined, { backend: be }),
      () => gemm({ m: 2, n: 2, k: 3, beta: 1 }, a, b, new Float32Array(3), { backend: be }),
    ]) {
      let err: unknown;
      try {
        bad();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QuireError);
      expect((err as QuireError).code).toBe('E_SHAPE');
      expect((err as QuireError).message).toMatch(/length/);
    }
    const ok = gemm({ m: 2, n: 2, k: 3 }, a, b, undefined, { backend: be });
    expect(maxRelDiff(ok, reference(2, 2, 3, false, false, 1, a, b, 0))).toBeLessThan(1e-5);
  });

  it('rejects non-integer dimensions with E_CONFIG', () => {
    expect(() => gemm({ m: 1.5, n: 1, k: 1 }, new Float32Array(1), new Float32Array(1), undefined, { backend: be })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
  });
});

describe('native threads', () => {
  it('give the same result with 1 and 2 threads on a split product', () => {
    const [m, n, k] = [20, 2600, 650];
    const a = randomArray(m * k, 21),
      b = randomArray(n * k, 22),
      c = randomArray(m * n, 23);
    const spec = { m, n, k, transB: true, alpha: 0.5, beta: 0.25 };
    const before = setThreads(1, 'native');
    const one = gemm(spec, a, b, c, { backend: 'native' });
    setThreads(2, 'native');
    const two = gemm(spec, a, b, c, { backend: 'native' });
    setThreads(before, 'native');
    expect(two).toEqual(one);
  });
});

describe('measurePeak', () => {
  it('reports a positive rate, the kernel set and the threads on both backends', () => {
    for (const backend of ['native', 'wasm'] as const) {
      const p = measurePeak(backend, 0.02);
      expect(p.gflops).toBeGreaterThan(0.1);
      expect(Number.isFinite(p.gflops)).toBe(true);
      expect(p.kernels).toMatch(backend === 'wasm' ? /simd128/ : /avx2|avx512|scalar/);
      expect(p.threads).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('native and wasm agree', () => {
  it('on a 20×650×260 product', () => {
    const [m, n, k] = [20, 650, 260];
    const a = randomArray(m * k, 11),
      b = randomArray(k * n, 12);
    const nat = gemm({ m, n, k }, a, b, undefined, { backend: 'native' });
    const wasm = gemm({ m, n, k }, a, b, undefined, { backend: 'wasm' });
    expect(maxRelDiff(nat, wasm)).toBeLessThan(1e-4);
  });
});
