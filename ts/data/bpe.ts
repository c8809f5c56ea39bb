/**
 * Byte-pair encoding over Unicode code points: a subword tokenizer learned from a corpus's word
 * counts. Pure TypeScript without Node built-ins, so Node, the browser bundle and edge runtimes
 * train and encode identically.
 *
 * Conventions (those of Hugging Face `tokenizers` with a `Metaspace` pre-tokenizer, prepend_scheme
 * `always`, and of SentencePiece, against which test/bpe.test.ts checks merges and encodings):
 * - a word (no whitespace in it) starts as the symbols `WORD_START`, then one symbol per code point
 *   (iterated with for..of, so a surrogate pair stays one symbol). The marker is a symbol of its
 *   own: the first merges usually glue it to frequent first letters (`▁` + `t` → `▁t`); a word whose
 *   first letter never merged with it encodes as `▁`, `x`, …;
 * - training repeatedly merges the adjacent pair with the highest count (summed over the word
 *   counts). Ties go to the pair whose left symbol, then right symbol, has the lower id, where the
 *   single code points get ids in code-point order and each merge result the next id when first
 *   formed (a result formed again by a later merge keeps its id) — Hugging Face's BpeTrainer rule,
 *   so both learn the same merges. Training stops after `merges` merges or when no pair occurs
 *   `minPairCount` times. A pair is merged at most once: should a result formed a second time (by
 *   another merge) recreate an already merged pair — not seen in our tests — those occurrences stay
 *   apart in training rather than producing a duplicate merge (Hugging Face would repeat the merge);
 * - encoding applies merges by rank, lowest first, leftmost first among equal ranks (GPT-2 and
 *   Hugging Face BPE). Characters never seen in training stay single-code-point pieces.
 */
import { QuireError } from '../errors.js';

/** Word-start marker (SentencePiece's U+2581): the first piece of every word carries it. */
export const WORD_START = '\u2581';

export interface BpeModel {
  /** merges in rank order */
  merges: [string, string][];
}

export interface TrainBpeOptions {
  /** Number of merges to learn (at most; fewer when the pairs run out). */
  merges: number;
  /** Stop when no pair occurs this often (default 2: a pair seen once is not worth a piece). */
  minPairCount?: number;
  /** Called every ~0.5 % of `merges` (of the merges the words allow, if fewer) and once at the end, with (merges learned, `merges`). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Symbol ids are below `MAX_SYMBOLS`, so `a * width + b` (width: a bound on the number of symbols)
 * is an exact key of a pair; for up to ~32,000 symbols it is a small integer, which Maps hash fastest
 * (PTB at 8,000 merges, or 600k words at 16,000).
 */
const MAX_SYMBOLS = 2 ** 26;
const WHITESPACE = /\s/u;

function codePointOrder(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

/**
 * Learns up to `options.merges` merges from `counts` (word → count; words are pre-split and contain
 * no whitespace). Deterministic: the result depends only on the (word, count) multiset, not on the
 * map's order. Incremental: pair counts are updated only in the words that contain the merged pair
 * (found through an index from pair to words), and the best pair comes from a max-heap whose stale
 * entries are re-queued when popped (lazy invalidation).
 */
export function trainBpe(counts: ReadonlyMap<string, number>, options: TrainBpeOptions): BpeModel {
  const target = options.merges;
  if (!Number.isSafeInteger(target) || target < 0)
    throw new QuireError('E_CONFIG', `BPE merges must be a non-negative integer (got ${target})`);
  const minCount = options.minPairCount ?? 2;
  if (!(Number.isFinite(minCount) && minCount > 0))
    throw new QuireError('E_CONFIG', `BPE minPairCount must be a positive number (got ${minCount})`);
  const onProgress = options.onProgress;

  // Alphabet in code-point order, then the words as symbol ids in one flat array.
  const charSet = new Set<string>([WORD_START]);
  let totalSymbols = 0;
  let wordTotal = 0;
  for (const [word, count] of counts) {
    if (typeof word !== 'string') throw new QuireError('E_DATA', `BPE word counts need string keys (got ${typeof word})`);
    if (!(typeof count === 'number' && Number.isFinite(count) && count >= 0)) {
      throw new QuireError('E_DATA', `count of word '${word}' must be a non-negative number (got ${count})`);
    }
    if (count === 0) continue;
    if (WHITESPACE.test(word)) throw new QuireError('E_DATA', `word '${word}' contains whitespace: split the text into words first`);
    for (const ch of word) {
      charSet.add(ch);
      totalSymbols++;
    }
    totalSymbols++;
    wordTotal++;
  }
  const symbols = [...charSet].sort(codePointOrder);
  // Each merge removes at least one symbol from the words, so at most totalSymbols - wordTotal happen.
  const possible = Math.min(target, totalSymbols - wordTotal);
  const width = symbols.length + possible;
  if (width > MAX_SYMBOLS)
    throw new QuireError('E_CONFIG', `BPE training is limited to ${MAX_SYMBOLS} symbols (characters + merges): use fewer merges`);
  const symbolId = new Map<string, number>(symbols.map((s, i) => [s, i]));
  const syms = new Int32Array(totalSymbols);
  const wordStart = new Int32Array(wordTotal);
  const wordLen = new Int32Array(wordTotal);
  const wordCount = new Float64Array(wordTotal);
  {
    let w = 0;
    let k = 0;
    for (const [word, count] of counts) {
      if (count === 0) continue;
      wordStart[w] = k;
      wordCount[w] = count;
      syms[k++] = symbolId.get(WORD_START)!;
      for (const ch of word) syms[k++] = symbolId.get(ch)!;
      wordLen[w] = k - wordStart[w];
      w++;
    }
  }

  // Pairs: dense ids with their symbols, exact weighted count, and the words they (may) occur in.
  const pairIndex = new Map<number, number>();
  const pairA: number[] = [];
  const pairB: number[] = [];
  const pairCount: number[] = [];
  /**
   * Words a pair may occur in (with repeats, and words that lost the pair since). Created on first
   * use as the literal `[word]`, which V8 sizes exactly, where a push onto `[]` reserves 17 slots:
   * large vocabularies have ~10^6 pairs, most in a few words (-20 % peak memory at 600k words).
   */
  const pairWords: (number[] | undefined)[] = [];
  const pairMerged: boolean[] = [];
  /** Pairs whose count grew during the current merge (they need a fresh heap entry). */
  const grown: number[] = [];
  const grownMark: number[] = [];
  let step = 0;

  const pairOf = (a: number, b: number): number => {
    const key = a * width + b;
    let p = pairIndex.get(key);
    if (p === undefined) {
      p = pairA.length;
      pairIndex.set(key, p);
      pairA.push(a);
      pairB.push(b);
      pairCount.push(0);
      pairWords.push(undefined);
      pairMerged.push(false);
      grownMark.push(-1);
    }
    return p;
  };
  const addPair = (a: number, b: number, count: number, word: number): void => {
    const p = pairOf(a, b);
    pairCount[p] += count;
    if (pairMerged[p]) return;
    const list = pairWords[p];
    if (list === undefined) pairWords[p] = [word];
    else if (list[list.length - 1] !== word) list.push(word);
    if (grownMark[p] !== step) {
      grownMark[p] = step;
      grown.push(p);
    }
  };
  const removePair = (a: number, b: number, count: number): void => {
    pairCount[pairIndex.get(a * width + b)!] -= count;
  };

  for (let w = 0; w < wordTotal; w++) {
    const s = wordStart[w];
    const e = s + wordLen[w];
    for (let i = s; i + 1 < e; i++) addPair(syms[i], syms[i + 1], wordCount[w], w);
  }

  // Max-heap of (count when queued, pair); ties: lower left id, then lower right id.
  const heapCount: number[] = [];
  const heapPair: number[] = [];
  const above = (i: number, j: number): boolean => {
    const ci = heapCount[i];
    const cj = heapCount[j];
    if (ci !== cj) return ci > cj;
    const pi = heapPair[i];
    const pj = heapPair[j];
    return pairA[pi] < pairA[pj] || (pairA[pi] === pairA[pj] && pairB[pi] < pairB[pj]);
  };
  const swap = (i: number, j: number): void => {
    const c = heapCount[i];
    heapCount[i] = heapCount[j];
    heapCount[j] = c;
    const p = heapPair[i];
    heapPair[i] = heapPair[j];
    heapPair[j] = p;
  };
  const push = (p: number): void => {
    heapCount.push(pairCount[p]);
    heapPair.push(p);
    let i = heapCount.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!above(i, parent)) break;
      swap(i, parent);
      i = parent;
    }
  };
  const popTop = (): void => {
    const last = heapCount.length - 1;
    swap(0, last);
    heapCount.pop();
    heapPair.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const best = r < last && above(r, l) ? r : l;
      if (!above(best, i)) break;
      swap(best, i);
      i = best;
    }
  };
  for (let p = 0; p < pairA.length; p++) if (pairCount[p] >= minCount) push(p);
  grown.length = 0;

  const merges: [string, string][] = [];
  const seen = new Int32Array(wordTotal).fill(-1);
  const progressEvery = Math.max(1, Math.floor(possible / 200));
  while (merges.length < target && heapCount.length > 0) {
    const queued = heapCount[0];
    const p = heapPair[0];
    popTop();
    if (pairMerged[p]) continue;
    if (queued !== pairCount[p]) {
      if (pairCount[p] >= minCount) push(p);
      continue;
    }
    if (queued < minCount) break;

    const a = pairA[p];
    const b = pairB[p];
    const text = symbols[a] + symbols[b];
    let merged = symbolId.get(text);
    if (merged === undefined) {
      merged = symbols.length;
      symbols.push(text);
      symbolId.set(text, merged);
    }
    merges.push([symbols[a], symbols[b]]);
    pairMerged[p] = true;
    step = merges.length;

    const list = pairWords[p] ?? [];
    pairWords[p] = undefined;
    for (const w of list) {
      if (seen[w] === step) continue;
      seen[w] = step;
      const s = wordStart[w];
      const e = s + wordLen[w];
      const c = wordCount[w];
      let j = s;
      for (let i = s; i < e; ) {
        if (syms[i] === a && i + 1 < e && syms[i + 1] === b) {
          // Left neighbour as it is now (possibly a merge made just before in this word).
          if (j > s) {
            removePair(syms[j - 1], a, c);
            addPair(syms[j - 1], merged, c, w);
          }
          if (i + 2 < e) {
            removePair(b, syms[i + 2], c);
            addPair(merged, syms[i + 2], c, w);
          }
          pairCount[p] -= c;
          syms[j++] = merged;
          i += 2;
        } else syms[j++] = syms[i++];
      }
      wordLen[w] = j - s;
    }
    for (const g of grown) if (!pairMerged[g] && pairCount[g] >= minCount) push(g);
    grown.length = 0;
    if (onProgress && merges.length % progressEvery === 0) onProgress(merges.length, target);
  }
  if (onProgress && (merges.length === 0 || merges.length % progressEvery !== 0)) onProgress(merges.length, target);
  return { merges };
}

/** Words kept by a `BpeEncoder`'s cache; the cache is emptied when it reaches this size. */
export const BPE_CACHE_WORDS = 65_536;
const POS = 2 ** 32;

/** Pushes `key` onto the binary min-heap `heap`. */
function minHeapPush(heap: number[], key: number): void {
  let i = heap.length;
  heap.push(key);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= key) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = key;
}

/** Removes and returns the smallest key of the non-empty binary min-heap `heap`. */
function minHeapPop(heap: number[]): number {
  const top = heap[0];
  const last = heap.pop()!;
  const n = heap.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const m = l + 1 < n && heap[l + 1] < heap[l] ? l + 1 : l;
    if (last <= heap[m]) break;
    heap[i] = heap[m];
    i = m;
  }
  heap[i] = last;
  return top;
}

/**
 * Applies a model's merges to words: repeatedly the adjacent pair of lowest rank, leftmost first
 * (a min-heap over (rank, position), O(n log n) in the word's length n). Pieces concatenated give
 * `WORD_START + word`.
 */
export class BpeEncoder {
  private readonly pieces: string[] = [];
  private readonly pieceId = new Map<string, number>();
  private readonly rank = new Map<number, number>();
  private readonly result: Int32Array;
  /** Number of distinct pieces in the merges (the pair-key multiplier). */
  private readonly width: number;
  private readonly cache = new Map<string, readonly string[]>();

  constructor(model: BpeModel) {
    const { merges } = validateBpeModel(model);
    if (merges.length >= 2 ** 21) throw new QuireError('E_CONFIG', `a BPE model has at most ${2 ** 21 - 1} merges (got ${merges.length})`);
    this.result = new Int32Array(merges.length);
    const sides = merges.map(([a, b]) => [this.intern(a), this.intern(b)]);
    merges.forEach(([a, b], r) => {
      this.result[r] = this.intern(a + b);
    });
    this.width = this.pieces.length;
    sides.forEach(([a, b], r) => this.rank.set(a * this.width + b, r));
  }

  private intern(piece: string): number {
    let id = this.pieceId.get(piece);
    if (id === undefined) {
      id = this.pieces.length;
      this.pieces.push(piece);
      this.pieceId.set(piece, id);
    }
    return id;
  }

  private rankOf(a: number, b: number): number {
    return a < 0 || b < 0 ? -1 : (this.rank.get(a * this.width + b) ?? -1);
  }

  /** The pieces of `word` (a fresh array). */
  encodeWord(word: string): string[] {
    const cached = this.cache.get(word);
    if (cached) return cached.slice();
    const text = [WORD_START, ...word];
    const n = text.length;
    const ids = new Int32Array(n);
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    const dead = new Uint8Array(n);
    for (let k = 0; k < n; k++) {
      ids[k] = this.pieceId.get(text[k]) ?? -1;
      prev[k] = k - 1;
      next[k] = k + 1 < n ? k + 1 : -1;
    }
    const heap: number[] = [];
    const push = (pos: number): void => {
      const r = this.rankOf(ids[pos], ids[next[pos]]);
      if (r >= 0) minHeapPush(heap, r * POS + pos);
    };
    for (let k = 0; k + 1 < n; k++) push(k);
    while (heap.length > 0) {
      const key = minHeapPop(heap);
      const r = Math.floor(key / POS);
      const pos = key - r * POS;
      const q = next[pos];
      if (dead[pos] || q < 0 || this.rankOf(ids[pos], ids[q]) !== r) continue;
      ids[pos] = this.result[r];
      text[pos] = this.pieces[ids[pos]];
      dead[q] = 1;
      next[pos] = next[q];
      if (next[q] >= 0) prev[next[q]] = pos;
      if (prev[pos] >= 0) push(prev[pos]);
      if (next[pos] >= 0) push(pos);
    }
    const out: string[] = [];
    for (let k = 0; k >= 0; k = next[k]) out.push(text[k]);
    if (this.cache.size >= BPE_CACHE_WORDS) this.cache.clear();
    this.cache.set(word, out.slice());
    return out;
  }
}

/** Text of a sequence of pieces: WORD_START becomes a space between words (none before the first). */
export function decodePieces(pieces: readonly string[]): string {
  const text = pieces.join('').split(WORD_START).join(' ');
  return text.startsWith(' ') ? text.slice(1) : text;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function show(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Checks a model read from a file — an array of `[left, right]` merges in rank order, or an
 * object with such a `merges` array — and returns it as a `BpeModel`. Each merge is two non-empty,
 * well-formed strings; no merge repeats; each side is a single code point or the result of an
 * earlier merge (otherwise the merge could never apply: a reordered or truncated file). Throws a
 * `QuireError` `E_FORMAT` naming the first bad merge.
 */
export function validateBpeModel(value: unknown): BpeModel {
  const list = Array.isArray(value)
    ? value
    : value !== null && typeof value === 'object'
      ? (value as { merges?: unknown }).merges
      : undefined;
  if (!Array.isArray(list)) throw new QuireError('E_FORMAT', `a BPE model must be an array of [left, right] merges (got ${show(value)})`);
  const results = new Set<string>();
  const pairs = new Set<string>();
  const merges: [string, string][] = [];
  list.forEach((entry: unknown, i) => {
    const at = `BPE merge ${i}`;
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new QuireError('E_FORMAT', `${at} must be an array of two strings (got ${show(entry)})`);
    }
    const [a, b] = entry as [string, string];
    if (a === '' || b === '') throw new QuireError('E_FORMAT', `${at} has an empty string (got ${show(entry)})`);
    if (LONE_SURROGATE.test(a) || LONE_SURROGATE.test(b))
      throw new QuireError('E_FORMAT', `${at} has a lone surrogate, not text (got ${show(entry)})`);
    const key = `${a.length}:${a}${b}`;
    if (pairs.has(key)) throw new QuireError('E_FORMAT', `${at} repeats an earlier merge ${show(entry)}`);
    pairs.add(key);
    for (const side of [a, b]) {
      if (!results.has(side) && [...side].length !== 1) {
        throw new QuireError(
          'E_FORMAT',
          `${at} ${show(entry)}: '${side}' is neither one character nor the result of an earlier merge (merges must be in rank order)`,
        );
      }
    }
    results.add(a + b);
    merges.push([a, b]);
  });
  return { merges };
}
