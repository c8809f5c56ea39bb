import { nodeBuiltin, nodeProcess } from './node-builtins.js';
import { packageRoot } from './root.js';
import { assertWasmSimd, useRelaxedSimd } from './simd-probe.js';
import type { RawCore } from './types.js';

const PURPOSE = 'loading the wasm core synchronously';

/**
 * Loads the wasm core synchronously in Node (the CommonJS glue in `build/wasm/node/`, or in
 * `build/wasm/node-relaxed/` where relaxed SIMD validates and that build exists), after
 * checking that this runtime has WebAssembly SIMD. Browsers and edge runtimes cannot load
 * synchronously: there `await init()` from `quire/web` registers the wasm backend instead.
 */
export function loadWasmCore(): RawCore {
  if (typeof nodeProcess()?.getBuiltinModule !== 'function') {
    throw new Error(`in browsers and edge runtimes the wasm core loads asynchronously: call 'await init()' from 'quire/web' first`);
  }
  assertWasmSimd();
  const { existsSync } = nodeBuiltin('node:fs', PURPOSE);
  const { join } = nodeBuiltin('node:path', PURPOSE);
  const { createRequire } = nodeBuiltin('node:module', PURPOSE);
  const relaxed = join(packageRoot(), 'build', 'wasm', 'node-relaxed', 'quire_wasm.js');
  const glue = useRelaxedSimd() && existsSync(relaxed) ? relaxed : join(packageRoot(), 'build', 'wasm', 'node', 'quire_wasm.js');
  if (!existsSync(glue)) {
    throw new Error(`wasm core not built: ${glue} is missing (run 'npm run setup' or 'npm run build:wasm')`);
  }
  return createRequire(import.meta.url)(glue) as RawCore;
}
