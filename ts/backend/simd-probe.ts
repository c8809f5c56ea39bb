import { envVar } from './node-builtins.js';

/**
 * A module with one `() -> ()` function whose body is `code` (no locals; `end` appended). The
 * section and body sizes are written as one LEB128 byte each, so `code` must be at most 123 bytes.
 */
function oneFunctionModule(code: number[]): Uint8Array<ArrayBuffer> {
  const body = [0x00, ...code, 0x0b];
  // biome-ignore format: one line per section
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x02, 0x01, 0x00, // function section
    0x0a, body.length + 2, 0x01, body.length, ...body, // code section
  ]);
}

/** `WebAssembly.validate` accepts this only where WebAssembly SIMD is supported. */
const SIMD_PROBE = oneFunctionModule([0x41, 0x00, 0xfd, 0x0f, 0x1a]); // i32.const 0; i8x16.splat; drop

/** Whether this runtime supports WebAssembly SIMD (simd128). */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/** Throws a clear error where WebAssembly SIMD is missing (the module would fail to compile). */
export function assertWasmSimd(): void {
  if (!hasWasmSimd()) {
    throw new Error(
      'this runtime lacks WebAssembly SIMD (simd128), which the quire wasm core needs: ' +
        'use Node >= 16.4, Chrome >= 91, Firefox >= 89, Safari >= 16.4, or the native backend',
    );
  }
}

/**
 * `WebAssembly.validate` accepts this only where relaxed SIMD is supported (V8 ≥ 11.4:
 * Chrome/Edge 114+, Deno, workerd, Node 22+; Node 20 only with `--experimental-wasm-relaxed-simd`):
 * i32.const 0; i8x16.splat; i32.const 0; i8x16.splat; i8x16.relaxed_swizzle; drop.
 */
const RELAXED_PROBE = oneFunctionModule([0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x80, 0x02, 0x1a]);

/**
 * Whether the relaxed-SIMD module should be loaded here: the runtime validates relaxed SIMD,
 * and `QUIRE_WASM_RELAXED` is not `0` (which keeps the simd128 module, e.g. to compare them).
 */
export function useRelaxedSimd(): boolean {
  return envVar('QUIRE_WASM_RELAXED') !== '0' && typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
}
