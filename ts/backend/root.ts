import { nodeBuiltin } from './node-builtins.js';

let cached: string | undefined;

/**
 * The quire package root (the folder whose package.json is named "quire"), found by walking
 * up from this file, so paths work from ts/ (tests, tsx) and from dist/ts/ (compiled) alike.
 * Node only (a browser has no package folder to walk).
 */
export function packageRoot(): string {
  if (cached) return cached;
  const { existsSync, readFileSync } = nodeBuiltin('node:fs', 'finding the quire package folder');
  const { dirname, join } = nodeBuiltin('node:path', 'finding the quire package folder');
  const { fileURLToPath } = nodeBuiltin('node:url', 'finding the quire package folder');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'quire') {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the quire package root above ' + import.meta.url);
    dir = parent;
  }
}

/** The package version from package.json (Node only). */
export function packageVersion(): string {
  const { readFileSync } = nodeBuiltin('node:fs', 'reading the quire version');
  const { join } = nodeBuiltin('node:path', 'reading the quire version');
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}
