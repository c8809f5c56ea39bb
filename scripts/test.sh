#!/usr/bin/env bash
# The test command (npm test): format and lint checks (rustfmt, clippy -D warnings, Biome), the
# bindings' generated typings checked against RawCore (tsc), the
# Rust unit tests of the core and bindings (host), the core's kernel tests on wasm32, then the vitest suite, which runs every
# behavioural test against BOTH backends (native and wasm) and fails if either cannot be loaded.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
say "format and lint: rustfmt, clippy, biome"
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets --quiet -- -D warnings 2>&1
node_modules/.bin/biome check .
say "typecheck: the bindings' generated typings against RawCore"
node_modules/.bin/tsc -p tsconfig.typecheck.json
say "cargo test (host)"
cargo test --release 2>&1
say "cargo test (wasm32 + simd128 in Node: the core's kernel tests)"
bash scripts/test-wasm-core.sh
say "vitest (native + wasm)"
node_modules/.bin/vitest run
