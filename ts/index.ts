/**
 * quire: train LSTM language models, compress them with retraining-based iterative
 * binary-coding quantization, run them with bit-packed kernels. This is the one public facade.
 * A binding (the `RawCore` of ts/backend/types.ts) is reached only through the typed wrappers
 * exported here (LanguageModel, InferenceEngine, CompressedModel, QuantizedMatrix, DenseMatrix,
 * gemm, info, the mask functions), every call through `guard()`, every handle a `Handle`
 * (ts/handle.ts).
 */
export { QuireError, type ErrorCode } from './errors.js';
export { loadBackend, hasWasmSimd } from './backend/index.js';
export type { Backend, BackendChoice, BackendName } from './backend/index.js';
export type { BackendOption } from './options.js';
export { DenseMatrix, gemm, type GemmSpec } from './gemm.js';
export { info, measurePeak, setThreads, type QuireInfo, type BackendInfo, type PeakRate } from './info.js';
export { adaptiveCutoffs, LanguageModel, type ModelConfig, type ModelFormat } from './model.js';
export { Vocabulary, EOS, UNK, DEFAULT_VOCAB_SIZE, type VocabularyStats } from './data/vocabulary.js';
export { loadCorpus, dataDirectory, tokenize, type Corpus, type Split } from './data/corpus.js';
export { Tokenizer, SPLITTERS, type Splitter, type TokenizerSpec } from './data/tokenizer.js';
export { encodeCorpus, openSplit, splitIds, type EncodedCorpus, type EncodedSplit, type EncodeOptions } from './data/encoded-corpus.js';
export { TokenFile, arraySource, type TokenSource } from './data/token-source.js';
export { readLines } from './data/text-file.js';
export { Batcher, type Window } from './data/batcher.js';
export { PRESETS, resolveConfig, learningRate, type TrainConfig } from './train/presets.js';
export { train, type TrainOptions, type TrainResult } from './train/trainer.js';
export { evaluatePerplexity, type Evaluation } from './train/evaluate.js';
export {
  loadModel,
  saveModel,
  textMetadata,
  textOf,
  type ModelText,
  type LoadedModel,
  type TrainState,
  type EpochRecord,
} from './train/checkpoint.js';
export { Progress, type ProgressState } from './train/progress.js';
export {
  quantize,
  matvec,
  matmul,
  QuantizedMatrix,
  MAX_BATCH,
  type QuantMethod,
  type QuantizeOptions,
  type MatvecOptions,
} from './quantize.js';
export { compress, type CompressOptions, type CompressResult } from './compress/loop.js';
export {
  CompressedModel,
  type CompressionSpec,
  type RowAllocation,
  type CompressedHeader,
  type TensorLoss,
} from './compress/compressed-model.js';
export { prune, setMask, getMask, type PruneScope } from './compress/masks.js';
export { loadAnyModel, loadFpModel, COMPRESSED_FILE } from './compress/load.js';
export { describeModelFile, type ModelFileInfo } from './compress/describe.js';
export { DEFAULTS as COMPRESS_DEFAULTS, type CompressSettings, type LayerSelection } from './compress/settings.js';
export { validateReport, type CompressReport, type IterationRecord } from './compress/report.js';
export { type Kernel, KERNELS } from './kernel.js';
export { InferenceEngine, MAX_STREAMS, type InferenceOptions, type SampleOptions } from './infer.js';
export { generateWords, type GenerateOptions } from './generate.js';
export { Predictor, PredictionSession, type Suggestion } from './predict.js';
export { suggestionQuality, type SuggestionQuality } from './suggest-quality.js';
export { loadEngine, type LoadedEngine } from './infer-file.js';
export { exportOnnx, ONNX_OPSET } from './onnx.js';
export { exportStateDict, importStateDict, stateDictTraining, compressedCodes, pytorchNames } from './pytorch.js';
export { readSafetensors, writeSafetensors, type RawTensor, type Safetensors } from './io/safetensors.js';
