/**
 * `npm run bench -- gemm`: f32 GEMM throughput, GFLOP/s = 2·m·n·k / median time.
 *
 * Implementations, measured in one process, side by side per shape:
 * - quire native with 2 threads and with 1 thread, quire wasm (single thread): the public
 *   `gemm()` call as users see it (inputs cross the boundary on every call; wasm copies
 *   A and B into its memory, native borrows them; both return a fresh C). A wasm call with
 *   α = 0 (no kernel runs) measures that copying alone;
 * - a plain TypeScript ikj triple loop (few iterations on the big shape);
 * - the peer: `@tensorflow/tfjs-backend-wasm` `tf.matMul`, single thread (SIMD module),
 *   tensors created once outside the timed region, result read back with `dataSync()`.
 * Each implementation's figure is the median over rounds (5, or 1 with --quick) of tinybench
 * medians; rounds alternate the implementations. Ratios are speed ratios (other time / this
 * time): > 1 means the row's implementation is faster.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { gemm, info, setThreads } from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';
import { medianMs, middle } from './util.js';

/** [m, k, n]: op(A) m×k times op(B) k×n. */
const SHAPES: [number, number, number][] = [
  [700, 200, 10000],
  [20, 200, 800],
  [20, 650, 2600],
  [1, 650, 2600],
];

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** The plain TypeScript reference: C = A·B, ikj loop order (row-major, unit stride inside). */
function tsGemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const co = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p];
      const bo = p * n;
      for (let j = 0; j < n; j++) c[co + j] += av * b[bo + j];
    }
  }
  return c;
}

async function initTfjs(): Promise<void> {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  setWasmPaths(join(dist, '/'));
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setThreadsCount(1);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend did not initialise');
  await tf.ready();
}

/** Median latency in ms of `fn` (tinybench); `slow` tasks get one iteration, no warmup. */
function median(fn: () => unknown, quick: boolean, slow = false): Promise<number> {
  return medianMs(fn, slow ? { iterations: 1, time: 0, warmup: false } : { iterations: 10, time: quick ? 100 : 300, warmupTime: 50 });
}

export async function run({ quick }: BenchArgs): Promise<BenchRow[]> {
  await initTfjs();
  const { backends } = info();
  const kernels = Object.entries(backends)
    .map(([name, b]) => `${name}:${b.kernels ?? '?'}`)
    .join(' ');
  console.log(`tfjs ${tf.version_core} backend ${tf.getBackend()}; quire kernels ${kernels}`);
  const rows: BenchRow[] = [];
  const rounds = quick ? 1 : 5;
  for (const [m, k, n] of SHAPES) {
    const a = random(m * k, m + k),
      b = random(k * n, n + 7);
    const spec = { m, n, k };
    const flops = 2 * m * n * k;
    const big = flops > 1e9;
    const ta = tf.tensor2d(a, [m, k]),
      tb = tf.tensor2d(b, [k, n]);
    const tasks: [string, () => unknown, boolean][] = [
      ['quire native 2t', () => gemm(spec, a, b, undefined, { backend: 'native' }), false],
      ['quire native 1t', () => gemm(spec, a, b, undefined, { backend: 'native' }), false],
      ['quire wasm', () => gemm(spec, a, b, undefined, { backend: 'wasm' }), false],
      // α = 0 skips the kernel: what remains is the boundary (copying A and B in, C out).
      ['quire wasm α=0 (copies only)', () => gemm({ ...spec, alpha: 0 }, a, b, undefined, { backend: 'wasm' }), false],
      [
        'tfjs-wasm',
        () => {
          const c = tf.matMul(ta, tb);
          c.dataSync();
          c.dispose();
        },
        false,
      ],
      ['ts loop', () => tsGemm(m, n, k, a, b), big],
    ];
    // Rounds alternate the implementations, so load from other processes hits all of them.
    const samples: Record<string, number[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [impl, fn, slow] of tasks) {
        setThreads(impl === 'quire native 1t' ? 1 : 2, 'native');
        samples[impl] ??= [];
        samples[impl].push(await median(fn, quick, slow));
      }
    }
    ta.dispose();
    tb.dispose();
    const times = Object.fromEntries(Object.entries(samples).map(([impl, xs]) => [impl, middle(xs)]));
    for (const [impl, ms] of Object.entries(times)) {
      rows.push({
        shape: `${m}×${k}·${k}×${n}`,
        impl,
        'median ms': +ms.toFixed(4),
        'GFLOP/s': +(flops / ms / 1e6).toFixed(2),
        'speed vs tfjs-wasm': +(times['tfjs-wasm'] / ms).toFixed(2),
        'speed vs ts loop': +(times['ts loop'] / ms).toFixed(2),
      });
    }
  }
  setThreads(backends.native.threads ?? 1, 'native');
  return rows;
}
