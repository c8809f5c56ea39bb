import { closeSync } from 'node:fs';
import { QuireError } from '../errors.js';
import { ioError, openRegularFile, readFully } from '../io/fs.js';
import { LINE_BREAKS } from './tokenizer.js';

/** Bytes read per chunk: memory while streaming a file is a small multiple of this, whatever the file's size. */
export const CHUNK_BYTES = 8 << 20;
/** A line longer than this many characters is handed over in parts, split at whitespace (V8 strings have a maximum length). */
const MAX_PENDING = 16 << 20;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (`b.length` when all are valid). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    for (let j = 1; j < len; j++) if ((b[i + j] & 0xc0) !== 0x80) return i;
    // Overlong, surrogate and out-of-range forms.
    if (
      (c === 0xe0 && b[i + 1] < 0xa0) ||
      (c === 0xed && b[i + 1] > 0x9f) ||
      (c === 0xf0 && b[i + 1] < 0x90) ||
      (c === 0xf4 && b[i + 1] > 0x8f)
    )
      return i;
    i += len;
  }
  return b.length;
}

/** Length of the longest prefix of `b` ending on a UTF-8 character boundary (a sequence cut by the chunk end waits for the next chunk). */
function completePrefix(b: Uint8Array): number {
  let i = b.length;
  let back = 0;
  while (i > 0 && back < 3 && (b[i - 1] & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i === 0) return b.length;
  const c = b[i - 1];
  const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  return len > back + 1 ? i - 1 : b.length;
}

/**
 * Streams the text of a UTF-8 file line by line in chunks of {@link CHUNK_BYTES}, never holding
 * the whole file: `line(text, ends)` gets each line without its break (`\n`, `\r\n` or a lone
 * `\r`); `ends` is false for the leading parts of a line longer than `maxLine` (16 M) characters, which is
 * handed over in parts cut at whitespace. A byte-order mark is dropped. A NUL byte (a binary
 * file) or invalid UTF-8 is `E_DATA` naming the file and the byte offset; `progress(bytes, total)`
 * is called after every chunk. `chunkBytes` (tests) overrides the chunk size. Returns the file's size in bytes.
 */
export function readLines(
  file: string,
  what: string,
  line: (text: string, ends: boolean) => void,
  options: { progress?: (bytes: number, total: number) => void; chunkBytes?: number; maxLine?: number } = {},
): number {
  const { progress, chunkBytes = CHUNK_BYTES, maxLine = MAX_PENDING } = options;
  const { fd, size } = openRegularFile(file, what);
  try {
    const buf = Buffer.allocUnsafe(chunkBytes + 4);
    let carry = 0; // bytes of an incomplete UTF-8 sequence kept at buf[0…carry)
    let pos = 0; // file offset of buf[carry]
    let pending = '';
    let first = true; // no text decoded yet: a leading byte-order mark is dropped
    for (;;) {
      let n: number;
      try {
        n = readFully(fd, buf, carry, chunkBytes, pos);
      } catch (err) {
        throw ioError(`read ${what}`, file, err);
      }
      const data = buf.subarray(0, carry + n);
      const nul = data.indexOf(0);
      if (nul >= 0) throw new QuireError('E_DATA', `${file} is not a text file: NUL byte at offset ${pos - carry + nul}`);
      const whole = n === 0 ? data.length : completePrefix(data);
      let text: string;
      try {
        text = decoder.decode(data.subarray(0, whole));
      } catch {
        throw invalidUtf8(file, pos - carry + firstInvalidUtf8(data.subarray(0, whole)));
      }
      if (first && text.length) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      // A `\r` at the end of a chunk may be the first half of `\r\n`: it waits for the next chunk.
      let joined = pending + text;
      const heldCr = n > 0 && joined.endsWith('\r');
      if (heldCr) joined = joined.slice(0, -1);
      const parts = joined.split(LINE_BREAKS);
      pending = (parts.pop() ?? '') + (heldCr ? '\r' : '');
      for (const p of parts) line(p, true);
      if (pending.length > maxLine) {
        const cut = Math.max(pending.lastIndexOf(' '), pending.lastIndexOf('\t'));
        const at = cut > 0 ? cut : pending.length;
        line(pending.slice(0, at), false);
        pending = pending.slice(at);
      }
      buf.copy(buf, 0, whole, data.length);
      carry = data.length - whole;
      if (n === 0) break;
      pos += n;
      progress?.(pos, size);
    }
    if (pending.length) line(pending, true);
    return pos;
  } finally {
    closeSync(fd);
  }
}

function invalidUtf8(file: string, offset: number): QuireError {
  return new QuireError(
    'E_DATA',
    `${file} is not valid UTF-8: bad byte sequence at offset ${offset} (convert it to UTF-8, e.g. with iconv)`,
  );
}
