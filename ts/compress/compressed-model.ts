import { loadBackend } from '../backend/loader.js';
import type { Backend, RawCompressedModel } from '../backend/types.js';
import { bytes as byteArg, objectArg, stringRecord } from '../args.js';
import { guard } from '../errors.js';
import { Handle } from '../handle.js';
import { configFromRaw, LanguageModel, languageModelArg, type ModelConfig, type RawConfig } from '../model.js';
import type { BackendOption } from '../options.js';
import type { QuantMethod } from '../quantize.js';

/** What to quantize and how (the file header records all of it). */
export interface CompressionSpec {
  method: QuantMethod;
  cycles: number;
  /** Columns per scale group (0 = per row). */
  groupSize: number;
  /** The selection as the user gave it (`lstm`, `lstm,softmax`, `all`). */
  layers: string;
  /** Target sparsity of the quantized matrices (0 = no pruning). */
  sparsity: number;
  /** Size of the full-precision model file, for the compression ratio. */
  fpModelBytes: number;
  /** Tensor name → bits (a mixed-precision tensor's mean). */
  tensors: Record<string, number>;
  /**
   * Mixed precision across rows: tensor name → the most bits a row may get and an optional
   * weight per row (e.g. √ of each word's count); the tensor keeps its mean bits, its rows get
   * 0 (zeros) to `maxBits` (≤ 7) where they lower the weighted quantization error most.
   */
  rows?: Record<string, RowAllocation>;
}

/** How a mixed-precision tensor's rows share its bits (see {@link CompressionSpec.rows}). */
export interface RowAllocation {
  maxBits: number;
  importance?: number[];
  /** A mean below the tensor's bits in `tensors` (e.g. 1.75 with bits 2), in (0, bits]. */
  meanBits?: number;
}

/** The header of a compressed model file with the sizes of its parts. */
export interface CompressedHeader extends Omit<CompressionSpec, 'tensors' | 'rows'> {
  format: 'quire-compressed';
  config: RawConfig;
  /** Bits per weight of each quantized tensor (a mixed-precision tensor's most bits of a row). */
  bits: Record<string, number>;
  /** Mean bits per weight of each quantized tensor. */
  meanBits: Record<string, number>;
  /** Mixed-precision tensors: bits → how many rows have them. */
  rowBits: Record<string, Record<string, number>>;
  gateOrder: string;
  /** Activation bits the model was retrained with (`--activation-bits`), or null. */
  activationBits: number | null;
  quantizedWeights: number;
  /** Bytes of planes + scales + masks. */
  quantizedBytes: number;
  fpParams: number;
  fpBytes: number;
  /** Bits per quantized weight, scales and masks included. */
  bitsPerQuantizedWeight: number;
  /** Quantized tensors that carry a keep-mask. */
  masked: string[];
}

/** Quantization loss of one tensor: `error = ‖W − Q(W)‖²`, `norm = ‖W‖²`, `relative = error / norm` (0 for an all-zero tensor). */
export interface TensorLoss {
  error: number;
  norm: number;
  relative: number;
}

/**
 * A compressed LSTM model held by the Rust core: the selected matrices as packed binary codes
 * (bit-planes, scales, bit-packed keep-masks), the other tensors in full precision. File format:
 * README "Compressed model file".
 */
export class CompressedModel extends Handle<RawCompressedModel> {
  readonly #backend: Backend;
  readonly #losses: Record<string, TensorLoss>;

  private constructor(backend: Backend, raw: RawCompressedModel, losses: Record<string, TensorLoss>) {
    super(raw, 'CompressedModel');
    this.#backend = backend;
    this.#losses = losses;
  }

  /** The backend that holds the model. */
  get backend(): Backend {
    return this.live(this.#backend);
  }

  /** Losses of the quantization that built it (tensor name → loss); empty when loaded. */
  get losses(): Record<string, TensorLoss> {
    return this.live(this.#losses);
  }

  /**
   * Quantizes `spec.tensors` of `model` IN PLACE (they become `Q(W)`, masks set on the model
   * are used) and assembles the compressed model. `metadata` (strings) is stored in the file.
   */
  static fromModel(model: LanguageModel, spec: CompressionSpec, metadata: Record<string, string>): CompressedModel {
    languageModelArg('model', model);
    const specJson = JSON.stringify(objectArg('spec', spec));
    const metaJson = JSON.stringify(stringRecord('metadata', metadata));
    const modelRaw = model.raw;
    const raw = guard(() => model.backend.raw.CompressedModel.fromModel(modelRaw, specJson, metaJson));
    const losses = JSON.parse(raw.lossesJson()) as Record<string, TensorLoss>;
    return new CompressedModel(model.backend, raw, losses);
  }

  /** Parses a compressed model file (`E_FORMAT` when it is not one or is corrupt). */
  static fromBytes(bytes: Uint8Array, options: BackendOption = {}): CompressedModel {
    const b = byteArg('bytes', bytes);
    const backend = loadBackend(objectArg('options', options).backend);
    return new CompressedModel(
      backend,
      guard(() => backend.raw.CompressedModel.fromBytes(b)),
      {},
    );
  }

  get header(): CompressedHeader {
    return JSON.parse(this.raw.headerJson()) as CompressedHeader;
  }

  get config(): ModelConfig {
    return configFromRaw(this.header.config);
  }

  /** Caller metadata stored in the file (e.g. `vocabulary`). */
  get metadata(): Record<string, string> {
    return JSON.parse(this.raw.metadataJson()) as Record<string, string>;
  }

  toBytes(): Uint8Array {
    return guard(() => this.raw.toBytes());
  }

  /**
   * Scale tuning (codes and masks fixed): re-fits every quantized matrix's scales to `model`'s
   * current values of it by least squares (rounded to f16), writes the result back into `model`
   * (which then holds exactly this compressed model again) and takes `model`'s full-precision
   * tensors. After a training step on `model` this is a projected-gradient step on the scales.
   * Returns the loss of the projection per quantized tensor. `E_CONFIG` for a model of another
   * shape, `E_NONFINITE` for non-finite weights (nothing changes then).
   */
  refitScales(model: LanguageModel): Record<string, TensorLoss> {
    languageModelArg('model', model);
    const modelRaw = model.raw;
    return JSON.parse(guard(() => this.raw.refitScales(modelRaw))) as Record<string, TensorLoss>;
  }

  /**
   * Quantizes `model`'s current values of every quantized matrix again in this model's layout
   * (the bits of each row of a mixed-precision matrix, the masks, the scale groups; this model's
   * solver, scales rounded to f16), writes the result back into `model` and takes its
   * full-precision tensors: {@link CompressedModel.fromModel} without allocating the rows' bits
   * again (the same result for matrices without mixed rows), at the cost of one quantization.
   * Returns the quantization loss per quantized tensor. Errors as {@link refitScales}.
   */
  requantize(model: LanguageModel): Record<string, TensorLoss> {
    languageModelArg('model', model);
    const modelRaw = model.raw;
    return JSON.parse(guard(() => this.raw.requantize(modelRaw))) as Record<string, TensorLoss>;
  }

  /**
   * A language model holding the dequantized weights `Q(W)` (and the masks). For a file
   * retrained with quantized activations (`header.activationBits`, `quire compress
   * --activation-bits`) the model quantizes them the same way (the core sets it), so it
   * computes what the engine's `popcount-a<k>` kernel computes.
   */
  toModel(): LanguageModel {
    return new LanguageModel(
      this.backend,
      guard(() => this.raw.toModel()),
    );
  }
}
