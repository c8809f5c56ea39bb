import type { TokenizerSpec } from './tokenizer.js';
import { type EncodedCorpus, encodeCorpus, type EncodeOptions, openSplit, splitIds } from './encoded-corpus.js';
import type { TokenFile } from './token-source.js';
import type { Split } from './splits.js';
import type { Vocabulary } from './vocabulary.js';

export { dataDirectory, SPLITS, type Split, splitFile } from './splits.js';
export { tokenize } from './tokenizer.js';

/** A corpus in memory: its vocabulary and the ids of every split. */
export interface Corpus {
  dir: string;
  vocabulary: Vocabulary;
  tokenizer: TokenizerSpec;
  ids: Record<Split, Uint32Array>;
  /** The encoded corpus the ids were read from (token files, word counts, vocabulary bound). */
  encoded: EncodedCorpus;
}

/**
 * Reads all three splits into memory through the encoded-corpus cache ({@link encodeCorpus}):
 * the vocabulary comes from the whole training file (bounded as `options` say), or is the given
 * one (for evaluating a model); `limit` keeps the first `limit` ids of each split. For large
 * corpora stream windows from `encodeCorpus(...)` and `openSplit` instead.
 */
export function loadCorpus(dir: string, options: EncodeOptions & { limit?: number } = {}): Corpus {
  const encoded = encodeCorpus(dir, options);
  const ids = (s: Split) => splitIds(encoded, s, options.limit);
  return {
    dir,
    vocabulary: encoded.vocabulary,
    tokenizer: encoded.tokenizer,
    ids: { train: ids('train'), valid: ids('valid'), test: ids('test') },
    encoded,
  };
}

/** A corpus whose splits stream from its token files (any size): `close()` releases them. */
export interface OpenCorpus {
  dir: string;
  vocabulary: Vocabulary;
  tokenizer: TokenizerSpec;
  ids: Record<Split, TokenFile>;
  encoded: EncodedCorpus;
  close(): void;
}

/** {@link loadCorpus} without reading the ids into memory: each split is an open token file (its first `limit` ids). */
export function openCorpus(dir: string, options: EncodeOptions & { limit?: number } = {}): OpenCorpus {
  const encoded = encodeCorpus(dir, options);
  const ids = {
    train: openSplit(encoded, 'train', options.limit),
    valid: openSplit(encoded, 'valid', options.limit),
    test: openSplit(encoded, 'test', options.limit),
  };
  return {
    dir,
    vocabulary: encoded.vocabulary,
    tokenizer: encoded.tokenizer,
    ids,
    encoded,
    close: () => Object.values(ids).forEach((f) => f.close()),
  };
}
