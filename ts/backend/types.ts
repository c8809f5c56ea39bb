/**
 * The raw surface both bindings expose, name for name (crates/node and crates/wasm are kept
 * identical). Only code in ts/backend/ and the facade files touch it; calls go through
 * `guard()` so binding errors become `QuireError`s.
 */
export interface RawCore {
  kernelSet(): string;
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
  QuantizedMatrix: {
    quantize(
      weights: Float32Array,
      rows: number,
      cols: number,
      bits: number,
      method: string,
      cycles: number,
      groupSize: number,
      mask?: Uint8Array | null,
    ): RawQuantizedMatrix;
  };
}

/** A Rust-owned quantized matrix (quant.rs in both binding crates); `free` exists on wasm only. */
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
  matmulInto(x: Float32Array, batch: number, kernel: string, activationBits: number, y: Float32Array): void;
  free?(): void;
}

export type BackendName = 'native' | 'wasm';
export type BackendChoice = BackendName | 'auto';

/** A loaded backend: which one, and its binding. */
export interface Backend {
  readonly name: BackendName;
  readonly raw: RawCore;
}
