/**
 * Regression tests of the holes a hostile-input probe found (issue 12), one `it` per item: each
 * failed before its fix. Library calls run on both backends where the behaviour crosses a binding.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compress } from '../ts/compress/loop.js';
import { CompressedModel, gemm, InferenceEngine, LanguageModel, QuireError, train, type BackendName } from '../ts/index.js';
import { serve } from '../scripts/serve-examples.mjs';
import { BACKEND_NAMES } from './backends.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus(2000, 11);
const tmp = () => mkdtempSync(join(tmpdir(), 'quire-hostile-'));
const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
const cli = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof QuireError) return err.code;
    throw err;
  }
}

async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return 'ok';
  if (err instanceof QuireError) return err.code;
  throw err;
}

let fpDir = '';
beforeAll(async () => {
  fpDir = tmp();
  await train({ preset: 'tiny', overrides: { epochs: 1 }, dataDir: data, outDir: fpDir, backend: 'native' });
}, 120_000);

describe('security', () => {
  it('1. a compress state never names the checkpoint read or deleted: a path in state.json is ignored', async () => {
    const root = tmp();
    const victim = join(root, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep.qcomp'), 'precious');
    const out = join(root, 'runA');
    const controller = new AbortController();
    const stopped = compress({
      model: fpDir,
      dataDir: data,
      outDir: out,
      backend: 'native',
      signal: controller.signal,
      settings: { bits: 1, iterations: 2, retrainSteps: 5 },
      onBeforeQuantize: (_, t) => t === 1 && controller.abort(),
    });
    expect(await codeOfAsync(stopped)).toBe('E_INTERRUPTED');
    const state = JSON.parse(readFileSync(join(out, 'state.json'), 'utf8'));
    state.checkpoint = '../victim/keep.qcomp';
    writeFileSync(join(out, 'state.json'), JSON.stringify(state));
    await compress({
      model: fpDir,
      dataDir: data,
      outDir: out,
      backend: 'native',
      resume: true,
      settings: { bits: 1, iterations: 2, retrainSteps: 5 },
    });
    expect(readFileSync(join(victim, 'keep.qcomp'), 'utf8')).toBe('precious');
  }, 60_000);

  it('2. the example server survives bad URLs and serves only examples/ and dist/', async () => {
    const s = await serve(0);
    try {
      const status = async (p: string) => (await fetch(s.url + p, { redirect: 'manual' })).status;
      expect(await status('/a%00b')).toBe(404);
      expect(await status('/.git/config')).toBe(404);
      expect(await status('/package.json')).toBe(404);
      expect(await status('/data/ptb/ptb.train.txt')).toBe(404);
      expect(await status('/examples/%2e%2e/package.json')).toBe(404);
      expect(await status('/%E0%A4%A')).toBe(404);
      expect(await status('/examples/web/')).toBe(200);
      expect(await status('/dist/web/quire.js')).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('data loss', () => {
  it('3. train refuses an --out that holds a run unless --resume is given', async () => {
    const before = readFileSync(join(fpDir, 'model.qmodel'));
    const err = await train({ preset: 'tiny', overrides: { epochs: 1 }, dataDir: data, outDir: fpDir, backend: 'native' }).catch((e) => e);
    expect(err).toBeInstanceOf(QuireError);
    expect(err.code).toBe('E_CONFIG');
    expect(err.message).toMatch(/--resume/);
    expect(readFileSync(join(fpDir, 'model.qmodel'))).toEqual(before);
  });

  it('4. divergence is E_NONFINITE (exit 1) in train and compress; the compress run stays resumable', () => {
    const t = cli('train', '--preset', 'tiny', '--data', data, '--out', join(tmp(), 'r'), '--lr', '1e20', '--backend', 'native');
    expect(t.status, t.stderr).toBe(1);
    expect(t.stderr).toMatch(/E_NONFINITE.*diverged/);
    const out = join(tmp(), 'c');
    const args = [
      'compress',
      fpDir,
      '--data',
      data,
      '--out',
      out,
      '--bits',
      '1',
      '--iterations',
      '2',
      '--retrain-steps',
      '5',
      '--lr',
      '1e20',
      '--backend',
      'native',
    ];
    const c = cli(...args);
    expect(c.status, c.stderr).toBe(1);
    expect(c.stderr).toMatch(/E_NONFINITE.*kept at iteration 0.*--resume/);
    const r = cli(...args, '--resume');
    expect(r.stderr).toMatch(/E_NONFINITE/);
    expect(r.stderr).not.toMatch(/E_FORMAT|E_CONFIG|report does not validate/);
  }, 60_000);

  it('5. stale temporaries of a killed writer are removed and the log is rewritten, never duplicated', async () => {
    const out = tmp();
    const controller = new AbortController();
    const run = train({
      preset: 'tiny',
      overrides: { epochs: 3 },
      dataDir: data,
      outDir: out,
      backend: 'native',
      signal: controller.signal,
      onWindow: (_, epoch) => epoch === 2 && controller.abort(),
    });
    expect(await codeOfAsync(run)).toBe('E_INTERRUPTED');
    // A kill between the log write and the checkpoint write, and a kill mid-write:
    writeFileSync(join(out, 'log.jsonl'), readFileSync(join(out, 'log.jsonl'), 'utf8').repeat(3));
    writeFileSync(join(out, '.quire-tmp-checkpoint.qckpt-999999999-1'), 'half a file');
    await train({ preset: 'tiny', dataDir: data, outDir: out, backend: 'native', resume: true });
    const lines = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.epoch ?? l.split)).toEqual([1, 2, 3, 'test']);
    expect(readdirSync(out).filter((f) => f.startsWith('.quire-tmp-'))).toEqual([]);
  }, 60_000);
});

describe('uncoded errors, crashes and hangs', () => {
  it('6. info validates the whole file: null entries, truncation, absurd shapes, deep headers', () => {
    const dir = tmp();
    const model = readFileSync(join(fpDir, 'model.qmodel'));
    const n = Number(model.readBigUInt64LE(0));
    const header = JSON.parse(model.subarray(8, 8 + n).toString('utf8'));
    const withHeader = (h: unknown, body = model.subarray(8 + n)) => {
      const text = Buffer.from(typeof h === 'string' ? h : JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(text.length));
      return Buffer.concat([len, text, body]);
    };
    const first = Object.keys(header).find((k) => k !== '__metadata__')!;
    const cases: Record<string, Buffer> = {
      nullEntry: withHeader({ ...header, [first]: null }),
      truncated: model.subarray(0, model.length - 100),
      hugeShape: withHeader({ ...header, [first]: { ...header[first], shape: [1e300, 1e300] } }),
      deep: withHeader(`{"__metadata__":${JSON.stringify(header.__metadata__)},"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const f = join(dir, `${name}.qmodel`);
      writeFileSync(f, bytes);
      const r = cli('info', f);
      expect(r.status, `${name}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr, name).toMatch(/E_FORMAT/);
      expect(r.stderr, name).not.toMatch(/TypeError|unexpected/);
    }
  });

  it('7. a checkpoint with a malformed training record is E_FORMAT in train --resume and compress', async () => {
    const out = tmp();
    for (const f of readdirSync(fpDir)) copyFileSync(join(fpDir, f), join(out, f));
    const ckpt = LanguageModel.fromBytes(readFileSync(join(fpDir, 'checkpoint.qckpt')), { backend: 'native' });
    const { vocabulary, training: record } = ckpt.metadata;
    const meta = { vocabulary };
    const good = JSON.parse(record);
    const bad = [
      {},
      { ...good, window: -5 },
      { ...good, window: 2.5 },
      { ...good, epoch: -3 },
      { ...good, config: { ...good.config, steps: 0 } },
    ];
    for (const training of bad) {
      writeFileSync(
        join(out, 'checkpoint.qckpt'),
        ckpt.toBytes('quire-checkpoint', { ...meta, training: JSON.stringify(training) }, false),
      );
      expect(await codeOfAsync(train({ preset: 'tiny', dataDir: data, outDir: out, backend: 'native', resume: true }))).toBe('E_FORMAT');
      expect(
        await codeOfAsync(
          compress({
            model: join(out, 'checkpoint.qckpt'),
            dataDir: data,
            outDir: join(out, 'c'),
            backend: 'native',
            settings: { bits: 1 },
          }),
        ),
      ).toBe('E_FORMAT');
    }
    // A window past the end of an epoch passes the record's own checks but not the data's.
    writeFileSync(
      join(out, 'checkpoint.qckpt'),
      ckpt.toBytes(
        'quire-checkpoint',
        { ...meta, training: JSON.stringify({ ...good, epoch: 0, history: [], window: 1e9, lossTokens: 1, lossSum: 1 }) },
        false,
      ),
    );
    expect(await codeOfAsync(train({ preset: 'tiny', dataDir: data, outDir: out, backend: 'native', resume: true }))).toBe('E_FORMAT');
    ckpt.dispose();
  }, 60_000);

  it('8. file-system failures are E_IO naming the path', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'model.qmodel'));
    const asDir = cli('info', join(dir, 'model.qmodel'));
    expect(asDir.status).toBe(1);
    expect(asDir.stderr).toMatch(/E_IO: .*model\.qmodel/);
    const file = join(dir, 'afile');
    writeFileSync(file, 'x');
    const outIsFile = cli('train', '--preset', 'tiny', '--data', data, '--out', file, '--epochs', '1');
    expect(outIsFile.status).toBe(1);
    expect(outIsFile.stderr).toMatch(/E_IO: .*afile.*not a directory/);
    const split = join(tmp(), 'd');
    mkdirSync(join(split, 'train.txt'), { recursive: true });
    const splitIsDir = cli('train', '--preset', 'tiny', '--data', split, '--out', join(dir, 'o'));
    expect(splitIsDir.status).toBe(1);
    expect(splitIsDir.stderr).toMatch(/E_DATA: .*train\.txt is not a regular file/);
    expect(`${asDir.stderr}${outIsFile.stderr}${splitIsDir.stderr}`).not.toMatch(/unexpected/);
  });

  it('9. /proc as --out and a FIFO as a data split fail at once instead of hanging', () => {
    const proc = cli('train', '--preset', 'tiny', '--data', data, '--out', '/proc/quire-x/y');
    expect(proc.status).toBe(1);
    expect(proc.stderr).toMatch(/E_IO/);
    const dir = tmp();
    for (const s of ['valid', 'test']) copyFileSync(join(data, `${s}.txt`), join(dir, `${s}.txt`));
    const mk = spawnSync('mkfifo', [join(dir, 'train.txt')]);
    if (mk.status !== 0) return; // no mkfifo on this system
    const fifo = cli('train', '--preset', 'tiny', '--data', dir, '--out', join(dir, 'o'));
    expect(fifo.status).toBe(1);
    expect(fifo.stderr).toMatch(/E_DATA: .*not a regular file/);
  });

  it('12. binary or non-UTF-8 data is E_DATA with the byte offset', () => {
    for (const [bytes, offset, what] of [
      [Buffer.from('a b\n\xff c', 'latin1'), 4, /not valid UTF-8/],
      [Buffer.from('a b\n\0c'), 4, /NUL byte/],
    ] as const) {
      const dir = tmp();
      writeFileSync(join(dir, 'train.txt'), bytes);
      for (const s of ['valid', 'test']) copyFileSync(join(data, `${s}.txt`), join(dir, `${s}.txt`));
      const r = cli('train', '--preset', 'tiny', '--data', dir, '--out', join(dir, 'o'));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(what);
      expect(r.stderr).toContain(`offset ${offset}`);
    }
  });

  it('QUIRE_BACKEND=gpu is a usage error, not "selected backend: none"', () => {
    const r = spawnSync(process.execPath, [...CLI, 'info'], { encoding: 'utf8', env: { ...process.env, QUIRE_BACKEND: 'gpu' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_CONFIG.*QUIRE_BACKEND/);
  });
});

describe.each(BACKEND_NAMES)('the same contract on %s', (backend: BackendName) => {
  const tiny = () => LanguageModel.create({ vocab: 8, hidden: 4, layers: 1, initScale: 0.5, dropout: 0, seed: 1 }, { backend });

  it('10. sizes that cannot be allocated are E_CONFIG, and the backend stays usable', () => {
    expect(
      codeOf(() => LanguageModel.create({ vocab: 1_000_000, hidden: 8192, layers: 16, initScale: 0.1, dropout: 0, seed: 1 }, { backend })),
    ).toBe('E_CONFIG');
    expect(codeOf(() => gemm({ m: 65536, n: 65536, k: 1 }, new Float32Array(65536), new Float32Array(65536), undefined, { backend }))).toBe(
      'E_CONFIG',
    );
    const m = tiny();
    // A window whose logits (rows × vocab) cannot be allocated.
    const huge = LanguageModel.create({ vocab: 1_000_000, hidden: 1, layers: 1, initScale: 0.1, dropout: 0, seed: 1 }, { backend });
    huge.resetState(50);
    const ids = new Uint32Array(5_000_000);
    expect(codeOf(() => huge.evaluate(ids, ids))).toBe('E_CONFIG');
    huge.dispose();
    expect(m.evaluate(new Uint32Array([1, 2]), new Uint32Array([2, 3]))).toBeGreaterThan(0);
    expect(Array.from(gemm({ m: 1, n: 1, k: 2 }, new Float32Array([1, 2]), new Float32Array([3, 4]), undefined, { backend }))).toEqual([
      11,
    ]);
    m.dispose();
  }, 60_000);

  it('11. API edges: no silent coercion, the same errors, E_STATE after dispose', () => {
    const m = tiny();
    expect(codeOf(() => m.resetState(1.5))).toBe('E_CONFIG');
    expect(codeOf(() => m.evaluate([1.5] as never, [1] as never))).toBe('E_SHAPE');
    expect(m.evaluate([1, 2] as never, Int32Array.from([2, 3]) as never)).toBeGreaterThan(0);
    m.resetState(1);
    // A diverging step is E_NONFINITE on both backends.
    let code = 'ok';
    for (let i = 0; i < 5 && code === 'ok'; i++)
      code = codeOf(() => m.trainStep(new Uint32Array([1, 2, 3]), new Uint32Array([2, 3, 4]), 1e30, 0));
    expect(code).toBe('E_NONFINITE');
    const e = InferenceEngine.fromModel(m);
    expect(codeOf(() => e.topK(-1))).toBe('E_CONFIG');
    expect(codeOf(() => e.step([1.5]))).toBe('E_SHAPE');
    expect(codeOf(() => e.resetState(1.5))).toBe('E_CONFIG');
    e.dispose();
    e.dispose();
    expect(codeOf(() => e.step([1]))).toBe('E_STATE');
    m.dispose();
    expect(codeOf(() => m.tensorNames())).toBe('E_STATE');
    expect(codeOf(() => m.config)).toBe('E_STATE');
  });

  it('11. a groupSize beyond 32 bits is E_FORMAT on both backends', () => {
    const m = tiny();
    const meta = { vocabulary: JSON.stringify(Array.from({ length: 8 }, (_, i) => `w${i}`)) };
    const cm = CompressedModel.fromModel(
      m,
      { method: 'greedy', cycles: 0, groupSize: 0, layers: 'lstm', sparsity: 0, fpModelBytes: 1, tensors: { 'lstm.0.w_ih': 1 } },
      meta,
    );
    const bytes = Buffer.from(cm.toBytes());
    cm.dispose();
    m.dispose();
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes
      .subarray(8, 8 + n)
      .toString('utf8')
      .replace('"groupSize":"0"', '"groupSize":"18446744073709551615"');
    const text = Buffer.from(header);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    expect(text.length).not.toBe(n);
    expect(codeOf(() => CompressedModel.fromBytes(Buffer.concat([len, text, bytes.subarray(8 + n)]), { backend }))).toBe('E_FORMAT');
  });

  it('11. dispose frees the Rust memory at once', () => {
    const bytes = readFileSync(join(fpDir, 'model.qmodel'));
    const rss = () => process.memoryUsage().rss;
    const probe = LanguageModel.create({ vocab: 2000, hidden: 256, layers: 2, initScale: 0.1, dropout: 0, seed: 1 }, { backend });
    const size = probe.toBytes('quire-model', {}, false);
    probe.dispose();
    const before = rss();
    for (let i = 0; i < 100; i++) LanguageModel.fromBytes(size, { backend }).dispose();
    // 100 × (≈ 6 MB of weights + gradients) would be ≥ 1 GB if dispose freed nothing.
    expect(rss() - before).toBeLessThan(300 * 2 ** 20);
    expect(existsSync(join(fpDir, 'model.qmodel')) && bytes.length > 0).toBe(true);
  });
});
