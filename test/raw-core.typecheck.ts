/**
 * Compile-time check (run by `npm test` through tsconfig.typecheck.json): the typings the two
 * bindings generate (napi-rs' `build/native/quire.d.ts`, wasm-bindgen's
 * `build/wasm/node/quire_wasm.d.ts`) satisfy the `RawCore` surface the facade is written
 * against, so a binding that drifts from it fails the test run instead of a user's call.
 */
import type * as Native from '../build/native/quire.js';
import type * as Wasm from '../build/wasm/node/quire_wasm.js';
import type { RawCore } from '../ts/backend/types.js';

declare const native: typeof Native;
declare const wasm: typeof Wasm;
export const bindings: RawCore[] = [native, wasm];
