#!/usr/bin/env bash
# The core's kernel tests (GEMM, exp, int8 LUT, stream LUT, popcount, the bcq facade) compiled for
# wasm32 with simd128 and run in Node by wasm-bindgen-test-runner: there, `kernels::sets_to_test()`
# is scalar + simd128, so each simd128 kernel is checked against its scalar twin where it runs.
# Tests that use `wasm_bindgen_test as test` are the ones that run; the rest of the core's tests
# are host-only (`cargo test`).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
require_wasm_bindgen
have wasm-bindgen-test-runner || die "wasm-bindgen-test-runner is missing: cargo install wasm-bindgen-cli --version =$(wasm_bindgen_version)"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
wasm_cargo std,panic_abort,test test --release -p quire-core
