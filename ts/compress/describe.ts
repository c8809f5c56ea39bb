import { QuireError } from '../errors.js';
import { LanguageModel, type ModelConfig } from '../model.js';
import type { BackendOption } from '../options.js';
import { CompressedModel, type CompressedHeader } from './compressed-model.js';
import { textOf } from '../train/checkpoint.js';
import { containerFormat, readModelFile } from './load.js';

/** What `quire info MODEL` prints about a model file. */
export interface ModelFileInfo {
  file: string;
  format: string;
  bytes: number;
  parameters: number;
  /** File bits per model parameter (everything included: header, scales, masks, FP tensors). */
  bitsPerParameter: number;
  /** Vocabulary size and how text becomes its tokens (`words`, `text`, `… + N subword merges`, `, lowercase`). */
  vocabulary: number;
  tokenizer: string;
  /** Whether the embedding is tied to the softmax weight (one shared matrix). */
  tied: boolean;
  /** The adaptive softmax's cut-offs (empty: the full softmax). */
  cutoffs: number[];
  /** Compressed files only: the header, bits per quantized weight (scales and masks included), ratio vs the FP file. */
  compressed?: CompressedHeader & { compressionRatio: number };
}

/**
 * Describes a quire model file (FP model, checkpoint or compressed model). The whole file is
 * validated (`E_FORMAT`); a missing or unreadable file is `E_IO`.
 */
export function describeModelFile(path: string, options: BackendOption = {}): ModelFileInfo {
  const { file, bytes } = readModelFile(path);
  const format = containerFormat(bytes);
  if (format === undefined) throw new QuireError('E_FORMAT', `${file} is not a quire model file`);
  const size = bytes.length;
  if (format !== 'quire-compressed') {
    // The whole file is validated (shapes, sizes, truncation), not just its header.
    const model = LanguageModel.fromBytes(bytes, options);
    try {
      return common(model.parameterCount, model.metadata, model.config);
    } finally {
      model.dispose();
    }
  }
  const cm = CompressedModel.fromBytes(bytes, options);
  try {
    const h = cm.header;
    return {
      ...common(h.quantizedWeights + h.fpParams, cm.metadata, cm.config),
      compressed: { ...h, compressionRatio: h.fpModelBytes / size },
    };
  } finally {
    cm.dispose();
  }

  /** What every model file reports: sizes, text, tying. */
  function common(parameters: number, metadata: Readonly<Record<string, string>>, config: ModelConfig): ModelFileInfo {
    return {
      file,
      format: format!,
      bytes: size,
      parameters,
      bitsPerParameter: (8 * size) / parameters,
      ...textInfo(metadata, config.vocab, file),
      tied: config.tied ?? false,
      cutoffs: config.cutoffs ?? [],
    };
  }
}

/** The vocabulary and tokenizer of a model file, validated (`E_FORMAT`) and described. */
function textInfo(metadata: Readonly<Record<string, string>>, size: number, file: string): { vocabulary: number; tokenizer: string } {
  const { vocabulary, tokenizer: t } = textOf(metadata, size, file);
  const subwords = t.subwords ? ` + ${t.subwords.merges.length} subword merges` : '';
  return { vocabulary: vocabulary.size, tokenizer: `${t.splitter}${subwords}${t.lowercase ? ', lowercase' : ''}` };
}
