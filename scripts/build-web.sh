#!/usr/bin/env bash
# Builds `quire/web`: ts/web.ts bundled by esbuild as one browser ESM file, dist/web/quire.js,
# with the wasm modules copied next to it (dist/web/quire_wasm_bg.wasm and its relaxed-SIMD twin
# quire_wasm_relaxed_bg.wasm, where init() looks by default). `--platform=browser` makes the
# build fail on any Node built-in import, which is how the facade is kept free of them. Needs the wasm glue (scripts/build-wasm.sh) built first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
WASM=build/wasm/web/quire_wasm_bg.wasm
[ -f "$WASM" ] || die "$WASM is missing: run 'npm run build:wasm' first"
[ -x node_modules/.bin/esbuild ] || die "esbuild is missing: run 'npm install' (or 'npm run setup')"
rm -rf dist/web && mkdir -p dist/web
node_modules/.bin/esbuild ts/web.ts --bundle --format=esm --platform=browser --target=es2022 \
  --minify --sourcemap --legal-comments=none --log-level=warning --outfile=dist/web/quire.js >&2
cp "$WASM" dist/web/quire_wasm_bg.wasm
cp build/wasm/web/quire_wasm_relaxed_bg.wasm dist/web/quire_wasm_relaxed_bg.wasm
size() { printf '%s bytes, %s gzipped' "$(stat -c %s "$1")" "$(gzip -9c "$1" | wc -c)"; }
say "web bundle: dist/web/quire.js ($(size dist/web/quire.js))"
say "wasm module: dist/web/quire_wasm_bg.wasm ($(size dist/web/quire_wasm_bg.wasm)); relaxed-SIMD twin quire_wasm_relaxed_bg.wasm"
