import { backendLoadError, loadBackendNamed, loadBackend } from './backend/loader.js';
import { packageVersion } from './backend/root.js';
import type { BackendChoice, BackendName } from './backend/types.js';
import { guard, QuireError } from './errors.js';

export interface BackendInfo {
  available: boolean;
  /** Kernel set in force: native `avx512 | avx2 | scalar` (chosen at run time), wasm `simd128`. */
  kernels?: string;
  threads?: number;
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

/** Sets the thread count of a backend's parallel kernels (wasm is always 1); returns it. */
export function setThreads(n: number, choice?: BackendChoice): number {
  const { raw } = loadBackend(choice);
  return guard(() => raw.setThreads(n));
}
