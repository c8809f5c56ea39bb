import { join, resolve } from 'node:path';
import { QuireError } from '../errors.js';
import { isDirectory, isFile, readRegularFile, statOrUndefined } from '../io/fs.js';
import { cachedPtbDirectory } from './fetch.js';
import { EOS, Vocabulary } from './vocabulary.js';

export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** The accepted file-name layouts of a corpus directory, first match wins. */
const LAYOUTS = [(s: Split) => `ptb.${s}.txt`, (s: Split) => `${s}.txt`];

const WHERE =
  'Penn Treebank: the three files ptb.{train,valid,test}.txt from the Mikolov PTB archive ' +
  '(simple-examples.tgz, data/ folder); any whitespace-tokenised corpus works as {train,valid,test}.txt';

/**
 * The data directory: `--data`, else `$QUIRE_DATA`, else `./data/ptb` when it exists, else the
 * cache that `quire data ptb` fills (`$QUIRE_HOME/data/ptb`) when it exists, else `./data/ptb`
 * (whose absence the reader reports with the command that fetches the data).
 */
export function dataDirectory(explicit?: string): string {
  const given = explicit ?? process.env.QUIRE_DATA;
  if (given !== undefined) return resolve(given);
  const local = resolve('data', 'ptb');
  if (isDirectory(local)) return local;
  const cache = cachedPtbDirectory();
  return isDirectory(cache) ? cache : local;
}

/** Path of one split's file in `dir`; a missing directory or file is `E_DATA` naming what is expected. */
export function splitFile(dir: string, split: Split): string {
  if (!isDirectory(dir)) {
    const what = statOrUndefined(dir) ? 'is not a directory' : 'does not exist';
    throw new QuireError('E_DATA', `data directory ${dir} ${what}. Expected ${WHERE}. Fetch PTB with 'quire data ptb', or pass --data DIR or set QUIRE_DATA.`);
  }
  for (const name of LAYOUTS) {
    const f = join(dir, name(split));
    if (statOrUndefined(f)) {
      if (!isFile(f)) throw new QuireError('E_DATA', `${f} is not a regular file (the ${split} split must be a text file)`);
      return f;
    }
  }
  throw new QuireError('E_DATA', `no ${split} split in ${dir}: expected ptb.${split}.txt or ${split}.txt. ${WHERE}. Fetch PTB with 'quire data ptb'.`);
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

/**
 * The text of a corpus file, which must be UTF-8 text: invalid UTF-8 or a NUL byte (a binary
 * file) is `E_DATA` with the byte offset, never read with replacement characters.
 */
export function decodeText(bytes: Uint8Array, file: string): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw new QuireError('E_DATA', `${file} is not a text file: NUL byte at offset ${nul}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new QuireError('E_DATA', `${file} is not valid UTF-8: bad byte sequence at offset ${firstInvalidUtf8(bytes)} (convert it to UTF-8, e.g. with iconv)`);
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    for (let j = 1; j < len; j++) if ((b[i + j] & 0xc0) !== 0x80) return i;
    // Overlong, surrogate and out-of-range forms.
    if ((c === 0xe0 && b[i + 1] < 0xa0) || (c === 0xed && b[i + 1] > 0x9f) || (c === 0xf0 && b[i + 1] < 0x90) || (c === 0xf4 && b[i + 1] > 0x8f)) return i;
    i += len;
  }
  return b.length;
}

function readText(dir: string, split: Split): string {
  const file = splitFile(dir, split);
  return decodeText(readRegularFile(file, `${split} split`), file);
}

/** Tokens of one split, truncated to the first `limit` tokens when given. */
export function readSplit(dir: string, split: Split, limit?: number): string[] {
  const tokens = tokenize(readText(dir, split));
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
  const trainTokens = tokenize(readText(dir, 'train'));
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
