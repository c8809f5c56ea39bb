import { createHash } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { loadBackend } from '../backend/index.js';
import type { RawWordCounter } from '../backend/types.js';
import { guard, QuireError } from '../errors.js';
import {
  ensureDirectory,
  ioError,
  isFile,
  openRegularFile,
  readFully,
  readRegularFile,
  removeStaleTemporaries,
  statOrUndefined,
  temporaryFor,
} from '../io/fs.js';
import { SPLITS, type Split, splitFile } from './splits.js';
import { quireHome } from './fetch.js';
import { type BpeModel, trainBpe, WORD_START } from './bpe.js';
import { CHUNK_BYTES, readLines } from './text-file.js';
import { TokenFile } from './token-source.js';
import { EOS, Tokenizer, type TokenizerSpec, validateTokenizerSpec } from './tokenizer.js';
import { DEFAULT_VOCAB_SIZE, UNK, validateBound, Vocabulary, type VocabularyStats } from './vocabulary.js';

/** Version of the cache layout; a cache of another version is rebuilt. */
const CACHE_VERSION = 2;
const META_FILE = 'corpus.json';

/** How a corpus becomes token ids. */
export interface EncodeOptions {
  tokenizer?: TokenizerSpec;
  /** Encode with this vocabulary (a model's) instead of building one from the training split. */
  vocabulary?: Vocabulary;
  /** Bound of a built vocabulary: the N most frequent words (0: every word); default 10,000. */
  vocabSize?: number;
  /** Words seen fewer times are `<unk>` in a built vocabulary (default 1). */
  minCount?: number;
  /** Cache root (default `$QUIRE_HOME/corpora`). */
  cacheDir?: string;
  /** Learn byte-pair-encoding subwords (about `vocabSize` pieces) unless `tokenizer` already holds merges. */
  subwords?: boolean;
  /** Progress: `label` (what is being done), done and total (bytes, or merges), start time (`performance.now()`). */
  progress?: (label: string, done: number, total: number, startedMs: number, unit?: 'bytes' | 'merges') => void;
  /** One-line notes for the user (the vocabulary bound, a rebuilt cache). */
  note?: (text: string) => void;
  /** Bytes of text read at a time (tests: a tiny size puts words and line breaks across chunks; default 8 MiB). */
  chunkBytes?: number;
}

/** One split's token file and counts. */
export interface EncodedSplit {
  file: string;
  /** Token ids in the file (`<eos>` included). */
  tokens: number;
  /** Words of the text (`<eos>` counted as a word, as in PTB perplexities): the denominator of per-word perplexity. */
  words: number;
}

/** What the cache folder's `corpus.json` records. */
interface CorpusMeta {
  version: number;
  key: string;
  tokenizer: TokenizerSpec;
  sources: Record<Split, { path: string; bytes: number }>;
  splits: Record<Split, { tokens: number; words: number }>;
  stats: VocabularyStats | null;
}

/**
 * A corpus encoded to token files: the vocabulary, the tokenizer, one `.bin` of u32 ids per
 * split (cached under `$QUIRE_HOME/corpora`, keyed by the split files' paths, sizes and
 * modification times and by the tokenizer and vocabulary settings) and how the vocabulary was
 * bounded. `open(split)` streams a split's ids.
 */
export interface EncodedCorpus {
  dataDir: string;
  cacheDir: string;
  vocabulary: Vocabulary;
  tokenizer: TokenizerSpec;
  splits: Record<Split, EncodedSplit>;
  /** How the vocabulary was bounded (null when a given vocabulary was used). */
  stats: VocabularyStats | null;
  /** Whether the token files were already cached. */
  cached: boolean;
}

/** Opens a split's token file, limited to its first `limit` ids (the caller closes it). */
export function openSplit(corpus: EncodedCorpus, split: Split, limit?: number): TokenFile {
  return new TokenFile(corpus.splits[split].file, limit);
}

/** A split's tokens per word (1 unless tokens are subword pieces): the factor from per-token to per-word perplexity. */
export function tokensPerWord(corpus: EncodedCorpus, split: Split): number {
  const s = corpus.splits[split];
  return s.words > 0 ? s.tokens / s.words : 1;
}

/** All ids of a split in memory (small corpora, tests). */
export function splitIds(corpus: EncodedCorpus, split: Split, limit?: number): Uint32Array {
  const f = openSplit(corpus, split, limit);
  try {
    return f.toArray();
  } finally {
    f.close();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Encodes the corpus in `dataDir` (its train, valid and test splits) to token files, or reuses
 * the cached ones when neither the files nor the settings changed. Memory is bounded by the
 * vocabulary and one chunk of text, not by the corpus: the training split is read once (words
 * get provisional ids in order of appearance while they are counted), the vocabulary is chosen
 * from the counts, the provisional ids are mapped to final ones, then the other splits are read
 * once with the final vocabulary. Writes are atomic (a folder renamed into place), so a killed
 * run or two runs at once never leave a partial cache.
 */
export function encodeCorpus(dataDir: string, options: EncodeOptions = {}): EncodedCorpus {
  const tokenizer = validateTokenizerSpec(options.tokenizer ?? { splitter: 'words', lowercase: false });
  const vocabSize = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
  const minCount = options.minCount ?? 1;
  if (options.chunkBytes !== undefined && !(Number.isSafeInteger(options.chunkBytes) && options.chunkBytes > 0))
    throw new QuireError('E_CONFIG', `chunkBytes must be a positive integer (got ${options.chunkBytes})`);
  const files = Object.fromEntries(SPLITS.map((s) => [s, splitFile(dataDir, s)])) as Record<Split, string>;
  const sources = Object.fromEntries(
    SPLITS.map((s) => {
      const st = statOrUndefined(files[s]);
      return [s, { path: files[s], bytes: st?.size ?? 0, mtimeMs: st?.mtimeMs ?? 0 }];
    }),
  ) as Record<Split, { path: string; bytes: number; mtimeMs: number }>;
  const key = sha256(
    JSON.stringify({
      version: CACHE_VERSION,
      sources,
      tokenizer,
      subwords: !tokenizer.subwords && !!options.subwords,
      vocabulary: options.vocabulary ? sha256(options.vocabulary.words.join('\n')) : { vocabSize, minCount },
    }),
  );
  const root = options.cacheDir ?? join(quireHome(), 'corpora');
  const cacheDir = join(
    root,
    `${
      basename(dataDir)
        .replace(/[^\w.-]/g, '_')
        .slice(0, 40) || 'corpus'
    }-${key.slice(0, 16)}`,
  );
  const cached = readCache(cacheDir, key, options.vocabulary);
  if (cached) return { dataDir, cacheDir, ...cached, cached: true };

  ensureDirectory(root);
  removeStaleTemporaries(root);
  const tmp = temporaryFor(cacheDir);
  ensureDirectory(tmp);
  try {
    const built = build(tmp, files, tokenizer, options, { vocabSize, minCount });
    const meta: CorpusMeta = {
      version: CACHE_VERSION,
      key,
      tokenizer: built.tokenizer,
      sources: Object.fromEntries(SPLITS.map((s) => [s, { path: sources[s].path, bytes: sources[s].bytes }])) as CorpusMeta['sources'],
      splits: Object.fromEntries(
        SPLITS.map((s) => [s, { tokens: built.splits[s].tokens, words: built.splits[s].words }]),
      ) as CorpusMeta['splits'],
      stats: built.stats,
    };
    writeFileAtomic(join(tmp, 'vocabulary.txt'), built.vocabulary.words.join('\n'));
    writeFileAtomic(join(tmp, META_FILE), JSON.stringify(meta, null, 1));
    // A cache folder that is there but did not read back (truncated, another version) is replaced.
    if (statOrUndefined(cacheDir)) rmSync(cacheDir, { recursive: true, force: true });
    try {
      renameSync(tmp, cacheDir);
    } catch {
      // Another process finished the same cache first (the rename onto a non-empty folder fails): use theirs.
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const done = readCache(cacheDir, key, options.vocabulary);
  if (!done) throw new QuireError('E_IO', `the encoded corpus in ${cacheDir} could not be read back`);
  return { dataDir, cacheDir, ...done, cached: false };
}

/** The cache in `dir` when it is complete and of `key`, else undefined. */
function readCache(dir: string, key: string, given?: Vocabulary): Omit<EncodedCorpus, 'dataDir' | 'cacheDir' | 'cached'> | undefined {
  const metaPath = join(dir, META_FILE);
  if (!isFile(metaPath)) return undefined;
  let meta: CorpusMeta;
  let vocabulary: Vocabulary;
  try {
    meta = JSON.parse(readRegularFile(metaPath, 'corpus cache').toString('utf8')) as CorpusMeta;
    if (meta.version !== CACHE_VERSION || meta.key !== key) return undefined;
    const words = readRegularFile(join(dir, 'vocabulary.txt'), 'corpus vocabulary').toString('utf8');
    vocabulary = given ?? new Vocabulary(words.split('\n'));
    if (given && words !== given.words.join('\n')) return undefined;
  } catch {
    return undefined;
  }
  const splits = {} as Record<Split, EncodedSplit>;
  for (const s of SPLITS) {
    const file = join(dir, `${s}.bin`);
    if (statOrUndefined(file)?.size !== meta.splits[s].tokens * 4) return undefined;
    splits[s] = { file, ...meta.splits[s] };
  }
  return { vocabulary, tokenizer: validateTokenizerSpec(meta.tokenizer), splits, stats: meta.stats };
}

/** The bound of a vocabulary built from the training split. */
type Bound = { vocabSize: number; minCount: number };

/** What `build` writes and chooses: the vocabulary, the tokenizer (with learned subwords), the token files and the bound's effect. */
interface Built {
  vocabulary: Vocabulary;
  tokenizer: TokenizerSpec;
  splits: Record<Split, EncodedSplit>;
  stats: VocabularyStats | null;
}

/** Buffered writer of u32 ids to a file. */
class IdWriter {
  private readonly fd: number;
  private readonly buf = new Uint32Array(1 << 18);
  private used = 0;
  count = 0;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw ioError('write', path, err);
    }
  }

  push(id: number): void {
    this.buf[this.used++] = id;
    this.count++;
    if (this.used === this.buf.length) this.flush();
  }

  pushAll(ids: Uint32Array): void {
    if (this.used + ids.length > this.buf.length) this.flush();
    if (ids.length > this.buf.length) {
      this.write(new Uint8Array(ids.buffer, ids.byteOffset, ids.length * 4));
    } else {
      this.buf.set(ids, this.used);
      this.used += ids.length;
    }
    this.count += ids.length;
  }

  private flush(): void {
    this.write(new Uint8Array(this.buf.buffer, 0, this.used * 4));
    this.used = 0;
  }

  private write(bytes: Uint8Array): void {
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (err) {
      throw ioError('write', this.path, err);
    }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  /** Closes the file without writing what is buffered (after a failure; the caller removes it). */
  discard(): void {
    closeSync(this.fd);
  }
}

/** Streams the ids of a u32 file in blocks; with `rewrite` each block is written back in place after `block` (which may change it). */
function forEachIdBlock(path: string, block: (ids: Uint32Array) => void, rewrite = false): void {
  const fd = openSync(path, rewrite ? 'r+' : 'r');
  try {
    const bytes = Buffer.alloc(1 << 20);
    const ids = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    for (let pos = 0; ; ) {
      const n = readFully(fd, bytes, 0, bytes.length, pos);
      if (n === 0) break;
      block(ids.subarray(0, n / 4));
      for (let off = 0; rewrite && off < n; ) off += writeSync(fd, bytes, off, n - off, pos + off);
      pos += n;
    }
  } catch (err) {
    throw err instanceof QuireError ? err : ioError(rewrite ? 'rewrite' : 'read', path, err);
  } finally {
    closeSync(fd);
  }
}

/**
 * Numbers the words of the splits in order of first appearance (provisional ids, `<eos>` = 0)
 * and counts them: the Rust word counter for the `words` splitter (the hot loop for large
 * corpora), the TypeScript tokenizer for `text`.
 */
interface Numbering {
  /** Streams one split's file; `emit` gets its provisional ids block by block. */
  read(file: string, split: Split, emit: (ids: Uint32Array) => void): void;
  /** Distinct words so far, in id order, and how often each was seen. */
  words(): string[];
  counts(): ArrayLike<number>;
  dispose(): void;
}

function progressOf(options: EncodeOptions, split: Split, file: string): ((done: number, total: number) => void) | undefined {
  const t0 = performance.now();
  const label = `reading ${split} (${basename(file)})`;
  return options.progress && ((done, total) => options.progress?.(label, done, total, t0));
}

/** The `text` splitter (and any other) in TypeScript: lines from {@link readLines}, a Map of words. */
function scriptNumbering(spec: TokenizerSpec, options: EncodeOptions): Numbering {
  const tokenizer = new Tokenizer(spec);
  const index = new Map<string, number>([[EOS, 0]]);
  let counts = new Float64Array(1 << 16);
  const block = new Uint32Array(1 << 16);
  return {
    read(file, split, emit) {
      let used = 0;
      const push = (id: number) => {
        counts[id]++;
        block[used++] = id;
        if (used === block.length) {
          emit(block);
          used = 0;
        }
      };
      let lineHasWords = false;
      readLines(
        file,
        `${split} split`,
        (text, ends) => {
          for (const w of tokenizer.words(text)) {
            let id = index.get(w);
            if (id === undefined) {
              id = index.size;
              index.set(w, id);
              if (id === counts.length) {
                const grown = new Float64Array(counts.length * 2);
                grown.set(counts);
                counts = grown;
              }
            }
            push(id);
            lineHasWords = true;
          }
          if (ends && lineHasWords) {
            push(0);
            lineHasWords = false;
          }
        },
        { progress: progressOf(options, split, file), chunkBytes: options.chunkBytes },
      );
      if (used) emit(block.subarray(0, used));
    },
    words: () => [...index.keys()],
    counts: () => counts.slice(0, index.size),
    dispose: () => index.clear(),
  };
}

/**
 * Streams `file` through the Rust word counter `raw` in chunks (of {@link CHUNK_BYTES} by default): each chunk
 * crosses once as bytes and comes back as ids for `emit`. A NUL byte or invalid UTF-8 is `E_DATA`
 * naming the file and the byte offset.
 */
function feedFile(raw: RawWordCounter, file: string, split: Split, options: EncodeOptions, emit: (ids: Uint32Array) => void): void {
  const { fd, size } = openRegularFile(file, `${split} split`);
  const progress = progressOf(options, split, file);
  try {
    const buf = Buffer.allocUnsafe(options.chunkBytes ?? CHUNK_BYTES);
    for (let pos = 0; ; ) {
      let n: number;
      try {
        n = readFully(fd, buf, 0, buf.length, pos);
      } catch (err) {
        throw ioError(`read ${split} split`, file, err);
      }
      pos += n;
      try {
        emit(guard(() => raw.feed(buf.subarray(0, n), n === 0)));
      } catch (err) {
        if (err instanceof QuireError && err.code === 'E_DATA' && err.message.startsWith('not ')) {
          const hint = err.message.includes('UTF-8') ? ' (convert it to UTF-8, e.g. with iconv)' : '';
          throw new QuireError('E_DATA', `${file} is ${err.message}${hint}`);
        }
        throw err;
      }
      if (n === 0) break;
      progress?.(pos, size);
    }
  } finally {
    closeSync(fd);
  }
}

/** The `words` splitter in Rust, for subwords (the words then go to JavaScript to learn them). */
function nativeNumbering(spec: TokenizerSpec, options: EncodeOptions): Numbering {
  const raw = guard(() => loadBackend().raw.WordCounter.create(spec.lowercase));
  let live = true;
  return {
    read: (file, split, emit) => feedFile(raw, file, split, options, emit),
    words: () => guard(() => raw.words()).split('\n'),
    counts: () => guard(() => raw.counts()),
    dispose: () => {
      if (live) raw.free();
      live = false;
    },
  };
}

/** Writes the ids `read` emits to the token file `path`; returns how many (`E_DATA` under 2). */
function writeIds(path: string, split: Split, file: string, read: (emit: (ids: Uint32Array) => void) => void): number {
  const out = new IdWriter(path);
  try {
    read((ids) => out.pushAll(ids));
  } catch (err) {
    out.discard();
    throw err;
  }
  out.close();
  if (out.count < 2) throw new QuireError('E_DATA', `the ${split} split ${file} has fewer than 2 tokens`);
  return out.count;
}

/** Tells the user how the vocabulary was bounded, when words were left out. */
function noteBound(options: EncodeOptions, vocabulary: Vocabulary, stats: VocabularyStats, what: 'words' | 'pieces'): void {
  if (stats.foldedWords === 0) return;
  options.note?.(
    `vocabulary: the ${vocabulary.size.toLocaleString('en')} most frequent of ${stats.distinct.toLocaleString('en')} ` +
      `distinct ${what}; ${stats.foldedWords.toLocaleString('en')} rarer ones read as ${UNK} ` +
      `(${((100 * stats.foldedTokens) / stats.tokens).toFixed(2)} % of tokens). ` +
      'Change with --vocab-size N / --min-count C.',
  );
}

/**
 * The `words` splitter without subwords, in Rust from end to end. With a given vocabulary every
 * split is encoded with it in one read. Otherwise the training split is read once (provisional
 * ids to a `.pids` file while the words are counted), the vocabulary is chosen in Rust (only its
 * words cross to JavaScript, with the statistics; the counter then keeps only them), the
 * provisional ids are mapped to final ones, and the other splits are encoded in one read each.
 */
function buildWords(dir: string, files: Record<Split, string>, spec: TokenizerSpec, options: EncodeOptions, bound: Bound): Built {
  const raw = guard(() => loadBackend().raw.WordCounter.create(spec.lowercase));
  try {
    const encode = (s: Split, path: string) => writeIds(path, s, files[s], (emit) => feedFile(raw, files[s], s, options, emit));
    let vocabulary = options.vocabulary;
    let stats: VocabularyStats | null = null;
    if (!vocabulary) {
      validateBound(bound);
      encode('train', join(dir, 'train.pids'));
      const chosen = JSON.parse(guard(() => raw.select(bound.vocabSize, bound.minCount))) as VocabularyStats & { words: string[] };
      vocabulary = new Vocabulary(chosen.words);
      stats = { distinct: chosen.distinct, foldedWords: chosen.foldedWords, foldedTokens: chosen.foldedTokens, tokens: chosen.tokens };
      noteBound(options, vocabulary, stats, 'words');
    }
    const provisional = guard(() => raw.useVocabulary(vocabulary.words.join('\n')));
    const splits = {} as Record<Split, EncodedSplit>;
    for (const s of SPLITS) {
      const file = join(dir, `${s}.bin`);
      const tokens = s === 'train' && stats ? remap(join(dir, 'train.pids'), file, provisional) : encode(s, file);
      splits[s] = { file, tokens, words: tokens };
    }
    return { vocabulary, tokenizer: spec, splits, stats };
  } finally {
    raw.free();
  }
}

/** Maps every id of the u32 file `from` through `map` in place and renames it to the token file `to`; returns how many. */
function remap(from: string, to: string, map: Uint32Array): number {
  let count = 0;
  forEachIdBlock(
    from,
    (ids) => {
      for (let i = 0; i < ids.length; i++) ids[i] = map[ids[i]];
      count += ids.length;
    },
    true,
  );
  renameSync(from, to);
  return count;
}

/** Replaces every word id of the u32 file `from` by its pieces' ids (`ids[start[p] … start[p+1]]`) in a new token file `to`. */
function expand(from: string, to: string, start: Uint32Array, ids: Uint32Array): { words: number; tokens: number } {
  const out = new IdWriter(to);
  let words = 0;
  forEachIdBlock(from, (block) => {
    words += block.length;
    for (let i = 0; i < block.length; i++) out.pushAll(ids.subarray(start[block[i]], start[block[i] + 1]));
  });
  out.close();
  rmSync(from, { force: true });
  return { words, tokens: out.count };
}

/** Learns byte-pair merges from the training words so that pieces fill about `vocabSize` ids (with `<eos>`, `<unk>` and the characters). */
function learnSubwords(words: string[], trainCounts: ArrayLike<number>, vocabSize: number, options: EncodeOptions): BpeModel {
  if (vocabSize === 0) throw new QuireError('E_CONFIG', 'subwords need a vocabulary size (--vocab-size N, e.g. 8000)');
  const counts = new Map<string, number>();
  const alphabet = new Set<string>([WORD_START]);
  for (let p = 1; p < trainCounts.length; p++) {
    if (trainCounts[p] === 0) continue;
    counts.set(words[p], trainCounts[p]);
    for (const ch of words[p]) alphabet.add(ch);
  }
  const merges = Math.max(0, vocabSize - 2 - alphabet.size);
  const t0 = performance.now();
  return trainBpe(counts, {
    merges,
    onProgress: options.progress && ((done, total) => options.progress?.('learning subwords', done, total, t0, 'merges')),
  });
}

function build(dir: string, files: Record<Split, string>, spec: TokenizerSpec, options: EncodeOptions, bound: Bound): Built {
  if (spec.splitter === 'words' && !spec.subwords && !options.subwords) return buildWords(dir, files, spec, options, bound);
  const numbering = spec.splitter === 'words' ? nativeNumbering(spec, options) : scriptNumbering(spec, options);
  try {
    // 1. Every split to provisional ids; the vocabulary counts are the training split's.
    let trainCounts: ArrayLike<number> = [];
    for (const s of SPLITS) {
      writeIds(join(dir, `${s}.pids`), s, files[s], (emit) => numbering.read(files[s], s, emit));
      if (s === 'train') trainCounts = numbering.counts();
    }
    const words = numbering.words();
    numbering.dispose();
    // 2. Subwords: the given merges (a model's), or merges learned from the training words.
    let tokenizer = spec;
    if (!spec.subwords && options.subwords) tokenizer = { ...spec, subwords: learnSubwords(words, trainCounts, bound.vocabSize, options) };
    const text = new Tokenizer(tokenizer);
    const piecesOf = (p: number) => (p === 0 ? [EOS] : text.pieces(words[p]));
    // 3. The vocabulary: the given one, or the training split's most frequent words (or pieces).
    let vocabulary = options.vocabulary;
    let stats: VocabularyStats | null = null;
    if (!vocabulary) {
      let chosen: { vocabulary: Vocabulary; stats: VocabularyStats };
      if (tokenizer.subwords) {
        const pieceCounts = new Map<string, number>();
        for (let p = 0; p < trainCounts.length; p++) {
          if (trainCounts[p] > 0) for (const piece of piecesOf(p)) pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + trainCounts[p]);
        }
        chosen = Vocabulary.fromCounts([...pieceCounts.keys()], [...pieceCounts.values()], bound);
        options.note?.(
          `subwords: ${tokenizer.subwords.merges.length.toLocaleString('en')} merges learned ` +
            `from ${trainCounts.length.toLocaleString('en')} distinct words; ` +
            `${chosen.vocabulary.size.toLocaleString('en')} pieces.`,
        );
      } else {
        chosen = Vocabulary.fromCounts(words.slice(0, trainCounts.length), trainCounts, bound);
      }
      vocabulary = chosen.vocabulary;
      stats = chosen.stats;
      noteBound(options, vocabulary, stats, tokenizer.subwords ? 'pieces' : 'words');
    }
    // 4. Provisional word ids to final token ids (a word expands to its pieces with subwords).
    const unk = vocabulary.id(UNK);
    const idOf = (w: string) => {
      const id = vocabulary.id(w) ?? unk;
      if (id === undefined) throw new QuireError('E_DATA', `the word '${w}' of the corpus is not in the vocabulary, which has no ${UNK}`);
      return id;
    };
    const splits = {} as Record<Split, EncodedSplit>;
    if (!tokenizer.subwords) {
      const finalId = Uint32Array.from(words, idOf);
      for (const s of SPLITS) {
        const file = join(dir, `${s}.bin`);
        const tokens = remap(join(dir, `${s}.pids`), file, finalId);
        splits[s] = { file, tokens, words: tokens };
      }
    } else {
      const start = new Uint32Array(words.length + 1);
      const flat: number[] = [];
      for (let p = 0; p < words.length; p++) {
        for (const piece of piecesOf(p)) flat.push(idOf(piece));
        start[p + 1] = flat.length;
      }
      const ids = Uint32Array.from(flat);
      for (const s of SPLITS) {
        const file = join(dir, `${s}.bin`);
        const count = expand(join(dir, `${s}.pids`), file, start, ids);
        splits[s] = { file, tokens: count.tokens, words: count.words };
      }
    }
    return { vocabulary, tokenizer, splits, stats };
  } finally {
    numbering.dispose();
  }
}
