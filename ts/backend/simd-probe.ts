import { envVar } from './node-builtins.js';

/**
 * A 29-byte module whose only function uses a v128 instruction (i8x16.splat + drop).
 * `WebAssembly.validate` accepts it only where WebAssembly SIMD is supported.
 */
const SIMD_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x04,
  0x01,
  0x60,
  0x00,
  0x00, // type section: () -> ()
  0x03,
  0x02,
  0x01,
  0x00, // function section
  0x0a,
  0x09,
  0x01,
  0x07,
  0x00,
  0x41,
  0x00,
  0xfd,
  0x0f,
  0x1a,
  0x0b, // code: i32.const 0; i8x16.splat; drop; end
]);

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
 * A 36-byte module whose only function uses `i8x16.relaxed_swizzle`: `WebAssembly.validate`
 * accepts it only where relaxed SIMD is supported (V8 ≥ 11.4: Chrome/Edge 114+, Deno,
 * workerd, Node 22+; Node 20 only with `--experimental-wasm-relaxed-simd`).
 */
// biome-ignore format: one line per section
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
  0x03, 0x02, 0x01, 0x00, // function section
  // code: i32.const 0; i8x16.splat; i32.const 0; i8x16.splat; i8x16.relaxed_swizzle; drop; end
  0x0a, 0x10, 0x01, 0x0e, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x80, 0x02, 0x1a, 0x0b,
]);

/**
 * Whether the relaxed-SIMD module should be loaded here: the runtime validates relaxed SIMD,
 * and `QUIRE_WASM_RELAXED` is not `0` (which keeps the simd128 module, e.g. to compare them).
 */
export function useRelaxedSimd(): boolean {
  return envVar('QUIRE_WASM_RELAXED') !== '0' && typeof WebAssembly === 'object' && WebAssembly.validate(RELAXED_PROBE);
}
