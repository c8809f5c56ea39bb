/**
 * `quire/web`: the entry for browsers, workers and edge runtimes. It imports no Node built-in
 * (the bundle is built with `platform: 'browser'`, which fails on any), instantiates the wasm
 * core asynchronously with `init()`, and re-exports the public facade, whose calls then run on
 * the wasm backend (`auto` selects it).
 *
 *     import { init, gemm } from 'quire/web';
 *     await init();                       // or init(url | Response | bytes | WebAssembly.Module)
 *     const c = gemm({ m: 2, n: 2, k: 3 }, a, b);
 */
import { guard } from './errors.js';
import { useRelaxedSimd } from './backend/simd-probe.js';
import type { Backend } from './backend/types.js';
import { initWebCore, type WasmSource } from './backend/wasm-web.js';

export { QuireError, type ErrorCode } from './errors.js';
export { loadBackend, hasWasmSimd } from './backend/index.js';
export type { Backend, BackendChoice, BackendName } from './backend/index.js';
export type { BackendOption } from './options.js';
export { gemm, type GemmSpec } from './gemm.js';
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
export { type Kernel, KERNELS } from './kernel.js';
export { InferenceEngine, MAX_STREAMS, type InferenceOptions, type SampleOptions } from './infer.js';
export { generateWords, type GenerateOptions } from './generate.js';
export { Predictor, PredictionSession, type Suggestion } from './predict.js';
export { Vocabulary, EOS, UNK } from './data/vocabulary.js';
export { Tokenizer, type TokenizerSpec, tokenizerFromMetadata } from './data/tokenizer.js';
export type { WasmSource } from './backend/wasm-web.js';

/** What `init()` loaded: always the wasm backend, with its kernel set (`simd128`) and threads (1). */
export interface WebBackendInfo {
  backend: 'wasm';
  kernels: string;
  threads: number;
  /** Whether the relaxed-SIMD module runs (its int8-table kernel is faster; results identical). */
  relaxedSimd: boolean;
}

/**
 * Loads the wasm core (SIMD probe first) and makes it the backend of every call. Without a
 * `source` it loads the module next to this bundle (`new URL(..., import.meta.url)`, which
 * bundlers also understand): `quire_wasm_relaxed_bg.wasm` where the runtime has relaxed SIMD
 * (falling back to the other when that file cannot be loaded), else `quire_wasm_bg.wasm`; a given
 * `source` may be either module. Safe to call again: once loaded, later calls resolve at once to
 * the same backend. Rejects with `QuireError` `E_BACKEND` when it cannot load (the error says why).
 */
export async function init(source?: WasmSource): Promise<WebBackendInfo> {
  const { raw } = await (source === undefined ? initBundled() : initWebCore(source));
  return {
    backend: 'wasm',
    kernels: guard(() => raw.kernelSet()),
    threads: guard(() => raw.getThreads()),
    relaxedSimd: guard(() => raw.relaxedSimd()),
  };
}

/** The module next to the bundle: the relaxed-SIMD one where it validates and loads. */
async function initBundled(): Promise<Backend> {
  if (useRelaxedSimd()) {
    try {
      return await initWebCore(new URL('./quire_wasm_relaxed_bg.wasm', import.meta.url));
    } catch {
      // Not deployed next to the bundle (or refused): the simd128 module below.
    }
  }
  return initWebCore(new URL('./quire_wasm_bg.wasm', import.meta.url));
}
