import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './root.js';
import { assertWasmSimd } from './simd-probe.js';
import type { RawCore } from './types.js';

/**
 * Loads the wasm core synchronously in Node (the CommonJS glue in `build/wasm/node/`), after
 * checking that this runtime has WebAssembly SIMD. Browsers and edge runtimes use `quire/web`.
 */
export function loadWasmCore(): RawCore {
  assertWasmSimd();
  const glue = join(packageRoot(), 'build', 'wasm', 'node', 'quire_wasm.js');
  if (!existsSync(glue)) {
    throw new Error(`wasm core not built: ${glue} is missing (run 'npm run setup' or 'npm run build:wasm')`);
  }
  return createRequire(import.meta.url)(glue) as RawCore;
}
