import { describe, expect, it } from 'vitest';
import { LanguageModel, QuireError, type ModelConfig } from '../ts/index.js';
import { BACKEND_NAMES, backend, maxRelDiff, rng } from './backends.js';

const CONFIG: ModelConfig = { vocab: 7, hidden: 4, layers: 2, initScale: 0.5, dropout: 0, seed: 5 };

/** A window of `steps·batch` random ids and the ids that follow them. */
function window(steps: number, batch: number, vocab: number, seed: number): { inputs: Uint32Array; targets: Uint32Array } {
  const r = rng(seed);
  const ids = Array.from({ length: steps * batch + 1 }, () => Math.floor(r() * vocab));
  return { inputs: Uint32Array.from(ids.slice(0, -1)), targets: Uint32Array.from(ids.slice(1)) };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Independent f64 forward pass from the documented layout: `x = E[id]`, per layer
 * `z = W_ih·x + W_hh·h + b` with gate rows (i, f, g, o), softmax over `W_s·h + b_s` (`W_s = E` when tied).
 * Returns the mean cross-entropy of a window starting from zero state.
 */
function referenceLoss(model: LanguageModel, inputs: Uint32Array, targets: Uint32Array, batch: number): number {
  const { hidden: H, layers: L, vocab: V } = model.config;
  const t = (n: string) => Array.from(model.getTensor(n));
  const E = t('embedding');
  const Wi = [...Array(L).keys()].map((l) => t(`lstm.${l}.w_ih`));
  const Wh = [...Array(L).keys()].map((l) => t(`lstm.${l}.w_hh`));
  const Bs = [...Array(L).keys()].map((l) => t(`lstm.${l}.bias`));
  const Ws = model.config.tied ? E : t('softmax.weight');
  const bs = t('softmax.bias');
  const h = [...Array(L)].map(() => [...Array(batch)].map(() => new Array(H).fill(0)));
  const c = [...Array(L)].map(() => [...Array(batch)].map(() => new Array(H).fill(0)));
  let total = 0;
  for (let r = 0; r < inputs.length; r++) {
    const b = r % batch;
    let x = E.slice(inputs[r] * H, (inputs[r] + 1) * H);
    for (let l = 0; l < L; l++) {
      const z = new Array(4 * H).fill(0).map((_, j) => {
        let s = Bs[l][j];
        for (let k = 0; k < H; k++) s += Wi[l][j * H + k] * x[k] + Wh[l][j * H + k] * h[l][b][k];
        return s;
      });
      for (let k = 0; k < H; k++) {
        const [i, f, g, o] = [sigmoid(z[k]), sigmoid(z[H + k]), Math.tanh(z[2 * H + k]), sigmoid(z[3 * H + k])];
        c[l][b][k] = f * c[l][b][k] + i * g;
        h[l][b][k] = o * Math.tanh(c[l][b][k]);
      }
      x = h[l][b].slice();
    }
    const logits = new Array(V).fill(0).map((_, v) => x.reduce((s, xv, k) => s + Ws[v * H + k] * xv, bs[v]));
    const max = Math.max(...logits);
    const lse = Math.log(logits.reduce((s, z) => s + Math.exp(z - max), 0)) + max;
    total += lse - logits[targets[r]];
  }
  return total / inputs.length;
}

describe.each(BACKEND_NAMES)('LanguageModel on %s', (name) => {
  const be = backend(name);

  /**
   * Central differences of `J = steps · mean CE` for every parameter. Each evaluation starts
   * from a snapshot taken before the analytic pass (weights, carried state and PRNG), so the
   * dropout masks are the same and the check covers dropout too.
   */
  // Tied: the embedding is the softmax weight too, so its gradient must be the sum of both roles'.
  it.each([
    [0, false],
    [0.3, false],
    [0, true],
    [0.3, true],
  ])('gradients of every tensor match central finite differences (dropout %s, tied %s)', (dropout, tied) => {
    const [steps, batch] = [3, 2];
    const m = LanguageModel.create({ ...CONFIG, dropout, tied }, { backend: be });
    const { inputs, targets } = window(steps, batch, CONFIG.vocab, 11);
    m.resetState(batch);
    const snapshot = m.toBytes('quire-checkpoint', {}, true);
    m.gradients(inputs, targets);
    const objective = (tensor: string, w: Float32Array) => {
      const c = LanguageModel.fromBytes(snapshot, { backend: be });
      c.setTensor(tensor, w);
      const j = c.gradients(inputs, targets) * steps;
      c.dispose();
      return j;
    };
    expect(m.tensorNames()).toHaveLength(3 + 3 * CONFIG.layers - (tied ? 1 : 0));
    for (const tensor of m.tensorNames()) {
      const g = m.getGradient(tensor);
      const w = m.getTensor(tensor);
      const eps = 1e-2;
      let worst = 0;
      for (let i = 0; i < w.length; i++) {
        const p = w.slice();
        p[i] = w[i] + eps;
        const up = objective(tensor, p);
        p[i] = w[i] - eps;
        const down = objective(tensor, p);
        const fd = (up - down) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - g[i]) / (1e-2 + Math.max(Math.abs(fd), Math.abs(g[i]))));
      }
      expect(worst, tensor).toBeLessThan(2e-2);
    }
    m.dispose();
  });

  it.each([false, true])('gives the same loss as an independent TypeScript forward pass (tied %s)', (tied) => {
    const m = LanguageModel.create({ ...CONFIG, vocab: 13, hidden: 6, layers: 3, tied }, { backend: be });
    const batch = 3;
    const { inputs, targets } = window(5, batch, 13, 4);
    m.resetState(batch);
    const loss = m.evaluate(inputs, targets);
    expect(Math.abs(loss - referenceLoss(m, inputs, targets, batch))).toBeLessThan(1e-5);
    m.dispose();
  });

  it('rejects bad windows, tensors and configs with codes, and stays usable', () => {
    const m = LanguageModel.create(CONFIG, { backend: be });
    m.resetState(2);
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(QuireError);
        return (e as QuireError).code;
      }
      return 'none';
    };
    expect(code(() => m.trainStep(new Uint32Array(3), new Uint32Array(3), 1, 5))).toBe('E_SHAPE');
    expect(code(() => m.evaluate(Uint32Array.of(1, 99), Uint32Array.of(1, 2)))).toBe('E_SHAPE');
    expect(code(() => m.getGradient('embedding'))).toBe('E_STATE');
    expect(code(() => m.setTensor('nope', new Float32Array(1)))).toBe('E_CONFIG');
    expect(code(() => m.setTensor('softmax.bias', Float32Array.of(1, 2, 3, 4, 5, 6, NaN)))).toBe('E_NONFINITE');
    expect(code(() => LanguageModel.create({ ...CONFIG, dropout: 1 }, { backend: be }))).toBe('E_CONFIG');
    expect(code(() => LanguageModel.fromBytes(new Uint8Array(20), { backend: be }))).toBe('E_FORMAT');
    const { inputs, targets } = window(2, 2, CONFIG.vocab, 1);
    expect(Number.isFinite(m.trainStep(inputs, targets, 1, 5))).toBe(true);
    m.dispose();
  });

  it('round-trips through bytes, with and without the carried state', () => {
    const m = LanguageModel.create({ ...CONFIG, dropout: 0.3 }, { backend: be });
    m.resetState(2);
    const a = window(4, 2, CONFIG.vocab, 2);
    m.trainStep(a.inputs, a.targets, 1, 5);
    const copy = LanguageModel.fromBytes(m.toBytes('quire-checkpoint', { note: 'x' }, true), { backend: be });
    expect(copy.metadata.note).toBe('x');
    expect(copy.metadata.format).toBe('quire-checkpoint');
    expect(copy.config).toEqual({ ...CONFIG, tied: false, dropout: expect.closeTo(0.3, 6) });
    expect(copy.trainStep(a.inputs, a.targets, 1, 5)).toBe(m.trainStep(a.inputs, a.targets, 1, 5));
    const bare = LanguageModel.fromBytes(m.toBytes('quire-model', {}, false), { backend: be });
    expect(bare.batch).toBe(1);
    expect(Array.from(bare.getTensor('embedding'))).toEqual(Array.from(m.getTensor('embedding')));
    for (const x of [m, copy, bare]) x.dispose();
  });

  it('ties the embedding to the softmax: no softmax.weight, V·H fewer parameters, trains, identical bytes round trip', () => {
    const tied = LanguageModel.create({ ...CONFIG, tied: true }, { backend: be });
    const untied = LanguageModel.create(CONFIG, { backend: be });
    expect(tied.config.tied).toBe(true);
    expect(untied.config.tied).toBe(false);
    expect(untied.parameterCount - tied.parameterCount).toBe(CONFIG.vocab * CONFIG.hidden);
    expect(tied.tensorNames()).not.toContain('softmax.weight');
    expect(() => tied.getTensor('softmax.weight')).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    const learner = LanguageModel.create({ ...CONFIG, hidden: 8, tied: true }, { backend: be });
    learner.resetState(2);
    const { inputs, targets } = window(5, 2, CONFIG.vocab, 8);
    const first = learner.trainStep(inputs, targets, 1, 5);
    let last = first;
    for (let i = 0; i < 30; i++) last = learner.trainStep(inputs, targets, 1, 5);
    expect(last).toBeLessThan(0.8 * first);
    learner.dispose();
    tied.resetState(2);
    tied.trainStep(inputs, targets, 1, 5);
    const bytes = tied.toBytes('quire-checkpoint', { note: 'x' }, true);
    const back = LanguageModel.fromBytes(bytes, { backend: be });
    expect(back.config).toEqual({ ...CONFIG, tied: true });
    expect(back.toBytes('quire-checkpoint', { note: 'x' }, true)).toEqual(bytes);
    expect(() => LanguageModel.create({ ...CONFIG, tied: 'yes' as unknown as boolean }, { backend: be })).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining('tied must be true or false') }),
    );
    for (const x of [tied, untied, back]) x.dispose();
  });
});

describe('native and wasm agree', () => {
  it('on one training step of the same model', () => {
    const config: ModelConfig = { vocab: 50, hidden: 24, layers: 2, initScale: 0.1, dropout: 0.2, seed: 9 };
    const { inputs, targets } = window(6, 4, 50, 3);
    const models = BACKEND_NAMES.map((n) => LanguageModel.create(config, { backend: backend(n) }));
    const losses = models.map((m) => {
      m.resetState(4);
      return m.trainStep(inputs, targets, 1, 5);
    });
    expect(Math.abs(losses[0] - losses[1])).toBeLessThan(1e-5);
    for (const t of models[0].tensorNames()) {
      expect(maxRelDiff(models[0].getTensor(t), models[1].getTensor(t)), t).toBeLessThan(1e-5);
    }
    for (const m of models) m.dispose();
  });
});
