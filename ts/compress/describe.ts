import { readFileSync, statSync } from 'node:fs';
import { QuireError } from '../errors.js';
import type { BackendOption } from '../options.js';
import { CompressedModel, type CompressedHeader } from './compressed-model.js';
import { containerFormat, resolveModelPath } from './load.js';

/** What `quire info MODEL` prints about a model file. */
export interface ModelFileInfo {
  file: string;
  format: string;
  bytes: number;
  parameters: number;
  /** File bits per model parameter (everything included: header, scales, masks, FP tensors). */
  bitsPerParameter: number;
  /** Compressed files only: the header, bits per quantized weight (scales and masks included), ratio vs the FP file. */
  compressed?: CompressedHeader & { compressionRatio: number };
}

/**
 * Describes a quire model file (FP model, checkpoint or compressed model) from its header.
 * Compressed files are fully validated (`E_FORMAT`); a missing file is `E_IO`.
 */
export function describeModelFile(path: string, options: BackendOption = {}): ModelFileInfo {
  const file = resolveModelPath(path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new QuireError('E_IO', `no model file at ${file}`);
  }
  const format = containerFormat(bytes);
  if (format === undefined) throw new QuireError('E_FORMAT', `${file} is not a quire model file`);
  const size = statSync(file).size;
  if (format !== 'quire-compressed') {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true))))) as Record<string, { shape?: number[] }>;
    const parameters = Object.entries(header)
      .filter(([k]) => k !== '__metadata__' && k !== 'rng.state' && !k.startsWith('state.'))
      .reduce((a, [, v]) => a + (v.shape ?? []).reduce((p, d) => p * d, 1), 0);
    return { file, format, bytes: size, parameters, bitsPerParameter: (8 * size) / parameters };
  }
  const cm = CompressedModel.fromBytes(bytes, options);
  try {
    const h = cm.header;
    const parameters = h.quantizedWeights + h.fpParams;
    return { file, format, bytes: size, parameters, bitsPerParameter: (8 * size) / parameters, compressed: { ...h, compressionRatio: h.fpModelBytes / size } };
  } finally {
    cm.dispose();
  }
}
