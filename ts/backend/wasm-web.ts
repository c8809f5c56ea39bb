import initGlue, * as glue from '#wasm-web-glue';
import { QuireError } from '../errors.js';
import { registerBackend } from './loader.js';
import { nodeBuiltin, nodeProcess } from './node-builtins.js';
import { assertWasmSimd } from './simd-probe.js';
import type { Backend, RawCore } from './types.js';

/** Where the wasm module comes from: a URL (fetched), a fetch `Response`, its bytes, or a compiled module. */
export type WasmSource = string | URL | Response | BufferSource | WebAssembly.Module;

let ready: Promise<Backend> | undefined;

/**
 * Instantiates the wasm core from `source` (asynchronously: the browser/edge way) and registers
 * it as the `wasm` backend, which `auto` then selects where native cannot load. The first
 * successful call wins: later calls return the same backend without instantiating again,
 * whatever their source; after a failure the next call tries again. Errors are `E_BACKEND`:
 * no WebAssembly SIMD here, the module cannot be fetched, or the bytes are not the quire module.
 */
export function initWebCore(source: WasmSource): Promise<Backend> {
  ready ??= instantiate(source).catch((err: unknown) => {
    ready = undefined;
    throw err;
  });
  return ready;
}

async function instantiate(source: WasmSource): Promise<Backend> {
  try {
    assertWasmSimd();
    await initGlue({ module_or_path: await resolve(source) });
  } catch (err) {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new QuireError('E_BACKEND', `the quire wasm core cannot be instantiated from ${describe(source)}: ${what}`, {
      cause: err,
    });
  }
  return registerBackend('wasm', glue as unknown as RawCore);
}

/**
 * A `file:` URL is read from disk where this runtime is Node (its `fetch` cannot read files);
 * everything else goes to the glue as is (URLs are fetched, bytes and modules instantiated).
 */
async function resolve(source: WasmSource): Promise<Exclude<WasmSource, string>> {
  const url = typeof source === 'string' ? new URL(source, baseUrl()) : source;
  if (url instanceof URL && url.protocol === 'file:' && typeof nodeProcess()?.getBuiltinModule === 'function') {
    const { readFileSync } = nodeBuiltin('node:fs', 'reading a wasm file');
    return readFileSync(url);
  }
  return url;
}

/** Relative URL strings resolve against the page (or worker) location, as `fetch` does. */
function baseUrl(): string | undefined {
  return (globalThis as { location?: { href: string } }).location?.href;
}

function describe(source: WasmSource): string {
  if (typeof source === 'string' || source instanceof URL) return `'${String(source)}'`;
  if (source instanceof WebAssembly.Module) return 'the given WebAssembly.Module';
  if ('byteLength' in source) return `the given ${source.byteLength} bytes`;
  return `the response of '${source.url}'`;
}
