import { backendLoadError, loadBackendNamed, loadBackend } from './backend/loader.js';
import { packageVersion } from './backend/root.js';
import type { BackendChoice, BackendName } from './backend/types.js';
import { integerIn, numberIn } from './args.js';
import { guard, QuireError } from './errors.js';

export interface BackendInfo {
  available: boolean;
  /** Kernel set in force: native `avx512 | avx2 | scalar` (chosen at run time), wasm `simd128`. */
  kernels?: string;
  threads?: number;
  /** wasm: whether the relaxed-SIMD module runs (native: false). */
  relaxedSimd?: boolean;
  error?: string;
}

export interface QuireInfo {
  version: string;
  /** The backend `auto` (or the given choice) selects, or null when none loads. */
  selected: BackendName | null;
  backends: Record<BackendName, BackendInfo>;
}

/** What quire can run here: version, selected backend, and each backend's state. */
export function info(choice?: BackendChoice): QuireInfo {
  const backends = {} as Record<BackendName, BackendInfo>;
  for (const name of ['native', 'wasm'] as const) {
    const error = backendLoadError(name);
    if (error !== undefined) {
      backends[name] = { available: false, error };
      continue;
    }
    const { raw } = loadBackendNamed(name);
    backends[name] = {
      available: true,
      kernels: guard(() => raw.kernelSet()),
      threads: guard(() => raw.getThreads()),
      relaxedSimd: guard(() => raw.relaxedSimd()),
    };
  }
  let selected: BackendName | null = null;
  try {
    selected = loadBackend(choice).name;
  } catch (err) {
    // No backend loads: say so. A bad choice (QUIRE_BACKEND=gpu) is the caller's error.
    if (!(err instanceof QuireError && err.code === 'E_BACKEND')) throw err;
    selected = null;
  }
  return { version: packageVersion(), selected, backends };
}

/** The most threads `setThreads` takes (the core's limit). */
export const MAX_THREADS = 256;

/**
 * Sets the thread count of a backend's parallel kernels, an integer from 1 to {@link MAX_THREADS}
 * (else `E_CONFIG`); returns the count in force (wasm: always 1).
 */
export function setThreads(n: number, choice?: BackendChoice): number {
  integerIn('threads', n, 1, MAX_THREADS);
  const { raw } = loadBackend(choice);
  return guard(() => raw.setThreads(n));
}

/** The arithmetic peak of a backend as measured by {@link measurePeak}. */
export interface PeakRate {
  /** Billions of f32 flops per second over all the backend's threads. */
  gflops: number;
  threads: number;
  kernels: string;
}

/**
 * Measures a backend's arithmetic peak: independent multiply-add chains in registers on every
 * thread of its kernel set, no memory traffic (about `seconds` of work, best of 3). No GEMM or
 * training step can exceed it, so benchmarks report their rate as a fraction of it.
 */
export function measurePeak(choice?: BackendChoice, seconds = 0.3): PeakRate {
  numberIn('seconds', seconds, 0, 3600);
  const { raw } = loadBackend(choice);
  const time = (iters: number) => {
    const t0 = performance.now();
    const flops = guard(() => raw.fmaPeakProbe(iters));
    return { flops, s: (performance.now() - t0) / 1000 };
  };
  let iters = 1 << 16;
  for (let probe = time(iters); probe.s < seconds / 8 && iters < 1 << 30; probe = time(iters)) iters *= 4;
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const r = time(iters);
    best = Math.max(best, r.flops / r.s / 1e9);
  }
  return { gflops: best, threads: guard(() => raw.getThreads()), kernels: guard(() => raw.kernelSet()) };
}
