import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Batcher, InferenceEngine, LanguageModel, loadCorpus, loadModel, QuireError, train, type TrainOptions } from '../ts/index.js';
import { BACKEND_NAMES, backend } from './backends.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus();
const outDir = () => mkdtempSync(join(tmpdir(), 'quire-run-'));

async function rejection(p: Promise<unknown>): Promise<QuireError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(QuireError);
    return e as QuireError;
  }
  throw new Error('expected a rejection');
}

describe('data pipeline', () => {
  it('builds the vocabulary from train with <eos> per line and <unk> for unknown words', () => {
    const c = loadCorpus(data);
    expect(c.vocabulary.words).toContain('<eos>');
    expect(c.vocabulary.words.at(-1)).toBe('<unk>');
    expect(c.vocabulary.size).toBe(22);
    expect(c.vocabulary.encode(['w3', 'zzz'])[1]).toBe(21);
    expect(loadCorpus(data, { limit: 100 }).ids.valid.length).toBe(100);
  });

  it('cuts contiguous streams and time-major windows (Zaremba batching)', () => {
    const ids = Uint32Array.from({ length: 23 }, (_, i) => i);
    const b = new Batcher(ids, 2, 4, false);
    expect(b.streamLength).toBe(11);
    expect(b.windows).toBe(2);
    const w = b.window(1);
    expect(Array.from(w.inputs)).toEqual([4, 15, 5, 16, 6, 17, 7, 18]);
    expect(Array.from(w.targets)).toEqual([5, 16, 6, 17, 7, 18, 8, 19]);
    const e = new Batcher(ids, 2, 4, true);
    expect(e.windows).toBe(3);
    expect(e.window(2).steps).toBe(2);
    expect(e.tokens).toBe(20);
  });

  it('reports a missing directory or split as E_DATA naming the expected files', () => {
    expect(() => loadCorpus('/nonexistent/quire')).toThrowError(/ptb\.\{train,valid,test\}\.txt/);
    const dir = mkdtempSync(join(tmpdir(), 'quire-empty-'));
    writeFileSync(join(dir, 'ptb.train.txt'), 'a b c\n');
    try {
      loadCorpus(dir);
    } catch (e) {
      expect((e as QuireError).code).toBe('E_DATA');
      expect((e as QuireError).message).toMatch(/ptb\.valid\.txt or valid\.txt/);
    }
  });
});

describe.each(BACKEND_NAMES)('trainer on %s', (name) => {
  const be = backend(name);
  const base = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
    preset: 'tiny',
    dataDir: data,
    outDir: out,
    backend: be,
    ...extra,
  });

  it('learns, logs each epoch and writes checkpoint and model files', async () => {
    const out = outDir();
    const r = await train(base(out, { overrides: { epochs: 3 } }));
    expect(r.history).toHaveLength(3);
    expect(r.history[2].validPerplexity).toBeLessThan(r.history[0].validPerplexity);
    expect(r.history[2].validPerplexity).toBeLessThan(8);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log).toHaveLength(4);
    expect(log[3].split).toBe('test');
    const loaded = loadModel(out, { backend: be });
    expect(loaded.training).toBeUndefined();
    expect(loaded.vocabulary.size).toBe(22);
    expect(loadModel(join(out, 'checkpoint.qckpt'), { backend: be }).training?.epoch).toBe(3);
    expect(existsSync(join(out, 'model.qmodel'))).toBe(true);
  });

  it('resumes an interrupted run (mid-epoch and at an epoch boundary) to the uninterrupted result', async () => {
    const full = await train(base(outDir()));
    const out = outDir();
    const controller = new AbortController();
    const err = await rejection(
      train(base(out, { signal: controller.signal, onWindow: (_m, epoch, w) => epoch === 1 && w === 40 && controller.abort() })),
    );
    expect(err.code).toBe('E_INTERRUPTED');
    expect(loadModel(out, { backend: be }).training).toMatchObject({ epoch: 0, window: 40 });
    const once = await train(base(out, { resume: true, overrides: { epochs: 1 } }));
    expect(once.history).toHaveLength(1);
    const resumed = await train(base(out, { resume: true, overrides: { epochs: 2 } }));
    expect(resumed.history).toHaveLength(2);
    for (let e = 0; e < 2; e++) {
      expect(resumed.history[e].validPerplexity).toBeCloseTo(full.history[e].validPerplexity, 4);
      expect(resumed.history[e].trainLoss).toBeCloseTo(full.history[e].trainLoss, 5);
    }
    expect(resumed.test.perplexity).toBeCloseTo(full.test.perplexity, 4);
    await expect(train(base(out, { resume: true, overrides: { hidden: 8 } }))).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('--keep-best writes the model of the best-validation epoch, through a resume, and says which', async () => {
    // A learning rate that grows 8-fold per epoch after the third makes the last two epochs worse.
    const settings = { epochs: 5, lr: 1, decayAfter: 3, lrDecay: 8, keepBest: true };
    const out = outDir();
    await train(base(out, { overrides: { ...settings, epochs: 2 } }));
    expect(existsSync(join(out, 'best.qmodel'))).toBe(true);
    const r = await train(base(out, { resume: true, overrides: settings }));
    const valid = r.history.map((h) => h.validPerplexity);
    const best = valid.indexOf(Math.min(...valid)) + 1;
    expect(r.bestEpoch).toBe(best);
    expect(best).toBe(3);
    const weights = (path: string) => {
      const { model } = loadModel(path, { backend: be });
      const w = model.getTensor('lstm.0.w_hh');
      model.dispose();
      return w;
    };
    expect(weights(join(out, 'model.qmodel'))).toEqual(weights(join(out, 'best.qmodel')));
    expect(weights(join(out, 'model.qmodel'))).not.toEqual(weights(join(out, 'checkpoint.qckpt')));
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ split: 'test', epoch: best });
    // Without the file the best epoch's weights are gone: a clear error, the checkpoint kept.
    rmSync(join(out, 'model.qmodel'));
    rmSync(join(out, 'best.qmodel'));
    const again = await rejection(train(base(out, { resume: true, overrides: settings })));
    expect([again.code, again.message]).toEqual([
      'E_STATE',
      expect.stringMatching(/model of epoch \d \(the best validation\) cannot be read/),
    ]);
    expect(existsSync(join(out, 'checkpoint.qckpt'))).toBe(true);
  });

  it('--keep-best turned on by a resume counts the epoch resumed from', async () => {
    const out = outDir();
    const settings = { epochs: 5, lr: 1, decayAfter: 3, lrDecay: 8 };
    await train(base(out, { overrides: { ...settings, epochs: 3 } }));
    const weights = (path: string) => {
      const { model } = loadModel(path, { backend: be });
      const w = model.getTensor('lstm.0.w_hh');
      model.dispose();
      return w;
    };
    const resumedFrom = weights(join(out, 'checkpoint.qckpt'));
    // Epochs 4 and 5 at a learning rate of 8 and 64 end worse than epoch 3.
    const r = await train(base(out, { resume: true, overrides: { ...settings, keepBest: true } }));
    const valid = r.history.map((h) => h.validPerplexity);
    expect(Math.min(valid[3], valid[4])).toBeGreaterThan(valid[2]);
    expect(r.bestEpoch).toBe(3);
    expect(weights(join(out, 'model.qmodel'))).toEqual(resumedFrom);
  });

  it('trains a tied model (--tie): it learns, V·H fewer parameters, the checkpoint records tie and resuming cannot change it', async () => {
    const out = outDir();
    const r = await train(base(out, { overrides: { epochs: 2, tie: true } }));
    expect(r.config.tie).toBe(true);
    expect(r.history[1].validPerplexity).toBeLessThan(r.history[0].validPerplexity);
    expect(r.history[1].validPerplexity).toBeLessThan(12);
    const { model } = loadModel(out, { backend: be });
    expect(model.config.tied).toBe(true);
    const untied = LanguageModel.create({ ...model.config, tied: false }, { backend: be });
    expect(untied.parameterCount - model.parameterCount).toBe(model.config.vocab * model.config.hidden);
    untied.dispose();
    expect(model.tensorNames()).not.toContain('softmax.weight');
    expect(loadModel(join(out, 'checkpoint.qckpt'), { backend: be }).training?.config.tie).toBe(true);
    await expect(train(base(out, { resume: true, overrides: { epochs: 3, tie: false } }))).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining("cannot change 'tie'"),
    });
    model.dispose();
  });

  it('trains an adaptive softmax (--adaptive): it learns, its engine gives probabilities summing to 1, bad settings are E_CONFIG', async () => {
    const out = outDir();
    const r = await train(base(out, { overrides: { epochs: 2, adaptive: '8,15' } }));
    expect(r.history[1].validPerplexity).toBeLessThan(r.history[0].validPerplexity);
    expect(r.history[1].validPerplexity).toBeLessThan(14);
    const { model } = loadModel(out, { backend: be });
    expect(model.config.cutoffs).toEqual([8, 15]);
    expect(model.tensorNames().filter((n) => n.startsWith('softmax.'))).toEqual([
      'softmax.head.weight',
      'softmax.head.bias',
      'softmax.tail.0.proj',
      'softmax.tail.0.weight',
      'softmax.tail.1.proj',
      'softmax.tail.1.weight',
    ]);
    const engine = InferenceEngine.fromModel(model);
    const logp = engine.step([3]);
    expect(logp.reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 5);
    engine.dispose();
    expect(loadModel(join(out, 'checkpoint.qckpt'), { backend: be }).training?.config.adaptive).toBe('8,15');
    for (const [overrides, message] of [
      [{ adaptive: 'auto' }, 'too small for an adaptive softmax'],
      [{ adaptive: '8,8' }, 'increase strictly'],
      [{ adaptive: '8,x' }, "adaptive must be 'auto'"],
      [{ adaptive: '8', tie: true }, 'choose --tie or --adaptive'],
    ] as const) {
      await expect(train(base(outDir(), { overrides }))).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringContaining(message),
      });
    }
    model.dispose();
  });

  it('stops on a non-finite loss with E_NONFINITE and keeps the last good checkpoint', async () => {
    const out = outDir();
    await train(base(out, { overrides: { epochs: 1 } }));
    const before = readFileSync(join(out, 'checkpoint.qckpt'));
    const err = await rejection(train(base(out, { resume: true, overrides: { epochs: 2, lr: 1e38, clip: 0 } })));
    expect(err.code).toBe('E_NONFINITE');
    expect(err.message).toMatch(/checkpoint/);
    expect(readFileSync(join(out, 'checkpoint.qckpt')).equals(before)).toBe(true);
    const kept = loadModel(join(out, 'checkpoint.qckpt'), { backend: be });
    expect(kept.training?.epoch).toBe(1);
    for (const t of kept.model.tensorNames()) expect(kept.model.getTensor(t).every(Number.isFinite)).toBe(true);
  });

  it('rejects corrupt and truncated checkpoints with E_FORMAT', async () => {
    const out = outDir();
    await train(base(out, { overrides: { epochs: 1 } }));
    const file = join(out, 'checkpoint.qckpt');
    const good = readFileSync(file);
    const bad = (bytes: Uint8Array) => {
      writeFileSync(file, bytes);
      try {
        loadModel(file, { backend: be });
      } catch (e) {
        return (e as QuireError).code;
      }
      return 'none';
    };
    expect(bad(good.subarray(0, good.length - 5))).toBe('E_FORMAT');
    expect(bad(good.subarray(0, 100))).toBe('E_FORMAT');
    const flipped = Buffer.from(good);
    flipped[20] ^= 0x55;
    expect(bad(flipped)).toBe('E_FORMAT');
    const length = Buffer.from(good);
    length.writeBigUInt64LE(1n << 40n, 0);
    expect(bad(length)).toBe('E_FORMAT');
    rmSync(file);
    expect(bad(new Uint8Array(0))).toBe('E_FORMAT');
    await expect(train(base(outDir(), { dataDir: '/nonexistent/quire' }))).rejects.toMatchObject({ code: 'E_DATA' });
  });
});
