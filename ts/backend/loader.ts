import { describe } from '../args.js';
import { QuireError } from '../errors.js';
import { loadNativeCore } from './native.js';
import { envVar, nodeProcess } from './node-builtins.js';
import type { Backend, BackendChoice, BackendName, RawCore } from './types.js';
import { loadWasmCore } from './wasm.js';

/** Loader of each backend, by name (a Map: a name such as 'constructor' finds nothing inherited). */
const LOADERS = new Map<BackendName, () => RawCore>([
  ['native', loadNativeCore],
  ['wasm', loadWasmCore],
]);

/** Order tried by `auto`: native first (threads, AVX-512), wasm as the portable fallback. */
const AUTO_ORDER: BackendName[] = ['native', 'wasm'];

const loaded = new Map<BackendName, Backend>();
const failures = new Map<BackendName, unknown>();
let selected: Backend | undefined;

/** Parses a backend choice (`auto | native | wasm`); anything else (another string, a number, null) is `E_CONFIG`. */
export function parseBackendChoice(value: unknown, source = 'backend'): BackendChoice {
  if (value === 'auto' || value === 'native' || value === 'wasm') return value;
  throw new QuireError('E_CONFIG', `${source} must be auto, native or wasm, or a loaded backend (got ${describe(value)})`);
}

/** Whether `value` is a backend object as `loadBackend` and `registerBackend` return them. */
function isBackend(value: unknown): value is Backend {
  if (value === null || typeof value !== 'object') return false;
  const { name, raw } = value as Partial<Backend>;
  return (name === 'native' || name === 'wasm') && typeof raw === 'object' && raw !== null && typeof raw.gemm === 'function';
}

/** The choice from `QUIRE_BACKEND`, if set (see `envVar` for runtimes that guard it). */
function envChoice(): BackendChoice | undefined {
  const v = envVar('QUIRE_BACKEND')?.trim();
  return v ? parseBackendChoice(v, 'QUIRE_BACKEND') : undefined;
}

/** Loads one backend by name (cached; a failure is cached too and rethrown as `E_BACKEND`). */
export function loadBackendNamed(name: BackendName): Backend {
  const hit = loaded.get(name);
  if (hit) return hit;
  const loader = LOADERS.get(name);
  if (loader === undefined) throw new QuireError('E_CONFIG', `backend must be native or wasm (got ${describe(name)})`);
  if (!failures.has(name)) {
    try {
      const backend: Backend = { name, raw: loader() };
      loaded.set(name, backend);
      return backend;
    } catch (err) {
      failures.set(name, err);
    }
  }
  const cause = failures.get(name);
  throw new QuireError('E_BACKEND', `the ${name} backend cannot be loaded: ${messageOf(cause)}`, { cause });
}

/**
 * Registers an already-initialised raw core as backend `name` (how `quire/web` installs the wasm
 * core it instantiated asynchronously). It replaces an earlier one of that name and clears a
 * cached load failure, so `auto` selects it from then on wherever the backends before it in the
 * auto order do not load (in browsers: native never does). Returns the registered backend.
 */
export function registerBackend(name: BackendName, raw: RawCore): Backend {
  if (!LOADERS.has(name)) throw new QuireError('E_CONFIG', `backend must be native or wasm (got ${describe(name)})`);
  const backend: Backend = { name, raw };
  loaded.set(name, backend);
  failures.delete(name);
  if (selected?.name === name) selected = backend;
  return backend;
}

/**
 * Returns the backend for `choice` (default: `QUIRE_BACKEND`, else `auto`). `auto` tries native,
 * then wasm, and remembers what it chose; when nothing loads, one `E_BACKEND` error lists every
 * cause (also available as `error.cause`, an `AggregateError`).
 */
export function loadBackend(choice?: BackendChoice | Backend): Backend {
  if (isBackend(choice)) return choice;
  const wanted = choice === undefined ? (envChoice() ?? 'auto') : parseBackendChoice(choice);
  if (wanted !== 'auto') return loadBackendNamed(wanted);
  if (selected) return selected;
  const causes: unknown[] = [];
  for (const name of AUTO_ORDER) {
    try {
      selected = loadBackendNamed(name);
      if (name === 'wasm' && causes.length > 0) fallbackNotice(causes[0]);
      return selected;
    } catch (err) {
      causes.push((err as QuireError).cause ?? err);
    }
  }
  const list = AUTO_ORDER.map((n, i) => `  ${n}: ${messageOf(causes[i])}`).join('\n');
  throw new QuireError('E_BACKEND', `no quire backend could be loaded:\n${list}`, {
    cause: new AggregateError(causes, 'every backend failed to load'),
  });
}

/**
 * One line on stderr when `auto` falls back from native to wasm in Node (where a native binary
 * was expected), once per process. Browsers and edge runtimes, which never have one, stay quiet.
 */
function fallbackNotice(cause: unknown): void {
  const proc = nodeProcess() as { getBuiltinModule?: unknown; stderr?: { write(s: string): void } } | undefined;
  if (typeof proc?.getBuiltinModule !== 'function' || !proc.stderr) return;
  proc.stderr.write(`quire: using the wasm backend (${messageOf(cause).split('\n')[0]})\n`);
}

/** The load error of a backend, or undefined when it loads. */
export function backendLoadError(name: BackendName): string | undefined {
  try {
    loadBackendNamed(name);
    return undefined;
  } catch (err) {
    return messageOf((err as QuireError).cause ?? err);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
