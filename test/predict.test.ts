import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CompressedModel, InferenceEngine, LanguageModel, Predictor, suggestionQuality, textMetadata, Vocabulary } from '../ts/index.js';
import { topIds } from '../ts/predict.js';
import { BACKEND_NAMES } from './backends.js';
import { thrown } from './errors.js';

const WORDS = ['the', 'then', 'there', 'they', 'cat', 'cats', 'sat', 'on', 'mat', 'a', '<eos>', '<unk>'];
const text = { vocabulary: new Vocabulary(WORDS), tokenizer: { splitter: 'words' as const, lowercase: true } };

function modelBytes(compressed: boolean): Uint8Array {
  const m = LanguageModel.create(
    { vocab: WORDS.length, hidden: 24, layers: 2, initScale: 0.6, dropout: 0, seed: 5 },
    { backend: 'native' },
  );
  try {
    if (!compressed) return m.toBytes('quire-model', textMetadata(text), false);
    const tensors = { embedding: 2, 'lstm.0.w_ih': 2, 'lstm.0.w_hh': 2, 'lstm.1.w_ih': 2, 'lstm.1.w_hh': 2, 'softmax.weight': 2 };
    const cm = CompressedModel.fromModel(
      m,
      { method: 'alternating', cycles: 2, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors },
      textMetadata(text),
    );
    const bytes = cm.toBytes();
    cm.dispose();
    return bytes;
  } finally {
    m.dispose();
  }
}

/** Next-token probabilities after `<eos>` + `words`, computed with the plain engine API. */
function reference(bytes: Uint8Array, backend: 'native' | 'wasm', words: string[]): Float32Array {
  const e = InferenceEngine.fromBytes(bytes, { backend });
  e.resetState(1);
  let z = e.step([WORDS.indexOf('<eos>')]);
  for (const w of words) z = e.step([WORDS.indexOf(w)]);
  e.dispose();
  const max = Math.max(...z);
  const p = z.map((v) => Math.exp(v - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}

describe.each(BACKEND_NAMES)('Predictor (%s)', (backend) => {
  for (const compressed of [false, true]) {
    const bytes = modelBytes(compressed);
    const kind = compressed ? 'a 2-bit model' : 'an FP model';

    it(`suggests the model's most likely next words and completions, specials left out (${kind})`, () => {
      const p = Predictor.fromBytes(bytes, { backend });
      const s = p.session();
      s.feed('The cat ');
      const want = reference(bytes, backend, ['the', 'cat']);
      const ranked = WORDS.map((w, id) => ({ w, id, p: want[id] }))
        .filter((x) => !x.w.startsWith('<'))
        .sort((a, b) => b.p - a.p || a.id - b.id);
      const next = s.next(4);
      expect(next.map((x) => x.word)).toEqual(ranked.slice(0, 4).map((x) => x.w));
      next.forEach((x, i) => expect(x.probability).toBeCloseTo(ranked[i].p, 6));
      expect(s.next(20, { specials: true }).map((x) => x.word)).toContain('<eos>');
      s.feed('The cat Th');
      expect(s.prefix).toBe('th');
      const completions = s.complete(undefined, 10);
      expect(completions.map((x) => x.word).sort()).toEqual(['the', 'then', 'there', 'they']);
      expect(completions.map((x) => x.probability)).toEqual([...completions.map((x) => x.probability)].sort((a, b) => b - a));
      expect(s.complete('zz')).toEqual([]);
      p.dispose();
    });

    it(`feeds only new words, replays an edited text, and keeps sessions apart (${kind})`, () => {
      const p = Predictor.fromBytes(bytes, { backend });
      const a = p.session();
      const b = p.session();
      a.feed('the cat sat ');
      b.feed('a mat ');
      a.feed('the cat sat on ');
      const fresh = p.session();
      fresh.feed('the cat sat on ');
      expect(Array.from(a.probabilities())).toEqual(Array.from(fresh.probabilities()));
      for (const [x, y] of a.probabilities().entries()) expect(y).toBeCloseTo(reference(bytes, backend, ['the', 'cat', 'sat', 'on'])[x], 6);
      // An edited text (a word deleted) is replayed from the start.
      a.feed('the sat ');
      const edited = p.session();
      edited.feed('the sat ');
      expect(Array.from(a.probabilities())).toEqual(Array.from(edited.probabilities()));
      // Session b was not disturbed by a's steps.
      const b2 = p.session();
      b2.feed('a mat ');
      expect(Array.from(b.probabilities())).toEqual(Array.from(b2.probabilities()));
      p.dispose();
    });

    it(`moves a session between predictors as versioned bytes (${kind})`, () => {
      const p = Predictor.fromBytes(bytes, { backend });
      const s = p.session();
      s.feed('the cat ');
      const saved = s.state();
      const other = Predictor.fromBytes(bytes, { backend: backend === 'native' ? 'wasm' : 'native' });
      const t = other.session();
      t.restore(saved);
      t.feed('sat on ');
      s.feed('the cat sat on ');
      const [ps, pt] = [s.probabilities(), t.probabilities()];
      for (let i = 0; i < ps.length; i++) expect(pt[i]).toBeCloseTo(ps[i], 5);
      expect(thrown(() => t.restore(saved.subarray(0, 10))).code).toBe('E_FORMAT');
      const wrong = saved.slice();
      wrong[8] ^= 1;
      expect(thrown(() => t.restore(wrong)).message).toMatch(/another model/);
      const nan = saved.slice();
      new DataView(nan.buffer).setFloat32(28, Number.NaN, true);
      expect(thrown(() => t.restore(nan)).message).toMatch(/NaN/);
      const flag = saved.slice();
      flag[20] = 2;
      expect(thrown(() => t.restore(flag)).message).toMatch(/context flag/);
      expect(thrown(() => s.next(0)).code).toBe('E_CONFIG');
      p.dispose();
      other.dispose();
    });
  }

  it('ranks exactly as a full softmax sorted would, for every prefix, k, and a keyboard typing word by word', () => {
    // 600 words over a 3-letter alphabet: long prefix ranges, and a 1-bit model whose logits repeat values.
    const words = [...Array.from({ length: 598 }, (_, i) => `${'abc'[i % 3]}${'abc'[(i >> 2) % 3]}${i.toString(3)}`), '<eos>', '<unk>'];
    const vocabulary = new Vocabulary(words);
    const tt = { vocabulary, tokenizer: { splitter: 'words' as const, lowercase: true } };
    const m = LanguageModel.create(
      { vocab: words.length, hidden: 16, layers: 1, initScale: 0.8, dropout: 0, seed: 9 },
      { backend: 'native' },
    );
    const tensors = { embedding: 1, 'lstm.0.w_ih': 1, 'lstm.0.w_hh': 1, 'softmax.weight': 1 };
    const cm = CompressedModel.fromModel(
      m,
      { method: 'greedy', cycles: 0, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors },
      textMetadata(tt),
    );
    const p = Predictor.fromBytes(cm.toBytes(), { backend });
    cm.dispose();
    m.dispose();
    const s = p.session();
    const fresh = p.session();
    let text = '';
    for (let w = 0; w < 12; w++) {
      text += `${words[(w * 37) % 598]} `;
      s.feed(text);
      fresh.feed(text);
      const probs = s.probabilities();
      expect(Array.from(probs)).toEqual(Array.from(fresh.probabilities()));
      for (const k of [1, 3, 10]) {
        const want = (ids: ArrayLike<number>) => topIds(probs, ids, k).map((id) => ({ word: words[id], probability: probs[id], id }));
        expect(s.next(k)).toEqual(want(p.idsWithPrefix('')));
        expect(s.next(k, { specials: true })).toEqual(want(Array.from(words.keys())));
        for (const prefix of ['a', 'b', 'ca', 'ab1', 'c2']) expect(s.complete(prefix, k)).toEqual(want(p.idsWithPrefix(prefix)));
      }
    }
    p.dispose();
  });

  it('without <eos> a new session ranks its uniform start (all tied) as the full softmax does', () => {
    const words = ['b', 'a', 'c', 'ab', 'ba'];
    const tt = { vocabulary: new Vocabulary(words), tokenizer: { splitter: 'words' as const, lowercase: true } };
    const m = LanguageModel.create(
      { vocab: words.length, hidden: 8, layers: 1, initScale: 0.5, dropout: 0, seed: 2 },
      { backend: 'native' },
    );
    const p = Predictor.fromBytes(m.toBytes('quire-model', textMetadata(tt), false), { backend });
    m.dispose();
    const s = p.session();
    // Display order a, ab, b, ba, c: the first three to arrive are kept, ordered by id.
    expect(s.next(3).map((x) => x.id)).toEqual(topIds(s.probabilities(), p.idsWithPrefix(''), 3));
    expect(s.next(3).map((x) => x.word)).toEqual(['b', 'a', 'ab']);
    expect(s.complete('b', 3).map((x) => x.word)).toEqual(['b', 'ba']);
    expect(s.next(1)[0].probability).toBe(Math.fround(1 / 5));
    p.dispose();
  });

  it('advance() leaves the state step() leaves, bit for bit, with no logits; bad ids are E_SHAPE', () => {
    const bytes = modelBytes(true);
    const [a, b] = [InferenceEngine.fromBytes(bytes, { backend }), InferenceEngine.fromBytes(bytes, { backend })];
    for (const id of [0, 4, 6, 2]) {
      a.step([id]);
      b.advance([id]);
      expect(Array.from(b.state())).toEqual(Array.from(a.state()));
    }
    expect(() => b.topK(1)).toThrow(/no logits/);
    expect(thrown(() => b.advance([WORDS.length])).code).toBe('E_SHAPE');
    expect(Array.from(b.step([3]))).toEqual(Array.from(a.step([3])));
    a.dispose();
    b.dispose();
  });

  it('restores a version-1 state (the state before the last word, and that word) as earlier versions wrote it', () => {
    const bytes = modelBytes(true);
    const e = InferenceEngine.fromBytes(bytes, { backend });
    for (const w of ['<eos>', 'the']) e.step([WORDS.indexOf(w)]);
    const before = e.state();
    e.dispose();
    const v1 = new Uint8Array(24 + 4 * before.length);
    const view = new DataView(v1.buffer);
    [0x31535051, 2, 24, WORDS.length, WORDS.indexOf('cat'), before.length].forEach((v, i) => view.setUint32(4 * i, v, true));
    before.forEach((v, i) => view.setFloat32(24 + 4 * i, v, true));
    const p = Predictor.fromBytes(bytes, { backend });
    const [old, fresh] = [p.session(), p.session()];
    old.restore(v1);
    old.feed('sat on ');
    fresh.feed('the cat sat on ');
    expect(old.next(5)).toEqual(fresh.next(5));
    expect(old.state()).toEqual(fresh.state());
    p.dispose();
  });

  it('logitsOfState() gives the logits of the step that made a state, on another engine too', () => {
    const bytes = modelBytes(true);
    const [a, b] = [InferenceEngine.fromBytes(bytes, { backend }), InferenceEngine.fromBytes(bytes, { backend })];
    a.step([0]);
    const z = a.step([4]);
    b.setState(a.state());
    expect(Array.from(b.logitsOfState())).toEqual(Array.from(z));
    expect(Array.from(b.state())).toEqual(Array.from(a.state()));
    a.dispose();
    b.dispose();
  });

  it('the engine state round-trips, and a bad state is refused with the engine unchanged', () => {
    const e = InferenceEngine.fromBytes(modelBytes(false), { backend });
    e.resetState(1);
    e.step([0]);
    e.step([4]);
    const st = e.state();
    expect(st.length).toBe(2 * 2 * 24);
    const z1 = e.step([6]);
    e.setState(st);
    expect(Array.from(e.step([6]))).toEqual(Array.from(z1));
    expect(thrown(() => e.setState(st.subarray(1))).code).toBe('E_SHAPE');
    expect(thrown(() => e.setState(st.map(() => Number.NaN))).code).toBe('E_NONFINITE');
    expect(thrown(() => e.state(1)).code).toBe('E_CONFIG');
    e.dispose();
  });
});

describe('quire suggest', () => {
  it('prints the same suggestions and completions as the Predictor, as JSON and as text', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'quire-suggest-')), 'm.qcomp');
    const bytes = modelBytes(true);
    writeFileSync(file, bytes);
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'suggest', file, '--backend', 'native', ...args], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const p = Predictor.fromBytes(bytes, { backend: 'native' });
    const s = p.session();
    s.feed('the cat ');
    const j = run('--prompt', 'the cat ', '-k', '4', '--json');
    expect(j.status, j.stderr).toBe(0);
    const out = JSON.parse(j.stdout);
    expect(out.next.map((x: { word: string }) => x.word)).toEqual(s.next(4).map((x) => x.word));
    expect(out.completions).toEqual([]);
    s.feed('the cat th');
    const t = run('--prompt', 'the cat th');
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toBe(
      `complete 'th': ${s
        .complete(undefined, 3)
        .map((x) => `${x.word} (${(100 * x.probability).toFixed(1)} %)`)
        .join('  ')}\n`,
    );
    expect(run('--prompt', 'x', '-k', '0').status).toBe(2);
    p.dispose();
  });
});

describe.each(BACKEND_NAMES)('suggestion quality (%s)', (backend) => {
  it('top-1, top-3 and keystroke savings equal a brute-force count over the same steps', () => {
    const bytes = modelBytes(true);
    const p = Predictor.fromBytes(bytes, { backend });
    const ids = Uint32Array.from({ length: 61 }, (_, i) => (i * 7 + (i % 3)) % WORDS.length);
    const q = suggestionQuality(p, ids, 3);
    // Reference: the same 3 streams stepped with the plain engine, every word ranked by sorting.
    const e = InferenceEngine.fromBytes(bytes, { backend });
    e.resetState(3);
    const len = Math.floor(ids.length / 3);
    let [n, t1, t3, saved, chars] = [0, 0, 0, 0, 0];
    const rank = (z: Float32Array, prefix: string) =>
      WORDS.map((w, id) => ({ w, id }))
        .filter((x) => !x.w.startsWith('<') && x.w.startsWith(prefix))
        .sort((a, b) => z[b.id] - z[a.id] || a.id - b.id)
        .slice(0, 3)
        .map((x) => x.id);
    for (let t = 0; t < len - 1; t++) {
      const z = e.step([0, 1, 2].map((s) => ids[s * len + t]));
      for (let s = 0; s < 3; s++) {
        const target = ids[s * len + t + 1];
        const word = WORDS[target];
        if (word.startsWith('<')) continue;
        const row = z.subarray(s * WORDS.length, (s + 1) * WORDS.length);
        n++;
        chars += word.length + 1;
        const top = rank(row, '');
        if (top[0] === target) t1++;
        if (top.includes(target)) t3++;
        for (let typed = 0; typed < word.length; typed++) {
          if (rank(row, word.slice(0, typed)).includes(target)) {
            saved += word.length - typed;
            break;
          }
        }
      }
    }
    e.dispose();
    expect(q.words).toBe(n);
    expect(q.top1).toBeCloseTo(t1 / n, 12);
    expect(q.top3).toBeCloseTo(t3 / n, 12);
    expect(q.keystrokeSavings).toBeCloseTo(saved / chars, 12);
    expect(q.top3).toBeGreaterThan(0);
    p.dispose();
  });
});
