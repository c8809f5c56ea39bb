#!/usr/bin/env bash
# Builds the WebAssembly core with SIMD (simd128) and its JS glue into build/wasm/.
#
# Two toolchain routes, detected in this order:
#  1. rustup with the wasm32-unknown-unknown target installed: a normal cargo build;
#  2. Debian's Rust (rustc-web, cargo-web, rust-web-src in /usr/bin) compiling std for
#     wasm32 from source with -Zbuild-std (rustup's wasm32 std cannot be downloaded here).
# Then wasm-bindgen (the CLI, pinned to the crate's exact version) writes the ESM glue
# (--target web: works in Node through initSync and in browsers/edge through init(url|bytes)),
# wasm-opt is not run: binaryen 108 (Debian) emits a module whose externref table Node rejects,
# and it does not change kernel speed (measured when the build was set up).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
TARGET=wasm32-unknown-unknown
# A target dir of its own: the wasm route may use another rustc than the host build, and
# sharing one dir would make each route rebuild the other's host artifacts every time.
export CARGO_TARGET_DIR="$ROOT/target/wasm"
WASM_OUT="$CARGO_TARGET_DIR/$TARGET/release/quire_wasm.wasm"

if have rustc && [ -d "$(rustc --print target-libdir --target $TARGET 2>/dev/null)" ]; then
  say "wasm: rustup route (wasm32 target installed)"
  cargo build --release -p quire-wasm --target $TARGET >&2
elif [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
  say "wasm: Debian Rust route (-Zbuild-std)"
  PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --release \
    -p quire-wasm --target $TARGET -Zbuild-std=std,panic_abort >&2
else
  die "no Rust toolchain can build wasm32 here. Either 'rustup target add $TARGET', or on Debian:
  apt-get install -y rustc-web cargo-web rust-web-src lld-22   (or run 'npm run setup' as root)"
fi

WB_VERSION="$(wasm_bindgen_version)"
have wasm-bindgen && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WB_VERSION" ] \
  || die "wasm-bindgen CLI $WB_VERSION is needed: cargo install wasm-bindgen-cli --version =$WB_VERSION"

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
