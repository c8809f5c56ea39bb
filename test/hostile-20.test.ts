/**
 * Regression tests of "Hostile input, round two" (issue 20), one `it` per item: each failed
 * before its fix. Library calls run on both backends where the behaviour crosses a binding.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compress } from '../ts/compress/loop.js';
import { LOCK_FILE } from '../ts/io/run-lock.js';
import {
  type BackendName,
  CompressedModel,
  DenseMatrix,
  evaluatePerplexity,
  gemm,
  InferenceEngine,
  LanguageModel,
  matmul,
  QuireError,
  quantize,
  setThreads,
  train,
} from '../ts/index.js';
import { BACKEND_NAMES, gaussianArray } from './backends.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus(2000, 11);
const tmp = () => mkdtempSync(join(tmpdir(), 'quire-hostile20-'));
const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
const cli = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

async function rejection(p: Promise<unknown>): Promise<QuireError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof QuireError)) throw new Error(`expected a QuireError, got ${err instanceof Error ? err.stack : String(err)}`);
  return err;
}

/** Waits (bounded: at most ~60 s) until `ready()` holds or `child` has exited. */
async function until(child: ChildProcess, ready: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ready() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  if (!ready()) throw new Error('the child run never reached the awaited point');
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: string | null }>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res({ code: child.exitCode, signal: child.signalCode });
    else child.on('exit', (code, signal) => res({ code, signal }));
  });

let fpDir = '';
beforeAll(async () => {
  fpDir = tmp();
  await train({ preset: 'tiny', overrides: { epochs: 1 }, dataDir: data, outDir: fpDir, backend: 'native' });
}, 120_000);

describe('5. one writer per run folder', () => {
  it('a second compress of the same --out (other bits, or --resume) is E_STATE while the first runs; the first ends alone', async () => {
    const out = join(tmp(), 'c');
    const run = (bits: number, resume = false) =>
      compress({ model: fpDir, dataDir: data, outDir: out, backend: 'native', resume, settings: { bits, iterations: 1, retrainSteps: 5 } });
    const first = run(1);
    for (const second of [run(3), run(1, true)]) {
      const err = await rejection(second);
      expect(err.code).toBe('E_STATE');
      expect(err.message).toContain(`pid ${process.pid}`);
      expect(err.message).toContain(out);
    }
    const r = await first;
    expect(r.report.settings.bits).toBe(1);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.settings.bits).toBe(1);
    const cm = CompressedModel.fromBytes(readFileSync(join(out, 'model.qcomp')), { backend: 'native' });
    expect(Object.values(cm.header.bits)).toEqual([1, 1, 1, 1]);
    cm.dispose();
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('two train --resume at once: the second is E_STATE naming the first process and the folder; SIGTERM removes the lock', async () => {
    const out = join(tmp(), 't');
    const args = ['train', '--preset', 'tiny', '--data', data, '--out', out, '--epochs', '200', '--backend', 'native'];
    const first = spawn(process.execPath, [...CLI, ...args], { stdio: 'ignore' });
    try {
      await until(first, () => existsSync(join(out, 'checkpoint.qckpt')));
      const lock = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8'));
      expect(lock).toMatchObject({ pid: first.pid, host: hostname() });
      for (const command of [
        [...args, '--resume'],
        ['compress', out, '--data', data, '--out', out, '--bits', '2'],
      ]) {
        const second = cli(...command);
        expect(second.status, second.stderr).toBe(1);
        expect(second.stderr).toMatch(new RegExp(`E_STATE: .*${out}.* in use by another quire process: pid ${first.pid}`));
      }
    } finally {
      first.kill('SIGTERM');
    }
    expect((await exited(first)).signal).toBe('SIGTERM');
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    // Ctrl-C (the CLI's graceful stop) releases it too.
    const resumed = spawn(process.execPath, [...CLI, ...args, '--resume'], { stdio: 'ignore' });
    await until(resumed, () => existsSync(join(out, LOCK_FILE)));
    resumed.kill('SIGINT');
    expect((await exited(resumed)).code).toBe(130);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 120_000);

  it('a lock left by a process that has exited is taken over; a lock of another host is E_STATE', async () => {
    const out = tmp();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: gone, host: hostname(), started: '2020-01-01T00:00:00.000Z', token: 'x' }));
    await train({ preset: 'tiny', overrides: { epochs: 1 }, dataDir: data, outDir: out, backend: 'native' });
    expect(existsSync(join(out, 'model.qmodel'))).toBe(true);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    const other = tmp();
    writeFileSync(
      join(other, LOCK_FILE),
      JSON.stringify({ pid: 1, host: 'elsewhere.example', started: '2020-01-01T00:00:00.000Z', token: 'y' }),
    );
    const err = await rejection(train({ preset: 'tiny', dataDir: data, outDir: other, backend: 'native' }));
    expect(err.code).toBe('E_STATE');
    expect(err.message).toMatch(/pid 1 on elsewhere\.example.*delete .*\.quire-lock/);
    expect(existsSync(join(other, LOCK_FILE))).toBe(true);
  }, 60_000);
});

/** 'ok', or the QuireError code and message (anything else is rethrown: a raw binding error fails the test). */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof QuireError) return `${err.code}: ${err.message}`;
    throw err;
  }
}
const codeOf = (fn: () => unknown) => outcome(fn).split(':')[0];

/** Runs `cases` on both backends; each outcome must be the same on both. Returns the native outcomes. */
function sameOnBoth(cases: (backend: BackendName) => Record<string, () => unknown>): Record<string, string> {
  const [native, wasm] = BACKEND_NAMES.map((b) => Object.fromEntries(Object.entries(cases(b)).map(([k, f]) => [k, outcome(f)])));
  expect(wasm).toEqual(native);
  return native;
}

/** A container's header JSON: `__metadata__` (strings) and the tensor entries. */
type Header = { __metadata__: Record<string, string> } & Record<string, unknown>;

/** A container with its header JSON edited by `edit`. */
function withHeader(file: Uint8Array, edit: (header: Header) => void): Buffer {
  const buf = Buffer.from(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  edit(header);
  const text = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, text, buf.subarray(8 + n)]);
}

const CONFIG = { vocab: 8, hidden: 4, layers: 1, initScale: 0.5, dropout: 0, seed: 1 };
const META = { vocabulary: JSON.stringify(Array.from({ length: 8 }, (_, i) => `w${i}`)) };

describe('9. batch and shape are checked before the output is allocated', () => {
  it('matmul(q, x, 2**31) and DenseMatrix.matmul(x, 2**32-1) are E_CONFIG / E_SHAPE on both backends', () => {
    const w = gaussianArray(4 * 64, 1);
    const got = sameOnBoth((backend) => {
      const q = quantize(w, 4, 64, { bits: 1, backend });
      const d = DenseMatrix.fromArray(w, 4, 64, { backend });
      return {
        qHuge: () => matmul(q, new Float32Array(64), 2 ** 31),
        qShort: () => matmul(q, new Float32Array(64), 2),
        dHuge: () => d.matmul(new Float32Array(64), 2 ** 32 - 1),
        dShort: () => d.matmul(new Float32Array(64), 3),
        stillWorks: () => d.matvec(new Float32Array(64)).length === 4 || 'broken',
      };
    });
    expect(got.qHuge).toBe('E_CONFIG: batch must be an integer from 1 to 64 (got 2147483648)');
    expect(got.qShort).toBe('E_SHAPE: x has length 64, expected 2×64 = 128');
    expect(got.dHuge).toBe('E_SHAPE: x has length 64, expected 4294967295×64 = 274877906880');
    expect(got.dShort).toMatch(/^E_SHAPE: x has length 64, expected 3×64 = 192/);
    expect(got.stillWorks).toBe('ok');
  });
});

describe('10. every argument is checked the same way on both backends', () => {
  it('numbers are numbers: no coercion of strings, no raw binding messages', () => {
    const a = new Float32Array([1, 2]);
    const b = new Float32Array([3, 4]);
    const got = sameOnBoth((backend) => {
      const m = LanguageModel.create(CONFIG, { backend });
      const teacher = LanguageModel.create(CONFIG, { backend });
      const ids = new Uint32Array([1, 2]);
      return {
        alpha: () => gemm({ m: 1, n: 1, k: 2, alpha: '2' as never }, a, b, undefined, { backend }),
        beta: () => gemm({ m: 1, n: 1, k: 2, beta: {} as never }, a, b, new Float32Array(1), { backend }),
        transA: () => gemm({ m: 1, n: 1, k: 2, transA: 'yes' as never }, a, b, undefined, { backend }),
        dropout: () => m.setDropout('0.5' as never),
        distilAlpha: () => m.trainStepDistilled(teacher, '0.5' as never, ids, ids, 0.1, 0),
        distilLr: () => m.trainStepDistilled(teacher, 0.5, ids, ids, '0.1' as never, 0),
        tensorName: () => m.getTensor(5 as never),
        withState: () => m.toBytes('quire-model', {}, 'no' as never),
        metadata: () => m.toBytes('quire-model', { a: 1 } as never),
        kernel: () => InferenceEngine.fromModel(m, { kernel: 7 as never }),
        temperature: () => InferenceEngine.fromModel(m).sample({ temperature: '1' as never }),
      };
    });
    expect(got.alpha).toBe("E_CONFIG: gemm: alpha must be a number (got the string '2')");
    expect(got.beta).toBe('E_CONFIG: gemm: beta must be a number (got Object)');
    for (const k of ['transA', 'dropout', 'distilAlpha', 'distilLr', 'tensorName', 'withState', 'metadata', 'kernel', 'temperature']) {
      expect(got[k], k).toMatch(/^E_CONFIG: /);
    }
  });

  it('bytes must be a real, live Uint8Array: arrays, strings, null and detached buffers are coded errors', () => {
    const detached = () => {
      const buf = new ArrayBuffer(16);
      const view = new Uint8Array(buf);
      structuredClone(buf, { transfer: [buf] });
      return view;
    };
    const got = sameOnBoth((backend) => {
      const cases: Record<string, () => unknown> = {};
      for (const [name, read] of [
        ['LanguageModel', (x: unknown) => LanguageModel.fromBytes(x as Uint8Array, { backend })],
        ['CompressedModel', (x: unknown) => CompressedModel.fromBytes(x as Uint8Array, { backend })],
        ['InferenceEngine', (x: unknown) => InferenceEngine.fromBytes(x as Uint8Array, { backend })],
      ] as const) {
        cases[`${name} array`] = () => read([1, 2, 3]);
        cases[`${name} string`] = () => read('model.qmodel');
        cases[`${name} null`] = () => read(null);
        cases[`${name} Float32Array`] = () => read(new Float32Array(4));
        cases[`${name} detached`] = () => read(detached());
      }
      return cases;
    });
    for (const [k, v] of Object.entries(got))
      expect(v, k).toMatch(k.endsWith('detached') ? /^E_SHAPE: .*detached/ : /^E_FORMAT: bytes must be a Uint8Array/);
  });

  it('float and id arrays: a Proxy, a detached buffer and a subclass lying about its length', () => {
    class Liar extends Float32Array {
      override get length() {
        return 1_000_000;
      }
    }
    class LyingIds extends Uint32Array {
      override get length() {
        return 1_000_000;
      }
    }
    const detached = new Float32Array(new ArrayBuffer(8));
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const b = new Float32Array([3, 4]);
    const w = gaussianArray(4 * 64, 2);
    const got = sameOnBoth((backend) => {
      const q = quantize(w, 4, 64, { bits: 2, backend });
      const m = LanguageModel.create(CONFIG, { backend });
      m.resetState(1);
      return {
        proxy: () => gemm({ m: 1, n: 1, k: 2 }, new Proxy(new Float32Array([1, 2]), {}), b, undefined, { backend }),
        detached: () => gemm({ m: 1, n: 1, k: 2 }, detached, b, undefined, { backend }),
        liar: () => Array.from(gemm({ m: 1, n: 1, k: 2 }, new Liar([1, 2]), b, undefined, { backend })).join() === '11' || 'wrong',
        matmulProxy: () => matmul(q, new Proxy(new Float32Array(64), {}), 1),
        matmulLiar: () => matmul(q, new Liar(64), 1).every((v) => v === 0) || 'wrong',
        idsProxy: () => m.evaluate(new Proxy(new Uint32Array([1]), {}), new Uint32Array([2])),
        idsLiar: () => m.evaluate(new LyingIds([1]), new Uint32Array([2])) > 0 || 'wrong',
        maskProxy: () => quantize(w, 4, 64, { bits: 1, mask: new Proxy(new Uint8Array(256), {}), backend }),
      };
    });
    expect(got.proxy).toMatch(/^E_SHAPE: a must be a Float32Array .*Proxy/);
    expect(got.detached).toMatch(/^E_SHAPE: a's buffer is detached/);
    expect(got.matmulProxy).toMatch(/^E_SHAPE: /);
    expect(got.idsProxy).toMatch(/^E_SHAPE: /);
    expect(got.maskProxy).toMatch(/^E_CONFIG: mask must be a Uint8Array/);
    for (const k of ['liar', 'matmulLiar', 'idsLiar']) expect(got[k], k).toBe('ok');
  });
});

describe('11. backend names are looked up as names, not as object properties', () => {
  it("'constructor', 'toString', 'valueOf', '__proto__' and 'bogus' are E_CONFIG listing the valid names; the backends still load", () => {
    const a = new Float32Array([1, 2]);
    const b = new Float32Array([3, 4]);
    for (const name of ['constructor', 'toString', 'valueOf', '__proto__', 'hasOwnProperty', 'bogus']) {
      expect(outcome(() => gemm({ m: 1, n: 1, k: 2 }, a, b, undefined, { backend: name as never }))).toBe(
        `E_CONFIG: backend must be auto, native or wasm, or a loaded backend (got the string '${name}')`,
      );
      expect(
        codeOf(() => setThreads(1, name as never)),
        name,
      ).toBe('E_CONFIG');
    }
    for (const odd of [null, 5, {}, { name: 'native' }])
      expect(codeOf(() => LanguageModel.create(CONFIG, { backend: odd as never }))).toBe('E_CONFIG');
    for (const backend of BACKEND_NAMES) expect(Array.from(gemm({ m: 1, n: 1, k: 2 }, a, b, undefined, { backend }))).toEqual([11]);
  });
});

describe('smaller items', () => {
  it('an oversized header length says it exceeds the limit, with both numbers (not "truncated")', () => {
    const m = LanguageModel.create(CONFIG, { backend: 'native' });
    const file = Buffer.from(m.toBytes('quire-model', META));
    m.dispose();
    file.writeBigUInt64LE(1n << 40n, 0);
    const got = sameOnBoth((backend) => ({
      model: () => LanguageModel.fromBytes(file, { backend }),
      engine: () => InferenceEngine.fromBytes(file, { backend }),
    }));
    expect(got.model).toBe(
      `E_FORMAT: header length ${2 ** 40} exceeds the limit of ${100 * 2 ** 20} bytes (100 MiB): corrupted or not a quire file`,
    );
    expect(got.engine).toBe(got.model);
  });

  it('a gate order other than i,f,g,o in a model, a compressed model or a config is refused', () => {
    const got = sameOnBoth((backend) => {
      const m = LanguageModel.create(CONFIG, { backend });
      const fp = m.toBytes('quire-model', META);
      const cm = CompressedModel.fromModel(
        m,
        { method: 'greedy', cycles: 0, groupSize: 0, layers: 'lstm', sparsity: 0, fpModelBytes: 1, tensors: { 'lstm.0.w_ih': 1 } },
        META,
      );
      const comp = cm.toBytes();
      const order = (o: string) => (h: Header) => {
        h.__metadata__.gateOrder = o;
      };
      const inConfig = (h: Header) => {
        h.__metadata__.config = JSON.stringify({ ...JSON.parse(h.__metadata__.config), gateOrder: 'o,g,f,i' });
      };
      return {
        compressed: () => CompressedModel.fromBytes(withHeader(comp, order('o,g,f,i')), { backend }),
        compressedEngine: () => InferenceEngine.fromBytes(withHeader(comp, order('f,i,g,o')), { backend }),
        compressedGood: () => CompressedModel.fromBytes(withHeader(comp, order('i,f,g,o')), { backend }).dispose(),
        fpFile: () => LanguageModel.fromBytes(withHeader(fp, order('o,g,f,i')), { backend }),
        fpEngine: () => InferenceEngine.fromBytes(withHeader(fp, order('o,g,f,i')), { backend }),
        fpConfig: () => LanguageModel.fromBytes(withHeader(fp, inConfig), { backend }),
        fpWrite: () => m.toBytes('quire-model', { ...META, gateOrder: 'o,g,f,i' }),
      };
    });
    for (const k of ['compressed', 'compressedEngine', 'fpFile', 'fpEngine'])
      expect(got[k], k).toMatch(/^E_FORMAT: metadata 'gateOrder' is '.*', but quire lays out the LSTM gates as i,f,g,o only/);
    expect(got.fpConfig).toMatch(/^E_FORMAT: .*unknown field `gateOrder`/);
    expect(got.fpWrite).toMatch(/^E_CONFIG: metadata 'gateOrder'/);
    expect(got.compressedGood).toBe('ok');
  });

  it('a training record whose hidden size or layers disagree with the model is E_FORMAT in train --resume and compress', async () => {
    const out = tmp();
    const ckpt = LanguageModel.fromBytes(readFileSync(join(fpDir, 'checkpoint.qckpt')), { backend: 'native' });
    const good = JSON.parse(ckpt.metadata.training);
    // The checkpoint's text metadata (vocabulary, tokenizer), kept as it is.
    const text = Object.fromEntries(Object.entries(ckpt.metadata).filter(([k]) => ['words', 'vocabulary', 'tokenizer'].includes(k)));
    for (const config of [
      { ...good.config, hidden: good.config.hidden * 2 },
      { ...good.config, layers: 1 },
    ]) {
      writeFileSync(
        join(out, 'checkpoint.qckpt'),
        ckpt.toBytes('quire-checkpoint', { ...text, training: JSON.stringify({ ...good, config }) }),
      );
      const resumed = await rejection(train({ preset: 'tiny', dataDir: data, outDir: out, backend: 'native', resume: true }));
      expect(resumed.code).toBe('E_FORMAT');
      expect(resumed.message).toMatch(/training state is invalid \(it describes \d+ layers of \d+ units, the model has 2 of 16\)/);
      const c = await rejection(
        compress({ model: join(out, 'checkpoint.qckpt'), dataDir: data, outDir: join(out, 'c'), backend: 'native', settings: { bits: 1 } }),
      );
      expect(c.code).toBe('E_FORMAT');
    }
    ckpt.dispose();
  }, 60_000);

  it('setThreads refuses NaN, 0, 1e6 and 1.5 with the valid range', () => {
    const got = sameOnBoth((backend) => ({
      nan: () => setThreads(Number.NaN, backend),
      zero: () => setThreads(0, backend),
      huge: () => setThreads(1e6, backend),
      half: () => setThreads(1.5, backend),
    }));
    expect(got).toEqual({
      nan: 'E_CONFIG: threads must be an integer from 1 to 256 (got NaN)',
      zero: 'E_CONFIG: threads must be an integer from 1 to 256 (got 0)',
      huge: 'E_CONFIG: threads must be an integer from 1 to 256 (got 1000000)',
      half: 'E_CONFIG: threads must be an integer from 1 to 256 (got 1.5)',
    });
  });

  it('gemm with a NaN or infinite alpha or beta is E_NONFINITE, like NaN weights', () => {
    const a = new Float32Array([1, 2]);
    const b = new Float32Array([3, 4]);
    const got = sameOnBoth((backend) => ({
      alphaNaN: () => gemm({ m: 1, n: 1, k: 2, alpha: Number.NaN }, a, b, undefined, { backend }),
      alphaInf: () => gemm({ m: 1, n: 1, k: 2, alpha: Number.POSITIVE_INFINITY }, a, b, undefined, { backend }),
      betaInf: () => gemm({ m: 1, n: 1, k: 2, beta: Number.NEGATIVE_INFINITY }, a, b, new Float32Array(1), { backend }),
      weights: () => DenseMatrix.fromArray(new Float32Array([Number.NaN]), 1, 1, { backend }),
    }));
    for (const [k, v] of Object.entries(got)) expect(v, k).toMatch(/^E_NONFINITE: /);
    expect(got.alphaNaN).toBe('E_NONFINITE: gemm: alpha must be a finite number (got NaN)');
  });

  it('generate warns once for all unknown prompt words, counting them and naming the first few', () => {
    const prompt = Array.from({ length: 5000 }, (_, i) => `zz${i % 2500}`).join(' ');
    const r = cli('generate', join(fpDir, 'model.qmodel'), '--prompt', prompt, '--tokens', '3', '--backend', 'native');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      'quire: warning: 5000 (2500 distinct) prompt words are not in the vocabulary and become <unk>: ' +
        "'zz0', 'zz1', 'zz2', 'zz3', 'zz4' and 2495 more",
    ]);
  });

  it('--temperature 1e300 is refused with the value as given, not "inf"', () => {
    const r = cli('generate', join(fpDir, 'model.qmodel'), '--temperature', '1e300', '--backend', 'native');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--temperature must be from 0 to 3\.4028234663852886e\+38 \(got 1e\+300\)/);
    expect(r.stderr).not.toMatch(/inf/i);
    const got = sameOnBoth((backend) => {
      const e = InferenceEngine.fromModel(LanguageModel.create(CONFIG, { backend }));
      e.step([1]);
      return { huge: () => e.sample({ temperature: 1e300 }) };
    });
    expect(got.huge).toBe('E_CONFIG: temperature must be a number from 0 to 3.4028234663852886e+38 (got 1e+300)');
  });

  it('after a step with lr 1e30, evaluate is E_NONFINITE on both backends (native masked the NaN gates to a finite loss)', () => {
    const got = sameOnBoth((backend) => {
      const m = LanguageModel.create(CONFIG, { backend });
      m.resetState(1);
      const step = m.trainStep(new Uint32Array([1, 2, 3]), new Uint32Array([2, 3, 4]), 1e30, 0);
      return {
        step: () => Number.isFinite(step) || 'not finite',
        evaluate: () => m.evaluate(new Uint32Array([1, 2, 3]), new Uint32Array([2, 3, 4])),
        engine: () => {
          const e = InferenceEngine.fromModel(m, { kernel: 'lut-f32' });
          e.resetState(1);
          return e.evaluate([1, 2], [2, 3]);
        },
        perplexity: () => (Number.isNaN(evaluatePerplexity(m, new Uint32Array([1, 2, 3, 4, 5]), 1, 2).perplexity) ? 'ok' : 'finite'),
      };
    });
    expect(got.step).toBe('ok');
    expect(got.evaluate).toMatch(/^E_NONFINITE: evaluation loss is NaN/);
    expect(got.engine).toMatch(/^E_NONFINITE: evaluation loss is NaN/);
    expect(got.perplexity).toBe('ok');
  });

  it('getters of a disposed object throw E_STATE like its methods', () => {
    for (const backend of BACKEND_NAMES) {
      const q = quantize(gaussianArray(64, 3), 1, 64, { bits: 1, backend });
      const d = DenseMatrix.fromArray(new Float32Array(4), 2, 2, { backend });
      const m = LanguageModel.create(CONFIG, { backend });
      const e = InferenceEngine.fromModel(m);
      const cm = CompressedModel.fromModel(
        m,
        { method: 'greedy', cycles: 0, groupSize: 0, layers: 'lstm', sparsity: 0, fpModelBytes: 1, tensors: { 'lstm.0.w_ih': 1 } },
        META,
      );
      for (const h of [q, d, m, e, cm]) h.dispose();
      const getters: Record<string, () => unknown> = {
        'q.relativeError': () => q.relativeError,
        'q.rows': () => q.rows,
        'q.cols': () => q.cols,
        'q.bits': () => q.bits,
        'q.groupSize': () => q.groupSize,
        'q.backend': () => q.backend,
        'd.rows': () => d.rows,
        'd.cols': () => d.cols,
        'd.backend': () => d.backend,
        'm.backend': () => m.backend,
        'e.backend': () => e.backend,
        'cm.backend': () => cm.backend,
        'cm.losses': () => cm.losses,
      };
      for (const [name, get] of Object.entries(getters))
        expect(outcome(get), `${backend} ${name}`).toMatch(/^E_STATE: this \w+ was disposed/);
      expect([q, d, m, e, cm].every((h) => h.disposed)).toBe(true);
    }
  });
});
