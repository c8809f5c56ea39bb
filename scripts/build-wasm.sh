#!/usr/bin/env bash
# Builds the WebAssembly core with SIMD (simd128) and its JS glue into build/wasm/.
#
# The toolchain route (rustup's wasm32 target, or Debian's Rust with -Zbuild-std) is chosen by
# `wasm_cargo` (lib.sh). Then wasm-bindgen (the CLI, pinned to the crate's exact version) writes the ESM glue
# (--target web: works in Node through initSync and in browsers/edge through init(url|bytes)),
# then wasm-opt -O3 from binaryen's npm package (Debian's binaryen 108 emitted a module whose
# externref table Node rejects; 132 does not) shrinks the module by about a fifth; engine speed is
# unchanged (measured side by side on the medium models, docs/benchmarks.md).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
wasm_cargo std,panic_abort build --release -p quire-binding
WASM_OUT="$CARGO_TARGET_DIR/$WASM_TARGET/release/quire_binding.wasm"
require_wasm_bindgen

rm -rf build/wasm && mkdir -p build/wasm
# Two glues over the same module: nodejs (CommonJS, loads synchronously: the Node backend)
# and web (ESM, init(url | bytes | Module): browsers, workers, edge runtimes; `quire/web`).
for flavour in node web; do
  target=$([ $flavour = node ] && echo nodejs || echo web)
  wasm-bindgen "$WASM_OUT" --out-dir build/wasm/$flavour --out-name quire_wasm --target $target >&2
done
# The module is the same for both glues: optimize it once. The feature flags are the ones
# rustc's wasm32 target emits (plus simd128); wasm-opt must not assume more than the module uses.
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ]; then
  before=$(stat -c %s build/wasm/web/quire_wasm_bg.wasm)
  "$WASM_OPT" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    build/wasm/web/quire_wasm_bg.wasm -o build/wasm/web/quire_wasm_bg.wasm >&2
  cp build/wasm/web/quire_wasm_bg.wasm build/wasm/node/quire_wasm_bg.wasm
  say "wasm-opt -O3: $before -> $(stat -c %s build/wasm/web/quire_wasm_bg.wasm) bytes"
else
  say "wasm-opt not found (npm package binaryen): module left unoptimized; run 'npm install'"
fi
# The nodejs glue is CommonJS inside an ESM package: mark its folder as such.
echo '{"type": "commonjs"}' > build/wasm/node/package.json
say "wasm module: build/wasm/web/quire_wasm_bg.wasm ($(stat -c %s build/wasm/web/quire_wasm_bg.wasm) bytes)"
