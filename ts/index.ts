/**
 * quire: train LSTM language models, compress them with retraining-based iterative
 * binary-coding quantization, run them with bit-packed kernels. This is the one public facade;
 * nothing outside ts/backend/ touches a binding.
 */
export { QuireError, type ErrorCode } from './errors.js';
export { loadBackend, hasWasmSimd } from './backend/index.js';
export type { Backend, BackendChoice, BackendName } from './backend/index.js';
export type { BackendOption } from './options.js';
export { gemm, type GemmSpec } from './gemm.js';
export { info, setThreads, type QuireInfo, type BackendInfo } from './info.js';
export { quantize, matvec, matmul, QuantizedMatrix, MAX_BATCH, type QuantMethod, type MatvecKernel, type QuantizeOptions, type MatvecOptions } from './quantize.js';
