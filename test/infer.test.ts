import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CompressedModel,
  generateWords,
  InferenceEngine,
  LanguageModel,
  QuireError,
  Vocabulary,
  type BackendName,
  type CompressionSpec,
} from '../ts/index.js';
import { BACKEND_NAMES, maxRelDiff, rng } from './backends.js';
import { syntheticCorpus } from './corpus.js';

const V = 23;
const WORDS = [...Array.from({ length: V - 2 }, (_, i) => `w${i}`), '<eos>', '<unk>'];

/** Token ids of a learnable stream (each id has 3 likely successors). */
function stream(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const out = new Uint32Array(n);
  for (let i = 1; i < n; i++) out[i] = (out[i - 1] * 7 + 1 + Math.floor(r() * 3)) % V;
  return out;
}

/** A small 2-layer model trained a little, so its predictions are not flat. */
function trainedModel(backend: BackendName, tied = false): LanguageModel {
  const m = LanguageModel.create({ vocab: V, hidden: 40, layers: 2, initScale: 0.3, dropout: 0, seed: 3, tied }, { backend });
  const ids = stream(2 * 16 * 12 + 2, 1);
  m.resetState(2);
  for (let w = 0; w < 12; w++) {
    const x = ids.subarray(w * 32, w * 32 + 32);
    const y = ids.subarray(w * 32 + 1, w * 32 + 33);
    m.trainStep(x, y, 0.5, 5);
  }
  return m;
}

function compressedBytes(model: LanguageModel, bits: number): Uint8Array {
  // A tied model's shared matrix is its embedding: quantized once.
  const tensors: Record<string, number> = model.config.tied ? { embedding: bits } : { embedding: bits, 'softmax.weight': bits };
  for (let l = 0; l < 2; l++) Object.assign(tensors, { [`lstm.${l}.w_ih`]: bits, [`lstm.${l}.w_hh`]: bits });
  const spec: CompressionSpec = { method: 'alternating', cycles: 2, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors };
  const cm = CompressedModel.fromModel(model, spec, { vocabulary: JSON.stringify(WORDS) });
  try {
    return cm.toBytes();
  } finally {
    cm.dispose();
  }
}

function window(b: number, t: number, seed: number): { inputs: Uint32Array; targets: Uint32Array } {
  const ids = stream(b * t + 1, seed);
  // time-major T·B: stream s reads the contiguous chunk starting at s·t.
  const inputs = new Uint32Array(b * t);
  const targets = new Uint32Array(b * t);
  for (let s = 0; s < b; s++) {
    for (let k = 0; k < t; k++) {
      inputs[k * b + s] = ids[s * t + k];
      targets[k * b + s] = ids[s * t + k + 1];
    }
  }
  return { inputs, targets };
}

describe.each(BACKEND_NAMES)('inference engine (%s)', (backend) => {
  it('runs a full-precision model exactly like the training model', () => {
    const model = trainedModel(backend);
    const engine = InferenceEngine.fromModel(model);
    const { inputs, targets } = window(3, 10, 5);
    model.resetState(3);
    engine.resetState(3);
    const want = model.evaluate(inputs, targets);
    expect(Math.abs(engine.evaluate(inputs, targets) - want) / want).toBeLessThan(1e-5);
    expect(Object.values(engine.bits).every((b) => b === 32)).toBe(true);
    engine.dispose();
    model.dispose();
  });

  it.each([1, 2, 3])('keeps %i-bit matrices packed; perplexity within 0.5%% of the dequantized model', (bits) => {
    const model = trainedModel(backend);
    const bytes = compressedBytes(model, bits);
    const deq = CompressedModel.fromBytes(bytes, { backend }).toModel();
    const engine = InferenceEngine.fromBytes(bytes, { backend });
    expect(engine.kernel).toBe('lut-i8');
    expect(new Set(Object.values(engine.bits))).toEqual(new Set([bits]));
    const { inputs, targets } = window(2, 30, 6);
    deq.resetState(2);
    engine.resetState(2);
    const want = Math.exp(deq.evaluate(inputs, targets));
    const got = Math.exp(engine.evaluate(inputs, targets));
    expect(Math.abs(got - want) / want).toBeLessThan(0.005);
    const exact = InferenceEngine.fromBytes(bytes, { backend, kernel: 'lut-f32' });
    exact.resetState(2);
    deq.resetState(2);
    expect(Math.abs(exact.evaluate(inputs, targets) - deq.evaluate(inputs, targets))).toBeLessThan(1e-4);
    // XNOR/popcount: 8 activation bits come close to the exact model, 1 bit does not.
    const pc = (k: 1 | 8) => {
      const e = InferenceEngine.fromBytes(bytes, { backend, kernel: `popcount-a${k}` });
      expect(e.kernel).toBe(`popcount-a${k}`);
      e.resetState(2);
      deq.resetState(2);
      const gap = Math.abs(e.evaluate(inputs, targets) - deq.evaluate(inputs, targets));
      e.dispose();
      return gap;
    };
    const [a8, a1] = [pc(8), pc(1)];
    expect(a8).toBeLessThan(0.02);
    expect(a1).toBeGreaterThan(a8);
    expect(() => InferenceEngine.fromBytes(bytes, { backend, kernel: 'popcount-a9' as 'popcount-a8' })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    );
    // One kernel vocabulary with matmul: plain `popcount` takes the bits the file records, and
    // this file records none.
    expect(() => InferenceEngine.fromBytes(bytes, { backend, kernel: 'popcount' })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining('records none') }),
    );
    for (const h of [engine, exact, deq, model]) h.dispose();
  });

  it('runs a tied model: step logits equal the training model (FP) and the dequantized model (packed, one shared matrix)', () => {
    const model = trainedModel(backend, true);
    const { inputs, targets } = window(2, 12, 7);
    /** The model's logits of each step, from its own evaluation of one-token windows. */
    const logitsOf = (run: (tokens: Uint32Array) => Float32Array) =>
      Array.from({ length: 12 }, (_, t) => run(inputs.subarray(2 * t, 2 * t + 2)));
    const fp = InferenceEngine.fromModel(model, { kernel: 'lut-f32' });
    expect(Object.keys(fp.bits).sort()).toEqual(['embedding', 'lstm.0.w_hh', 'lstm.0.w_ih', 'lstm.1.w_hh', 'lstm.1.w_ih']);
    fp.resetState(2);
    model.resetState(2);
    const want = model.evaluate(inputs, targets);
    expect(Math.abs(fp.evaluate(inputs, targets) - want) / want).toBeLessThan(1e-5);
    // Logits step by step against an untied copy whose softmax weight is the embedding.
    const copy = LanguageModel.create({ ...model.config, tied: false }, { backend });
    for (const n of model.tensorNames()) copy.setTensor(n, model.getTensor(n));
    copy.setTensor('softmax.weight', model.getTensor('embedding'));
    const untied = InferenceEngine.fromModel(copy, { kernel: 'lut-f32' });
    fp.resetState(2);
    untied.resetState(2);
    const a = logitsOf((x) => fp.step(x).slice());
    const b = logitsOf((x) => untied.step(x).slice());
    a.forEach((row, t) => expect(Array.from(row), `step ${t}`).toEqual(Array.from(b[t])));
    const bytes = compressedBytes(model, 2);
    const cm = CompressedModel.fromBytes(bytes, { backend });
    expect(Object.keys(cm.header.bits)).not.toContain('softmax.weight');
    const deq = cm.toModel();
    const packed = InferenceEngine.fromBytes(bytes, { backend, kernel: 'lut-f32' });
    expect(new Set(Object.values(packed.bits))).toEqual(new Set([2]));
    expect(deq.config.tied).toBe(true);
    deq.resetState(2);
    packed.resetState(2);
    expect(Math.abs(packed.evaluate(inputs, targets) - deq.evaluate(inputs, targets))).toBeLessThan(1e-4);
    // The FP engine over the dequantized weights gives the packed engine's logits.
    const deqEngine = InferenceEngine.fromModel(deq, { kernel: 'lut-f32' });
    deqEngine.resetState(2);
    packed.resetState(2);
    const p = logitsOf((x) => packed.step(x).slice());
    const d = logitsOf((x) => deqEngine.step(x).slice());
    p.forEach((row, t) => expect(maxRelDiff(row, d[t]), `step ${t}`).toBeLessThan(1e-4));
    for (const h of [fp, untied, packed, deqEngine, cm, deq, copy, model]) h.dispose();
  });

  it('steps B streams, samples deterministically per seed and stays usable after errors', () => {
    const model = trainedModel(backend);
    const engine = InferenceEngine.fromBytes(compressedBytes(model, 2), { backend });
    engine.resetState(2);
    expect(() => engine.sample()).toThrow(expect.objectContaining({ code: 'E_STATE' }));
    const logits = engine.step([1, 5]);
    expect(logits.length).toBe(2 * V);
    const top = engine.topK(3, 1);
    const row1 = logits.subarray(V);
    expect(row1[top[0]]).toBe(Math.max(...row1));
    const draws = (seed: number) => {
      engine.seed(seed);
      return Array.from({ length: 50 }, () => Array.from(engine.sample({ temperature: 1, topK: 4 }))).flat();
    };
    expect(draws(4)).toEqual(draws(4));
    expect(draws(4)).not.toEqual(draws(5));
    expect(Array.from(engine.sample({ temperature: 0 }))).toEqual([engine.topK(1, 0)[0], top[0]]);
    for (const bad of [() => engine.step([V, 0]), () => engine.step([1])]) {
      expect(bad).toThrow(QuireError);
      expect(bad).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
    }
    expect(() => engine.resetState(65)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => engine.sample({ temperature: -1 })).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => InferenceEngine.fromBytes(new Uint8Array(3), { backend })).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
    expect(engine.step([2, 3]).every(Number.isFinite)).toBe(true);
    engine.dispose();
    model.dispose();
  });

  it('generates from a prompt, mapping unknown words to <unk>', () => {
    const model = trainedModel(backend);
    const engine = InferenceEngine.fromBytes(compressedBytes(model, 1), { backend });
    const unknown: string[] = [];
    const opts = { prompt: 'w1 zebra w3', tokens: 12, topK: 5, seed: 9, onUnknown: (w: string) => unknown.push(w) };
    const a = [...generateWords(engine, new Vocabulary(WORDS), opts)];
    const b = [...generateWords(engine, new Vocabulary(WORDS), opts)];
    expect(unknown).toEqual(['zebra', 'zebra']);
    expect(a).toHaveLength(12);
    expect(a).toEqual(b);
    expect(a.every((w) => WORDS.includes(w))).toBe(true);
    engine.dispose();
    model.dispose();
  });
});

describe('inference engine across backends', () => {
  it('native and wasm give bit-identical lut-f32 logits for the same compressed file', () => {
    const bytes = compressedBytes(trainedModel('native'), 2);
    const [n, w] = (['native', 'wasm'] as const).map((b) => InferenceEngine.fromBytes(bytes, { backend: b, kernel: 'lut-f32' }));
    // lut-f32 is the stream-parallel kernel: the same IEEE operations in the same order on every ISA.
    for (const t of [3, 7, 11]) expect(w.step([t])).toEqual(n.step([t]));
  });

  it('lut-i8 logits are bit-identical natively and in wasm, for one stream and for 9 (the batched kernel natively)', () => {
    const bytes = compressedBytes(trainedModel('native'), 2);
    const [n, w] = (['native', 'wasm'] as const).map((b) => InferenceEngine.fromBytes(bytes, { backend: b, kernel: 'lut-i8' }));
    const one = InferenceEngine.fromBytes(bytes, { backend: 'native', kernel: 'lut-i8' });
    for (const e of [n, w]) e.resetState(9);
    for (const t of [3, 7, 11]) {
      const tokens = Array.from({ length: 9 }, (_, b) => (t + 5 * b) % V);
      const got = n.step(tokens);
      expect(w.step(tokens)).toEqual(got);
      // Stream 4 alone gives its row of the batch.
      expect(one.step([tokens[4]])).toEqual(got.subarray(4 * V, 5 * V));
    }
    for (const e of [n, w, one]) e.dispose();
  });
});

describe('quire generate / quire eval on a compressed model', () => {
  const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
  const run = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

  it('streams text, warns about unknown prompt words, and evaluates through the packed kernels', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quire-gen-'));
    const file = join(dir, 'model.qcomp');
    writeFileSync(file, compressedBytes(trainedModel('native'), 2));
    const g = run('generate', file, '--prompt', 'w1 zebra', '--tokens', '15', '--top-k', '5', '--seed', '3', '--backend', 'wasm');
    expect(g.status, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/1 prompt word is not in the vocabulary and becomes <unk>: 'zebra'/);
    expect(g.stdout.startsWith('w1 zebra')).toBe(true);
    expect(g.stdout.trim().split(/\s+/).length).toBeGreaterThan(2);
    expect(run('generate', file, '--temperature', '-1').status).toBe(2);
    const data = syntheticCorpus();
    const packed = JSON.parse(run('eval', file, '--data', data, '--json', '--limit-tokens', '1500').stdout);
    const deq = JSON.parse(run('eval', file, '--data', data, '--json', '--limit-tokens', '1500', '--dequantize').stdout);
    expect(packed.engine).toBe('packed lut-i8');
    expect(deq.engine).toBe('dequantized f32');
    expect(Math.abs(packed.perplexity - deq.perplexity) / deq.perplexity).toBeLessThan(0.005);
  });
});
