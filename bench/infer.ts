/**
 * `npm run bench -- infer`: LSTM language-model token step, batch 1 (tokens/s), for the small
 * (2×200) and medium (2×650) shapes with a 10k vocabulary, random weights.
 *
 * Engines, measured in one process with alternating rounds:
 * - quire native and quire wasm (`InferenceEngine`, one thread) on the FP32 model file and
 *   on compressed files with every matrix (embedding, LSTM, softmax) quantized to 1, 2 and 3
 *   bits (greedy solver; the int8-LUT kernel), and at 2 bits with mixed-precision vocabulary rows
 *   (`vocabularyRowBits: 0-4`, run as tiers). One step = one `step([token])` call (ids in,
 *   the 10k logits out as a fresh Float32Array);
 * - onnxruntime-node (CPU EP, 1 intra-op thread) and onnxruntime-web (wasm EP, 1 thread, SIMD)
 *   running `exportOnnx()` of the same FP32 model: one `session.run` with the token and the
 *   previous step's h/c fed back.
 * `tokensPerSecond` = 1 / median step time (median over rounds of tinybench medians);
 * `speedupVsPeer` compares native rows with onnxruntime-node and wasm rows with onnxruntime-web;
 * `speedupRange` is the smallest and largest per-round ratio (`--rounds N`, default 3).
 * With `--compressed DIR` (and `--run FP_RUN`): the trained models' rows instead (see `trained`).
 * Then (not with --quick) many streams: batch 1/4/16/64 of the medium shape (FP32, 1-bit and
 * 2-bit lut-i8, 1-bit lut-f32), native with all threads against onnxruntime-node with as many
 * intra-op threads (see `streams`).
 * `modelBytes` is the file the engine loads (quire container or ONNX); `memoryBytes` the weights
 * as the quire engine holds them (packed planes + scales + kernel tiles), or the ONNX size.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import {
  CompressedModel,
  exportOnnx,
  InferenceEngine,
  type Kernel,
  LanguageModel,
  info,
  setThreads,
  type CompressionSpec,
} from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';
import { medianMs, middle } from './util.js';

const SHAPES = [
  { shape: 'small', vocab: 10000, hidden: 200 },
  { shape: 'medium', vocab: 10000, hidden: 650 },
] as const;
const LAYERS = 2;

type Engine = 'quire-native' | 'quire-wasm' | 'onnxruntime-node' | 'onnxruntime-web';

interface Task {
  engine: Engine;
  /** The packed kernel quire ran (`-` for onnxruntime and FP files). */
  kernel: string;
  bits: number;
  /** Bits of the vocabulary rows when mixed (`0-4`), else absent. */
  rowBits?: string;
  modelBytes: number;
  memoryBytes: number;
  step: () => unknown;
  dispose: () => Promise<void> | void;
}

/** The smallest and largest per-round speed-up (peer's step time / this one's, same round). */
function roundRange(peerMs: number[], ms: number[]): string {
  const r = ms.map((m, k) => peerMs[k] / m);
  return `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`;
}

/** Median latency in ms of one step (tinybench). */
function median(fn: () => unknown, quick: boolean): Promise<number> {
  return medianMs(fn, { iterations: 20, time: quick ? 150 : 500, warmupTime: 50 });
}

/** A token step through an ONNX session: feeds the token and the previous state. */
async function ortTask(
  engine: Engine,
  ort: typeof ortNode,
  onnx: Uint8Array,
  hidden: number,
  provider: string,
  batch = 1,
  threads = 1,
): Promise<Task> {
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const state: Record<string, ortNode.Tensor> = {};
  for (let l = 0; l < LAYERS; l++) {
    for (const p of ['h', 'c']) state[`${p}0.${l}`] = new ort.Tensor('float32', new Float32Array(batch * hidden), [1, batch, hidden]);
  }
  let t = 0;
  return {
    engine,
    kernel: '-',
    bits: 32,
    modelBytes: onnx.length,
    memoryBytes: onnx.length,
    step: async () => {
      const ids = BigInt64Array.from({ length: batch }, (_, b) => BigInt((t * 7 + b * 37) % 10000));
      t++;
      const tokens = new ort.Tensor('int64', ids, [1, batch]);
      const out = await session.run({ tokens, ...state });
      for (let l = 0; l < LAYERS; l++) {
        state[`h0.${l}`] = out[`h.${l}`];
        state[`c0.${l}`] = out[`c.${l}`];
      }
      return out.logits;
    },
    dispose: () => session.release(),
  };
}

function quireTask(bytes: Uint8Array, backend: 'native' | 'wasm', bits: number, batch = 1, kernel: Kernel = 'lut-i8'): Task {
  const e = InferenceEngine.fromBytes(bytes, { backend, kernel });
  e.resetState(batch);
  let t = 0;
  const token = new Uint32Array(batch);
  return {
    engine: backend === 'native' ? 'quire-native' : 'quire-wasm',
    kernel: bits === 32 ? '-' : e.kernel,
    bits,
    modelBytes: bytes.length,
    memoryBytes: e.weightBytes,
    step: () => {
      for (let b = 0; b < batch; b++) token[b] = (t * 7 + b * 37) % 10000;
      t++;
      return e.step(token);
    },
    dispose: () => e.dispose(),
  };
}

/**
 * `fp` with every matrix at `bits`; with `mixedRows`, the embedding and softmax rows get 0 to
 * bits + 2 bits at that mean (what `quire compress` does by default), weighted as the words of a
 * Zipf-distributed text (row r ∝ 1/√(r+1)), so that the engine runs them as tiers.
 */
function compressed(fp: Uint8Array, bits: number, mixedRows = false): Uint8Array {
  const m = LanguageModel.fromBytes(fp, { backend: 'native' });
  const tensors: Record<string, number> = { embedding: bits, 'softmax.weight': bits };
  for (let l = 0; l < LAYERS; l++) Object.assign(tensors, { [`lstm.${l}.w_ih`]: bits, [`lstm.${l}.w_hh`]: bits });
  const zipf = { maxBits: bits + 2, importance: Array.from({ length: m.config.vocab }, (_, r) => 1 / Math.sqrt(r + 1)) };
  const rows = mixedRows ? { embedding: zipf, 'softmax.weight': zipf } : {};
  const spec: CompressionSpec = {
    method: 'greedy',
    cycles: 0,
    groupSize: 0,
    layers: 'all',
    sparsity: 0,
    fpModelBytes: fp.length,
    tensors,
    rows,
  };
  const cm = CompressedModel.fromModel(m, spec, {});
  const bytes = cm.toBytes();
  cm.dispose();
  m.dispose();
  return bytes;
}

/**
 * Trained models (`--run DIR` = the FP run, `--compressed DIR` = its `quire compress` outputs):
 * batch 1, one thread, the FP file and each compressed file on both backends against
 * onnxruntime on the FP model's ONNX export, each row with the test perplexity its run recorded
 * (the compress report's `baseline` and `final`), so speed, size and quality are of one model.
 */
async function trained(fpRun: string, dirs: string[], quick: boolean, rounds: number): Promise<BenchRow[]> {
  const fpBytes = new Uint8Array(readFileSync(join(fpRun, 'model.qmodel')));
  const fp = LanguageModel.fromBytes(fpBytes, { backend: 'native' });
  const { hidden } = fp.config;
  const onnx = exportOnnx(fp);
  fp.dispose();
  const entries: { name: string; ppl: number | null; task: Task }[] = [];
  const reports = dirs.map(
    (d) =>
      JSON.parse(readFileSync(join(d, 'report.json'), 'utf8')) as {
        baseline: { perplexityTest: number };
        final: { perplexityTest: number };
      },
  );
  const fpPpl = reports[0]?.baseline.perplexityTest ?? null;
  entries.push({ name: 'FP32 (ONNX export)', ppl: fpPpl, task: await ortTask('onnxruntime-node', ortNode, onnx, hidden, 'cpu') });
  entries.push({
    name: 'FP32 (ONNX export)',
    ppl: fpPpl,
    task: await ortTask('onnxruntime-web', ortWeb as unknown as typeof ortNode, onnx, hidden, 'wasm'),
  });
  for (const backend of ['native', 'wasm'] as const)
    entries.push({ name: `FP32 ${fpRun}`, ppl: fpPpl, task: quireTask(fpBytes, backend, 32) });
  for (const [i, d] of dirs.entries()) {
    const bytes = new Uint8Array(readFileSync(join(d, 'model.qcomp')));
    // The kernel the file was compressed for (`auto`); a model retrained with quantized
    // activations also gets a `lut-i8` row (speed only: that kernel computes another model).
    for (const backend of ['native', 'wasm'] as const) {
      const task = quireTask(bytes, backend, 0, 1, 'auto');
      entries.push({ name: d, ppl: reports[i].final.perplexityTest, task });
      if (task.kernel !== 'lut-i8') entries.push({ name: `${d} (speed only)`, ppl: null, task: quireTask(bytes, backend, 0, 1, 'lut-i8') });
    }
  }
  const samples = entries.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, e] of entries.entries()) samples[i].push(await median(e.task.step, quick));
  }
  const tps = samples.map((xs) => 1000 / middle(xs));
  const rows: BenchRow[] = [];
  for (const [i, e] of entries.entries()) {
    const native = e.task.engine === 'quire-native' || e.task.engine === 'onnxruntime-node';
    const ref = tps[native ? 0 : 1];
    const speedupRange = roundRange(samples[native ? 0 : 1], samples[i]);
    rows.push({
      task: 'trained-token-step',
      model: e.name,
      engine: e.task.engine,
      kernel: e.task.kernel,
      testPerplexity: e.ppl === null ? null : +e.ppl.toFixed(2),
      tokensPerSecond: +tps[i].toFixed(1),
      speedupVsPeer: +(tps[i] / ref).toFixed(2),
      speedupRange,
      modelBytes: e.task.modelBytes,
      memoryBytes: e.task.memoryBytes,
    });
    await e.task.dispose();
  }
  return rows;
}

export async function run({ quick, run: fpRun, compressed: dirs, rounds: given }: BenchArgs): Promise<BenchRow[]> {
  ortWeb.env.wasm.numThreads = 1;
  const { backends } = info();
  console.log(
    `quire kernels native:${backends.native.kernels} ` +
      `wasm:${backends.wasm.kernels}${backends.wasm.relaxedSimd ? ' (relaxed-SIMD module)' : ''}; onnxruntime-node ` +
      `${ortNode.env.versions.node ?? '?'}, onnxruntime-web ${ortWeb.env.versions.web ?? '?'}`,
  );
  const rows: BenchRow[] = [];
  const rounds = given ?? (quick ? 1 : 3);
  // Batch 1 against onnxruntime's single intra-op thread: quire native on one thread too.
  const threads = info().backends.native.threads ?? 1;
  setThreads(1, 'native');
  if (dirs.length) {
    // Trained models instead of the random-weight shapes.
    rows.push(...(await trained(fpRun, dirs, quick, rounds)));
    setThreads(threads, 'native');
    return rows;
  }
  for (const { shape, vocab, hidden } of SHAPES) {
    const model = LanguageModel.create({ vocab, hidden, layers: LAYERS, initScale: 0.1, dropout: 0, seed: 1 }, { backend: 'native' });
    const fp = model.toBytes('quire-model', {}, false);
    const onnx = exportOnnx(model);
    model.dispose();
    const tasks: Task[] = [
      await ortTask('onnxruntime-node', ortNode, onnx, hidden, 'cpu'),
      await ortTask('onnxruntime-web', ortWeb as unknown as typeof ortNode, onnx, hidden, 'wasm'),
      quireTask(fp, 'native', 32),
      quireTask(fp, 'wasm', 32),
    ];
    for (const bits of [1, 2, 3]) {
      const c = compressed(fp, bits);
      tasks.push(quireTask(c, 'native', bits), quireTask(c, 'wasm', bits));
    }
    // The same mean with mixed-precision vocabulary rows (0–4 bits): the engine's tiers.
    const mixed = compressed(fp, 2, true);
    tasks.push({ ...quireTask(mixed, 'native', 2), rowBits: '0-4' }, { ...quireTask(mixed, 'wasm', 2), rowBits: '0-4' });
    const samples = tasks.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (const [i, task] of tasks.entries()) samples[i].push(await median(task.step, quick));
    }
    const tps = samples.map((xs) => 1000 / middle(xs));
    const peerIndex = (e: Engine) => tasks.findIndex((t) => t.engine === e);
    for (const [i, t] of tasks.entries()) {
      const j =
        t.engine === 'quire-native' || t.engine === 'onnxruntime-node' ? peerIndex('onnxruntime-node') : peerIndex('onnxruntime-web');
      const ref = tps[j];
      rows.push({
        task: 'lstm-lm-token-step',
        shape,
        batch: 1,
        engine: t.engine,
        bits: t.bits,
        ...(t.rowBits ? { vocabularyRowBits: t.rowBits } : {}),
        tokensPerSecond: +tps[i].toFixed(1),
        speedupVsPeer: +(tps[i] / ref).toFixed(2),
        speedupRange: roundRange(samples[j], samples[i]),
        modelBytes: t.modelBytes,
        memoryBytes: t.memoryBytes,
      });
      await t.dispose();
    }
  }
  setThreads(threads, 'native');
  if (!quick || process.env.QUIRE_BENCH_STREAMS) rows.push(...(await streams(rounds)));
  const maxRss = process.resourceUsage().maxRSS * 1024;
  console.log(`peak resident memory of the whole run: ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
  return rows;
}

/**
 * Many streams at once, medium shape, native with all threads (2 here) and onnxruntime-node with
 * the same intra-op threads, batch 1/4/16/64: tokens/s = batch / median step time.
 * `vsBatch1` is the engine's own batch-1 rate; `speedupVsPeer` compares with onnxruntime-node
 * (FP32) at the same batch and threads.
 */
async function streams(rounds: number): Promise<BenchRow[]> {
  const { vocab, hidden } = SHAPES[1];
  const threads = info().backends.native.threads ?? 1;
  const model = LanguageModel.create({ vocab, hidden, layers: LAYERS, initScale: 0.1, dropout: 0, seed: 1 }, { backend: 'native' });
  const fp = model.toBytes('quire-model', {}, false);
  const onnx = exportOnnx(model);
  model.dispose();
  const one = compressed(fp, 1);
  const two = compressed(fp, 2);
  const rows: BenchRow[] = [];
  const base = new Map<string, number>();
  for (const batch of [1, 4, 16, 64]) {
    const tasks: [string, Task][] = [
      ['onnxruntime-node fp32', await ortTask('onnxruntime-node', ortNode, onnx, hidden, 'cpu', batch, threads)],
      ['quire-native fp32', quireTask(fp, 'native', 32, batch)],
      ['quire-native 1-bit lut-i8', quireTask(one, 'native', 1, batch, 'lut-i8')],
      ['quire-native 2-bit lut-i8', quireTask(two, 'native', 2, batch, 'lut-i8')],
      ['quire-native 1-bit lut-f32', quireTask(one, 'native', 1, batch, 'lut-f32')],
    ];
    const samples = tasks.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (const [i, [, task]] of tasks.entries()) samples[i].push(await median(task.step, false));
    }
    const tps = samples.map((xs) => (1000 * batch) / middle(xs));
    for (const [i, [name, t]] of tasks.entries()) {
      if (batch === 1) base.set(name, tps[i]);
      rows.push({
        task: 'lstm-lm-streams',
        shape: 'medium',
        batch,
        threads,
        engine: name,
        bits: t.bits,
        ...(t.rowBits ? { vocabularyRowBits: t.rowBits } : {}),
        tokensPerSecond: +tps[i].toFixed(1),
        vsBatch1: +(tps[i] / (base.get(name) ?? tps[i])).toFixed(2),
        speedupVsPeer: +(tps[i] / tps[0]).toFixed(2),
      });
      await t.dispose();
    }
  }
  return rows;
}
