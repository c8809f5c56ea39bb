import { closeSync, fstatSync, openSync } from 'node:fs';
import { QuireError } from '../errors.js';
import { ioError, readFully } from '../io/fs.js';

/**
 * A sequence of token ids read by position: an array in memory, or a token file (`.bin`: u32
 * little-endian ids) read on demand, so a corpus of any size streams in windows.
 */
export interface TokenSource {
  readonly length: number;
  /** Copies ids `start … start + out.length − 1` into `out` (the range must lie inside). */
  read(start: number, out: Uint32Array): void;
}

/** How often each id `0 … vocab − 1` occurs in `source` (read in chunks; an id past the vocabulary is `E_FORMAT`). */
export function idCounts(source: TokenSource, vocab: number): Float64Array {
  const counts = new Float64Array(vocab);
  const chunk = new Uint32Array(1 << 20);
  for (let start = 0; start < source.length; start += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, source.length - start));
    source.read(start, part);
    for (const id of part) {
      if (id >= vocab) throw new QuireError('E_FORMAT', `token id ${id} at position ${start} is outside the vocabulary of ${vocab}`);
      counts[id]++;
    }
  }
  return counts;
}

/** `ids` as a {@link TokenSource}, limited to its first `limit` ids. */
export function arraySource(ids: Uint32Array, limit = ids.length): TokenSource {
  const view = ids.subarray(0, Math.min(limit, ids.length));
  return { length: view.length, read: (start, out) => out.set(view.subarray(start, start + out.length)) };
}

/**
 * An open token file. Reads are positioned (`pread`), so any number of readers share it;
 * `close()` releases the descriptor. A file whose size is not a multiple of 4 is `E_FORMAT`.
 */
export class TokenFile implements TokenSource {
  readonly length: number;
  private fd: number | undefined;
  private bytes = Buffer.alloc(0);

  constructor(
    readonly path: string,
    limit = Number.POSITIVE_INFINITY,
  ) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw ioError('read token file', path, err);
    }
    const size = fstatSync(this.fd).size;
    if (size % 4 !== 0) {
      this.close();
      throw new QuireError('E_FORMAT', `${path} is ${size} bytes, not a whole number of 4-byte token ids (truncated?)`);
    }
    this.length = Math.min(size / 4, limit);
  }

  read(start: number, out: Uint32Array): void {
    if (this.fd === undefined) throw new QuireError('E_STATE', `token file ${this.path} is closed`);
    if (start < 0 || start + out.length > this.length) throw new RangeError(`ids ${start}…${start + out.length} outside 0…${this.length}`);
    const n = out.length * 4;
    if (this.bytes.length < n) this.bytes = Buffer.alloc(Math.max(n, 4096));
    const got = readFully(this.fd, this.bytes, 0, n, start * 4);
    if (got !== n) throw new QuireError('E_IO', `${this.path} ended early (changed while reading?)`);
    for (let i = 0; i < out.length; i++) out[i] = this.bytes.readUInt32LE(4 * i);
  }

  /** All ids in memory (for small files and tests). */
  toArray(): Uint32Array {
    const out = new Uint32Array(this.length);
    this.read(0, out);
    return out;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
