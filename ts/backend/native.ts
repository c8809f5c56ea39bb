import { nodeBuiltin, nodeProcess } from './node-builtins.js';
import { packageRoot } from './root.js';
import type { RawCore } from './types.js';

const PURPOSE = 'the native backend';

/**
 * The napi-rs platform triple of this process (`linux-x64-gnu`, `linux-x64-musl`,
 * `darwin-arm64`, `win32-x64-msvc`, ...): the suffix of the optional package that carries the
 * native binary for it.
 */
export function platformTriple(): string {
  const proc = nodeProcess() as
    | { platform?: string; arch?: string; report?: { getReport(): { header?: { glibcVersionRuntime?: string } } } }
    | undefined;
  const platform = proc?.platform ?? 'unknown';
  const arch = proc?.arch ?? 'unknown';
  if (platform === 'linux') {
    const glibc = proc?.report?.getReport().header?.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** The package holding the native binary for this platform (napi-rs convention). */
export function nativePackageName(): string {
  return `quire-${platformTriple()}`;
}

/**
 * Loads the napi addon: a local build (`build/native/quire.node`, what `npm run build` makes in a
 * checkout) first, else the optional platform package `quire-<triple>` that an install of the
 * published package brings. Throws with both reasons when neither is there.
 */
export function loadNativeCore(): RawCore {
  const { existsSync } = nodeBuiltin('node:fs', PURPOSE);
  const { join } = nodeBuiltin('node:path', PURPOSE);
  const { createRequire } = nodeBuiltin('node:module', PURPOSE);
  const require = createRequire(import.meta.url);
  const local = join(packageRoot(), 'build', 'native', 'quire.node');
  if (existsSync(local)) return require(local) as RawCore;
  const pkg = nativePackageName();
  try {
    return require(pkg) as RawCore;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      `no native binary for ${platformTriple()}: the optional package ${pkg} is not installed and ${local} is not built (in a ` +
        `checkout: 'npm run build:native')`,
    );
  }
}
