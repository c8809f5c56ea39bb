import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compress, type CompressOptions } from '../ts/compress/loop.js';
import type { Progress, ProgressState } from '../ts/train/progress.js';
import { loadAnyModel, loadFpModel } from '../ts/compress/load.js';
import { resolveSettings, type SettingsInput } from '../ts/compress/resolve.js';
import { getMask } from '../ts/compress/masks.js';
import { validateReport, type CompressReport } from '../ts/compress/report.js';
import { describeModelFile } from '../ts/compress/describe.js';
import { MIXED_BUDGET_BITS } from '../ts/compress/budget.js';
import { mixedSpec } from '../ts/compress/settings.js';
import { CompressedModel } from '../ts/compress/compressed-model.js';
import { evaluatePerplexity, loadCorpus, loadEngine, QuireError, quantize, train, type LanguageModel } from '../ts/index.js';
import { writeSafetensors } from '../ts/io/safetensors.js';
import { BACKEND_NAMES } from './backends.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus(2000, 7);
const tmp = () => mkdtempSync(join(tmpdir(), 'quire-compress-'));
let fpDir = '';
/** The same FP run with the embedding tied to the softmax. */
let tiedDir = '';

beforeAll(async () => {
  fpDir = tmp();
  tiedDir = tmp();
  await train({ preset: 'tiny', overrides: { epochs: 2, hidden: 24 }, dataDir: data, outDir: fpDir, backend: 'native' });
  await train({ preset: 'tiny', overrides: { epochs: 2, hidden: 24, tie: true }, dataDir: data, outDir: tiedDir, backend: 'native' });
}, 240_000);

const LSTM = ['lstm.0.w_hh', 'lstm.0.w_ih', 'lstm.1.w_hh', 'lstm.1.w_ih'];

function options(backend: 'native' | 'wasm', outDir: string, settings: Partial<CompressOptions['settings']> = {}): CompressOptions {
  return {
    model: fpDir,
    dataDir: data,
    outDir,
    backend,
    settings: { bits: 1, iterations: 2, retrainSteps: 20, tuneSteps: 0, ...settings },
  };
}

async function rejects(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QuireError);
  expect((err as QuireError).code).toBe(code);
  expect((err as QuireError).message).toMatch(message);
}

describe.each(BACKEND_NAMES)('quire compress on %s', (backend) => {
  it('runs the loop end to end: report, plots, exported weights equal Q(W), pruned entries 0', async () => {
    const out = tmp();
    const before = new Map<number, Record<string, { w: Float32Array; mask: Uint8Array | null }>>();
    const capture = (model: LanguageModel, t: number) => {
      before.set(t, Object.fromEntries([...LSTM, 'softmax.weight'].map((n) => [n, { w: model.getTensor(n), mask: getMask(model, n) }])));
    };
    const r = await compress({
      ...options(backend, out, { prune: 0.5, layers: 'lstm,softmax', softmaxBits: 2, method: 'alternating', rowBits: 'uniform' }),
      onBeforeQuantize: capture,
    });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CompressReport;
    expect(validateReport(report)).toEqual([]);
    expect(report.iterations.map((it) => it.iteration)).toEqual([0, 1, 2]);
    expect(report.iterations[0].perplexityFp).toBeNull();
    expect(report.iterations[1].learningRate).toBeCloseTo(2 * report.iterations[2].learningRate!, 12);
    expect(Object.keys(report.iterations[0].perMatrix).sort()).toEqual([...LSTM, 'softmax.weight']);
    expect(report.settings).toMatchObject({ bits: 1, softmaxBits: 2, prune: 0.5, pruneMask: 'once', iterations: 2 });
    for (const f of ['report.md', 'loss.svg', 'perplexity.svg', 'model.qcomp']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    expect(r.report.final!.perplexityTest).toBeGreaterThan(1);

    const { model } = loadAnyModel(r.modelPath, { backend });
    for (const [name, bits] of [...LSTM.map((n) => [n, 1] as const), ['softmax.weight', 2] as const]) {
      const { w, mask } = before.get(2)![name];
      expect(mask, name).not.toBeNull();
      expect(
        mask!.reduce((a, k) => a + (k === 0 ? 1 : 0), 0),
        name,
      ).toBe(w.length / 2);
      const [rows, cols] = model.tensorShape(name);
      const q = quantize(w, rows, cols, { bits, method: 'alternating', mask: mask!, halfScales: true, backend });
      const exported = model.getTensor(name);
      expect(Array.from(exported), name).toEqual(Array.from(q.dequantize()));
      // After retraining (iteration 1 and 2 inputs) the pruned entries are still exactly 0.
      for (const t of [1, 2]) {
        const seen = before.get(t)![name];
        seen.mask!.forEach((k, i) => k === 0 && expect(seen.w[i]).toBe(0));
      }
    }
    model.dispose();
    const d = describeModelFile(out, { backend });
    expect(d.format).toBe('quire-compressed');
    expect(d.compressed!.bits).toEqual({ 'lstm.0.w_hh': 1, 'lstm.0.w_ih': 1, 'lstm.1.w_hh': 1, 'lstm.1.w_ih': 1, 'softmax.weight': 2 });
    expect(d.compressed!.masked.sort()).toEqual([...LSTM, 'softmax.weight']);
    expect(d.compressed!.compressionRatio).toBeGreaterThan(1);
    expect(d.compressed!.activationBits).toBeNull();
  }, 120_000);

  it('--prune-mask each ramps the sparsity to the target with nested masks; global scope prunes across matrices', async () => {
    const seen: Uint8Array[][] = [];
    await compress({
      ...options(backend, tmp(), { prune: 0.6, pruneMask: 'each', pruneScope: 'global' }),
      onBeforeQuantize: (m, t) => (seen[t] = LSTM.map((n) => getMask(m, n)!)),
    });
    const total = seen[0].reduce((a, m) => a + m.length, 0);
    seen.forEach((masks, t) => {
      const pruned = masks.reduce((a, m) => a + m.filter((k) => k === 0).length, 0);
      expect(pruned, `iteration ${t}`).toBe(Math.floor(((0.6 * (t + 1)) / 3) * total));
      if (t > 0) masks.forEach((m, i) => m.forEach((k, j) => seen[t - 1][i][j] === 0 && expect(k).toBe(0)));
    });
  }, 120_000);

  it('resumes a stopped run at its next iteration with the same result, and refuses changed settings', async () => {
    const full = await compress(options(backend, tmp()));
    const out = tmp();
    const controller = new AbortController();
    const stopped = compress({
      ...options(backend, out),
      signal: controller.signal,
      onBeforeQuantize: (_, t) => t === 1 && controller.abort(),
    });
    await rejects(stopped, 'E_INTERRUPTED', /--resume from iteration 2/);
    expect((JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CompressReport).iterations).toHaveLength(2);
    await rejects(compress(options(backend, out)), 'E_CONFIG', /--resume/);
    await rejects(compress({ ...options(backend, out, { bits: 2 }), resume: true }), 'E_CONFIG', /changed settings.*bits/);
    const resumed = await compress({ ...options(backend, out), resume: true });
    const strip = (r: CompressReport) => r.iterations.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(resumed.report)).toEqual(strip(full.report));
    expect(readFileSync(resumed.modelPath)).toEqual(readFileSync(full.modelPath));
  }, 120_000);

  it('scale tuning trains the last quantization with its codes fixed, is kept only when validation improves, and resumes', async () => {
    const out = tmp();
    const tuned = await compress(options(backend, out, { tuneSteps: 30, tuneLr: 0.3 }));
    const t = tuned.report.tuning!;
    expect(validateReport(tuned.report)).toEqual([]);
    expect(t).toMatchObject({ steps: 30, learningRate: 0.3, perplexityBefore: tuned.report.iterations[2].perplexityQuantized });
    expect(t.kept).toBe(true);
    expect(t.perplexityAfter).toBeLessThan(t.perplexityBefore);
    expect(tuned.report.final!.perplexityValid).toBe(t.perplexityAfter);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/## Scale tuning/);
    // 1-bit per-row codes fixed: each row of the tuned matrix is a positive multiple of the untuned one.
    const last = CompressedModel.fromBytes(readFileSync(join(out, 'checkpoint-2.qcomp')), { backend });
    const before = last.toModel();
    const { model: after } = loadAnyModel(tuned.modelPath, { backend });
    let changed = 0;
    for (const name of LSTM) {
      const [rows, cols] = before.tensorShape(name);
      const [a, b] = [before.getTensor(name), after.getTensor(name)];
      for (let r = 0; r < rows; r++) {
        const ratio = b[r * cols] / a[r * cols];
        expect(ratio, `${name} row ${r}`).toBeGreaterThan(0);
        for (let c = 1; c < cols; c++) expect(b[r * cols + c] / a[r * cols + c]).toBeCloseTo(ratio, 5);
        if (Math.abs(ratio - 1) > 1e-3) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);
    for (const m of [before, after]) m.dispose();
    last.dispose();

    // Interrupted in the tuning, --resume redoes it from the last iteration: the same file.
    const out2 = tmp();
    const controller = new AbortController();
    // The whole run's time left in windows (against the iteration's own): 2 iterations × 20 windows, then 30 of tuning.
    const windowsLeft: number[] = [];
    const progress = {
      message: () => {},
      task: () => {},
      update: (p: ProgressState) => {
        if (p.label === 'iteration' && p.epoch === 1 && p.runEtaSeconds !== undefined)
          windowsLeft.push(Math.round((p.runEtaSeconds / p.etaSeconds) * (p.windows - p.window)));
        if (p.label === 'tuning') expect(p.runEtaSeconds).toBeUndefined();
        if (p.label === 'tuning' && p.window === 10) controller.abort();
      },
    } as unknown as Progress;
    await rejects(
      compress({ ...options(backend, out2, { tuneSteps: 30, tuneLr: 0.3 }), signal: controller.signal, progress }),
      'E_INTERRUPTED',
      /scale tuning/,
    );
    expect(windowsLeft.slice(0, 2)).toEqual([2 * 20 - 1 + 30, 2 * 20 - 2 + 30]);
    const resumed = await compress({ ...options(backend, out2, { tuneSteps: 30, tuneLr: 0.3 }), resume: true });
    expect(readFileSync(resumed.modelPath)).toEqual(readFileSync(tuned.modelPath));

    // A rate that wrecks the model: not kept, the last iteration is the final model.
    const out3 = tmp();
    const wrecked = await compress(options(backend, out3, { tuneSteps: 5, tuneLr: 500 }));
    expect(wrecked.report.tuning!.kept).toBe(false);
    expect(readFileSync(wrecked.modelPath)).toEqual(readFileSync(join(out3, 'checkpoint-2.qcomp')));
    expect(wrecked.report.final!.perplexityValid).toBe(wrecked.report.iterations[2].perplexityQuantized);
    expect(existsSync(join(out3, 'checkpoint-tuned.qcomp'))).toBe(false);
    await rejects(compress({ ...options(backend, tmp(), { tuneSteps: -1 }) }), 'E_CONFIG', /tuneSteps/);

    // A run stored before scale tuning existed resumes without it, or tunes when asked to.
    const old = tmp();
    const untuned = await compress(options(backend, old));
    const statePath = join(old, 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    delete state.report.settings.tuneSteps;
    delete state.report.settings.tuneLr;
    delete state.report.settings.distillTemperature;
    delete state.report.settings.rowBits;
    writeFileSync(statePath, JSON.stringify(state));
    // Its rows were uniform: asking for mixed-precision rows is a changed setting.
    await rejects(
      compress({ ...options(backend, old, { rowBits: 'frequency' }), resume: true }),
      'E_CONFIG',
      /changed settings \(rowBits: "uniform" → "frequency"\)/,
    );
    // It distilled at temperature 1: another temperature is a changed setting.
    await rejects(
      compress({ ...options(backend, old, { distillTemperature: 2 }), resume: true }),
      'E_CONFIG',
      /changed settings \(distillTemperature: 1 → 2\)/,
    );
    const { tuneSteps: _omit, ...legacy } = options(backend, old).settings;
    const again = await compress({ ...options(backend, old), settings: legacy, resume: true });
    expect(again.report.tuning).toBeUndefined();
    expect(readFileSync(again.modelPath)).toEqual(readFileSync(untuned.modelPath));
    const late = await compress({ ...options(backend, old, { tuneSteps: 30, tuneLr: 0.3 }), resume: true });
    expect(late.report.tuning).toMatchObject({ steps: 30, learningRate: 0.3, kept: true });
    expect(late.report.settings).toMatchObject({ tuneSteps: 30, tuneLr: 0.3 });
  }, 120_000);

  it('--distill and --dropout change the retrained weights, are recorded, and resume to the same result', async () => {
    const byDefault = await compress(options(backend, tmp()));
    const plain = await compress(options(backend, tmp(), { distill: 0, dropout: 0 }));
    const distilled = await compress(options(backend, tmp(), { distill: 0.5, dropout: 0 }));
    const dropped = await compress(options(backend, tmp(), { distill: 0, dropout: 0.3 }));
    const tempered = await compress(options(backend, tmp(), { distill: 0.5, dropout: 0, distillTemperature: 2 }));
    // Defaults: distillation 0.5 at temperature 1, and dropout 0.3 since the FP run used none.
    expect(byDefault.report.settings).toMatchObject({ distill: 0.5, distillTemperature: 1, dropout: 0.3 });
    expect(tempered.report.settings).toMatchObject({ distillTemperature: 2 });
    expect(readFileSync(tempered.modelPath).equals(readFileSync(distilled.modelPath))).toBe(false);
    await rejects(compress(options(backend, tmp(), { distillTemperature: 0 })), 'E_CONFIG', /distillTemperature/);
    expect(plain.report.settings).toMatchObject({ distill: 0, dropout: 0 });
    const bytes = (p: string) => readFileSync(p);
    expect(bytes(distilled.modelPath).equals(bytes(plain.modelPath))).toBe(false);
    expect(bytes(dropped.modelPath).equals(bytes(plain.modelPath))).toBe(false);
    // The exported model keeps the FP run's config (dropout is a retraining setting only).
    expect(loadAnyModel(dropped.modelPath, { backend }).model.config.dropout).toBe(0);
    // Distillation and dropout (masks seeded per iteration) survive an interruption: resumed == uninterrupted.
    const out = tmp();
    const controller = new AbortController();
    const stopped = compress({
      ...options(backend, out, { distill: 0.5 }),
      signal: controller.signal,
      onBeforeQuantize: (_, t) => t === 1 && controller.abort(),
    });
    await rejects(stopped, 'E_INTERRUPTED', /--resume/);
    const resumed = await compress({ ...options(backend, out, { distill: 0.5 }), resume: true });
    expect(bytes(resumed.modelPath)).toEqual(bytes(byDefault.modelPath));
  }, 120_000);

  it('--activation-bits retrains with quantized activations; the file runs on popcount-a<k>, giving the reported perplexity', async () => {
    const r = await compress(options(backend, tmp(), { bits: 2, activationBits: 2, layers: 'lstm,softmax' }));
    expect(r.report.settings).toMatchObject({ activationBits: 2 });
    const plain = await compress(options(backend, tmp(), { bits: 2, layers: 'lstm,softmax' }));
    expect(plain.report.settings.activationBits).toBeNull();
    expect(readFileSync(r.modelPath).equals(readFileSync(plain.modelPath))).toBe(false);
    const { engine, vocabulary } = loadEngine(r.modelPath, { backend });
    try {
      expect(engine.kernel).toBe('popcount-a2');
      expect(engine.metadata.activation_bits).toBe('2');
      expect(describeModelFile(r.modelPath, { backend }).compressed!.activationBits).toBe(2);
      const corpus = loadCorpus(data, { vocabulary });
      const s = r.report.settings;
      const ppl = evaluatePerplexity(engine, corpus.ids.test, s.evalBatch, s.steps).perplexity;
      expect(ppl / r.report.final!.perplexityTest).toBeCloseTo(1, 4);
      // The dequantized model quantizes its activations as the file says: the same perplexity.
      const { model } = loadAnyModel(r.modelPath, { backend });
      const deq = evaluatePerplexity(model, corpus.ids.test, s.evalBatch, s.steps).perplexity;
      model.dispose();
      expect(deq / r.report.final!.perplexityTest).toBeCloseTo(1, 4);
    } finally {
      engine.dispose();
    }
    // The FP-activation model runs on lut-i8 by default.
    const other = loadEngine(plain.modelPath, { backend });
    expect(other.engine.kernel).toBe('lut-i8');
    other.engine.dispose();
  }, 120_000);

  it('mixed-precision rows: each vocabulary row is its own k-bit quantization, frequent words get more bits, the mean and the file stay', async () => {
    const capture = new Map<string, Float32Array>();
    const run = (rowBits: 'frequency' | 'uniform') =>
      compress({
        ...options(backend, tmp(), { layers: 'all', bits: 2, iterations: 1, rowBits }),
        onBeforeQuantize: (model: LanguageModel, t: number) => {
          if (rowBits === 'frequency' && t === 1) for (const n of ['embedding', 'softmax.weight']) capture.set(n, model.getTensor(n));
        },
      });
    const [mixed, uniform] = [await run('frequency'), await run('uniform')];
    expect(mixed.report.settings.rowBits).toBe('frequency');
    const cm = CompressedModel.fromBytes(readFileSync(mixed.modelPath), { backend });
    const h = cm.header;
    const { model } = loadAnyModel(mixed.modelPath, { backend });
    // Word counts of the training text: the most frequent word's row gets the most bits.
    const corpus = loadCorpus(data);
    const counts = new Float64Array(model.config.vocab);
    for (const id of corpus.ids.train) counts[id]++;
    const byCount = [...counts.keys()].sort((a, b) => counts[b] - counts[a]);
    for (const name of ['embedding', 'softmax.weight']) {
      expect(h.bits[name], name).toBe(4); // the most bits of a row: the mean + 2
      expect(h.meanBits[name], name).toBeLessThanOrEqual(2);
      // Less the row-bit table (a large share of so small a matrix: 3 bits per row, paid in planes of 24 columns).
      expect(h.meanBits[name], name).toBeGreaterThan(1.5);
      const histogram = h.rowBits[name];
      expect(Object.keys(histogram).length, name).toBeGreaterThan(1);
      expect(Object.values(histogram).reduce((a, b) => a + b, 0)).toBe(model.config.vocab);
      // Every exported row is zeros (0 bits) or the k-bit quantization of its row for some k (its bits).
      const w = capture.get(name)!;
      const [rows, cols] = model.tensorShape(name);
      const byBits = [0, 1, 2, 3, 4].map((k) =>
        k === 0
          ? new Float32Array(rows * cols)
          : quantize(w, rows, cols, { bits: k, method: 'alternating', halfScales: true, backend }).dequantize(),
      );
      const exported = model.getTensor(name);
      const bitsOf = (r: number) =>
        byBits.findIndex((d) => d.subarray(r * cols, (r + 1) * cols).every((v, j) => v === exported[r * cols + j]));
      const rowBits = Array.from({ length: rows }, (_, r) => bitsOf(r));
      expect(rowBits.every((b) => b >= 0)).toBe(true);
      const histogramSeen: Record<string, number> = {};
      for (const b of rowBits) histogramSeen[b] = (histogramSeen[b] ?? 0) + 1;
      expect(histogramSeen).toEqual(histogram);
      // The tenth of the words seen most often get more bits on average than the tenth seen least
      // (the softmax by its weighting; the embedding because frequent words' rows have trained further).
      const tenth = Math.ceil(rows / 10);
      const mean = (ids: number[]) => ids.reduce((a, r) => a + rowBits[r], 0) / ids.length;
      expect(mean(byCount.slice(0, tenth)), name).toBeGreaterThan(mean(byCount.slice(-tenth)) + 0.5);
    }
    // The engine runs the file to the perplexity of the dequantized model the loop measured.
    const { engine } = loadEngine(mixed.modelPath, { backend, kernel: 'lut-f32' });
    const st = mixed.report.settings;
    const want = evaluatePerplexity(model, corpus.ids.test, st.evalBatch, st.steps).perplexity;
    expect(evaluatePerplexity(engine, corpus.ids.test, st.evalBatch, st.steps).perplexity / want).toBeCloseTo(1, 4);
    engine.dispose();
    model.dispose();
    // No more tensor bytes than uniform rows (the row-bit table is paid for by fewer bits).
    const uniformCm = CompressedModel.fromBytes(readFileSync(uniform.modelPath), { backend });
    expect(h.quantizedBytes).toBeLessThanOrEqual(uniformCm.header.quantizedBytes);
    expect(uniformCm.header.rowBits).toEqual({});
    uniformCm.dispose();
    cm.dispose();
  }, 120_000);

  it('--target-bits chooses the bits per group from measured sensitivity, fits the budget and records why', async () => {
    const messages: string[] = [];
    const progress = { message: (m: string) => messages.push(m), update: () => {}, task: () => {} } as unknown as Progress;
    const r = await compress({ ...options(backend, tmp(), { targetBits: 5 }), progress });
    const a = r.report.allocation!;
    expect(a.target).toEqual({ bitsPerParameter: 5 });
    // One progress line per evaluation: the FP model, then every group at every candidate.
    const steps = messages.filter((m) => m.startsWith('size budget ')).map((m) => /^size budget (\d+)\/(\d+): (.*), valid ppl/.exec(m)!);
    expect(steps.map((m) => [Number(m[1]), Number(m[2])])).toEqual(steps.map((_, i) => [i + 1, 1 + 4 + 2 * MIXED_BUDGET_BITS.length]));
    expect(steps[0][3]).toBe('FP');
    expect(steps[1][3]).toBe('LSTM at 1 bit');
    expect(steps.at(-1)![3]).toBe('embedding at 4 bits');
    for (const g of ['lstm', 'softmax', 'embedding'] as const) {
      // The vocabulary matrices (mixed-precision rows by default) are measured between whole bits too.
      expect(a.groups[g]!.candidates.map((c) => c.bits)).toEqual(g === 'lstm' ? [1, 2, 3, 4] : [...MIXED_BUDGET_BITS]);
      // More bits never cost fewer bytes.
      const bytes = a.groups[g]!.candidates.map((c) => c.bytes);
      expect([...bytes].sort((x, y) => x - y)).toEqual(bytes);
    }
    expect(r.report.settings).toMatchObject({
      layers: 'all',
      bits: a.groups.lstm!.chosen,
      softmaxBits: a.groups.softmax!.chosen,
      embeddingBits: a.groups.embedding!.chosen,
    });
    // The prediction is the core's own byte count: the exported model has exactly that size per parameter.
    expect(r.report.final!.bitsPerParameter).toBeCloseTo(a.bitsPerParameter, 9);
    expect(a.bitsPerParameter).toBeLessThanOrEqual(5);
    const size = await compress(options(backend, tmp(), { targetSize: r.report.final!.modelBytes + 2000 }));
    expect(size.report.final!.modelBytes).toBeLessThanOrEqual(r.report.final!.modelBytes + 2000);
  }, 120_000);

  it('a tied model: --target-bits allocates the shared matrix as one group, quantized once; the engine equals the dequantized model', async () => {
    const r = await compress({ ...options(backend, tmp(), { targetBits: 5 }), model: tiedDir });
    const a = r.report.allocation!;
    expect(Object.keys(a.groups)).toEqual(['lstm', 'embedding']);
    expect(r.report.settings).toMatchObject({ layers: 'all', bits: a.groups.lstm!.chosen, embeddingBits: a.groups.embedding!.chosen });
    expect(r.report.settings.softmaxBits).toBe(r.report.settings.embeddingBits);
    expect(r.report.final!.bitsPerParameter).toBeCloseTo(a.bitsPerParameter, 9);
    expect(readFileSync(join(r.modelPath, '..', 'report.md'), 'utf8')).toContain('| embedding = softmax (tied) |');
    const d = describeModelFile(r.modelPath, { backend });
    expect(d.tied).toBe(true);
    expect(Object.keys(d.compressed!.bits).sort()).toEqual(['embedding', ...LSTM]);
    // One matrix, quantized once: serving the lookup and the softmax, dequantized and packed alike.
    const { model } = loadAnyModel(r.modelPath, { backend });
    const { engine, vocabulary } = loadEngine(r.modelPath, { backend, kernel: 'lut-f32' });
    try {
      expect(model.config.tied).toBe(true);
      expect(model.tensorNames()).not.toContain('softmax.weight');
      expect(a.groups.embedding!.weights).toBe(model.tensorShape('embedding').reduce((x, y) => x * y));
      // The engine names a mixed matrix by its whole bits (the mean rounded up; the budget may choose a mean between).
      expect(engine.bits.embedding).toBe(Math.ceil(r.report.settings.embeddingBits));
      expect(Object.keys(engine.bits)).not.toContain('softmax.weight');
      const corpus = loadCorpus(data, { vocabulary });
      const s = r.report.settings;
      const want = evaluatePerplexity(model, corpus.ids.test, s.evalBatch, s.steps).perplexity;
      expect(want / r.report.final!.perplexityTest).toBeCloseTo(1, 6);
      expect(evaluatePerplexity(engine, corpus.ids.test, s.evalBatch, s.steps).perplexity / want).toBeCloseTo(1, 4);
    } finally {
      engine.dispose();
      model.dispose();
    }
    // --layers lstm,softmax selects the shared matrix too, at the softmax bits; differing bits for its two roles are refused.
    const sm = await compress({
      ...options(backend, tmp(), { layers: 'lstm,softmax', softmaxBits: 3, iterations: 1, retrainSteps: 5, rowBits: 'uniform' }),
      model: tiedDir,
    });
    expect(describeModelFile(sm.modelPath, { backend }).compressed!.bits.embedding).toBe(3);
    await rejects(
      compress({ ...options(backend, join(tmp(), 'run'), { layers: 'all', softmaxBits: 2, embeddingBits: 3 }), model: tiedDir }),
      'E_CONFIG',
      /ties its embedding to its softmax/,
    );
  }, 240_000);

  it('--straight-through retrains on the quantized weights and keeps FP shadow weights across iterations', async () => {
    // A negligible rate: the windows change nothing, so what the retrained FP model is shows.
    const still = { lr: 1e-9, distill: 0, retrainSteps: 3 };
    const through = await compress(options(backend, tmp(), { ...still, straightThrough: 1 }));
    const from = await compress(options(backend, tmp(), still));
    const [t0, t1, t2] = through.report.iterations;
    const base = through.report.baseline.perplexityValid;
    // Through the quantizer the shadow weights are still the FP model's, and each quantization the first one.
    expect(t1.perplexityFp! / base).toBeCloseTo(1, 4);
    expect(t2.perplexityFp! / base).toBeCloseTo(1, 4);
    expect(t1.perplexityQuantized / t0.perplexityQuantized).toBeCloseTo(1, 4);
    expect(t2.quantizationLoss / t0.quantizationLoss).toBeCloseTo(1, 4);
    // From the quantizer (the paper's retraining) the FP weights were overwritten by Q(W).
    const [f0, f1] = from.report.iterations;
    expect(f1.perplexityFp! / f0.perplexityQuantized).toBeCloseTo(1, 4);
    expect(Math.abs(f1.perplexityFp! - base)).toBeGreaterThan(0.01 * base);
    expect(through.report.settings).toMatchObject({ straightThrough: 1 });
    expect(from.report.settings).toMatchObject({ straightThrough: 0 });
    // At a real rate the windows' updates reach the shadow weights: the retrained model moves.
    const moving = await compress(options(backend, tmp(), { straightThrough: 2 }));
    expect(Math.abs(moving.report.iterations[1].perplexityFp! - base)).toBeGreaterThan(1e-3 * base);
    expect(Number.isFinite(moving.report.final!.perplexityTest)).toBe(true);
    // Mixed-precision rows (a tied model's shared matrix at 1.5 bits): 30 windows re-quantize in a
    // kept row layout and allocate it again (ROW_ALLOCATION_INTERVAL); the file is the size the budget gives.
    const mixedSettings = { layers: 'all' as const, bits: 2, embeddingBits: 1.5, retrainSteps: 30 };
    const [mixedThrough, mixedFrom] = await Promise.all(
      [1, 0].map((straightThrough) => compress({ ...options(backend, tmp(), { ...mixedSettings, straightThrough }), model: tiedDir })),
    );
    expect(Number.isFinite(mixedThrough.report.final!.perplexityTest)).toBe(true);
    expect(mixedThrough.report.final!.modelBytes).toBe(mixedFrom.report.final!.modelBytes);
    expect(mixedThrough.report.iterations[1].perplexityQuantized).not.toBe(mixedFrom.report.iterations[1].perplexityQuantized);
    // With pruning the shadow of a pruned weight stays 0: the retrained model never revives it.
    const seen: { w: Float32Array; mask: Uint8Array }[][] = [];
    await compress({
      ...options(backend, tmp(), { straightThrough: 1, prune: 0.5 }),
      onBeforeQuantize: (m, t) => (seen[t] = LSTM.map((n) => ({ w: m.getTensor(n), mask: getMask(m, n)! }))),
    });
    expect(seen).toHaveLength(3);
    seen.forEach((matrices, t) =>
      matrices.forEach(({ w, mask }, i) => {
        expect(mask).toEqual(seen[0][i].mask);
        expect(mask.filter((k) => k === 0).length).toBe(Math.floor(0.5 * mask.length));
        expect(
          w.filter((x, j) => mask[j] === 0 && x !== 0),
          `iteration ${t}`,
        ).toHaveLength(0);
      }),
    );
    await rejects(compress(options(backend, tmp(), { straightThrough: -1 })), 'E_CONFIG', /straightThrough must be an integer >= 0/);
  }, 120_000);

  it('CompressedModel.requantize quantizes new weights in its own layout: uniform matrices as fromModel, sizes kept', () => {
    const spec = {
      method: 'alternating' as const,
      cycles: 2,
      groupSize: 0,
      layers: 'all',
      sparsity: 0,
      fpModelBytes: 1,
      ...mixedSpec('error', { 'lstm.0.w_hh': 2, embedding: 1.5 }, undefined, true),
    };
    const load = () => loadFpModel(tiedDir, { backend }).model;
    const [model, fresh] = [load(), load()];
    const original = model.getTensor('embedding');
    const cm = CompressedModel.fromModel(model, spec, {});
    const size = cm.toBytes().length;
    // New weights: the FP ones moved a little (what a window of training does).
    for (const m of [model, fresh])
      for (const n of ['lstm.0.w_hh', 'embedding']) {
        const w = n === 'embedding' ? original : fresh.getTensor(n);
        m.setTensor(
          n,
          w.map((x, i) => x + 0.01 * Math.sin(i)),
        );
      }
    const moved = model.getTensor('embedding');
    const losses = cm.requantize(model);
    const direct = CompressedModel.fromModel(fresh, spec, {});
    expect(model.getTensor('lstm.0.w_hh')).toEqual(fresh.getTensor('lstm.0.w_hh'));
    expect(losses['lstm.0.w_hh']).toEqual(direct.losses['lstm.0.w_hh']);
    expect(cm.toBytes().length).toBe(size);
    expect(model.getTensor('embedding')).not.toEqual(original);
    const e = losses.embedding;
    expect(e.relative).toBeGreaterThan(0);
    expect(e.relative).toBeLessThan(1);
    expect(e.norm).toBeCloseTo(
      moved.reduce((a, x) => a + x * x, 0),
      2,
    );
    expect(() => cm.requantize(loadFpModel(fpDir, { backend }).model)).toThrow(/differs from the compressed model/);
    for (const x of [cm, direct, model, fresh]) x.dispose();
  });

  it('a resumed straight-through run continues from the shadow weights stored with its last iteration', async () => {
    const settings = { straightThrough: 2 };
    const full = await compress(options(backend, tmp(), settings));
    const out = tmp();
    const controller = new AbortController();
    const stopped = compress({
      ...options(backend, out, settings),
      signal: controller.signal,
      onBeforeQuantize: (_, t) => t === 1 && controller.abort(),
    });
    await rejects(stopped, 'E_INTERRUPTED', /--resume from iteration 2/);
    expect(readdirSync(out).filter((f) => f.startsWith('shadow-'))).toEqual(['shadow-1.safetensors']);
    // Damaged or missing shadow weights: a clear error, or a restart from the quantized model that says so.
    const copy = tmp();
    cpSync(out, copy, { recursive: true });
    writeFileSync(join(copy, 'shadow-1.safetensors'), writeSafetensors(new Map()));
    await rejects(compress({ ...options(backend, copy, settings), resume: true }), 'E_FORMAT', /tensor 'lstm\.[01]\.w_(hh|ih)' is missing/);
    rmSync(join(copy, 'shadow-1.safetensors'));
    const messages: string[] = [];
    const progress = { message: (m: string) => messages.push(m), update: () => {}, task: () => {} } as unknown as Progress;
    const restarted = await compress({ ...options(backend, copy, settings), resume: true, progress });
    expect(messages.some((m) => /shadow-1\.safetensors is missing: the shadow weights restart from the last quantized model/.test(m))).toBe(
      true,
    );
    const resumed = await compress({ ...options(backend, out, settings), resume: true });
    expect(readFileSync(resumed.modelPath)).toEqual(readFileSync(full.modelPath));
    expect(readFileSync(restarted.modelPath)).not.toEqual(readFileSync(full.modelPath));
    expect(readdirSync(out).filter((f) => f.startsWith('shadow-'))).toEqual(['shadow-2.safetensors']);
  }, 120_000);

  it('an interruption during the size budget stops it after the current evaluation and leaves nothing', async () => {
    const out = tmp();
    const controller = new AbortController();
    const evaluations: string[] = [];
    const progress = {
      message: (m: string) => {
        if (!m.startsWith('size budget ')) return;
        evaluations.push(m);
        if (evaluations.length === 2) controller.abort();
      },
      update: () => {},
      task: () => {},
    } as unknown as Progress;
    const stopped = compress({ ...options(backend, out, { targetBits: 5 }), signal: controller.signal, progress });
    await rejects(stopped, 'E_INTERRUPTED', /while measuring the size budget; nothing of the run was saved/);
    expect(evaluations).toHaveLength(2);
    // The run folder (made for the run lock) is gone again: the same command starts afresh.
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    const again = await compress({ ...options(backend, out, { targetBits: 5, iterations: 1 }) });
    expect(again.report.allocation).toBeDefined();
  }, 120_000);

  it('--resume of a budgeted run reuses the bit allocation it stored instead of measuring again', async () => {
    const out = tmp();
    const controller = new AbortController();
    const settings = { targetBits: 5, iterations: 2 };
    const stopped = compress({
      ...options(backend, out, settings),
      signal: controller.signal,
      onBeforeQuantize: (_, t) => t === 1 && controller.abort(),
    });
    await rejects(stopped, 'E_INTERRUPTED', /--resume/);
    const stored = (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CompressReport).allocation;
    expect(stored).toBeDefined();
    const messages: string[] = [];
    const progress = { message: (m: string) => messages.push(m), update: () => {}, task: () => {} } as unknown as Progress;
    const resumed = await compress({ ...options(backend, out, settings), resume: true, progress });
    expect(messages.filter((m) => m.includes('measuring the sensitivity'))).toEqual([]);
    expect(messages).toContain('size budget: the bit allocation stored by the run');
    expect(resumed.report.allocation).toEqual(stored);
    expect(resumed.report.iterations.map((it) => it.iteration)).toEqual([0, 1, 2]);
  }, 120_000);

  it('rejects bad settings and non-FP files before writing anything', async () => {
    const cases: [Partial<CompressOptions['settings']>, RegExp][] = [
      [{ bits: 0 }, /bits must be an integer from 1 to 8/],
      [{ prune: 1 }, /prune \(sparsity\) must be in \[0, 1\)/],
      [{ iterations: 0 }, /iterations must be an integer >= 1/],
      [{ activationBits: 9 }, /activationBits must be an integer from 1 to 8/],
      [{ groupSize: 10 }, /groupSize/],
      [{ distill: 1.5 }, /distill must be in \[0, 1\]/],
      [{ dropout: 1 }, /dropout must be in \[0, 1\)/],
      [{ targetBits: 0.5 }, /targetBits must be a number from 1 to 32/],
      [{ targetBits: 3, prune: 0.5 }, /cannot be combined with pruning/],
      [{ targetBits: 1.01 }, /budget is too small: 1 bit everywhere needs/],
    ];
    for (const [settings, message] of cases) {
      const out = join(tmp(), 'run');
      await rejects(compress(options(backend, out, settings)), 'E_CONFIG', message);
      expect(existsSync(out)).toBe(false);
    }
    const junk = join(tmp(), 'junk.qmodel');
    writeFileSync(junk, 'not a model at all');
    const out = join(tmp(), 'run');
    await rejects(compress({ ...options(backend, out), model: junk }), 'E_FORMAT', /not a full-precision quire model/);
    const done = await compress(options(backend, tmp(), { iterations: 1, retrainSteps: 2 }));
    await rejects(compress({ ...options(backend, out), model: done.modelPath }), 'E_FORMAT', /format 'quire-compressed'.*quire train/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

describe('mixed-precision specs', () => {
  it('vocabulary matrices get rows of 0 to ⌈k⌉ + 2 bits, a fractional mean as the core wants it, counts where words are predicted', () => {
    const counts = [3, 0, 8];
    const tensors = { embedding: 1.75, 'softmax.weight': 2, 'lstm.0.w_ih': 3 };
    const m = mixedSpec('frequency', tensors, counts);
    expect(m.tensors).toEqual({ embedding: 2, 'softmax.weight': 2, 'lstm.0.w_ih': 3 });
    expect(m.rows).toEqual({
      embedding: { maxBits: 4, meanBits: 1.75 },
      'softmax.weight': { maxBits: 4, importance: [2, 1, 3] },
    });
    // A tied model's shared matrix is the softmax too: weighted.
    expect(mixedSpec('frequency', { embedding: 2 }, counts, true).rows).toEqual({ embedding: { maxBits: 4, importance: [2, 1, 3] } });
    expect(mixedSpec('error', tensors, undefined).rows!['softmax.weight']).toEqual({ maxBits: 4 });
    expect(mixedSpec('uniform', { embedding: 2 }, undefined)).toEqual({ tensors: { embedding: 2 }, rows: {} });
    expect(() => mixedSpec('frequency', { 'softmax.weight': 2 }, undefined)).toThrow(/word counts/);
  });
});

describe('compress defaults follow the FP run', () => {
  it('a model trained with dropout gets the longer schedule, no scale tuning and dropout min(its own, 0.3); one without, dropout 0.3 and tuning', async () => {
    const dropped = tmp();
    await train({ preset: 'tiny', overrides: { epochs: 1, hidden: 24, dropout: 0.2 }, dataDir: data, outDir: dropped, backend: 'native' });
    const resolved = (dir: string, given: SettingsInput = {}) => {
      const src = loadFpModel(dir, { backend: 'native' });
      try {
        return resolveSettings({ bits: 1, ...given }, src);
      } finally {
        src.model.dispose();
      }
    };
    expect(resolved(dropped)).toMatchObject({ retrainSteps: 800, lrDecay: 0.7, tuneSteps: 0, dropout: 0.2 });
    expect(resolved(fpDir)).toMatchObject({ retrainSteps: 400, lrDecay: 0.5, tuneSteps: 2000, dropout: 0.3 });
    // Trained at a higher dropout than 0.3: retrained at 0.3 (settings.ts, RETRAIN_DROPOUT).
    const heavy = tmp();
    await train({ preset: 'tiny', overrides: { epochs: 1, hidden: 24, dropout: 0.5 }, dataDir: data, outDir: heavy, backend: 'native' });
    expect(resolved(heavy)).toMatchObject({ retrainSteps: 800, lrDecay: 0.7, dropout: 0.3 });
    expect(resolved(heavy, { dropout: 0.5 })).toMatchObject({ dropout: 0.5 });
    expect(resolved(dropped, { retrainSteps: 50, lrDecay: 0.6, tuneSteps: 7 })).toMatchObject({
      retrainSteps: 50,
      lrDecay: 0.6,
      tuneSteps: 7,
    });
    expect(resolved(fpDir, { retrainSteps: 30 })).toMatchObject({ tuneSteps: 150 });
    expect(resolved(dropped, { retrainEpochs: 2 })).toMatchObject({ retrainSteps: null, retrainEpochs: 2 });
  }, 60_000);
});

describe('quire compress / info / eval CLI', () => {
  const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
  const run = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

  it('compresses, then info and eval read the compressed model; bad values exit 2 or 1', () => {
    const out = tmp();
    const c = run(
      'compress',
      fpDir,
      '--data',
      data,
      '--out',
      out,
      '--bits',
      '2',
      '--iterations',
      '1',
      '--retrain-steps',
      '5',
      '--method',
      'greedy',
    );
    expect(c.status, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/iteration 1: retrained at lr/);
    const i = run('info', join(out, 'model.qcomp'), '--json');
    expect(i.status, i.stderr).toBe(0);
    const d = JSON.parse(i.stdout);
    expect(d.compressed.method).toBe('greedy');
    expect(d.compressed.bitsPerQuantizedWeight).toBeGreaterThan(2);
    const evalArgs = ['eval', join(out, 'model.qcomp'), '--data', data, '--split', 'valid', '--json', '--batch', '4', '--steps', '5'];
    const e = run(...evalArgs, '--dequantize');
    expect(e.status, e.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as CompressReport;
    expect(JSON.parse(e.stdout).perplexity).toBeCloseTo(report.final!.perplexityValid, 6);
    // By default eval runs the packed kernels (int8 tables): within 0.5 % of the float figure.
    const packed = JSON.parse(run(...evalArgs).stdout).perplexity;
    expect(Math.abs(packed / report.final!.perplexityValid - 1)).toBeLessThan(0.005);
    expect(run('compress', fpDir, '--out', tmp(), '--bits', '1', '--method', 'lloyd').status).toBe(2);
    const bad = run('compress', fpDir, '--data', data, '--out', join(out, 'x'), '--bits', '0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/E_CONFIG: bits must be/);
    expect(existsSync(join(out, 'x'))).toBe(false);
  }, 120_000);
});
