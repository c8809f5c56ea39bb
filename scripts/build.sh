#!/usr/bin/env bash
# Builds everything: native addon, wasm module, TypeScript, and the `quire/web` browser bundle.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash scripts/build-native.sh
bash scripts/build-wasm.sh
say "compiling TypeScript"
node_modules/.bin/tsc -p tsconfig.json
bash scripts/build-web.sh
