import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeModelFile,
  encodeCorpus,
  LanguageModel,
  loadModel,
  readLines,
  saveModel,
  splitIds,
  Tokenizer,
  tokenize,
  Vocabulary,
} from '../ts/index.js';
import { BACKEND_NAMES, backend, rng } from './backends.js';
import { thrown } from './errors.js';

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** A corpus folder with the given split texts (valid/test default to train's). */
function corpus(train: string | Buffer, valid: string | Buffer = train, test: string | Buffer = valid): string {
  const dir = tmp('quire-text-');
  writeFileSync(join(dir, 'train.txt'), train);
  writeFileSync(join(dir, 'valid.txt'), valid);
  writeFileSync(join(dir, 'test.txt'), test);
  return dir;
}

/** Every line of a file through readLines with a tiny chunk size (every boundary case is met). */
function lines(file: string, chunkBytes: number): string[] {
  const out: string[] = [];
  let part = '';
  readLines(
    file,
    'test file',
    (t, ends) => {
      part += t;
      if (ends) {
        out.push(part);
        part = '';
      }
    },
    { chunkBytes },
  );
  return out;
}

describe('streaming text reader', () => {
  const text = 'é€𝄞 a\r\nbb ü\rccc\n\nlast 𝄞 line';
  const file = join(corpus(text), 'train.txt');

  it('gives the same lines for every chunk size, multi-byte characters cut anywhere, and CR, CRLF and LF alike', () => {
    const want = text.split(/\r\n?|\n/);
    for (const chunk of [1, 2, 3, 5, 7, 64]) expect(lines(file, chunk)).toEqual(want);
    const crOnly = join(corpus('a b\rc d\r'), 'train.txt');
    expect(lines(crOnly, 4)).toEqual(['a b', 'c d']);
    expect(tokenize('a b\rc d\r')).toEqual(tokenize('a b\nc d\n'));
    expect(tokenize('a b\r\nc d')).toEqual(['a', 'b', '<eos>', 'c', 'd', '<eos>']);
  });

  it('drops a byte-order mark and reports a NUL byte or invalid UTF-8 with its exact offset, whatever the chunking', () => {
    const bom = join(corpus(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x y\n')])), 'train.txt');
    expect(lines(bom, 2)).toEqual(['x y']);
    const bad = Buffer.concat([Buffer.from('abc déf\n'), Buffer.from([0xc3, 0x28]), Buffer.from(' tail')]);
    const badFile = join(corpus(bad), 'train.txt');
    for (const chunk of [1, 3, 4, 100])
      expect(thrown(() => lines(badFile, chunk)).message).toMatch(/not valid UTF-8: bad byte sequence at offset 9\b/);
    const cut = join(corpus(Buffer.concat([Buffer.from('ab '), Buffer.from([0xe2, 0x82])])), 'train.txt');
    expect(thrown(() => lines(cut, 2)).message).toMatch(/offset 3\b/);
    const nul = join(corpus(Buffer.from('ab\ncd\0e')), 'train.txt');
    expect(thrown(() => lines(nul, 2)).message).toMatch(/NUL byte at offset 5\b/);
  });

  it('hands a line longer than the limit over in parts cut at whitespace, so the words are the same', () => {
    const long = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const f = join(corpus(`${long}\nend`), 'train.txt');
    const parts: [string, boolean][] = [];
    readLines(f, 'test', (t, ends) => parts.push([t, ends]), { chunkBytes: 64, maxLine: 100 });
    expect(parts.length).toBeGreaterThan(3);
    const first = parts.slice(0, -1);
    expect(first.filter(([, e]) => e).length).toBe(1);
    expect(new Tokenizer().words(first.map(([t]) => t).join(' '))).toEqual(long.split(' '));
  });
});

describe('tokenizers', () => {
  it('words: whitespace and control characters separate words, so no word ever holds one', () => {
    const t = new Tokenizer({ splitter: 'words', lowercase: false });
    expect(t.words('  The\tcat\u00a0sat \x1b]0;pwned\x07\x1b[2J ok\u0085x ')).toEqual(['The', 'cat', 'sat', ']0;pwned', '[2J', 'ok', 'x']);
  });

  it('text: Unicode words, numbers and punctuation, joined back without spaces before closing marks', () => {
    const t = new Tokenizer({ splitter: 'text', lowercase: true });
    const words = t.words('Hello, World! It’s 3.14 — naïve café (déjà-vu) 東京 😀.');
    expect(words).toEqual([
      'hello',
      ',',
      'world',
      '!',
      'it’s',
      '3.14',
      '—',
      'naïve',
      'café',
      '(',
      'déjà',
      '-',
      'vu',
      ')',
      '東京',
      '😀',
      '.',
    ]);
    expect(t.join(['hello', ',', 'world', '!', '(', 'yes', ')'])).toBe('hello, world! (yes)');
  });
});

describe('encoded corpus', () => {
  const home = tmp('quire-cache-');

  it('bounds the vocabulary to the most frequent words, says what was folded, and encodes exactly as the in-memory reference', () => {
    const r = rng(3);
    const zipf = () => `w${Math.floor(1 / (r() + 1e-3))}`;
    const text = Array.from({ length: 400 }, () => Array.from({ length: 8 }, zipf).join(' ')).join('\n');
    const dir = corpus(text);
    const notes: string[] = [];
    const c = encodeCorpus(dir, { vocabSize: 6, cacheDir: home, note: (n) => notes.push(n) });
    const tokens = tokenize(text);
    const counts = new Map<string, number>();
    for (const w of tokens) counts.set(w, (counts.get(w) ?? 0) + 1);
    const top5 = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : 1)).slice(0, 5);
    // <unk> stands for every other word: it ranks by their summed count.
    const unkCount = [...counts].filter(([w]) => !top5.includes(w)).reduce((s, [, n]) => s + n, 0);
    const at = top5.findIndex((w) => counts.get(w)! < unkCount);
    expect(unkCount).toBeGreaterThan(counts.get(top5[4])!);
    expect(c.vocabulary.words).toEqual([...top5.slice(0, at), '<unk>', ...top5.slice(at)]);
    expect(Array.from(splitIds(c, 'train'))).toEqual(Array.from(c.vocabulary.encode(tokens)));
    expect(c.stats?.distinct).toBe(counts.size);
    const folded = [...counts].filter(([w]) => !top5.includes(w));
    expect(c.stats?.foldedWords).toBe(folded.length);
    expect(c.stats?.foldedTokens).toBe(folded.reduce((s, [, n]) => s + n, 0));
    expect(notes.join('\n')).toMatch(new RegExp(`${folded.length} rarer ones read as <unk> \\(\\d+\\.\\d\\d % of tokens\\)`));
    const min = encodeCorpus(dir, { vocabSize: 0, minCount: 20, cacheDir: home });
    expect(min.vocabulary.words.filter((w) => w !== '<unk>').every((w) => counts.get(w)! >= 20)).toBe(true);
  });

  it('reuses its cache until a split file or a setting changes', () => {
    const dir = corpus('a b c\nb c\n');
    const first = encodeCorpus(dir, { cacheDir: home });
    expect(first.cached).toBe(false);
    expect(encodeCorpus(dir, { cacheDir: home }).cached).toBe(true);
    expect(encodeCorpus(dir, { cacheDir: home, tokenizer: { splitter: 'words', lowercase: true } }).cached).toBe(false);
    writeFileSync(join(dir, 'train.txt'), 'a b c d\nb c\n');
    utimesSync(join(dir, 'train.txt'), new Date(), new Date(Date.now() + 5000));
    const changed = encodeCorpus(dir, { cacheDir: home });
    expect(changed.cached).toBe(false);
    expect(changed.vocabulary.words).toContain('d');
    // A cache whose token file was truncated is rebuilt, not read.
    writeFileSync(changed.splits.valid.file, Buffer.alloc(3));
    expect(encodeCorpus(dir, { cacheDir: home }).cached).toBe(false);
  });

  it('encodes with a given vocabulary (a model’s), unknown words as <unk>, and refuses a vocabulary without <unk>', () => {
    const dir = corpus('x y z\n');
    const v = new Vocabulary(['x', '<eos>', '<unk>']);
    const c = encodeCorpus(dir, { vocabulary: v, cacheDir: home });
    expect(Array.from(splitIds(c, 'test'))).toEqual([0, 2, 2, 1]);
    expect(thrown(() => encodeCorpus(dir, { vocabulary: new Vocabulary(['x', '<eos>']), cacheDir: home })).code).toBe('E_DATA');
  });

  it('names a missing split, and leaves no partial cache behind a failure', () => {
    const dir = corpus('a b\n', 'c d\n', Buffer.from([0x61, 0xff]));
    expect(thrown(() => encodeCorpus(dir, { cacheDir: home })).code).toBe('E_DATA');
    expect(readdirSync(home).filter((n) => n.startsWith('.quire-tmp-'))).toEqual([]);
    rmSync(join(dir, 'valid.txt'));
    expect(thrown(() => encodeCorpus(dir, { cacheDir: home })).message).toMatch(/no valid split/);
  });
});

describe('the words encoder against a plain reference', () => {
  type Texts = Record<'train' | 'valid' | 'test', string>;
  /** Lines at \r\n, \r or \n; words between runs of whitespace and control characters; <eos> after each line with words. */
  const tokens = (text: string, lowercase: boolean) =>
    text.split(/\r\n|\r|\n/).flatMap((line) => {
      const words = (lowercase ? line.toLowerCase() : line).split(/[\s\p{Cc}]+/u).filter((w) => w !== '');
      return words.length ? [...words, '<eos>'] : [];
    });

  /** The training words by count (ties in JavaScript string order), the top ones kept, <unk> for the rest. */
  function reference(texts: Texts, lowercase: boolean, vocabSize: number, minCount: number) {
    const counts = new Map<string, number>();
    for (const w of tokens(texts.train, lowercase)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const ranked = [...counts]
      .filter(([w, c]) => c >= minCount || w === '<unk>')
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([w]) => w);
    let words = vocabSize ? ranked.slice(0, vocabSize) : ranked;
    if (!words.includes('<unk>')) {
      // <unk> stands for every word left out: it ranks by their summed count, after equal counts.
      words = vocabSize ? words.slice(0, vocabSize - 1) : words;
      const stands = [...counts].filter(([w]) => !words.includes(w)).reduce((t, [, c]) => t + c, 0);
      const at = words.findIndex((w) => counts.get(w)! < stands);
      words = at < 0 ? [...words, '<unk>'] : [...words.slice(0, at), '<unk>', ...words.slice(at)];
    }
    const id = new Map(words.map((w, i) => [w, i]));
    const ids = (text: string) => tokens(text, lowercase).map((w) => id.get(w) ?? id.get('<unk>'));
    const folded = [...counts].filter(([w]) => !id.has(w));
    const sum = (list: [string, number][]) => list.reduce((t, [, c]) => t + c, 0);
    return {
      words,
      ids: { train: ids(texts.train), valid: ids(texts.valid), test: ids(texts.test) },
      stats: { distinct: counts.size, foldedWords: folded.length, foldedTokens: sum(folded), tokens: sum([...counts]) },
    };
  }

  // Words of every length (past the 16 bytes a table slot holds, with shared prefixes), non-ASCII
  // words whose order differs between code points and UTF-16 (U+FF01, U+1F600), titlecase,
  // literal <unk>/<eos>, Unicode separators, and every kind of line break, in random order.
  const pieces = [
    'a',
    'a',
    'a',
    'b',
    'b',
    'B',
    'é',
    'ÉTÉ',
    'ǅ',
    '東京',
    '\uff01',
    '\u{1f600}',
    'x'.repeat(16),
    'x'.repeat(17),
    `${'x'.repeat(16)}y`,
    'longer-than-sixteen-bytes',
    '<unk>',
    '<eos>',
    ' ',
    ' ',
    ' ',
    '\t',
    '\u00a0',
    '\u2028',
    '\u3000',
    '\x85',
    '\x1b',
    '\ufeff',
    '\n',
    '\n',
    '\r\n',
    '\r',
    '\n\n',
    ' \r\n',
  ];
  const r = rng(21);
  const text = (n: number) => Array.from({ length: n }, () => pieces[Math.floor(r() * pieces.length)]).join('');
  const texts: Texts = { train: `\ufeff${text(3000)}`, valid: text(800), test: `${text(800)}\r` };
  const dir = corpus(texts.train, texts.valid, texts.test);

  it.each([
    { lowercase: false, vocabSize: 10_000, minCount: 1 },
    { lowercase: false, vocabSize: 9, minCount: 1 },
    { lowercase: false, vocabSize: 2, minCount: 1 },
    { lowercase: true, vocabSize: 0, minCount: 3 },
  ])('gives the reference vocabulary, ids and statistics for every chunk size (%o)', ({ lowercase, vocabSize, minCount }) => {
    const want = reference(texts, lowercase, vocabSize, minCount);
    for (const chunkBytes of [1, 2, 3, 7, 64, undefined]) {
      const c = encodeCorpus(dir, {
        tokenizer: { splitter: 'words', lowercase },
        vocabSize,
        minCount,
        chunkBytes,
        cacheDir: tmp('quire-ref-'),
      });
      expect(c.vocabulary.words, `chunk ${chunkBytes}`).toEqual(want.words);
      expect(c.stats).toEqual(want.stats);
      for (const s of ['train', 'valid', 'test'] as const)
        expect(Array.from(splitIds(c, s)), `${s}, chunk ${chunkBytes}`).toEqual(want.ids[s]);
      // The same vocabulary given (a model's) encodes the same ids.
      const given = encodeCorpus(dir, {
        tokenizer: { splitter: 'words', lowercase },
        vocabulary: c.vocabulary,
        chunkBytes,
        cacheDir: tmp('quire-ref-'),
      });
      for (const s of ['train', 'valid', 'test'] as const) expect(Array.from(splitIds(given, s))).toEqual(want.ids[s]);
    }
  });

  it('names the file and the byte offset of invalid UTF-8 or a NUL byte in any split, whatever the chunk size', () => {
    for (const chunkBytes of [1, 5, undefined]) {
      const bad = corpus('a b\n', Buffer.from([0x63, 0x0a, 0x64, 0xff]), 'e f\n');
      expect(thrown(() => encodeCorpus(bad, { chunkBytes, cacheDir: tmp('quire-ref-') })).message).toMatch(
        /valid\.txt is not valid UTF-8: bad byte sequence at offset 3 \(convert it to UTF-8/,
      );
      const nul = corpus('a b\n', 'c\n', 'e\nf\0');
      expect(thrown(() => encodeCorpus(nul, { chunkBytes, cacheDir: tmp('quire-ref-') })).message).toMatch(
        /test\.txt is not a text file: NUL byte at offset 3\b/,
      );
    }
    expect(thrown(() => encodeCorpus(dir, { chunkBytes: 0, cacheDir: tmp('quire-ref-') })).code).toBe('E_CONFIG');
  });
});

describe.each(BACKEND_NAMES)('a model file always reads back (%s)', (backend) => {
  it('a 1,000,000-word vocabulary with quotes, backslashes and non-ASCII words round-trips', () => {
    const words = Array.from({ length: 1_000_000 }, (_, i) => (i % 3 === 0 ? `"w\\${i}` : i % 3 === 1 ? `ü${i}` : `w${i}`));
    words[0] = '<eos>';
    words[1] = '<unk>';
    const model = LanguageModel.create({ vocab: words.length, hidden: 2, layers: 1, initScale: 0.1, dropout: 0, seed: 1 }, { backend });
    const dir = tmp('quire-big-vocab-');
    const path = join(dir, 'model.qmodel');
    try {
      saveModel(path, model, 'quire-model', { vocabulary: new Vocabulary(words), tokenizer: { splitter: 'text', lowercase: true } });
    } finally {
      model.dispose();
    }
    const back = loadModel(path, { backend });
    expect(back.vocabulary.size).toBe(1_000_000);
    expect(back.vocabulary.words[999_999]).toBe(words[999_999]);
    expect(back.vocabulary.words[3]).toBe('"w\\3');
    expect(back.tokenizer).toEqual({ splitter: 'text', lowercase: true });
    back.model.dispose();
  });

  it('a writer refuses metadata its readers would refuse (E_CONFIG, nothing written); readers refuse bad vocabularies (E_FORMAT)', () => {
    const model = LanguageModel.create({ vocab: 4, hidden: 2, layers: 1, initScale: 0.1, dropout: 0, seed: 1 }, { backend });
    try {
      expect(thrown(() => model.toBytes('quire-model', { words: 'x'.repeat(101 << 20) }, false)).code).toBe('E_CONFIG');
      const dir = tmp('quire-dup-');
      for (const bad of [
        ['a', 'b', 'a', '<unk>'],
        ['a', '', 'b', '<unk>'],
        ['a', 'b c', 'd', '<unk>'],
        ['a', 'b\x1b', 'd', '<unk>'],
      ]) {
        const path = join(dir, 'm.qmodel');
        writeFileSync(path, model.toBytes('quire-model', { vocabulary: JSON.stringify(bad) }, false));
        expect(thrown(() => loadModel(path, { backend })).code).toBe('E_FORMAT');
        expect(thrown(() => describeModelFile(path, { backend })).code).toBe('E_FORMAT');
      }
    } finally {
      model.dispose();
    }
  });
});

describe.each(BACKEND_NAMES)('the Rust word counter (%s)', (name) => {
  it('numbers words exactly as the TypeScript tokenizer splits them, whatever the chunking and line endings', () => {
    const r = rng(7);
    const pieces = [
      'a',
      'B',
      'é',
      'ÉTÉ',
      'Σίσυφος',
      '東京',
      '😀',
      ' ',
      '\t',
      '\u00a0',
      '\u2003',
      '\u3000',
      '\ufeff',
      '\x1b',
      '\x85',
      '\n',
      '\r\n',
      '\r',
      '\u2028',
      'x.y',
      "it's",
      '\uff01',
      '\u{1f600}',
      'ǅ',
    ];
    const text = Array.from({ length: 3000 }, () => pieces[Math.floor(r() * pieces.length)]).join('');
    const bytes = Buffer.from(text);
    for (const lowercase of [false, true]) {
      const js = new Tokenizer({ splitter: 'words', lowercase });
      const tokens = js.tokenize(text);
      const index = new Map<string, number>([['<eos>', 0]]);
      const want = tokens.map((w) => {
        if (!index.has(w)) index.set(w, index.size);
        return index.get(w)!;
      });
      for (const chunk of [1, 5, 64, bytes.length]) {
        const raw = backend(name).raw.WordCounter.create(lowercase);
        const got: number[] = [];
        for (let p = 0; p < bytes.length; p += chunk) got.push(...raw.feed(bytes.subarray(p, p + chunk), false));
        got.push(...raw.feed(new Uint8Array(0), true));
        expect(got).toEqual(want);
        expect(raw.words().split('\n')).toEqual([...index.keys()]);
        // The vocabulary chosen in Rust is Vocabulary.fromCounts' choice.
        for (const [vocabSize, minCount] of [
          [6, 1],
          [0, 2],
          [2, 1],
        ]) {
          const ref = Vocabulary.fromCounts([...index.keys()], raw.counts(), { vocabSize, minCount });
          const { words, ...stats } = JSON.parse(raw.select(vocabSize, minCount));
          expect(words).toEqual(ref.vocabulary.words);
          expect(stats).toEqual(ref.stats);
        }
        raw.free();
      }
    }
  });

  it('reports a bad byte as E_DATA and stays usable', () => {
    const raw = backend(name).raw.WordCounter.create(false);
    expect(() => raw.feed(Buffer.from([0x61, 0x20, 0xff, 0x0a]), true)).toThrowError(
      /\[E_DATA\] not valid UTF-8: bad byte sequence at offset 2/,
    );
    expect(Array.from(raw.feed(Buffer.from('b c\n'), true))).toEqual([1, 2, 0]);
    raw.free();
  });
});

describe('subword corpora', () => {
  it(
    'learns byte-pair pieces from the training words, encodes every split to pieces that read back as its text, and counts ' +
      'words for per-word perplexity',
    () => {
      const r = rng(11);
      const stems = ['run', 'walk', 'talk', 'jump', 'play', 'work', 'read', 'sing'];
      const ends = ['', 's', 'ed', 'ing', 'er', 'ers'];
      const line = () => Array.from({ length: 6 }, () => stems[Math.floor(r() * 8)] + ends[Math.floor(r() * 6)]).join(' ');
      const train = Array.from({ length: 300 }, line).join('\n');
      const test = ['walkers sing', 'zebra jumped'].join('\n');
      const dir = corpus(train, train, test);
      const notes: string[] = [];
      const c = encodeCorpus(dir, { subwords: true, vocabSize: 40, cacheDir: tmp('quire-bpe-cache-'), note: (n) => notes.push(n) });
      expect(c.tokenizer.subwords?.merges.length).toBeGreaterThan(0);
      expect(c.vocabulary.size).toBeLessThanOrEqual(40);
      expect(notes.join('\n')).toMatch(/subwords: \d+ merges learned/);
      const t = new Tokenizer(c.tokenizer);
      const ids = Array.from(splitIds(c, 'train'));
      const lines: string[][] = [[]];
      for (const id of ids) {
        const piece = c.vocabulary.words[id];
        if (piece === '<eos>') lines.push([]);
        else lines[lines.length - 1].push(piece);
      }
      expect(lines.slice(0, -1).map((l) => t.join(l))).toEqual(train.split('\n'));
      expect(c.splits.train.words).toBe(tokenize(train).length);
      expect(c.splits.train.tokens).toBeGreaterThan(c.splits.train.words);
      // Unseen characters ('z', 'b') are <unk> pieces; the test split still counts 4 words + 2 <eos>.
      expect(c.splits.test.words).toBe(6);
      expect(Array.from(splitIds(c, 'test')).map((i) => c.vocabulary.words[i])).toContain('<unk>');
      // The same corpus with the learned tokenizer and vocabulary (a model's) encodes identically.
      const again = encodeCorpus(dir, { tokenizer: c.tokenizer, vocabulary: c.vocabulary, cacheDir: tmp('quire-bpe-cache-') });
      expect(Array.from(splitIds(again, 'test'))).toEqual(Array.from(splitIds(c, 'test')));
      expect(thrown(() => encodeCorpus(dir, { subwords: true, vocabSize: 0, cacheDir: tmp('quire-bpe-cache-') })).code).toBe('E_CONFIG');
    },
  );
});
