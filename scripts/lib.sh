# Shared helpers for quire's build scripts (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\033[1mquire:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mquire: error:\033[0m %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# The exact wasm-bindgen version the wasm crate pins (its CLI must match it).
wasm_bindgen_version() { sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$ROOT/crates/binding/Cargo.toml"; }

# `wasm_cargo CRATES-TO-BUILD-STD ARGS...`: runs `cargo ARGS --target wasm32-unknown-unknown`
# on the first toolchain route that can (in its own target dir, target/wasm):
#  1. rustup with the wasm32-unknown-unknown target installed: a normal cargo call;
#  2. Debian's Rust (rustc-web, cargo-web, rust-web-src in /usr/bin) compiling the std crates
#     listed in CRATES-TO-BUILD-STD (e.g. std,panic_abort) for wasm32 from source (-Zbuild-std);
#     rustup's wasm32 std cannot be downloaded here.
WASM_TARGET=wasm32-unknown-unknown
wasm_cargo() {
  local build_std="$1"; shift
  # A target dir of its own: the wasm route may use another rustc than the host build, and
  # sharing one dir would make each route rebuild the other's host artifacts every time.
  # WASM_TARGET_DIR overrides it for a second flavour of the module (other RUSTFLAGS).
  export CARGO_TARGET_DIR="${WASM_TARGET_DIR:-$ROOT/target/wasm}"
  if have rustc && [ -d "$(rustc --print target-libdir --target $WASM_TARGET 2>/dev/null)" ]; then
    say "wasm: rustup route (wasm32 target installed)"
    cargo "$@" --target $WASM_TARGET >&2
  elif [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
    say "wasm: Debian Rust route (-Zbuild-std=$build_std)"
    PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo "$@" --target $WASM_TARGET -Zbuild-std="$build_std" >&2
  else
    die "no Rust toolchain can build wasm32 here. Either 'rustup target add $WASM_TARGET', or on Debian:
  apt-get install -y rustc-web cargo-web rust-web-src lld-22   (or run 'npm run setup' as root)"
  fi
}

# Fails unless the wasm-bindgen CLI (and its test runner) match the crate's pinned version.
require_wasm_bindgen() {
  local version
  version="$(wasm_bindgen_version)"
  have wasm-bindgen && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$version" ] \
    || die "wasm-bindgen CLI $version is needed: cargo install wasm-bindgen-cli --version =$version"
}
