import { QuireError } from '../errors.js';

/** Largest JSON header quire reads (the core's limit too; a real header is far smaller). */
export const MAX_HEADER_BYTES = 100 * 2 ** 20;
/** Deepest JSON nesting accepted in a header (a quire header nests 3 levels). */
export const MAX_HEADER_DEPTH = 64;

/**
 * The JSON header of a quire container (8-byte little-endian length, then JSON), parsed only
 * after its length, size and nesting depth are checked, so a crafted header cannot make the
 * parser allocate without bound. Anything else is `E_FORMAT` naming `file`.
 */
export function readContainerHeader(bytes: Uint8Array, file = 'the file'): Record<string, unknown> {
  if (bytes.length < 8) throw new QuireError('E_FORMAT', `${file} is ${bytes.length} bytes, too short for a quire container`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || n > bytes.length - 8) {
    throw new QuireError(
      'E_FORMAT',
      `${file}: header length ${n} does not fit in a file of ${bytes.length} bytes (truncated or not a quire file)`,
    );
  }
  const text = bytes.subarray(8, 8 + n);
  const depth = jsonDepth(text);
  if (depth > MAX_HEADER_DEPTH)
    throw new QuireError('E_FORMAT', `${file}: header nests ${depth} levels deep (at most ${MAX_HEADER_DEPTH})`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (err) {
    throw new QuireError('E_FORMAT', `${file}: header is not valid JSON (${err instanceof Error ? err.message : err})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new QuireError('E_FORMAT', `${file}: header is not a JSON object`);
  return header as Record<string, unknown>;
}

/** Maximum nesting of `[`/`{` in JSON text, outside strings (stops counting past the limit). */
function jsonDepth(text: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
      if (max > MAX_HEADER_DEPTH) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/**
 * The `format` metadata of a quire container, read from its header without parsing the
 * tensors; `undefined` when the bytes are not a readable container.
 */
export function containerFormat(bytes: Uint8Array): string | undefined {
  try {
    const meta = readContainerHeader(bytes).__metadata__ as { format?: unknown } | undefined;
    return typeof meta?.format === 'string' ? meta.format : undefined;
  } catch {
    return undefined;
  }
}
