import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { ioError, temporaryFor } from './fs.js';

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same folder is written and
 * fsynced, then renamed over `path`, so readers see the old file or the new one, never a part.
 * Failures are `E_IO` naming the path (the temporary file is removed; one left by a killed
 * process is removed by `removeStaleTemporaries` when a run next opens its folder).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = temporaryFor(path);
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
    throw ioError('write', path, err);
  }
}
