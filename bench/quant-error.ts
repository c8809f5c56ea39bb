/**
 * `npm run bench -- quant-error`: the solver-accuracy table of docs/method.md §1, measured:
 * relative error ‖W−Ŵ‖²/‖W‖² on i.i.d. standard Gaussian 256×1024 (seeded), per-row scales,
 * for each solver and 1–4 bits, plus the 50 %-pruned masked variant (scales fitted on survivors
 * vs on all entries). Deterministic; not a timing.
 */
import { quantize, type QuantMethod } from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';

const ROWS = 256;
const COLS = 1024;

function gaussian(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** ‖W−Ŵ‖²/‖W‖² where W is `w` with pruned entries zeroed. */
function errorAgainst(w: Float32Array, wHat: Float32Array, mask: Uint8Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    const v = mask[i] ? w[i] : 0;
    num += (v - wHat[i]) ** 2;
    den += v * v;
  }
  return num / den;
}

export async function run(_args: BenchArgs): Promise<BenchRow[]> {
  const w = gaussian(ROWS * COLS, 2024);
  const rows: BenchRow[] = [];
  const solvers: [string, QuantMethod, number][] = [
    ['greedy', 'greedy', 0],
    ['refined', 'refined', 0],
    ['alternating ×2', 'alternating', 2],
    ['alternating ×20', 'alternating', 20],
  ];
  for (const [label, method, cycles] of solvers) {
    const row: BenchRow = { task: 'solver error', solver: label };
    for (const bits of [1, 2, 3, 4]) {
      const q = quantize(w, ROWS, COLS, { bits, method, cycles: cycles || undefined });
      row[`${bits} bit`] = Number(q.relativeError.toFixed(4));
      q.dispose();
    }
    rows.push(row);
  }
  // 50 % magnitude pruning per row: keep the larger half of |w| in each row.
  const mask = new Uint8Array(w.length);
  for (let r = 0; r < ROWS; r++) {
    const row = Array.from(w.subarray(r * COLS, (r + 1) * COLS), Math.abs).sort((x, y) => x - y);
    const threshold = row[COLS / 2];
    for (let c = 0; c < COLS; c++) mask[r * COLS + c] = Math.abs(w[r * COLS + c]) >= threshold ? 1 : 0;
  }
  const pruned = w.map((v, i) => (mask[i] ? v : 0));
  for (const [label, fitOnSurvivors] of [
    ['50 % pruned, scales on survivors', true],
    ['50 % pruned, scales on all entries', false],
  ] as const) {
    const row: BenchRow = { task: 'masked error', solver: `alternating ×2, ${label}` };
    for (const bits of [1, 2, 3]) {
      const q = fitOnSurvivors
        ? quantize(w, ROWS, COLS, { bits, method: 'alternating', mask })
        : quantize(pruned, ROWS, COLS, { bits, method: 'alternating' });
      row[`${bits} bit`] = Number(errorAgainst(w, q.dequantize(), mask).toFixed(4));
      q.dispose();
    }
    rows.push(row);
  }
  return rows;
}
