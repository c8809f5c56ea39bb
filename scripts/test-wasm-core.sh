#!/usr/bin/env bash
# The core's kernel tests (GEMM, exp, int8 LUT, stream LUT, popcount, the bcq facade) compiled for
# wasm32 with simd128 and run in Node by wasm-bindgen-test-runner: there, `kernels::sets_to_test()`
# is scalar + simd128, so each simd128 kernel is checked against its scalar twin where it runs.
# Tests that use `wasm_bindgen_test as test` are the ones that run; the rest of the core's tests
# are host-only (`cargo test`). Then the same tests on the relaxed-SIMD build (the second wasm
# module), where this Node can run it: natively (Node 22+) or behind a V8 flag (Node 20).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
require_wasm_bindgen
have wasm-bindgen-test-runner || die "wasm-bindgen-test-runner is missing: cargo install wasm-bindgen-cli --version =$(wasm_bindgen_version)"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
wasm_cargo std,panic_abort,test test --release -p quire-core

RELAXED_FLAG=--experimental-wasm-relaxed-simd
probe="import('./dist/ts/backend/simd-probe.js').then((m) => process.exit(m.useRelaxedSimd() ? 0 : 1))"
[ -f dist/ts/backend/simd-probe.js ] || die "dist/ is not built: run 'npm run build:ts' (or 'npm run setup')"
if QUIRE_WASM_RELAXED=1 node -e "$probe"; then
  node_args=""
elif QUIRE_WASM_RELAXED=1 node "$RELAXED_FLAG" -e "$probe" 2>/dev/null; then
  node_args="$RELAXED_FLAG"
else
  say "this Node cannot run relaxed SIMD: the relaxed-SIMD build's kernel tests are skipped"
  exit 0
fi
say "the same kernel tests on the relaxed-SIMD build${node_args:+ (node $node_args)}"
NODE_ARGS="$node_args" WASM_TARGET_DIR="$ROOT/target/wasm-relaxed" RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  wasm_cargo std,panic_abort,test test --release -p quire-core
