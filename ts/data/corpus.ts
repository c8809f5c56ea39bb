import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QuireError } from '../errors.js';
import { EOS, Vocabulary } from './vocabulary.js';

export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** The accepted file-name layouts of a corpus directory, first match wins. */
const LAYOUTS = [(s: Split) => `ptb.${s}.txt`, (s: Split) => `${s}.txt`];

const WHERE =
  'Penn Treebank: the three files ptb.{train,valid,test}.txt from the Mikolov PTB archive ' +
  '(simple-examples.tgz, data/ folder); any whitespace-tokenised corpus works as {train,valid,test}.txt';

/** The data directory: `--data`, else `$QUIRE_DATA`, else `./data/ptb`. */
export function dataDirectory(explicit?: string): string {
  return resolve(explicit ?? process.env.QUIRE_DATA ?? join('data', 'ptb'));
}

/** Path of one split's file in `dir`; a missing directory or file is `E_DATA` naming what is expected. */
export function splitFile(dir: string, split: Split): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new QuireError('E_DATA', `data directory ${dir} does not exist. Expected ${WHERE}. Pass --data DIR or set QUIRE_DATA.`);
  }
  for (const name of LAYOUTS) {
    const f = join(dir, name(split));
    if (existsSync(f)) return f;
  }
  throw new QuireError('E_DATA', `no ${split} split in ${dir}: expected ptb.${split}.txt or ${split}.txt. ${WHERE}.`);
}

/** Whitespace tokens of a text, with `<eos>` after every non-empty line (Zaremba's PTB reading). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const words = line.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    for (const w of words) out.push(w);
    out.push(EOS);
  }
  return out;
}

/** Tokens of one split, truncated to the first `limit` tokens when given. */
export function readSplit(dir: string, split: Split, limit?: number): string[] {
  const tokens = tokenize(readFileSync(splitFile(dir, split), 'utf8'));
  if (tokens.length < 2) throw new QuireError('E_DATA', `the ${split} split in ${dir} has fewer than 2 tokens`);
  return limit === undefined ? tokens : tokens.slice(0, limit);
}

/** A corpus ready for training: vocabulary from the (full) training split, ids per split. */
export interface Corpus {
  dir: string;
  vocabulary: Vocabulary;
  ids: Record<Split, Uint32Array>;
}

/**
 * Reads all three splits. The vocabulary comes from the whole training file (so a model trained
 * on a `limit` slice still reads the full data), or is the given one (for evaluating a model).
 */
export function loadCorpus(dir: string, options: { limit?: number; vocabulary?: Vocabulary } = {}): Corpus {
  const trainTokens = tokenize(readFileSync(splitFile(dir, 'train'), 'utf8'));
  const vocabulary = options.vocabulary ?? Vocabulary.fromTokens(trainTokens);
  const limited = (t: string[]) => (options.limit === undefined ? t : t.slice(0, options.limit));
  return {
    dir,
    vocabulary,
    ids: {
      train: vocabulary.encode(limited(trainTokens)),
      valid: vocabulary.encode(readSplit(dir, 'valid', options.limit)),
      test: vocabulary.encode(readSplit(dir, 'test', options.limit)),
    },
  };
}
