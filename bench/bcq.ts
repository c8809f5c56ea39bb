/**
 * `npm run bench -- bcq`: bit-packed matvec (1/2/3 bits; lut-i8, lut-f32, popcount with 1 and 2
 * activation bits) against the f32 GEMV (`gemm` with m = 1) of the same backend in the same
 * run, a batch of 20 against `gemm` with m = 20 (650×2600), and quantizer throughput per
 * solver and bit-width. Times are medians of repeated
 * samples; ratios compare medians measured side by side.
 */
import { gemm, matmul, matvec, quantize, type BackendName, type Kernel } from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';

const SHAPES: [number, number][] = [
  [650, 2600],
  [2600, 650],
  [10000, 650],
  [800, 200],
  [10000, 200],
];
const KERNELS: [string, Kernel, number][] = [
  ['lut-i8', 'lut-i8', 0],
  ['lut-f32', 'lut-f32', 0],
  ['popcount-a1', 'popcount', 1],
  ['popcount-a2', 'popcount', 2],
];

function gaussian(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

/** Median seconds per call: `samples` samples, each timing enough calls to last ≥ `minMs`. */
function time(fn: () => unknown, samples: number, minMs: number): number {
  fn();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t0 >= minMs) break;
    reps *= 2;
  }
  const per: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    per.push((performance.now() - t0) / reps / 1000);
  }
  per.sort((a, b) => a - b);
  return per[per.length >> 1];
}

export async function run({ quick }: BenchArgs): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const samples = quick ? 5 : 11;
  const minMs = quick ? 5 : 20;
  const shapes = quick ? SHAPES.slice(0, 1) : SHAPES;
  for (const backend of ['native', 'wasm'] as BackendName[]) {
    for (const [r, c] of shapes) {
      const w = gaussian(r * c, r + c);
      const x = gaussian(c, 7);
      const f32 = time(() => gemm({ m: 1, n: r, k: c, transB: true }, x, w, undefined, { backend }), samples, minMs);
      rows.push({ what: 'matvec', backend, shape: `${r}x${c}`, bits: 32, kernel: 'f32-gemv', us: +(f32 * 1e6).toFixed(1), speedup: 1 });
      for (const bits of [1, 2, 3]) {
        const q = quantize(w, r, c, { bits, method: 'greedy', backend });
        for (const [label, kernel, activationBits] of KERNELS) {
          const t = time(() => matvec(q, x, { kernel, activationBits: activationBits || undefined }), samples, minMs);
          rows.push({
            what: 'matvec',
            backend,
            shape: `${r}x${c}`,
            bits,
            kernel: label,
            us: +(t * 1e6).toFixed(1),
            speedup: +(f32 / t).toFixed(2),
          });
        }
        q.dispose();
      }
      if (r === 650 && c === 2600) {
        // Batched products (20 vectors) against the f32 GEMM with m = 20.
        const xb = gaussian(20 * c, 8);
        const f32b = time(() => gemm({ m: 20, n: r, k: c, transB: true }, xb, w, undefined, { backend }), samples, minMs);
        rows.push({
          what: 'matmul20',
          backend,
          shape: `${r}x${c}`,
          bits: 32,
          kernel: 'f32-gemm',
          us: +(f32b * 1e6).toFixed(1),
          speedup: 1,
        });
        for (const bits of [1, 2, 3]) {
          const q = quantize(w, r, c, { bits, method: 'greedy', backend });
          const t = time(() => matmul(q, xb, 20), samples, minMs);
          rows.push({
            what: 'matmul20',
            backend,
            shape: `${r}x${c}`,
            bits,
            kernel: 'lut-i8',
            us: +(t * 1e6).toFixed(1),
            speedup: +(f32b / t).toFixed(2),
          });
          q.dispose();
        }
      }
    }
  }
  const qshapes: [number, number][] = quick
    ? [[2600, 650]]
    : [
        [2600, 650],
        [10000, 650],
      ];
  for (const backend of ['native', 'wasm'] as BackendName[]) {
    for (const [r, c] of qshapes) {
      const w = gaussian(r * c, 99);
      for (const method of ['greedy', 'refined', 'alternating'] as const) {
        for (const bits of [1, 2, 3]) {
          const t = time(() => quantize(w, r, c, { bits, method, backend }).dispose(), quick ? 1 : 3, 0);
          rows.push({
            what: 'quantize',
            backend,
            shape: `${r}x${c}`,
            bits,
            kernel: method,
            us: +(t * 1e6).toFixed(0),
            'Mweights/s': +((r * c) / t / 1e6).toFixed(1),
          });
        }
      }
    }
  }
  return rows;
}
