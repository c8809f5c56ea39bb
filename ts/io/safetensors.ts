import { QuireError } from '../errors.js';
import { readContainerHeader } from './container.js';

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length `N`, `N` bytes of
 * JSON `{"__metadata__": {string: string}, "<tensor>": {"dtype", "shape", "data_offsets"}}`
 * (space-padded), then the tensor bytes, `data_offsets` relative to the end of the header.
 * Reader and writer follow the reference implementation (the `safetensors` crate behind
 * `safetensors.torch.save_file`): the reader applies its validation (known dtype, byte count of
 * the shape, offsets contiguous from 0 to the end of the file), the writer its layout (tensors
 * by descending dtype, then name; header padded to 8 bytes), so the file quire writes for a
 * state dict is the file `save_file` writes (checked against files PyTorch wrote, test/golden/pytorch).
 */

/** Dtype names of the format with their byte sizes, in the reference implementation's order (the writer sorts by it, descending). */
const DTYPES: readonly (readonly [string, number])[] = [
  ['BOOL', 1],
  ['U8', 1],
  ['I8', 1],
  ['F8_E5M2', 1],
  ['F8_E4M3', 1],
  ['I16', 2],
  ['U16', 2],
  ['F16', 2],
  ['BF16', 2],
  ['I32', 4],
  ['U32', 4],
  ['F32', 4],
  ['F64', 8],
  ['I64', 8],
  ['U64', 8],
];
const RANK = new Map(DTYPES.map(([name], i) => [name, i]));
const SIZE = new Map(DTYPES);

/** One tensor: dtype name, shape and its raw little-endian bytes. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

export interface Safetensors {
  metadata: Record<string, string>;
  tensors: Map<string, RawTensor>;
}

/** An F32 tensor of `values` (copied). */
export function f32Tensor(shape: number[], values: Float32Array): RawTensor {
  const copy = new Float32Array(values);
  return { dtype: 'F32', shape, data: new Uint8Array(copy.buffer) };
}

/** The values of an F32 tensor (`E_FORMAT` naming the tensor and `file` for another dtype). */
export function f32Values(name: string, t: RawTensor, file: string): Float32Array {
  if (t.dtype !== 'F32') {
    throw new QuireError(
      'E_FORMAT',
      `${file}: tensor '${name}' is ${t.dtype}; quire reads F32 tensors (convert the model with .float() before saving)`,
    );
  }
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Float32Array(t.data.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** The value of the IEEE binary16 number with bits `h` (exact in a double). */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return man ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return exp === 0 ? sign * man * 2 ** -24 : sign * (1 + man / 1024) * 2 ** (exp - 15);
}

/** The values of an F32 or F16 tensor, as f32 (`E_FORMAT` naming the tensor and `file` for another dtype). */
export function floatValues(name: string, t: RawTensor, file: string): Float32Array {
  if (t.dtype !== 'F16') return f32Values(name, t, file);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Float32Array(t.data.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = halfValue(view.getUint16(2 * i, true));
  return out;
}

/** Parses and validates a safetensors file held in memory; every failure is `E_FORMAT` naming `file`. */
export function readSafetensors(bytes: Uint8Array, file = 'the file'): Safetensors {
  const header = readContainerHeader(bytes, file);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const bad = (what: string) => new QuireError('E_FORMAT', `${file}: ${what}`);
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const tensors = new Map<string, RawTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') throw bad(`metadata '${k}' is not a string`);
      metadata = value as Record<string, string>;
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad(`tensor '${name}' is not an object`);
    const size = SIZE.get(e.dtype as string);
    if (typeof e.dtype !== 'string' || size === undefined) throw bad(`tensor '${name}' has the unknown dtype ${JSON.stringify(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(`tensor '${name}': shape must be a list of non-negative integers`);
    const offsets = e.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      throw bad(`tensor '${name}': data_offsets must be [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (e.shape as number[]).reduce((a, d) => a * d, size);
    if (count !== end - begin)
      throw bad(`tensor '${name}': shape ${JSON.stringify(e.shape)} of ${e.dtype} needs ${count} bytes, data_offsets hold ${end - begin}`);
    if (end > dataLength) throw bad(`tensor '${name}': data_offsets ${begin}..${end} outside the ${dataLength}-byte data section`);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype: e.dtype, shape: e.shape as number[], data: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== at)
      throw bad(
        `tensor '${name}' starts at byte ${begin} of the data, expected ${at} (tensors must follow each other without gaps or overlaps)`,
      );
    at = end;
  }
  if (at !== dataLength) throw bad(`the tensors cover ${at} of the ${dataLength} data bytes`);
  return { metadata, tensors };
}

/** The file for `tensors` and `metadata` (left out when empty), laid out as the reference implementation lays it out. */
export function writeSafetensors(tensors: ReadonlyMap<string, RawTensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => {
    const [x, y] = [tensors.get(a) as RawTensor, tensors.get(b) as RawTensor];
    return (RANK.get(y.dtype) ?? -1) - (RANK.get(x.dtype) ?? -1) || (a < b ? -1 : a > b ? 1 : 0);
  });
  const header: Record<string, unknown> = {};
  const keys = Object.keys(metadata).sort();
  if (keys.length > 0) header.__metadata__ = Object.fromEntries(keys.map((k) => [k, metadata[k]]));
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name) as RawTensor;
    const size = SIZE.get(t.dtype);
    if (size === undefined || t.shape.reduce((a, d) => a * d, size) !== t.data.length) {
      throw new QuireError(
        'E_SHAPE',
        `tensor '${name}': ${t.data.length} bytes do not hold a ${t.dtype} tensor of shape ${JSON.stringify(t.shape)}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = JSON.stringify(header);
  const unpadded = new TextEncoder().encode(json).length;
  const text = new TextEncoder().encode(json + ' '.repeat((8 - (unpadded % 8)) % 8));
  const out = new Uint8Array(8 + text.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  let at = 8 + text.length;
  for (const name of names) {
    const data = (tensors.get(name) as RawTensor).data;
    out.set(data, at);
    at += data.length;
  }
  return out;
}
