import { QuireError } from '../errors.js';
import { EOS, UNK, WORD_SEPARATOR } from './tokenizer.js';

export { EOS, UNK };

/** Metadata key of the vocabulary in model files: the words joined by `\n` (one JSON encoding, by the container). */
export const WORDS_KEY = 'words';
/** The older key: a JSON array of the words inside the metadata string (read, never written). */
const LEGACY_KEY = 'vocabulary';

/** Default bound of a vocabulary built from a corpus: PTB's size, which keeps a softmax step fast on any corpus. */
export const DEFAULT_VOCAB_SIZE = 10_000;

/** How a bounded vocabulary was chosen from a corpus's counts. */
export interface VocabularyStats {
  /** Distinct words in the corpus (`<eos>` included). */
  distinct: number;
  /** Distinct words left out, read as `<unk>`. */
  foldedWords: number;
  /** Tokens of the left-out words, and all tokens counted. */
  foldedTokens: number;
  tokens: number;
}

/**
 * The bound of a vocabulary built from counts, defaults filled in (no size bound, a minimum count
 * of 1): `E_CONFIG` unless the size is 0 or an integer >= 2 and the minimum count an integer >= 1.
 */
export function validateBound(bound: { vocabSize?: number; minCount?: number }): { vocabSize: number; minCount: number } {
  const vocabSize = bound.vocabSize ?? 0;
  const minCount = bound.minCount ?? 1;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < 0 || vocabSize === 1) {
    throw new QuireError('E_CONFIG', `vocabulary size must be 0 (no bound) or an integer >= 2 (got ${vocabSize})`);
  }
  if (!Number.isSafeInteger(minCount) || minCount < 1)
    throw new QuireError('E_CONFIG', `minimum count must be an integer >= 1 (got ${minCount})`);
  return { vocabSize, minCount };
}

/**
 * Word ↔ id mapping. Built from the training split's counts: words sorted by descending count,
 * ties by code-point order, `<unk>` added at the rank of the tokens it stands for if the corpus has none (PTB has 10,000 words
 * including `<eos>` and `<unk>`). Words are non-empty and hold no whitespace or control
 * characters; a list with duplicates or such words is `E_FORMAT`.
 */
export class Vocabulary {
  private readonly index: Map<string, number>;

  constructor(readonly words: readonly string[]) {
    if (!Array.isArray(words)) throw new QuireError('E_FORMAT', 'a vocabulary is an array of words');
    this.index = new Map();
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      // A word holds no separator, so `\n` can join words in files.
      if (typeof w !== 'string' || w.length === 0 || WORD_SEPARATOR.test(w)) {
        throw new QuireError('E_FORMAT', `vocabulary word ${i} (${JSON.stringify(w)}) is empty or holds whitespace or a control character`);
      }
      if (this.index.has(w))
        throw new QuireError('E_FORMAT', `vocabulary has the word ${JSON.stringify(w)} twice (ids ${this.index.get(w)} and ${i})`);
      this.index.set(w, i);
    }
  }

  static fromTokens(tokens: Iterable<string>, bound: { vocabSize?: number; minCount?: number } = {}): Vocabulary {
    const counts = new Map<string, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    return Vocabulary.fromCounts([...counts.keys()], [...counts.values()], bound).vocabulary;
  }

  /**
   * The vocabulary of a corpus from its distinct `words` and their `counts` (same order): the
   * `vocabSize` most frequent words (0: no bound) that occur at least `minCount` times, ties in
   * code-point order, `<unk>` always among them: when the corpus has none or it fell outside the
   * bound, `<unk>` stands for every word left out, so it takes the place of that many tokens (after
   * every kept word at least as frequent; last when nothing is left out), as an adaptive softmax
   * needs frequent tokens first. Words with a zero count are not part of the corpus.
   */
  static fromCounts(
    words: readonly string[],
    counts: ArrayLike<number>,
    bound: { vocabSize?: number; minCount?: number } = {},
  ): { vocabulary: Vocabulary; stats: VocabularyStats } {
    const { vocabSize, minCount } = validateBound(bound);
    const order: number[] = [];
    for (let i = 0; i < words.length; i++) if (counts[i] > 0 && (counts[i] >= minCount || words[i] === UNK)) order.push(i);
    order.sort((a, b) => counts[b] - counts[a] || (words[a] < words[b] ? -1 : words[a] > words[b] ? 1 : 0));
    const limit = vocabSize === 0 ? Number.POSITIVE_INFINITY : vocabSize;
    let chosen = order.length > limit ? order.slice(0, limit) : order;
    let kept = chosen.map((i) => words[i]);
    if (!kept.includes(UNK)) {
      chosen = chosen.slice(0, Math.min(chosen.length, limit - 1));
      const inside = new Set(chosen);
      let unkCount = 0;
      for (let i = 0; i < words.length; i++) if (counts[i] > 0 && !inside.has(i)) unkCount += counts[i];
      const at = chosen.findIndex((i) => counts[i] < unkCount);
      kept = chosen.map((i) => words[i]);
      kept.splice(at < 0 ? kept.length : at, 0, UNK);
    }
    const vocabulary = new Vocabulary(kept);
    let tokens = 0;
    let foldedTokens = 0;
    let foldedWords = 0;
    let distinct = 0;
    for (let i = 0; i < words.length; i++) {
      const c = counts[i];
      if (c === 0) continue;
      distinct++;
      tokens += c;
      if (!vocabulary.index.has(words[i])) {
        foldedWords++;
        foldedTokens += c;
      }
    }
    return { vocabulary, stats: { distinct, foldedWords, foldedTokens, tokens } };
  }

  /**
   * The vocabulary stored in a model file's metadata: `words` (newline-joined), or the older
   * `vocabulary` JSON array; it must have `size` words. Anything else is `E_FORMAT` naming `file`.
   */
  static fromMetadata(metadata: Readonly<Record<string, string>>, size: number, file = 'the model'): Vocabulary {
    let words: unknown;
    if (typeof metadata[WORDS_KEY] === 'string') {
      words = metadata[WORDS_KEY] === '' ? [] : metadata[WORDS_KEY].split('\n');
    } else {
      try {
        words = JSON.parse(metadata[LEGACY_KEY] ?? 'null');
      } catch {
        words = null;
      }
    }
    if (!Array.isArray(words) || words.length !== size) {
      throw new QuireError('E_FORMAT', `${file}: the vocabulary metadata is missing or does not match the model's ${size} words`);
    }
    try {
      return new Vocabulary(words);
    } catch (err) {
      throw new QuireError('E_FORMAT', `${file}: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** The metadata entries that store this vocabulary in a model file. */
  toMetadata(): Record<string, string> {
    return { [WORDS_KEY]: this.words.join('\n') };
  }

  get size(): number {
    return this.words.length;
  }

  /** Id of `word`, or undefined. */
  id(word: string): number | undefined {
    return this.index.get(word);
  }

  /** Whether every word and its id equal `other`'s. */
  equals(other: Vocabulary): boolean {
    return this.words.length === other.words.length && this.words.every((w, i) => w === other.words[i]);
  }

  /** Ids of `tokens`; unknown words become `<unk>` (`E_DATA` if the vocabulary lacks it). */
  encode(tokens: readonly string[]): Uint32Array {
    const unk = this.index.get(UNK);
    const out = new Uint32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const id = this.index.get(tokens[i]) ?? unk;
      if (id === undefined) throw new QuireError('E_DATA', `word '${tokens[i]}' is not in the vocabulary, which has no ${UNK}`);
      out[i] = id;
    }
    return out;
  }
}
