#!/usr/bin/env bash
# Builds the WebAssembly core with SIMD (simd128) and its JS glue into build/wasm/.
#
# The toolchain route (rustup's wasm32 target, or Debian's Rust with -Zbuild-std) is chosen by
# `wasm_cargo` (lib.sh). Then wasm-bindgen (the CLI, pinned to the crate's exact version) writes the ESM glue
# (--target web: works in Node through initSync and in browsers/edge through init(url|bytes)),
# wasm-opt is not run: binaryen 108 (Debian) emits a module whose externref table Node rejects,
# and it does not change kernel speed (measured when the build was set up).
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
# The nodejs glue is CommonJS inside an ESM package: mark its folder as such.
echo '{"type": "commonjs"}' > build/wasm/node/package.json
say "wasm module: build/wasm/web/quire_wasm_bg.wasm ($(stat -c %s build/wasm/web/quire_wasm_bg.wasm) bytes)"
