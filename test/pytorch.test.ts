/**
 * Models from PyTorch and back (issue 22): the safetensors reader and writer against files
 * PyTorch's `safetensors.torch.save_file` wrote, a golden 2 × 16 LSTM of PyTorch's
 * word_language_model layout imported on both backends (logits and loss against PyTorch's),
 * export → import identity, the state dicts quire cannot hold, and the CLI. Golden files:
 * test/golden/pytorch, written by examples/pytorch/golden.py. With QUIRE_PEER_PYTHON naming a
 * Python with torch, PyTorch itself runs an exported quire model.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../ts/io/safetensors.js';
import { compressedCodes, exportStateDict, importStateDict } from '../ts/pytorch.js';
import { CompressedModel, InferenceEngine, LanguageModel, prune, QuireError, type BackendName } from '../ts/index.js';
import { BACKEND_NAMES, rng } from './backends.js';

const GOLDEN = join(import.meta.dirname, 'golden', 'pytorch');
const golden = (name: string) => readFileSync(join(GOLDEN, name));
const expected = JSON.parse(golden('lstm-2x16.json').toString('utf8')) as {
  seq: number;
  batch: number;
  inputs: number[];
  targets: number[];
  logits: number[];
  loss: number;
};
const tmp = () => mkdtempSync(join(tmpdir(), 'quire-pytorch-'));

function formatError(f: () => unknown): QuireError {
  try {
    f();
  } catch (err) {
    if (err instanceof QuireError) return err;
    throw err;
  }
  throw new Error('expected a QuireError');
}

/** Logits `[seq, batch, V]` of `model` from a zero state, stepping the time-major `inputs`. */
function logitsOf(model: LanguageModel, inputs: number[], seq: number, batch: number): Float32Array {
  const engine = InferenceEngine.fromModel(model, { kernel: 'lut-f32' });
  engine.resetState(batch);
  const v = model.config.vocab;
  const out = new Float32Array(seq * batch * v);
  for (let t = 0; t < seq; t++) out.set(engine.step(inputs.slice(t * batch, (t + 1) * batch)), t * batch * v);
  engine.dispose();
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('safetensors', () => {
  it.each(['lstm-2x16', 'dtypes', 'gru', 'bidirectional'])('writes %s.safetensors byte for byte as save_file wrote it', (name) => {
    const bytes = golden(`${name}.safetensors`);
    const file = readSafetensors(bytes, name);
    expect(Buffer.from(writeSafetensors(file.tensors, file.metadata)).equals(bytes)).toBe(true);
  });

  it('reads every dtype with its shape and bytes', () => {
    const { tensors, metadata } = readSafetensors(golden('dtypes.safetensors'));
    expect(metadata).toEqual({});
    expect([...tensors].map(([n, t]) => [n, t.dtype, t.shape, t.data.length])).toEqual([
      ['d.i64', 'I64', [1], 8],
      ['g.f64', 'F64', [1], 8],
      ['a.f32', 'F32', [2, 3], 24],
      ['i.f32', 'F32', [0], 0],
      ['f.i32', 'I32', [2], 8],
      ['h.bf16', 'BF16', [1], 2],
      ['e.f16', 'F16', [2], 4],
      ['b.i8', 'I8', [3], 3],
      ['c.u8', 'U8', [2], 2],
    ]);
    const a = tensors.get('a.f32');
    expect(Array.from(new Float32Array(new Uint8Array(a?.data ?? []).buffer))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refuses truncated and inconsistent files with E_FORMAT', () => {
    const bytes = golden('dtypes.safetensors');
    for (let len = 0; len < bytes.length; len += 7)
      expect(formatError(() => readSafetensors(bytes.subarray(0, len), 'x')).code).toBe('E_FORMAT');
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + n).toString('latin1');
    for (const [from, to, says] of [
      ['"I64"', '"Q64"', 'unknown dtype'],
      ['[0,8]', '[0,9]', 'needs 8 bytes'],
      ['"data_offsets":[8,16]', '"data_offsets":[0, 8]', 'without gaps or overlaps'],
      ['"shape":[2,3]', '"shape":[2,-3]', 'non-negative integers'],
    ]) {
      const edited = Buffer.from(bytes);
      edited.write(header.replace(from, to).padEnd(n, ' ').slice(0, n), 8, 'latin1');
      const err = formatError(() => readSafetensors(edited, 'x'));
      expect([err.code, err.message]).toEqual(['E_FORMAT', expect.stringContaining(says)]);
    }
    const err = formatError(() => readSafetensors(Buffer.concat([bytes, Buffer.alloc(4)]), 'x'));
    expect(err.message).toContain('the tensors cover');
  });
});

describe.each(BACKEND_NAMES)('PyTorch state dicts (%s)', (backend: BackendName) => {
  it("imports the golden model and computes PyTorch's logits and loss", () => {
    const model = importStateDict(golden('lstm-2x16.safetensors'), 'golden', { backend });
    expect(model.config).toMatchObject({ vocab: 50, hidden: 16, layers: 2 });
    const { seq, batch } = expected;
    const logits = logitsOf(model, expected.inputs, seq, batch);
    expect(maxAbsDiff(logits, expected.logits)).toBeLessThan(1e-5);
    model.resetState(batch);
    expect(Math.abs(model.evaluate(Uint32Array.from(expected.inputs), Uint32Array.from(expected.targets)) - expected.loss)).toBeLessThan(
      1e-5,
    );
    model.dispose();
  });

  it('export → import gives identical bytes, weights and logits', () => {
    const first = importStateDict(golden('lstm-2x16.safetensors'), 'golden', { backend });
    const exported = exportStateDict(first);
    const second = importStateDict(exported, 'exported', { backend });
    expect(Buffer.from(exportStateDict(second)).equals(Buffer.from(exported))).toBe(true);
    expect(Buffer.from(second.toBytes()).equals(Buffer.from(first.toBytes()))).toBe(true);
    // The matrices are PyTorch's unchanged; the two biases became one (in bias_ih, zeros in bias_hh).
    const original = readSafetensors(golden('lstm-2x16.safetensors')).tensors;
    const written = readSafetensors(exported).tensors;
    for (const name of ['encoder.weight', 'rnn.weight_ih_l1', 'rnn.weight_hh_l0', 'decoder.weight', 'decoder.bias']) {
      expect(Buffer.from(written.get(name)?.data ?? []).equals(Buffer.from(original.get(name)?.data ?? [0]))).toBe(true);
    }
    const hh = new Float32Array(new Uint8Array(written.get('rnn.bias_hh_l0')?.data ?? []).buffer);
    expect(hh.length).toBe(64);
    expect(hh.every((v) => v === 0)).toBe(true);
    const { seq, batch, inputs } = expected;
    expect(maxAbsDiff(logitsOf(second, inputs, seq, batch), logitsOf(first, inputs, seq, batch))).toBe(0);
    first.dispose();
    second.dispose();
  });

  it('a tied model exports its shared matrix as encoder.weight and decoder.weight, and imports back tied', () => {
    const m = LanguageModel.create({ vocab: 12, hidden: 8, layers: 2, initScale: 0.3, dropout: 0, seed: 4, tied: true }, { backend });
    const bytes = exportStateDict(m);
    const t = readSafetensors(bytes).tensors;
    expect(Buffer.from(t.get('decoder.weight')?.data ?? []).equals(Buffer.from(t.get('encoder.weight')?.data ?? [0]))).toBe(true);
    const back = importStateDict(bytes, 'tied', { backend });
    expect(back.config.tied).toBe(true);
    expect(Buffer.from(back.toBytes()).equals(Buffer.from(m.toBytes()))).toBe(true);
    m.dispose();
    back.dispose();
  });

  it("an adaptive softmax exports as AdaptiveLogSoftmaxWithLoss's tensors and imports back (div_value 4 only)", () => {
    const m = LanguageModel.create(
      { vocab: 30, hidden: 20, layers: 1, initScale: 0.3, dropout: 0, seed: 4, cutoffs: [6, 17] },
      { backend },
    );
    const bytes = exportStateDict(m);
    const t = readSafetensors(bytes).tensors;
    const shapes = Object.fromEntries([...t].filter(([n]) => n.startsWith('decoder.')).map(([n, x]) => [n, x.shape]));
    expect(shapes).toEqual({
      'decoder.head.weight': [8, 20],
      'decoder.head.bias': [8],
      'decoder.tail.0.0.weight': [5, 20],
      'decoder.tail.0.1.weight': [11, 5],
      'decoder.tail.1.0.weight': [1, 20],
      'decoder.tail.1.1.weight': [13, 1],
    });
    const back = importStateDict(bytes, 'adaptive', { backend });
    expect(back.config.cutoffs).toEqual([6, 17]);
    expect(Buffer.from(back.toBytes()).equals(Buffer.from(m.toBytes()))).toBe(true);
    // A tail projected to another width (PyTorch's div_value 2) is refused, naming it.
    const other = new Map(t);
    other.set('decoder.tail.0.0.weight', { dtype: 'F32', shape: [10, 20], data: new Uint8Array(800) });
    other.set('decoder.tail.0.1.weight', { dtype: 'F32', shape: [11, 10], data: new Uint8Array(440) });
    expect(() => importStateDict(writeSafetensors(other, {}), 'div2', { backend })).toThrow(/decoder\.tail\.0\.0\.weight.*div_value 4/);
    m.dispose();
    back.dispose();
  });

  it('keeps init scale, dropout and seed of a quire model through the round trip', () => {
    const m = LanguageModel.create({ vocab: 7, hidden: 3, layers: 3, initScale: 0.3, dropout: 0.25, seed: 9 }, { backend });
    const back = importStateDict(exportStateDict(m), 'm', { backend });
    expect(back.config).toEqual(m.config);
    for (const name of m.tensorNames()) expect(back.getTensor(name)).toEqual(m.getTensor(name));
    m.dispose();
    back.dispose();
  });

  it.each([
    ['gru', 'a GRU'],
    ['rnn', 'a plain RNN'],
    ['bidirectional', 'bidirectional'],
    ['projections', 'projections'],
    ['wide-embedding', 'equal sizes'],
  ])('refuses the %s state dict with E_FORMAT naming what is unsupported', (name, says) => {
    const err = formatError(() => importStateDict(golden(`${name}.safetensors`), `${name}.safetensors`, { backend }));
    expect([err.code, err.message]).toEqual(['E_FORMAT', expect.stringContaining(says)]);
    expect(err.message).toContain(`${name}.safetensors`);
  });

  it('refuses missing, extra, mis-shaped, non-F32 and non-finite tensors with E_FORMAT', () => {
    const base = readSafetensors(golden('lstm-2x16.safetensors')).tensors;
    const edit = (f: (t: Map<string, { dtype: string; shape: number[]; data: Uint8Array }>) => void) => {
      const t = new Map([...base].map(([k, v]) => [k, { ...v, data: v.data.slice() }]));
      f(t);
      return formatError(() => importStateDict(writeSafetensors(t), 'edited', { backend }));
    };
    const cases: [string, (t: Map<string, { dtype: string; shape: number[]; data: Uint8Array }>) => void][] = [
      ["'encoder.weight' is missing", (t) => t.delete('encoder.weight')],
      ["'decoder.weight' is missing", (t) => t.delete('decoder.weight')],
      ["unsupported tensor 'extra.weight'", (t) => t.set('extra.weight', { dtype: 'F32', shape: [1], data: new Uint8Array(4) })],
      ['numbered from 0 without gaps', (t) => t.set('rnn.weight_hh_l5', { dtype: 'F32', shape: [1], data: new Uint8Array(4) })],
      ["'decoder.bias' has shape [49]", (t) => t.set('decoder.bias', { dtype: 'F32', shape: [49], data: new Uint8Array(196) })],
      ['is F64', (t) => t.set('decoder.bias', { dtype: 'F64', shape: [50], data: new Uint8Array(400) })],
      [
        'non-finite',
        (t) => t.set('decoder.bias', { dtype: 'F32', shape: [50], data: new Uint8Array(new Float32Array(50).fill(Number.NaN).buffer) }),
      ],
    ];
    for (const [says, f] of cases) {
      const err = edit(f);
      expect([err.code, err.message]).toEqual(['E_FORMAT', expect.stringContaining(says)]);
    }
  });

  it('answers every corrupted golden file with a model or E_FORMAT', () => {
    const bytes = golden('lstm-2x16.safetensors');
    const r = rng(backend === 'native' ? 1 : 2);
    const n = Number(bytes.readBigUInt64LE(0));
    for (let trial = 0; trial < 200; trial++) {
      const edited = Buffer.from(bytes);
      // Mostly the header (where a flip changes names, shapes and offsets), sometimes the weights.
      const at = trial % 4 === 0 ? Math.floor(r() * bytes.length) : Math.floor(r() * (8 + n));
      edited[at] = Math.floor(r() * 256);
      try {
        importStateDict(edited, 'fuzz', { backend }).dispose();
      } catch (err) {
        expect(err instanceof QuireError && err.code === 'E_FORMAT', String(err)).toBe(true);
      }
    }
    const empty = new Map([['encoder.weight', { dtype: 'F32', shape: [0, 16], data: new Uint8Array(0) }]]);
    for (const [k, t] of readSafetensors(bytes).tensors) if (k !== 'encoder.weight') empty.set(k, t);
    expect(formatError(() => importStateDict(writeSafetensors(empty), 'empty', { backend })).code).toBe('E_FORMAT');
  });

  it('drops the module. prefix of a DistributedDataParallel state dict and the biases PyTorch may leave out', () => {
    const base = readSafetensors(golden('lstm-2x16.safetensors')).tensors;
    const wrapped = new Map([...base].map(([k, v]) => [`module.${k}`, v]));
    const a = importStateDict(writeSafetensors(wrapped), 'ddp', { backend });
    const b = importStateDict(golden('lstm-2x16.safetensors'), 'golden', { backend });
    expect(Buffer.from(a.toBytes()).equals(Buffer.from(b.toBytes()))).toBe(true);
    for (const name of ['rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'rnn.bias_ih_l1', 'rnn.bias_hh_l1', 'decoder.bias']) base.delete(name);
    const c = importStateDict(writeSafetensors(base), 'no-bias', { backend });
    expect(c.getTensor('lstm.1.bias').every((v) => v === 0)).toBe(true);
    expect(c.getTensor('softmax.bias').every((v) => v === 0)).toBe(true);
    for (const m of [a, b, c]) m.dispose();
  });

  it("exports a compressed model's codes and scales, which rebuild its dequantized weights", () => {
    const m = LanguageModel.create({ vocab: 11, hidden: 130, layers: 1, initScale: 0.5, dropout: 0, seed: 3 }, { backend });
    const tensors = { 'lstm.0.w_ih': 2, 'lstm.0.w_hh': 1, 'softmax.weight': 3 };
    for (const [groupSize, sparsity, mixed] of [
      [0, 0, false],
      [64, 0.5, false],
      [64, 0.5, true],
      [0, 0, true],
    ] as const) {
      // The pruned case: a keep-mask on every quantized matrix, the codes of kept weights only in the file.
      if (sparsity > 0) prune(m, Object.keys(tensors), sparsity);
      // Mixed precision: the softmax rows get 1 to 5 bits (the file's bits: 5, unused planes 0).
      const rows = mixed ? { 'softmax.weight': { maxBits: 5, importance: Array.from({ length: 11 }, (_, r) => (r < 3 ? 100 : 1)) } } : {};
      const cm = CompressedModel.fromModel(
        m,
        { method: 'greedy', cycles: 0, groupSize, layers: 'lstm,softmax', sparsity, fpModelBytes: 1, tensors, rows },
        {},
      );
      expect(Object.keys(cm.header.rowBits)).toEqual(mixed ? ['softmax.weight'] : []);
      const bytes = cm.toBytes();
      const dequantized = cm.toModel();
      const extra = compressedCodes(bytes, 'm.qcomp');
      const state = readSafetensors(exportStateDict(dequantized, extra)).tensors;
      for (const [quire, torch, k] of [
        ['lstm.0.w_ih', 'rnn.weight_ih_l0', 2],
        ['lstm.0.w_hh', 'rnn.weight_hh_l0', 1],
        ['softmax.weight', 'decoder.weight', mixed ? 5 : 3],
      ] as const) {
        const codes = new Int8Array(new Uint8Array(state.get(`quire.${torch}.codes`)?.data ?? []).buffer);
        const scalesT = state.get(`quire.${torch}.scales`);
        const scales = new Float32Array(new Uint8Array(scalesT?.data ?? []).buffer);
        const [rows, cols] = dequantized.tensorShape(quire);
        const groups = scalesT?.shape[1] ?? 0;
        expect(state.get(`quire.${torch}.codes`)?.shape).toEqual([k, rows, cols]);
        const rebuilt = new Float32Array(rows * cols);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < cols; c++) {
            const g = groupSize === 0 ? 0 : Math.floor(c / groupSize);
            for (let i = 0; i < k; i++) rebuilt[r * cols + c] += scales[(r * groups + g) * k + i] * codes[(i * rows + r) * cols + c];
          }
        expect(maxAbsDiff(rebuilt, dequantized.getTensor(quire))).toBeLessThan(1e-6);
      }
      const back = importStateDict(exportStateDict(dequantized, extra), 'with-codes', { backend });
      expect(back.getTensor('lstm.0.w_hh')).toEqual(dequantized.getTensor('lstm.0.w_hh'));
      for (const x of [cm, dequantized, back]) x.dispose();
    }
    m.dispose();
  });
});

const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
const cli = (args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

/** A corpus in the golden model's words (w02 … w49), under `dir`/corpus. */
function goldenCorpus(dir: string): string {
  const r = rng(5);
  const text = (lines: number) =>
    Array.from({ length: lines }, () =>
      Array.from({ length: 3 + Math.floor(r() * 6) }, () => `w${String(2 + Math.floor(r() * 48)).padStart(2, '0')}`).join(' '),
    ).join('\n');
  const data = join(dir, 'corpus');
  mkdirSync(data);
  for (const [split, lines] of [
    ['train', 200],
    ['valid', 40],
    ['test', 40],
  ] as const)
    writeFileSync(join(data, `${split}.txt`), `${text(lines)}\n`);
  return data;
}

describe('quire import / export --format safetensors', () => {
  it('imports a PyTorch state dict that eval, generate and compress accept, and exports it back', () => {
    const dir = tmp();
    const model = join(dir, 'golden.qmodel');
    const imported = cli([
      'import',
      join(GOLDEN, 'lstm-2x16.safetensors'),
      '--vocab',
      join(GOLDEN, 'vocabulary.txt'),
      '-o',
      model,
      '--backend',
      'native',
    ]);
    expect([imported.status, imported.stderr]).toEqual([0, '']);
    expect(imported.stdout).toContain('2 × 16 LSTM, 50 words');
    const data = goldenCorpus(dir);
    const env = ['--data', data];
    const evaluated = cli(['eval', model, ...env, '--json', '--backend', 'native']);
    expect(evaluated.status).toBe(0);
    expect(JSON.parse(evaluated.stdout).perplexity).toBeGreaterThan(1);
    const generated = cli(['generate', model, '--tokens', '6', '--seed', '1', '--backend', 'native']);
    expect(generated.status).toBe(0);
    expect(
      generated.stdout
        .trim()
        .split(/\s+/)
        .every((w) => /^w\d\d$|^<unk>$/.test(w)),
    ).toBe(true);
    const out = join(dir, 'comp');
    const settings = ['--lr', '0.5', '--clip', '5', '--steps', '5', '--batch', '2', '--eval-batch', '2'];
    const compressed = cli([
      'compress',
      model,
      ...env,
      '--out',
      out,
      '--bits',
      '2',
      '--iterations',
      '1',
      '--retrain-steps',
      '2',
      '--method',
      'greedy',
      ...settings,
      '--backend',
      'native',
    ]);
    expect([compressed.status, compressed.stderr.split('\n').filter((l) => l.startsWith('quire:'))]).toEqual([0, []]);
    // The compressed model, dequantized, with its codes; back through import it evaluates as the dequantized model.
    const state = join(dir, 'c.safetensors');
    const exported = cli(['export', out, '--format', 'safetensors', '--codes', '-o', state, '--backend', 'native']);
    expect([exported.status, exported.stderr]).toEqual([0, '']);
    expect(readFileSync(join(dir, 'c.vocab.txt'), 'utf8')).toBe(readFileSync(join(GOLDEN, 'vocabulary.txt'), 'utf8'));
    expect([...readSafetensors(readFileSync(state)).tensors.keys()]).toContain('quire.rnn.weight_hh_l1.codes');
    const back = cli([
      'import',
      state,
      '--vocab',
      join(dir, 'c.vocab.txt'),
      '--tokenizer',
      join(dir, 'c.tokenizer.json'),
      '--backend',
      'native',
    ]);
    expect([back.status, back.stderr]).toEqual([0, '']);
    const a = JSON.parse(cli(['eval', join(dir, 'c.qmodel'), ...env, '--json', '--backend', 'native']).stdout).perplexity;
    const b = JSON.parse(cli(['eval', out, ...env, '--json', '--dequantize', '--backend', 'native']).stdout).perplexity;
    expect(a).toBe(b);
  });

  it('keeps the training run a state dict records (quire.training), so compress needs no schedule flags; a bad record is E_FORMAT', () => {
    const dir = tmp();
    const { tensors } = readSafetensors(golden('lstm-2x16.safetensors'));
    const config = { preset: 'tiny', hidden: 16, layers: 2, steps: 5, batch: 2, initScale: 0.1, dropout: 0, epochs: 1, lr: 0.8 };
    const schedule = { ...config, lrDecay: 0.5, decayAfter: 1, clip: 5, seed: 1, evalBatch: 2 };
    const epoch = { epoch: 1, lr: 0.8, trainLoss: 3.9, trainPerplexity: 49.4, validPerplexity: 50.1, tokensPerSecond: 9000, seconds: 1 };
    const record = (c: object) =>
      JSON.stringify({ config: c, epoch: 1, window: 0, lossSum: 0, lossTokens: 0, seconds: 1, history: [epoch] });
    const withRun = (name: string, c: object) => {
      const file = join(dir, `${name}.safetensors`);
      writeFileSync(file, writeSafetensors(tensors, { format: 'pt', 'quire.training': record(c) }));
      return cli(['import', file, '--vocab', join(GOLDEN, 'vocabulary.txt'), '--backend', 'native']);
    };
    const imported = withRun('run', schedule);
    expect([imported.status, imported.stderr]).toEqual([0, '']);
    expect(imported.stdout).toContain('its training run: 1 epochs of the tiny schedule');
    const out = join(dir, 'comp');
    const data = goldenCorpus(dir);
    const compress = ['compress', join(dir, 'run.qmodel'), '--data', data, '--out', out, '--bits', '1', '--iterations', '1'];
    const compressed = cli([...compress, '--retrain-steps', '2', '--method', 'greedy', '--backend', 'native']);
    expect([compressed.status, compressed.stderr.split('\n').filter((l) => l.startsWith('quire:'))]).toEqual([0, []]);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).settings.lrSource).toMatch(/^fp-initial 0\.8 × /);
    // A record of another shape, or a malformed one, would make a file no command can read: refused before writing.
    for (const [name, c, why] of [
      ['wide', { ...schedule, hidden: 32 }, /quire\.training record is invalid.*2 layers of 32 units, the model has 2 of 16/],
      ['bad', { ...schedule, lr: -1 }, /quire\.training record is invalid.*lr must be a finite number >= 0/],
    ] as const) {
      const r = withRun(name, c);
      expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(why)]);
      expect(existsSync(join(dir, `${name}.qmodel`))).toBe(false);
    }
  });

  it('export of a quire model then import gives the same model file', () => {
    const dir = tmp();
    const model = join(dir, 'a.qmodel');
    expect(cli(['import', join(GOLDEN, 'lstm-2x16.safetensors'), '--vocab', join(GOLDEN, 'vocabulary.txt'), '-o', model]).status).toBe(0);
    expect(cli(['export', model, '--format', 'safetensors']).status).toBe(0);
    expect(
      cli([
        'import',
        join(dir, 'a.safetensors'),
        '--vocab',
        join(dir, 'a.vocab.txt'),
        '--tokenizer',
        join(dir, 'a.tokenizer.json'),
        '-o',
        join(dir, 'b.qmodel'),
      ]).status,
    ).toBe(0);
    expect(readFileSync(join(dir, 'b.qmodel')).equals(readFileSync(model))).toBe(true);
  });

  it('data encode prints the cache folder of the encoded corpus: vocabulary.txt and u32 token files', () => {
    const data = goldenCorpus(tmp());
    const first = cli(['data', 'encode', '--data', data, '--vocab-size', '30']);
    expect(first.status).toBe(0);
    const folder = first.stdout.trim();
    expect(cli(['data', 'encode', '--data', data, '--vocab-size', '30']).stdout.trim()).toBe(folder);
    const words = readFileSync(join(folder, 'vocabulary.txt'), 'utf8').split('\n');
    expect(words).toHaveLength(30);
    const ids = new Uint32Array(new Uint8Array(readFileSync(join(folder, 'train.bin'))).buffer);
    const firstLine = readFileSync(join(data, 'train.txt'), 'utf8').split('\n')[0].split(' ');
    expect(Array.from(ids.subarray(0, firstLine.length + 1), (id) => words[id])).toEqual([
      ...firstLine.map((w) => (words.includes(w) ? w : '<unk>')),
      '<eos>',
    ]);
    expect(cli(['data', 'encode', '--data', join(data, 'missing')]).stderr).toContain('E_DATA');
  });

  it('refuses what it cannot import or export with the documented codes', () => {
    const dir = tmp();
    const vocab = join(GOLDEN, 'vocabulary.txt');
    const gru = cli(['import', join(GOLDEN, 'gru.safetensors'), '--vocab', vocab, '-o', join(dir, 'g.qmodel')]);
    expect([gru.status, gru.stderr]).toEqual([1, expect.stringMatching(/^quire: E_FORMAT: .*gru\.safetensors: .*a GRU/)]);
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'a\nb\n');
    const words = cli(['import', join(GOLDEN, 'lstm-2x16.safetensors'), '--vocab', short, '-o', join(dir, 's.qmodel')]);
    expect([words.status, words.stderr]).toEqual([1, expect.stringContaining('E_FORMAT: ' + short + ' lists 2 words, the state dict')]);
    const model = join(dir, 'm.qmodel');
    expect(cli(['import', join(GOLDEN, 'lstm-2x16.safetensors'), '--vocab', vocab, '-o', model]).status).toBe(0);
    expect(cli(['export', model, '--format', 'safetensors', '--codes']).status).toBe(2);
    expect(cli(['export', model, '--format', 'safetensors', '-o', join(dir, 'x.onnx')]).status).toBe(2);
    expect(cli(['import', join(dir, 'missing.safetensors'), '--vocab', vocab]).stderr).toContain('E_IO');
  });
});

const PEER = process.env.QUIRE_PEER_PYTHON;

describe.skipIf(!PEER).each(BACKEND_NAMES)('PyTorch runs an exported quire model (QUIRE_PEER_PYTHON, %s)', (backend: BackendName) => {
  it("computes quire's logits and loss", () => {
    const m = LanguageModel.create({ vocab: 23, hidden: 8, layers: 2, initScale: 0.5, dropout: 0, seed: 4 }, { backend });
    const file = join(tmp(), 'm.safetensors');
    writeFileSync(file, exportStateDict(m));
    const [seq, batch] = [6, 3];
    const r = rng(2);
    const tokens = Array.from({ length: (seq + 1) * batch }, () => Math.floor(r() * 23));
    const window = { seq, batch, inputs: tokens.slice(0, seq * batch), targets: tokens.slice(batch) };
    const py = spawnSync(PEER as string, ['examples/pytorch/check.py', file], {
      input: JSON.stringify(window),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(py.status, py.stderr).toBe(0);
    const torch = JSON.parse(py.stdout) as { logits: number[]; loss: number };
    expect(maxAbsDiff(logitsOf(m, window.inputs, seq, batch), torch.logits)).toBeLessThan(1e-5);
    m.resetState(batch);
    expect(Math.abs(m.evaluate(Uint32Array.from(window.inputs), Uint32Array.from(window.targets)) - torch.loss)).toBeLessThan(1e-5);
    m.dispose();
  });
});

describe.skipIf(!PEER)('examples/pytorch/train.py under torchrun (QUIRE_PEER_PYTHON)', () => {
  it('trains on the encoded corpus with 2 DDP processes and writes a model quire imports with the same perplexity', () => {
    const dir = tmp();
    const data = goldenCorpus(dir);
    const corpus = cli(['data', 'encode', '--data', data]).stdout.trim();
    const out = join(dir, 'run');
    const run = spawnSync(
      PEER as string,
      [
        '-m',
        'torch.distributed.run',
        '--nproc-per-node',
        '2',
        'examples/pytorch/train.py',
        '--corpus',
        corpus,
        '--preset',
        'tiny',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const torchPpl = JSON.parse(run.stdout.trim().split('\n').at(-1) as string).testPerplexity as number;
    const imported = cli([
      'import',
      join(out, 'model.safetensors'),
      '--vocab',
      join(out, 'model.vocab.txt'),
      '--tokenizer',
      join(out, 'model.tokenizer.json'),
    ]);
    expect([imported.status, imported.stderr]).toEqual([0, '']);
    // The tiny preset evaluates with 4 streams of 5 steps, as train.py does.
    const evaluated = cli(['eval', join(out, 'model.qmodel'), '--data', data, '--json', '--batch', '4', '--steps', '5']);
    expect(Math.abs(JSON.parse(evaluated.stdout).perplexity / torchPpl - 1)).toBeLessThan(1e-5);
  });
});
