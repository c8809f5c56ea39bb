import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from './root.js';
import type { RawCore } from './types.js';

/** Loads the napi addon `build/native/quire.node`; throws with the reason when it cannot. */
export function loadNativeCore(): RawCore {
  const file = join(packageRoot(), 'build', 'native', 'quire.node');
  if (!existsSync(file)) {
    throw new Error(`native addon not built: ${file} is missing (run 'npm run setup' or 'npm run build:native')`);
  }
  const require = createRequire(import.meta.url);
  return require(file) as RawCore;
}
