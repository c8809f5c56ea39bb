import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QuireError } from '../errors.js';

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder is written and
 * fsynced, then renamed over `path`, so readers see the old file or the new one, never a part.
 * Failures are `E_IO` (the temporary file is removed).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = join(dirname(path), `.quire-tmp-${basename(path)}-${process.pid}-${Date.now()}`);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new QuireError('E_IO', `cannot write ${path}: ${err instanceof Error ? err.message : err}`, { cause: err });
  }
}
