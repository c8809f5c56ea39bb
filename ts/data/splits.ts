import { join, resolve } from 'node:path';
import { QuireError } from '../errors.js';
import { isDirectory, isFile, statOrUndefined } from '../io/fs.js';
import { cachedPtbDirectory } from './fetch.js';

export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** The accepted file-name layouts of a corpus directory, first match wins. */
const LAYOUTS = [(s: Split) => `ptb.${s}.txt`, (s: Split) => `${s}.txt`];

const WHERE =
  'Penn Treebank: the three files ptb.{train,valid,test}.txt from the Mikolov PTB archive ' +
  '(simple-examples.tgz, data/ folder); any UTF-8 text works as {train,valid,test}.txt';

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
    throw new QuireError(
      'E_DATA',
      `data directory ${dir} ${what}. Expected ${WHERE}. Fetch PTB with 'quire data ptb', or pass --data DIR or set QUIRE_DATA.`,
    );
  }
  for (const name of LAYOUTS) {
    const f = join(dir, name(split));
    if (statOrUndefined(f)) {
      if (!isFile(f)) throw new QuireError('E_DATA', `${f} is not a regular file (the ${split} split must be a text file)`);
      return f;
    }
  }
  throw new QuireError(
    'E_DATA',
    `no ${split} split in ${dir}: expected ptb.${split}.txt or ${split}.txt. ${WHERE}. Fetch PTB with 'quire data ptb'.`,
  );
}
