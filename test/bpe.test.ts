/**
 * The subword tokenizer (ts/data/bpe.ts) against Hugging Face `tokenizers` (golden data from
 * scripts/golden-bpe.py: BpeTrainer + Metaspace on a PTB slice and a small accented/CJK/emoji
 * corpus), plus its own properties and errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, runInContext } from 'node:vm';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BPE_CACHE_WORDS, BpeEncoder, type BpeModel, decodePieces, trainBpe, validateBpeModel, WORD_START } from '../ts/data/bpe.js';
import { rng } from './backends.js';
import { thrown } from './errors.js';

const GOLDEN = join(import.meta.dirname, 'golden', 'bpe');

interface Golden {
  tokenizers: string;
  runs: { min_frequency: number; merges: [string, string][] }[];
  encodings: string[][];
}

function load(name: string): { golden: Golden; counts: Map<string, number>; test: string[] } {
  const golden = JSON.parse(readFileSync(join(GOLDEN, `${name}.json`), 'utf8')) as Golden;
  const counts = new Map<string, number>();
  for (const w of readFileSync(join(GOLDEN, `${name}-corpus.txt`), 'utf8').split(/\s+/)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
  const test = readFileSync(join(GOLDEN, `${name}-test.txt`), 'utf8')
    .split('\n')
    .filter(Boolean);
  return { golden, counts, test };
}

function encodeLine(encoder: BpeEncoder, line: string): string[] {
  return line.split(' ').flatMap((w) => encoder.encodeWord(w));
}

describe.each(['ptb', 'unicode'])('BPE against Hugging Face tokenizers (%s corpus)', (name) => {
  const { golden, counts, test } = load(name);

  it("encodes the test text exactly as HF does with HF's merges", () => {
    expect(golden.encodings.length).toBe(test.length);
    const encoder = new BpeEncoder({ merges: golden.runs[0].merges });
    for (let i = 0; i < test.length; i++) expect(encodeLine(encoder, test[i])).toEqual(golden.encodings[i]);
  });

  it.each([0, 1])('learns the same merges as HF (run %i: min_frequency 2, 5)', (run) => {
    const { min_frequency, merges } = golden.runs[run];
    expect(merges.length).toBeGreaterThan(100);
    // More merges requested than HF learned: both stop when no pair occurs min_frequency times.
    expect(trainBpe(counts, { merges: merges.length + 1000, minPairCount: min_frequency }).merges).toEqual(merges);
    // A budget: the first merges of the same list.
    expect(trainBpe(counts, { merges: 100, minPairCount: min_frequency }).merges).toEqual(merges.slice(0, 100));
  });

  it('decodes its own encoding back to the text; pieces are whole code points', () => {
    const model = trainBpe(counts, { merges: 300 });
    const encoder = new BpeEncoder(model);
    for (const line of test) {
      const pieces = encodeLine(encoder, line);
      expect(decodePieces(pieces)).toBe(line);
      for (const p of pieces) expect(p).toMatch(/^(?:[^\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])+$/);
      for (const w of line.split(' ')) expect(encoder.encodeWord(w).join('')).toBe(WORD_START + w);
    }
  });
});

describe('trainBpe', () => {
  const { counts } = load('ptb');

  it('is deterministic and independent of the order of the counts', () => {
    const a = trainBpe(counts, { merges: 500 });
    const reversed = new Map([...counts].reverse());
    expect(trainBpe(reversed, { merges: 500 })).toEqual(a);
    expect(trainBpe(counts, { merges: 500 })).toEqual(a);
  });

  it('starts each word with the marker as a symbol of its own and merges the most frequent pair first', () => {
    // ▁a ×5 (in 'ab' ×3, 'ac' ×2), a b ×3, a c ×2, ▁c ×1.
    const m = trainBpe(
      new Map([
        ['ab', 3],
        ['ac', 2],
        ['c', 1],
      ]),
      { merges: 10, minPairCount: 1 },
    ).merges;
    expect(m).toEqual([
      [WORD_START, 'a'],
      [`${WORD_START}a`, 'b'],
      [`${WORD_START}a`, 'c'],
      [WORD_START, 'c'],
    ]);
  });

  it('breaks ties by symbol id: characters in code-point order (not UTF-16 order), then merge results by creation', () => {
    // After ▁x (count 2), ▁x+ﬁ (U+FB01) and ▁x+😀 (U+1F600, UTF-16 D83D DE00) both count 1: ﬁ has the lower code point.
    const m = trainBpe(
      new Map([
        ['x😀', 1],
        ['xﬁ', 1],
      ]),
      { merges: 10, minPairCount: 1 },
    ).merges;
    expect(m).toEqual([
      [WORD_START, 'x'],
      [`${WORD_START}x`, 'ﬁ'],
      [`${WORD_START}x`, '😀'],
    ]);
    // Equal counts: (a,b) before (b,a), and both before any pair with ▁ (U+2581 > 'b').
    expect(
      trainBpe(
        new Map([
          ['ba', 1],
          ['ab', 1],
        ]),
        { merges: 1, minPairCount: 1 },
      ).merges,
    ).toEqual([['a', 'b']]);
  });

  it('stops at the merge budget, at minPairCount, and when nothing is left to merge', () => {
    const budget = trainBpe(counts, { merges: 0 });
    expect(budget.merges).toEqual([]);
    expect(trainBpe(counts, { merges: 7 }).merges).toHaveLength(7);
    expect(trainBpe(new Map([['ab', 1]]), { merges: 10 }).merges).toEqual([]);
    // ▁a and ab both occur twice: (a, b) wins the tie (a < ▁ in code-point order).
    expect(trainBpe(new Map([['ab', 2]]), { merges: 10 }).merges).toEqual([
      ['a', 'b'],
      [WORD_START, 'ab'],
    ]);
    expect(trainBpe(new Map([['ab', 2]]), { merges: 10, minPairCount: 3 }).merges).toEqual([]);
    // An unbounded budget: train until no pair occurs minPairCount times.
    expect(trainBpe(new Map([['ab', 2]]), { merges: Number.MAX_SAFE_INTEGER }).merges).toHaveLength(2);
    expect(trainBpe(new Map([['ab', 1]]), { merges: 10, minPairCount: 1 }).merges).toHaveLength(2);
    expect(
      trainBpe(
        new Map([
          ['', 5],
          ['a', 0],
        ]),
        { merges: 10, minPairCount: 1 },
      ).merges,
    ).toEqual([]);
  });

  it('reports progress ending at (learned, requested)', () => {
    const calls: [number, number][] = [];
    const m = trainBpe(counts, { merges: 1000, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.length).toBeGreaterThan(10);
    expect(calls.at(-1)).toEqual([1000, 1000]);
    expect(calls.every(([d], i) => i === 0 || d > calls[i - 1][0])).toBe(true);
    calls.length = 0;
    trainBpe(new Map([['ab', 2]]), { merges: 1000, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls.at(-1)).toEqual([2, 1000]);
    calls.length = 0;
    trainBpe(counts, { merges: 0, onProgress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[0, 0]]);
    expect(m.merges).toHaveLength(1000);
  });

  it('rejects bad options and counts with E_CONFIG / E_DATA', () => {
    const one = new Map([['ab', 2]]);
    for (const merges of [-1, 1.5, Number.NaN])
      expect(thrown(() => trainBpe(one, { merges })).message).toMatch(/BPE merges must be a non-negative integer/);
    expect(thrown(() => trainBpe(one, { merges: 1, minPairCount: 0 })).code).toBe('E_CONFIG');
    const space = thrown(() => trainBpe(new Map([['a b', 1]]), { merges: 1 }));
    expect([space.code, space.message]).toEqual(['E_DATA', "word 'a b' contains whitespace: split the text into words first"]);
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      const e = thrown(() => trainBpe(new Map([['ab', bad]]), { merges: 1 }));
      expect([e.code, e.message]).toEqual(['E_DATA', `count of word 'ab' must be a non-negative number (got ${bad})`]);
    }
  });
});

describe('BpeEncoder', () => {
  it('applies merges by rank, not by the order pairs appear, leftmost first among equal ranks', () => {
    const enc = (merges: [string, string][], word: string) => new BpeEncoder({ merges }).encodeWord(word);
    expect(
      enc(
        [
          ['b', 'c'],
          ['a', 'b'],
        ],
        'abc',
      ),
    ).toEqual([WORD_START, 'a', 'bc']);
    expect(
      enc(
        [
          ['a', 'b'],
          ['b', 'c'],
        ],
        'abc',
      ),
    ).toEqual([WORD_START, 'ab', 'c']);
    expect(enc([['a', 'a']], 'aaa')).toEqual([WORD_START, 'aa', 'a']);
    expect(
      enc(
        [
          ['a', 'a'],
          ['aa', 'aa'],
        ],
        'aaaaa',
      ),
    ).toEqual([WORD_START, 'aaaa', 'a']);
    // A lower-rank merge that becomes possible after a higher-rank one still applies.
    expect(
      enc(
        [
          ['b', 'c'],
          [WORD_START, 'a'],
          ['a', 'bc'],
          ['x', 'a'],
        ],
        'xabc',
      ),
    ).toEqual([WORD_START, 'x', 'abc']);
  });

  it('keeps unseen characters, including astral ones, as single pieces and never splits a surrogate pair', () => {
    const encoder = new BpeEncoder({ merges: [[WORD_START, 'a']] });
    expect(encoder.encodeWord('a😀bé東')).toEqual([`${WORD_START}a`, '😀', 'b', 'é', '東']);
    expect(encoder.encodeWord('')).toEqual([WORD_START]);
    const emoji = new BpeEncoder({ merges: [['😀', '👍🏽'.slice(0, 2)]] });
    expect(emoji.encodeWord('😀👍🏽')).toEqual([WORD_START, '😀👍', '🏽']);
  });

  it('returns fresh arrays from its bounded cache', () => {
    const encoder = new BpeEncoder({ merges: [[WORD_START, 'a']] });
    const first = encoder.encodeWord('ab');
    first.push('mutated');
    expect(encoder.encodeWord('ab')).toEqual([`${WORD_START}a`, 'b']);
    for (let i = 0; i < BPE_CACHE_WORDS + 10; i++) expect(encoder.encodeWord(`a${i}`)[0]).toBe(`${WORD_START}a`);
    expect(encoder.encodeWord('ab')).toEqual([`${WORD_START}a`, 'b']);
  });

  it('encodes a 200,000-character word (heap over positions, not a quadratic rescan)', () => {
    const { counts } = load('ptb');
    const encoder = new BpeEncoder(trainBpe(counts, { merges: 2000 }));
    const word = 'thecompany'.repeat(20_000);
    const pieces = encoder.encodeWord(word);
    expect(pieces.join('')).toBe(WORD_START + word);
    expect(pieces.length).toBeLessThan(word.length / 2);
  });

  it('rejects an invalid model in the constructor', () => {
    expect(thrown(() => new BpeEncoder({ merges: [['a', '']] })).code).toBe('E_FORMAT');
  });
});

describe('decodePieces', () => {
  it('turns word starts into single spaces, none before the first word', () => {
    expect(decodePieces([`${WORD_START}the`, `${WORD_START}cat`, 's'])).toBe('the cats');
    expect(decodePieces(['ab', `${WORD_START}c`])).toBe('ab c');
    expect(decodePieces([])).toBe('');
  });
});

describe('validateBpeModel', () => {
  const cases: [unknown, string][] = [
    [null, 'a BPE model must be an array of [left, right] merges (got null)'],
    [{ merges: 'ab' }, 'a BPE model must be an array of [left, right] merges (got {"merges":"ab"})'],
    [[['a', 'b'], ['ab']], 'BPE merge 1 must be an array of two strings (got ["ab"])'],
    [[['a', 1]], 'BPE merge 0 must be an array of two strings (got ["a",1])'],
    [[['a', 'b', 'c']], 'BPE merge 0 must be an array of two strings (got ["a","b","c"])'],
    [[['', 'b']], 'BPE merge 0 has an empty string (got ["","b"])'],
    [[['\uD83D', 'b']], 'BPE merge 0 has a lone surrogate, not text (got ["\\ud83d","b"])'],
    [
      [
        ['a', 'b'],
        ['a', 'b'],
      ],
      'BPE merge 1 repeats an earlier merge ["a","b"]',
    ],
    [
      [
        ['ab', 'c'],
        ['a', 'b'],
      ],
      'BPE merge 0 ["ab","c"]: \'ab\' is neither one character nor the result of an earlier merge (merges must be in rank order)',
    ],
  ];
  it.each(cases)('rejects %j with E_FORMAT', (value, message) => {
    const e = thrown(() => validateBpeModel(value));
    expect([e.code, e.message]).toEqual(['E_FORMAT', message]);
  });

  it('accepts a trained model after a JSON round trip, as an array or as {merges}', () => {
    const { counts } = load('unicode');
    const model: BpeModel = trainBpe(counts, { merges: 100 });
    const json = JSON.parse(JSON.stringify(model.merges)) as unknown;
    expect(validateBpeModel(json)).toEqual(model);
    expect(validateBpeModel({ merges: json })).toEqual(model);
    expect(validateBpeModel([['😀', '👍']])).toEqual({ merges: [['😀', '👍']] });
  });
});

describe('portability', () => {
  it('bundles without Node built-ins (platform neutral) and trains and encodes identically in a bare JS context', () => {
    const bundle = buildSync({
      entryPoints: [join(import.meta.dirname, '..', 'ts', 'data', 'bpe.ts')],
      bundle: true,
      platform: 'neutral',
      format: 'iife',
      globalName: 'bpe',
      write: false,
    });
    const { counts, test } = load('unicode');
    // A fresh realm with only the language built-ins: no process, require, Buffer or TextEncoder.
    const context = createContext({ input: JSON.stringify({ counts: [...counts], test }) });
    runInContext(bundle.outputFiles[0].text, context);
    expect(runInContext('typeof process + typeof require + typeof Buffer', context)).toBe('undefinedundefinedundefined');
    const script = `const { counts, test } = JSON.parse(input);
      const model = bpe.trainBpe(new Map(counts), { merges: 150 });
      const encoder = new bpe.BpeEncoder(model);
      JSON.stringify({ model, pieces: test.map((l) => l.split(' ').flatMap((w) => encoder.encodeWord(w))) })`;
    const there = JSON.parse(runInContext(script, context) as string) as { model: BpeModel; pieces: string[][] };
    const model = trainBpe(counts, { merges: 150 });
    const encoder = new BpeEncoder(model);
    expect(there.model).toEqual(model);
    expect(there.pieces).toEqual(test.map((l) => encodeLine(encoder, l)));
  });
});

/** `s` with every occurrence of `a`, `b` merged, left to right. */
function mergeAll(s: string[], a: string, b: string): string[] {
  const t: string[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === a && s[i + 1] === b) {
      t.push(a + b);
      i++;
    } else t.push(s[i]);
  }
  return t;
}

/** Textbook BPE training: recount every pair after every merge (same tie rule as trainBpe). */
function naiveTrain(counts: Map<string, number>, merges: number, minPairCount: number): [string, string][] {
  const words = [...counts].map(([w, c]) => ({ s: [WORD_START, ...w], c }));
  const chars = [...new Set(words.flatMap((w) => w.s))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const id = new Map(chars.map((ch, i) => [ch, i]));
  const out: [string, string][] = [];
  while (out.length < merges) {
    const pairs = new Map<string, { a: string; b: string; n: number }>();
    for (const { s, c } of words) {
      for (let i = 0; i + 1 < s.length; i++) {
        const key = JSON.stringify([s[i], s[i + 1]]);
        const e = pairs.get(key) ?? { a: s[i], b: s[i + 1], n: 0 };
        e.n += c;
        pairs.set(key, e);
      }
    }
    let best: { a: string; b: string; n: number } | undefined;
    for (const e of pairs.values()) {
      const better =
        !best || e.n > best.n || (e.n === best.n && (id.get(e.a)! < id.get(best.a)! || (e.a === best.a && id.get(e.b)! < id.get(best.b)!)));
      if (better) best = e;
    }
    if (!best || best.n < minPairCount) break;
    const { a, b } = best;
    out.push([a, b]);
    if (!id.has(a + b)) id.set(a + b, id.size);
    for (const w of words) w.s = mergeAll(w.s, a, b);
  }
  return out;
}

/** GPT-2's encoding loop: merge every occurrence of the lowest-rank pair, left to right, until none applies. */
function naiveEncode(merges: [string, string][], word: string): string[] {
  const rank = new Map(merges.map(([a, b], r) => [JSON.stringify([a, b]), r]));
  let s = [WORD_START, ...word];
  for (;;) {
    let best = -1;
    for (let i = 0; i + 1 < s.length; i++) {
      const r = rank.get(JSON.stringify([s[i], s[i + 1]]));
      if (r !== undefined && (best < 0 || r < best)) best = r;
    }
    if (best < 0) return s;
    s = mergeAll(s, ...merges[best]);
  }
}

describe('against textbook implementations (seeded random corpora)', () => {
  it('trainBpe learns what recounting every pair after every merge learns; BpeEncoder encodes as the GPT-2 loop', () => {
    const uniform = rng(7);
    const alphabets = ['ab', 'abc', 'aab', 'xyz😀é'];
    for (let trial = 0; trial < 150; trial++) {
      const letters = [...alphabets[trial % alphabets.length]];
      const counts = new Map<string, number>();
      const distinct = 1 + Math.floor(uniform() * 12);
      for (let k = 0; k < distinct; k++) {
        let w = '';
        const length = Math.floor(uniform() * 9);
        for (let i = 0; i < length; i++) w += letters[Math.floor(uniform() * letters.length)];
        counts.set(w, 1 + Math.floor(uniform() * 5));
      }
      const minPairCount = 1 + Math.floor(uniform() * 3);
      const merges = Math.floor(uniform() * 40);
      const model = trainBpe(counts, { merges, minPairCount });
      expect(model.merges, JSON.stringify({ counts: [...counts], merges, minPairCount })).toEqual(naiveTrain(counts, merges, minPairCount));
      const encoder = new BpeEncoder(model);
      for (const w of [...counts.keys(), letters.join('').repeat(3), 'q' + letters.join('')])
        expect(encoder.encodeWord(w)).toEqual(naiveEncode(model.merges, w));
    }
  });
});
