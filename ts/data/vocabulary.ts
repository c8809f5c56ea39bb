import { QuireError } from '../errors.js';

/** End-of-sentence token appended to every line. */
export const EOS = '<eos>';
/** Token that out-of-vocabulary words map to. */
export const UNK = '<unk>';

/**
 * Word ↔ id mapping. Built from the training split: words sorted by descending count, ties by
 * code-point order, `<unk>` added at the end if the corpus has none (PTB has 10,000 words
 * including `<eos>` and `<unk>`).
 */
export class Vocabulary {
  private readonly index: Map<string, number>;

  constructor(readonly words: readonly string[]) {
    this.index = new Map(words.map((w, i) => [w, i]));
    if (this.index.size !== words.length) throw new QuireError('E_DATA', 'vocabulary has duplicate words');
  }

  static fromTokens(tokens: Iterable<string>): Vocabulary {
    const counts = new Map<string, number>();
    for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
    const words = [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
    if (!counts.has(UNK)) words.push(UNK);
    return new Vocabulary(words);
  }

  get size(): number {
    return this.words.length;
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
