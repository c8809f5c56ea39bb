import { nodeBuiltin } from './node-builtins.js';
import { packageRoot } from './root.js';
import type { RawCore } from './types.js';

const PURPOSE = 'the native backend';

/** Loads the napi addon `build/native/quire.node`; throws with the reason when it cannot. */
export function loadNativeCore(): RawCore {
  const { existsSync } = nodeBuiltin('node:fs', PURPOSE);
  const { join } = nodeBuiltin('node:path', PURPOSE);
  const { createRequire } = nodeBuiltin('node:module', PURPOSE);
  const file = join(packageRoot(), 'build', 'native', 'quire.node');
  if (!existsSync(file)) {
    throw new Error(`native addon not built: ${file} is missing (run 'npm run setup' or 'npm run build:native')`);
  }
  return createRequire(import.meta.url)(file) as RawCore;
}
