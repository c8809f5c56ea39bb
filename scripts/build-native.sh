#!/usr/bin/env bash
# Builds the native Node addon (napi-rs) into build/native/quire.node.
# Release build without -C target-cpu=native: AVX2/AVX-512 kernels are chosen at run time.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
have cargo || die "cargo not found: install Rust (https://rustup.rs) or run 'npm run setup'"
[ -x node_modules/.bin/napi ] || die "@napi-rs/cli is missing: run 'npm install' (or 'npm run setup')"
say "building native addon (release)"
mkdir -p build/native
node_modules/.bin/napi build --release --manifest-path crates/binding/Cargo.toml \
  --package-json-path crates/binding/package.json --output-dir build/native \
  --dts quire.d.ts --no-dts-header >&2
[ -f build/native/quire.node ] || die "napi build did not produce build/native/quire.node"
say "native addon: build/native/quire.node"
