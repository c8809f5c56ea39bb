#!/usr/bin/env bash
# Builds the WebAssembly core and its JS glue into build/wasm/, as two modules of one binding:
#
#   quire_wasm_bg.wasm          simd128: every runtime with WebAssembly SIMD
#   quire_wasm_relaxed_bg.wasm  simd128 + relaxed SIMD: the int8-table kernel ~30 % faster on V8,
#                               bit-identical results; loaded where the runtime validates relaxed
#                               SIMD (Chrome/Edge 114+, Deno, workerd, Node 22+; not Node 20)
#
# The toolchain route (rustup's wasm32 target, or Debian's Rust with -Zbuild-std) is chosen by
# `wasm_cargo` (lib.sh). wasm-bindgen (the CLI, pinned to the crate's exact version) writes the
# glue: nodejs (CommonJS, loads its module synchronously: the Node backend; one folder per
# module) and web (ESM, init(url | bytes | Module): browsers, workers, edge runtimes; one glue
# for both modules, which export the same functions). Then wasm-opt -O3 from binaryen's npm
# package (Debian's binaryen 108 emitted a module whose externref table Node rejects; 132 does
# not) shrinks each module by about a fifth; engine speed is unchanged (docs/benchmarks.md).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
require_wasm_bindgen
wasm_cargo std,panic_abort build --release -p quire-binding
BASE="$ROOT/target/wasm/$WASM_TARGET/release/quire_binding.wasm"
WASM_TARGET_DIR="$ROOT/target/wasm-relaxed" RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
  wasm_cargo std,panic_abort build --release -p quire-binding
RELAXED="$ROOT/target/wasm-relaxed/$WASM_TARGET/release/quire_binding.wasm"

rm -rf build/wasm && mkdir -p build/wasm/staging
bindgen() { wasm-bindgen "$1" --out-dir "$2" --out-name quire_wasm --target "$3" >&2; }
bindgen "$BASE" build/wasm/node nodejs
bindgen "$BASE" build/wasm/web web
bindgen "$RELAXED" build/wasm/node-relaxed nodejs
bindgen "$RELAXED" build/wasm/staging web
cmp -s build/wasm/staging/quire_wasm.js build/wasm/web/quire_wasm.js \
  || die "the two wasm modules got different web glue: they must export the same functions"
mv build/wasm/staging/quire_wasm_bg.wasm build/wasm/web/quire_wasm_relaxed_bg.wasm
rm -rf build/wasm/staging

# The feature flags are the ones rustc's wasm32 target emits (plus simd128, and relaxed SIMD for
# the second module): wasm-opt must not assume more than a module uses.
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
optimize() { # module, extra feature flag...
  local module="$1" before
  shift
  before=$(stat -c %s "$module")
  "$WASM_OPT" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "$@" "$module" -o "$module" >&2
  say "wasm-opt -O3 $(basename "$module"): $before -> $(stat -c %s "$module") bytes"
}
if [ -x "$WASM_OPT" ]; then
  optimize build/wasm/web/quire_wasm_bg.wasm
  optimize build/wasm/web/quire_wasm_relaxed_bg.wasm --enable-relaxed-simd
else
  say "wasm-opt not found (npm package binaryen): modules left unoptimized; run 'npm install'"
fi
cp build/wasm/web/quire_wasm_bg.wasm build/wasm/node/quire_wasm_bg.wasm
cp build/wasm/web/quire_wasm_relaxed_bg.wasm build/wasm/node-relaxed/quire_wasm_bg.wasm
# The nodejs glue is CommonJS inside an ESM package: mark its folders as such.
for d in node node-relaxed; do echo '{"type": "commonjs"}' > build/wasm/$d/package.json; done
say "wasm modules: build/wasm/web/quire_wasm_bg.wasm ($(stat -c %s build/wasm/web/quire_wasm_bg.wasm) bytes)," \
  "quire_wasm_relaxed_bg.wasm ($(stat -c %s build/wasm/web/quire_wasm_relaxed_bg.wasm) bytes)"
