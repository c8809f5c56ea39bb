import { describe, expect, it } from 'vitest';
import { CompressedModel, InferenceEngine, LanguageModel, Predictor, textMetadata, Vocabulary } from '../ts/index.js';
import { topIds } from '../ts/predict.js';
import { BACKEND_NAMES, rng } from './backends.js';

// An adaptive model's top-k, candidates and draws computed head first (InferenceEngine.feed) against its full rows
// (step), and the Predictor's suggestions against the ranking of its full distribution.

const V = 300;
const CUTOFFS = [[20, 100], [50], [5, 10, 200]];

function modelBytes(cutoffs: number[], compressed: boolean, metadata: Record<string, string> = {}): Uint8Array {
  const m = LanguageModel.create(
    { vocab: V, hidden: 32, layers: 1, initScale: 1.5, dropout: 0, seed: cutoffs.length, cutoffs },
    { backend: 'native' },
  );
  try {
    if (!compressed) return m.toBytes('quire-model', metadata, false);
    const tensors = Object.fromEntries(
      m
        .tensorNames()
        .filter((n) => !n.endsWith('bias'))
        .map((name) => [name, 2]),
    );
    const cm = CompressedModel.fromModel(
      m,
      { method: 'greedy', cycles: 0, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors },
      metadata,
    );
    const bytes = cm.toBytes();
    cm.dispose();
    return bytes;
  } finally {
    m.dispose();
  }
}

/** The full row's k best of `among` (ties: lower id first) and every other within `slack` of the k-th. */
function reference(z: Float32Array, k: number, slack: number, among: number[]): number[] {
  const ids = [...among].sort((a, b) => z[b] - z[a] || a - b);
  if (ids.length <= k) return ids;
  const floor = Math.fround(z[ids[k - 1]] - Math.fround(slack));
  return ids.filter((id, i) => i < k || (slack > 0 && z[id] >= floor));
}

describe.each(BACKEND_NAMES)('head first on an adaptive model (%s)', (backend) => {
  it('top-k, candidates, values and top-k draws are those of the full rows (cut-offs, k past the head, packed and FP)', () => {
    const random = rng(7);
    let skipped = 0;
    for (const cutoffs of CUTOFFS) {
      for (const compressed of [false, true]) {
        const bytes = modelBytes(cutoffs, compressed);
        const [full, lazy] = [InferenceEngine.fromBytes(bytes, { backend }), InferenceEngine.fromBytes(bytes, { backend })];
        full.seed(3);
        lazy.seed(3);
        const all = Array.from({ length: V }, (_, i) => i);
        for (let step = 0; step < 3; step++) {
          const token = Math.floor(random() * V);
          const z = full.step([token]);
          lazy.feed([token]);
          const some = all.filter(() => random() < 0.3);
          for (const k of [1, 3, cutoffs[0] - 1, cutoffs[0] + 2, 150, V - 1, V]) {
            const what = `cut-offs ${cutoffs} ${compressed ? '2-bit' : 'FP'} step ${step} k ${k}`;
            lazy.outputOfState();
            expect(Array.from(lazy.topK(k)), what).toEqual(reference(z, k, 0, all));
            const { computed, total } = lazy.tailsComputed;
            skipped += total - computed;
            lazy.outputOfState();
            expect(Array.from(lazy.candidates(k, { slack: 0.5 })), what).toEqual(reference(z, k, 0.5, all));
            lazy.outputOfState();
            expect(Array.from(lazy.candidates(k, { slack: 0.2, among: some })), what).toEqual(reference(z, k, 0.2, some));
            expect(Array.from(lazy.values(some)), what).toEqual(some.map((id) => z[id]));
          }
          for (const [temperature, topK] of [
            [0, 0],
            [1, 5],
            [0.8, 40],
          ]) {
            lazy.outputOfState();
            expect(Array.from(lazy.sample({ temperature, topK }))).toEqual(Array.from(full.sample({ temperature, topK })));
          }
        }
        full.dispose();
        lazy.dispose();
      }
    }
    expect(skipped).toBeGreaterThan(0);
  });

  it('bad arguments are clear errors, never a crash', () => {
    const e = InferenceEngine.fromBytes(modelBytes([20, 100], false), { backend });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'none';
    };
    expect(code(() => e.candidates(3))).toBe('E_STATE');
    expect(code(() => e.values([1]))).toBe('E_STATE');
    expect(code(() => e.feed([V]))).toBe('E_SHAPE');
    e.feed([1]);
    expect(code(() => e.candidates(-1))).toBe('E_CONFIG');
    expect(code(() => e.candidates(3, { slack: Number.NaN }))).toBe('E_CONFIG');
    expect(code(() => e.candidates(3, { slack: -1 }))).toBe('E_CONFIG');
    expect(code(() => e.candidates(3, { stream: 1 }))).toBe('E_CONFIG');
    expect(code(() => e.candidates(3, { among: [1, V] }))).toBe('E_SHAPE');
    expect(code(() => e.values([V + 5]))).toBe('E_SHAPE');
    expect(Array.from(e.candidates(0))).toEqual([]);
    expect(Array.from(e.candidates(3, { among: [] }))).toEqual([]);
    e.advance([2]);
    expect(code(() => e.topK(1))).toBe('E_STATE');
    e.dispose();
  });

  it('the Predictor ranks what the full distribution ranks, computing tails only when needed', () => {
    const words = [...Array.from({ length: V - 2 }, (_, i) => `w${i}`), '<eos>', '<unk>'];
    const tt = { vocabulary: new Vocabulary(words), tokenizer: { splitter: 'words' as const, lowercase: true } };
    const eos = words.indexOf('<eos>');
    for (const cutoffs of CUTOFFS) {
      const bytes = modelBytes(cutoffs, false, textMetadata(tt));
      const p = Predictor.fromBytes(bytes, { backend });
      const exact = InferenceEngine.fromBytes(bytes, { backend });
      const [s, other] = [p.session(), p.session()];
      let z = exact.step([eos]);
      let text = '';
      let skipped = 0;
      for (let w = 0; w < 6; w++) {
        const word = words[(w * 37 + 11) % (V - 2)];
        text += `${word} `;
        s.feed(text);
        other.feed(`w${w} w1 `); // another session on the shared engine in between
        z = exact.step([words.indexOf(word)]);
        const probs = z.map((v) => Math.exp(v));
        // The old ranking (the softmax of the log-probabilities over all V) picks the same words.
        const max = Math.max(...z);
        const sum = z.reduce((a, v) => a + Math.fround(Math.exp(v - max)), 0);
        const old = z.map((v) => Math.fround(Math.exp(v - max)) / sum);
        for (const k of [1, 3, 10, 40]) {
          const want = (ids: ArrayLike<number>) => topIds(probs, ids, k).map((id) => ({ word: words[id], probability: probs[id], id }));
          const next = s.next(k);
          if (k === 1) skipped += p.engine.tailsComputed.total - p.engine.tailsComputed.computed;
          expect(next, `cut-offs ${cutoffs} word ${w} k ${k}`).toEqual(want(p.idsWithPrefix('')));
          expect(next.map((x) => x.id)).toEqual(topIds(old, p.idsWithPrefix(''), k));
          next.forEach((x) => expect(Math.abs(x.probability - old[x.id])).toBeLessThan(1e-6 * old[x.id]));
          expect(s.next(k, { specials: true })).toEqual(want(Array.from(words.keys())));
          other.next(2);
          for (const prefix of ['w', 'w1', 'w2', 'w25', 'w19', 'w7', 'x'])
            expect(s.complete(prefix, k)).toEqual(want(p.idsWithPrefix(prefix)));
        }
        expect(Array.from(s.probabilities())).toEqual(Array.from(probs));
      }
      expect(skipped).toBeGreaterThan(0);
      exact.dispose();
      p.dispose();
    }
  });
});
