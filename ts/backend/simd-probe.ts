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
