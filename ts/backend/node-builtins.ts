/**
 * Node built-ins, obtained at run time through `process.getBuiltinModule` (Node >= 20.16) instead
 * of static imports, so that nothing below the facade imports a Node module: a browser bundle of
 * the facade (`quire/web`) then contains none, and Node behaviour is unchanged.
 */
type NodeBuiltins = {
  'node:fs': typeof import('node:fs');
  'node:module': typeof import('node:module');
  'node:path': typeof import('node:path');
  'node:url': typeof import('node:url');
};

interface NodeProcessLike {
  getBuiltinModule?: (id: string) => unknown;
  env?: Record<string, string | undefined>;
}

/** `globalThis.process` when this runtime has one (Node, Deno, Bun), else undefined. */
export function nodeProcess(): NodeProcessLike | undefined {
  return (globalThis as { process?: NodeProcessLike }).process;
}

/**
 * The environment variable `name`, or undefined. Runtimes without `process.env` have none, and
 * one that guards the environment (Deno without `--allow-env` throws `NotCapable` on the read)
 * counts as unset: a script needs no permission beyond reading its model and wasm files.
 */
export function envVar(name: string): string | undefined {
  try {
    return nodeProcess()?.env?.[name];
  } catch {
    return undefined;
  }
}

/**
 * The Node module `id`. Outside Node (browsers, workers, edge runtimes) or on Node < 20.16 it
 * throws an error that says `purpose` needs Node.js.
 */
export function nodeBuiltin<K extends keyof NodeBuiltins>(id: K, purpose: string): NodeBuiltins[K] {
  const proc = nodeProcess();
  if (typeof proc?.getBuiltinModule !== 'function') {
    throw new Error(
      `${purpose} needs Node.js >= 20.16 (this runtime has no process.getBuiltinModule); ` +
        `in browsers and edge runtimes use 'quire/web' and 'await init()'`,
    );
  }
  return proc.getBuiltinModule(id) as NodeBuiltins[K];
}
