#!/usr/bin/env node
/**
 * Where a training step's time goes, per preset, on this host (Linux with `perf`):
 *
 *     node scripts/profile-train.mjs [small|medium ...] [--windows N] [--threads T]
 *
 * Builds a model of the preset (PTB's 10,000-word vocabulary, random token windows: the time of
 * a step does not depend on the ids), times N training windows after a warm-up, then samples the
 * same N windows with `perf record -e cpu-clock` (a software clock: it works where hardware
 * counters are not exposed, as in most VMs) and sums the samples of the native addon's symbols
 * by part of the step. Shares are of all samples of the process, on every thread; a worker
 * waiting for its next product shows as "worker pool: waiting". Needs `npm run build:native`
 * and `npm run build:ts` first (it runs dist/).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Parts of a step, by symbol (first match wins). */
const PARTS = [
  ['GEMM micro-kernel (packed blocks)', /kernels::gemm::\w+::tile/],
  ['GEMM dot products (recurrent product, m = batch)', /kernels::gemm::\w+::dots/],
  ['GEMM matrix-vector', /kernels::gemm::\w+::gemv/],
  ['GEMM packing', /kernels::gemm::pack/],
  ['softmax and loss (exp, cross-entropy)', /exp_shift_sum|cross_entropy|softmax|adaptive/],
  ['update and gradient norm', /sgd|sum_squares|apply_masks/],
  ['LSTM cells, dropout, embedding (forward/backward bodies)', /lstm::(forward|backward|cell|model|workspace)|column_sums|mul_assign/],
  ['worker pool: waiting', /__rust_begin_short_backtrace|threads::|sched_yield|futex|park/],
  ['memory (page faults, memset/memcpy)', /page_fault|memset|memmove|memcpy|folio|mm_fault|charge/],
];

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args.splice(i, 2)[1]) : fallback;
};
const windows = option('--windows', 10);
const threads = option('--threads', 0);
const presets = args.length ? args : ['small', 'medium'];

const child = (preset, timed) => `
  import { LanguageModel, PRESETS, setThreads } from './dist/ts/index.js';
  if (${threads} > 0) setThreads(${threads});
  const p = PRESETS[${JSON.stringify(preset)}];
  const m = LanguageModel.create({ vocab: 10000, hidden: p.hidden, layers: p.layers, initScale: p.initScale, dropout: p.dropout, seed: 1 }, { backend: 'native' });
  m.resetState(p.batch);
  const n = p.steps * p.batch;
  const x = Uint32Array.from({ length: n }, (_, i) => (i * 7919) % 10000);
  const y = Uint32Array.from({ length: n }, (_, i) => (i * 104729) % 10000);
  for (let w = 0; w < 2; w++) m.trainStep(x, y, 0.1, 5);
  const t0 = performance.now();
  for (let w = 0; w < ${windows}; w++) m.trainStep(x, y, 0.1, 5);
  if (${timed}) console.log(JSON.stringify({ tokensPerSecond: (n * ${windows}) / ((performance.now() - t0) / 1000) }));
`;

const run = (preset, timed) => ['--input-type=module', '-e', child(preset, timed)];

for (const preset of presets) {
  const { tokensPerSecond } = JSON.parse(execFileSync(process.execPath, run(preset, true), { encoding: 'utf8' }).trim());
  const dir = mkdtempSync(join(tmpdir(), 'quire-profile-'));
  try {
    const data = join(dir, 'perf.data');
    const rec = spawnSync('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '999', '-o', data, process.execPath, ...run(preset, false)], {
      encoding: 'utf8',
    });
    if (rec.status !== 0) throw new Error(`perf record failed (is perf installed and allowed?): ${rec.stderr || rec.error}`);
    const report = execFileSync('perf', ['report', '-i', data, '--no-children', '--sort', 'symbol', '--stdio', '-q'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const shares = new Map(PARTS.map(([name]) => [name, 0]));
    let other = 0;
    for (const line of report.split('\n')) {
      const m = /^\s*([\d.]+)%\s+\[[.k]\]\s+(.*)$/.exec(line);
      if (!m) continue;
      const part = PARTS.find(([, re]) => re.test(m[2]));
      if (part) shares.set(part[0], shares.get(part[0]) + Number(m[1]));
      else other += Number(m[1]);
    }
    console.log(`\n${preset}: ${Math.round(tokensPerSecond)} tokens/s over ${windows} windows (${threads || 'all'} threads)\n`);
    console.log('| part of the step | share of samples |\n|---|---|');
    for (const [name, pct] of [...shares, ['other (JavaScript, binding, kernel)', other]].sort((a, b) => b[1] - a[1])) {
      console.log(`| ${name} | ${pct.toFixed(1)} % |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
