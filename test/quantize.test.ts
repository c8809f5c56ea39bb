import { describe, expect, it } from 'vitest';
import { matmul, matvec, quantize, QuireError, type QuantizedMatrix, type QuantMethod } from '../ts/index.js';
import { BACKEND_NAMES, backend, gaussianArray, maxRelDiff, randomArray } from './backends.js';

/** docs/method.md §1: relative error on i.i.d. Gaussian 256×1024, per-row scales. */
const TABLE: Record<QuantMethod, number[]> = {
  greedy: [0.3634, 0.1305, 0.0585, 0.0331],
  refined: [0.3634, 0.125, 0.0505, 0.0246],
  alternating: [0.3634, 0.1183, 0.0444, 0.0194],
};

/** Ŵ·x in f64 from the dequantized matrix. */
function product(q: QuantizedMatrix, x: Float32Array): Float64Array {
  const d = q.dequantize();
  const y = new Float64Array(q.rows);
  for (let r = 0; r < q.rows; r++) {
    let acc = 0;
    for (let j = 0; j < q.cols; j++) acc += d[r * q.cols + j] * x[j];
    y[r] = acc;
  }
  return y;
}

/** Greedy k-bit binary codes of x (what the popcount kernel computes per call), as values. */
function binarize(x: Float32Array, bits: number): Float32Array {
  const r = Float64Array.from(x);
  const out = new Float32Array(x.length);
  for (let i = 0; i < bits; i++) {
    let s = 0;
    for (const v of r) s += Math.abs(v);
    const a = Math.fround(s / r.length);
    for (let j = 0; j < r.length; j++) {
      const b = r[j] >= 0 ? a : -a;
      out[j] += b;
      r[j] -= b;
    }
  }
  return out;
}

/** The lut-i8 bound per row: Σ_{i,g} |α| · ⌈n_g/4⌉ / (2s), s = 127 / max over 4-column groups of Σ|x|. */
function lutI8Bound(q: QuantizedMatrix, x: Float32Array, r: number): number {
  let max = 0;
  for (let j = 0; j < x.length; j += 4) {
    let s = 0;
    for (let t = j; t < Math.min(j + 4, x.length); t++) s += Math.abs(x[t]);
    max = Math.max(max, s);
  }
  const groups = Math.ceil(q.cols / q.groupSize);
  const scales = q.scales;
  let bound = 0;
  for (let g = 0; g < groups; g++) {
    const n = Math.min((g + 1) * q.groupSize, q.cols) - g * q.groupSize;
    for (let i = 0; i < q.bits; i++) bound += Math.abs(scales[(r * groups + g) * q.bits + i]) * Math.ceil(n / 4);
  }
  return (bound * max) / 254;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QuireError);
    return (e as QuireError).code;
  }
  return undefined;
}

function prune(w: Float32Array, rows: number, cols: number): Uint8Array {
  const mask = new Uint8Array(w.length);
  for (let r = 0; r < rows; r++) {
    const mags = Array.from(w.subarray(r * cols, (r + 1) * cols), Math.abs).sort((a, b) => a - b);
    const t = mags[cols / 2];
    for (let j = 0; j < cols; j++) mask[r * cols + j] = Math.abs(w[r * cols + j]) >= t ? 1 : 0;
  }
  return mask;
}

describe.each(BACKEND_NAMES)('quantize on %s', (name) => {
  const be = backend(name);
  const gauss = gaussianArray(256 * 1024, 42);

  it('meets the reference errors per solver and bit-width, in order alternating ≤ refined ≤ greedy', () => {
    for (let bits = 1; bits <= 4; bits++) {
      const err: Record<string, number> = {};
      for (const method of ['greedy', 'refined', 'alternating'] as const) {
        const q = quantize(gauss, 256, 1024, { bits, method, backend: be });
        err[method] = q.relativeError;
        expect(q.relativeError, `${method} ${bits} bits`).toBeLessThanOrEqual(TABLE[method][bits - 1] * 1.03);
        q.dispose();
      }
      expect(err.alternating).toBeLessThanOrEqual(err.refined + 1e-12);
      expect(err.refined).toBeLessThanOrEqual(err.greedy + 1e-12);
      if (bits === 1) expect(Math.abs(err.greedy - (1 - 2 / Math.PI))).toBeLessThan(0.01);
    }
  });

  it('defaults: without a method it is the alternating solver with 2 cycles and per-row scales', () => {
    const w = gauss.subarray(0, 64 * 128);
    const q = quantize(w, 64, 128, { bits: 2, backend: be });
    const alt = quantize(w, 64, 128, { bits: 2, method: 'alternating', cycles: 2, groupSize: 0, backend: be });
    expect(q.relativeError).toBe(alt.relativeError);
    expect(q.groupSize).toBe(128);
    expect(Array.from(q.planes)).toEqual(Array.from(alt.planes));
    q.dispose();
    alt.dispose();
  });

  it('halfScales: the same codes, each scale the nearest f16 (what compress stores), almost the same error', () => {
    const w = gauss.subarray(0, 64 * 128);
    const f32 = quantize(w, 64, 128, { bits: 2, backend: be });
    const f16 = quantize(w, 64, 128, { bits: 2, halfScales: true, backend: be });
    expect(Array.from(f16.planes)).toEqual(Array.from(f32.planes));
    f32.scales.forEach((a, i) => {
      const b = f16.scales[i];
      // b is an f16 (11 significant bits): scaled by a power of two it is an integer below 2^11.
      const e = Math.floor(Math.log2(Math.abs(b)));
      expect(Number.isInteger(Math.abs(b) * 2 ** (10 - e))).toBe(true);
      // And it is the nearest one: no closer than half an f16 step away.
      expect(Math.abs(a - b)).toBeLessThanOrEqual(2 ** (e - 11));
    });
    expect(f16.relativeError).toBeCloseTo(f32.relativeError, 5);
    expect(() => quantize(w, 64, 128, { bits: 2, halfScales: 1 as unknown as boolean, backend: be })).toThrow(
      /halfScales must be true or false/,
    );
    f32.dispose();
    f16.dispose();
  });

  it('masked variant: fits on survivors, pruned positions exactly 0', () => {
    const [rows, cols] = [128, 1024];
    const w = gauss.slice(0, rows * cols);
    const mask = prune(w, rows, cols);
    for (let i = 0; i < w.length; i++) if (!mask[i]) w[i] = 0;
    for (const [bits, want] of [
      [1, 0.13],
      [2, 0.042],
    ]) {
      const q = quantize(w, rows, cols, { bits, method: 'alternating', mask, backend: be });
      expect(Math.abs(q.relativeError - want)).toBeLessThan(0.1 * want);
      const d = q.dequantize();
      for (let i = 0; i < d.length; i++) if (!mask[i]) expect(d[i]).toBe(0);
      const words = q.mask!;
      expect(words.length).toBe(rows * Math.ceil(cols / 64) * 2);
      expect((words[0] & 1) === 1).toBe(mask[0] === 1);
      const unmasked = quantize(w, rows, cols, { bits, method: 'alternating', backend: be });
      expect(unmasked.relativeError).toBeGreaterThan(2 * q.relativeError);
    }
  });

  it('planes and scales follow the documented packed format', () => {
    const [rows, cols, bits, groupSize] = [5, 200, 3, 64];
    const w = gaussianArray(rows * cols, 7);
    const q = quantize(w, rows, cols, { bits, method: 'refined', groupSize, backend: be });
    const planes = q.planes,
      scales = q.scales;
    const wpr = Math.ceil(cols / 64) * 2;
    const groups = Math.ceil(cols / groupSize);
    expect(planes.length).toBe(rows * bits * wpr);
    expect(scales.length).toBe(rows * groups * bits);
    const d = q.dequantize();
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < cols; j++) {
        let v = 0;
        for (let i = 0; i < bits; i++) {
          const bit = (planes[(r * bits + i) * wpr + (j >> 5)] >>> (j & 31)) & 1;
          const a = scales[(r * groups + Math.floor(j / groupSize)) * bits + i];
          v += bit ? a : -a;
        }
        expect(Math.abs(v - d[r * cols + j])).toBeLessThan(1e-6);
      }
    // Padding bits past the last column are zero.
    expect(planes[wpr - 1] >>> (cols % 32)).toBe(0);
  });

  it.each([
    [1, 1, 1, 0],
    [17, 65, 2, 0],
    [33, 200, 3, 64],
    [40, 650, 1, 0],
    [16, 130, 8, 128],
    [50, 2600, 2, 0],
  ])('every kernel matches the dequantized product within its bound (%i×%i, %i bits, group %i)', (rows, cols, bits, groupSize) => {
    const w = gaussianArray(rows * cols, rows + cols);
    const x = gaussianArray(cols, 3 * cols + 1);
    for (const mask of [undefined, randomArray(rows * cols, 5).map((v) => (v > 0 ? 1 : 0))]) {
      const q = quantize(w, rows, cols, { bits, method: 'alternating', groupSize, mask: mask && Uint8Array.from(mask), backend: be });
      const exact = product(q, x);
      const mag = product(
        { rows: q.rows, cols: q.cols, dequantize: () => q.dequantize().map(Math.abs) } as QuantizedMatrix,
        x.map(Math.abs),
      );
      const f32 = matvec(q, x, { kernel: 'lut-f32' });
      const i8 = matvec(q, x, { kernel: 'lut-i8' });
      for (let r = 0; r < rows; r++) {
        expect(Math.abs(f32[r] - exact[r])).toBeLessThanOrEqual(1e-5 * Math.sqrt(cols) * (1 + mag[r]));
        expect(Math.abs(i8[r] - exact[r])).toBeLessThanOrEqual(lutI8Bound(q, x, r) + 1e-5 * Math.sqrt(cols) * (1 + mag[r]));
      }
      for (const activationBits of [1, 2, 3]) {
        const xh = binarize(x, activationBits);
        const want = product(q, xh);
        const got = matvec(q, x, { kernel: 'popcount', activationBits });
        const d = q.dequantize();
        let dx = 0;
        for (let j = 0; j < cols; j++) dx += (x[j] - xh[j]) ** 2;
        for (let r = 0; r < rows; r++) {
          expect(Math.abs(got[r] - want[r])).toBeLessThanOrEqual(1e-4 * Math.sqrt(cols) * (1 + mag[r]));
          let norm = 0;
          for (let j = 0; j < cols; j++) norm += d[r * cols + j] ** 2;
          expect(Math.abs(got[r] - exact[r])).toBeLessThanOrEqual(Math.sqrt(norm * dx) * 1.001 + 1e-3);
        }
      }
    }
  });

  it('batched products equal one matvec per vector', () => {
    const [rows, cols, batch] = [45, 333, 7];
    const q = quantize(gaussianArray(rows * cols, 9), rows, cols, { bits: 2, method: 'greedy', backend: be });
    const x = gaussianArray(batch * cols, 10);
    for (const kernel of ['lut-f32', 'lut-i8', 'popcount'] as const) {
      const y = matmul(q, x, batch, { kernel });
      expect(y.length).toBe(batch * rows);
      for (let b = 0; b < batch; b++) {
        const one = matvec(q, x.subarray(b * cols, (b + 1) * cols), { kernel });
        expect(maxRelDiff(y.subarray(b * rows, (b + 1) * rows), one)).toBeLessThan(1e-6);
      }
    }
  });

  it("takes the inference engine's kernel names: popcount-a<k>, auto", () => {
    const [rows, cols] = [21, 130];
    const q = quantize(gaussianArray(rows * cols, 11), rows, cols, { bits: 2, method: 'greedy', backend: be });
    const x = gaussianArray(cols, 12);
    for (const k of [1, 3, 8] as const) {
      expect(matvec(q, x, { kernel: `popcount-a${k}` })).toEqual(matvec(q, x, { kernel: 'popcount', activationBits: k }));
    }
    // `popcount-a<k>` names its own bits; `activationBits` is for plain `popcount`.
    expect(matvec(q, x, { kernel: 'popcount-a3', activationBits: 5 })).toEqual(matvec(q, x, { kernel: 'popcount', activationBits: 3 }));
    expect(matvec(q, x, { kernel: 'auto' })).toEqual(matvec(q, x, { kernel: 'lut-i8' }));
    expect(codeOf(() => matvec(q, x, { kernel: 'popcount-a9' as 'popcount-a8' }))).toBe('E_CONFIG');
    q.dispose();
  });

  it('rejects bad input with clear codes and stays usable', () => {
    const w = gaussianArray(6, 1);
    const q = quantize(w, 2, 3, { bits: 2, method: 'greedy', backend: be });
    const nan = w.slice();
    nan[3] = NaN;
    const cases: [() => unknown, string][] = [
      [() => quantize(w, 2, 3, { bits: 0, method: 'greedy', backend: be }), 'E_CONFIG'],
      [() => quantize(w, 2, 3, { bits: 9, method: 'greedy', backend: be }), 'E_CONFIG'],
      [() => quantize(w, 2, 3, { bits: 1.5, method: 'greedy', backend: be }), 'E_CONFIG'],
      [() => quantize(w, 2, 3, { bits: 2, method: 'kmeans' as QuantMethod, backend: be }), 'E_CONFIG'],
      [() => quantize(w, 2, 3, { bits: 2, method: 'greedy', groupSize: 3, backend: be }), 'E_CONFIG'],
      [() => quantize(nan, 2, 3, { bits: 2, method: 'greedy', backend: be }), 'E_NONFINITE'],
      [() => quantize(Float32Array.of(1, Infinity), 1, 2, { bits: 2, method: 'refined', backend: be }), 'E_NONFINITE'],
      [() => quantize(w, 2, 3, { bits: 2, method: 'greedy', mask: new Uint8Array(5), backend: be }), 'E_SHAPE'],
      [() => quantize(w, 3, 3, { bits: 2, method: 'greedy', backend: be }), 'E_SHAPE'],
      [() => quantize(new Float32Array(0), 0, 3, { bits: 2, method: 'greedy', backend: be }), 'E_SHAPE'],
      [() => quantize(new Float32Array(0), 3, 0, { bits: 2, method: 'greedy', backend: be }), 'E_SHAPE'],
      [() => matvec(q, new Float32Array(4)), 'E_SHAPE'],
      [() => matvec(q, Float32Array.of(1, NaN, 0)), 'E_NONFINITE'],
      [() => matvec(q, new Float32Array(3), { kernel: 'popcount', activationBits: 9 }), 'E_CONFIG'],
      [() => matvec(q, new Float32Array(3), { kernel: 'fast' as 'lut-i8' }), 'E_CONFIG'],
      [() => matmul(q, new Float32Array(65 * 3), 65), 'E_CONFIG'],
      [() => matmul(q, new Float32Array(0), 0), 'E_CONFIG'],
    ];
    for (const [fn, code] of cases) expect(codeOf(fn)).toBe(code);
    const again = quantize(w, 2, 3, { bits: 2, method: 'greedy', backend: be });
    expect(maxRelDiff(again.dequantize(), q.dequantize())).toBe(0);
    expect(matvec(q, Float32Array.of(1, 0, 0), { kernel: 'lut-f32' }).length).toBe(2);
    q.dispose();
    expect(codeOf(() => matvec(q, new Float32Array(3)))).toBe('E_STATE');
  });
});

describe.each(BACKEND_NAMES)('bit-packed kernels on %s', (name) => {
  it('every kernel set the backend can force agrees with its scalar twin and really runs', () => {
    const be = backend(name);
    const raw = be.raw;
    const [rows, cols] = [37, 777];
    const q = quantize(gaussianArray(rows * cols, 31), rows, cols, { bits: 3, method: 'greedy', backend: be });
    const x = gaussianArray(2 * cols, 32);
    const initial = raw.kernelSet();
    const sets = name === 'wasm' ? ['simd128'] : ['avx2', 'avx512'];
    try {
      for (const kernel of ['lut-f32', 'lut-i8', 'popcount'] as const) {
        raw.forceKernelSet('scalar');
        const want = matmul(q, x, 2, { kernel, activationBits: 3 });
        expect(raw.lastKernelSet()).toBe('scalar');
        for (const set of sets) {
          try {
            raw.forceKernelSet(set);
          } catch {
            continue; // this CPU lacks the set
          }
          const got = matmul(q, x, 2, { kernel, activationBits: 3 });
          expect(raw.lastKernelSet()).toBe(set);
          expect(maxRelDiff(got, want)).toBeLessThan(1e-4);
        }
      }
    } finally {
      raw.forceKernelSet(initial);
    }
  });
});

describe('native and wasm agree', () => {
  it('on quantization and every kernel', () => {
    const [rows, cols] = [100, 650];
    const w = gaussianArray(rows * cols, 77);
    const x = gaussianArray(cols, 78);
    const [n, m] = (['native', 'wasm'] as const).map((backend) => quantize(w, rows, cols, { bits: 3, method: 'alternating', backend }));
    expect(Math.abs(n.relativeError - m.relativeError)).toBeLessThan(1e-6);
    expect(maxRelDiff(n.dequantize(), m.dequantize())).toBeLessThan(1e-5);
    for (const kernel of ['lut-f32', 'lut-i8', 'popcount'] as const) {
      expect(maxRelDiff(matvec(n, x, { kernel }), matvec(m, x, { kernel }))).toBeLessThan(1e-4);
    }
  });
});
