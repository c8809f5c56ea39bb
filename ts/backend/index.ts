export { loadBackend, loadBackendNamed, registerBackend, backendLoadError, parseBackendChoice } from './loader.js';
export type { Backend, BackendChoice, BackendName, RawCore } from './types.js';
export { hasWasmSimd } from './simd-probe.js';
