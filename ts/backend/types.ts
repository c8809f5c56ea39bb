/**
 * The raw surface both bindings expose, name for name: crates/binding writes each function once
 * and `#[export]` emits it for napi-rs and for wasm-bindgen; `npm test` type-checks both
 * generated typings against this interface (test/raw-core.typecheck.ts). Only code in
 * ts/backend/ and the facade's typed wrappers touch it; calls go through `guard()` so binding
 * errors become `QuireError`s.
 */
export interface RawCore {
  kernelSet(): string;
  /** True for the relaxed-SIMD wasm module. */
  relaxedSimd(): boolean;
  lastKernelSet(): string | null | undefined;
  forceKernelSet(name: string): string;
  getThreads(): number;
  setThreads(n: number): number;
  gemm(
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    alpha: number,
    a: Float32Array,
    b: Float32Array,
    beta: number,
    c?: Float32Array,
  ): Float32Array;
  /** Runs the FMA-peak probe on every thread, `iters` rounds each; returns the flops done. */
  fmaPeakProbe(iters: number): number;
  LstmModel: RawLstmModelClass;
  CompressedModel: RawCompressedModelClass;
  InferenceEngine: RawInferenceEngineClass;
  DenseMatrix: { fromArray(weights: Float32Array, rows: number, cols: number): RawDenseMatrix };
  WordCounter: { create(lowercase: boolean): RawWordCounter };
  QuantizedMatrix: {
    quantize(
      weights: Float32Array,
      rows: number,
      cols: number,
      bits: number,
      method: string,
      cycles: number,
      groupSize: number,
      mask: Uint8Array | null,
      halfScales: boolean,
    ): RawQuantizedMatrix;
  };
}

/** A Rust-owned f32 matrix (crates/binding/src/dense.rs). */
export interface RawDenseMatrix {
  rows(): number;
  cols(): number;
  matmul(x: Float32Array, batch: number): Float32Array;
  free(): void;
}

/** The corpus encoder's word counter (crates/binding/src/words.rs). */
export interface RawWordCounter {
  feed(bytes: Uint8Array, last: boolean): Uint32Array;
  words(): string;
  counts(): Uint32Array;
  select(vocabSize: number, minCount: number): string;
  useVocabulary(words: string): Uint32Array;
  free(): void;
}

/** A Rust-owned quantized matrix (crates/binding/src/quant.rs). */
export interface RawQuantizedMatrix {
  bits(): number;
  rows(): number;
  cols(): number;
  groupSize(): number;
  relativeError(): number;
  scales(): Float32Array;
  planes(): Uint32Array;
  mask(): Uint32Array | null | undefined;
  dequantize(): Float32Array;
  matmul(x: Float32Array, batch: number, kernel: string, activationBits: number): Float32Array;
  free(): void;
}

/** The Rust LSTM language-model handle (crates/binding/src/model.rs). */
export interface RawLstmModel {
  metadataJson(): string;
  configJson(): string;
  batch(): number;
  resetState(batch: number): void;
  trainStep(inputs: Uint32Array, targets: Uint32Array, lr: number, clip: number): number;
  trainStepDistilled(
    teacher: RawLstmModel,
    alpha: number,
    temperature: number,
    inputs: Uint32Array,
    targets: Uint32Array,
    lr: number,
    clip: number,
  ): number;
  setDropout(p: number): void;
  /** `bits` 0 = off. */
  setActivationQuant(bits: number, softmax: boolean): void;
  reseed(seed: number): void;
  evaluate(inputs: Uint32Array, targets: Uint32Array): number;
  gradients(inputs: Uint32Array, targets: Uint32Array): number;
  lastGradNorm(): number;
  parameterCount(): number;
  tensorNames(): string[];
  tensorShape(name: string): number[] | Uint32Array;
  getTensor(name: string): Float32Array;
  setTensor(name: string, data: Float32Array): void;
  getGradient(name: string): Float32Array;
  toBytes(format: string, extraJson: string, withState: boolean): Uint8Array;
  /** Keep-masks and pruning (crates/binding/src/compress.rs). */
  setMask(name: string, mask: Uint8Array | null): void;
  getMask(name: string): Uint8Array | null | undefined;
  prune(names: string[], sparsity: number, scope: string): void;
  /** Releases the Rust memory now instead of at garbage collection. */
  free(): void;
}

export interface RawLstmModelClass {
  new (configJson: string): RawLstmModel;
  fromBytes(bytes: Uint8Array): RawLstmModel;
}

/** A Rust-owned compressed model (crates/binding/src/compress.rs). */
export interface RawCompressedModel {
  /** `{name: {error, norm}}` as JSON (`{}` for a loaded file). */
  lossesJson(): string;
  toBytes(): Uint8Array;
  headerJson(): string;
  metadataJson(): string;
  toModel(): RawLstmModel;
  /** Scale tuning (codes fixed); the losses as JSON. */
  refitScales(model: RawLstmModel): string;
  requantize(model: RawLstmModel): string;
  free(): void;
}

export interface RawCompressedModelClass {
  fromModel(model: RawLstmModel, specJson: string, metadataJson: string): RawCompressedModel;
  fromBytes(bytes: Uint8Array): RawCompressedModel;
}

/** The Rust inference engine (crates/binding/src/infer.rs). */
export interface RawInferenceEngine {
  configJson(): string;
  metadataJson(): string;
  kernel(): string;
  bitsJson(): string;
  weightBytes(): number;
  batch(): number;
  reset(batch: number): void;
  seed(seed: number): void;
  step(tokens: Uint32Array): Float32Array;
  advance(tokens: Uint32Array): void;
  logitsOfState(): Float32Array;
  feed(tokens: Uint32Array): void;
  outputOfState(): void;
  candidates(stream: number, k: number, slack: number, among?: Uint32Array | null): Uint32Array;
  values(stream: number, ids: Uint32Array): Float32Array;
  tailsComputed(): Uint32Array;
  evaluate(inputs: Uint32Array, targets: Uint32Array): number;
  sample(temperature: number, topK: number): Uint32Array;
  topK(stream: number, k: number): Uint32Array;
  state(stream: number): Float32Array;
  setState(stream: number, state: Float32Array): void;
  free(): void;
}

export interface RawInferenceEngineClass {
  fromBytes(bytes: Uint8Array, kernel: string): RawInferenceEngine;
  fromModel(model: RawLstmModel, kernel: string): RawInferenceEngine;
}

export type BackendName = 'native' | 'wasm';
export type BackendChoice = BackendName | 'auto';

/** A loaded backend: which one, and its binding. */
export interface Backend {
  readonly name: BackendName;
  readonly raw: RawCore;
}
