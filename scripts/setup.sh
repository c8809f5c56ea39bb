#!/usr/bin/env bash
# One command from a fresh clone to a fully built quire (idempotent; run it again any time):
#   system packages (Debian, as root: wasm32 Rust, chromium) -> wasm-bindgen CLI -> npm packages
#   -> native addon, wasm module, TypeScript, web bundle
#   -> data link (data/ptb -> ../shared/data/ptb when that exists).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

have node || die "Node.js >= 20.16 is required (https://nodejs.org)"
node -e 'process.exit(typeof process.getBuiltinModule === "function" ? 0 : 1)' \
  || die "Node.js >= 20.16 is required (found $(node --version)): quire loads Node built-ins with process.getBuiltinModule"
have cargo || die "Rust is required: install it with rustup (https://rustup.rs), then run 'npm run setup' again"

APT_UPDATED=
# Installs Debian packages (as root), running 'apt-get update' once per setup.
apt_install() {
  [ -n "$APT_UPDATED" ] || { apt-get update -qq >&2; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
is_root_debian() { [ "$(id -u)" = 0 ] && have apt-get; }

# --- wasm32 toolchain: rustup target, else Debian's Rust with std sources (-Zbuild-std) ---
wasm_target_ok() { [ -d "$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null)" ]; }
debian_rust_ok() { [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/src/rust/library ] && [ -x /usr/lib/llvm-22/bin/lld ]; }
if ! wasm_target_ok; then
  if ! debian_rust_ok; then
    if is_root_debian; then
      say "installing Debian's Rust for wasm32 (rustc-web cargo-web rust-web-src lld-22)"
      apt_install rustc-web cargo-web rust-web-src lld-22
    else
      rustup target add wasm32-unknown-unknown >&2 || die "cannot get a wasm32 toolchain. Run one of:
  rustup target add wasm32-unknown-unknown
  sudo apt-get install -y rustc-web cargo-web rust-web-src lld-22   (Debian)"
    fi
  fi
fi

# --- Chromium for the browser test (test/web.test.ts drives it with playwright-core, which
#     never downloads a browser of its own) ---
if [ ! -x /usr/bin/chromium ]; then
  if is_root_debian; then
    say "installing Debian's chromium (for the headless browser test)"
    apt_install chromium
  else
    say "warning: /usr/bin/chromium is missing, so the browser test will fail: sudo apt-get install -y chromium"
  fi
fi

# --- rustfmt and clippy (npm test runs both) ---
if ! { cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; }; then
  if have rustup; then
    say "installing rustfmt and clippy (rustup components)"
    rustup component add rustfmt clippy >&2
  else
    die "cargo fmt and cargo clippy are required by npm test: install the rustfmt and clippy components of your Rust toolchain"
  fi
fi

# --- wasm-bindgen CLI, pinned to the crate's exact version (compiled from the crate registry) ---
WB_VERSION="$(wasm_bindgen_version)"
if ! { have wasm-bindgen && have wasm-bindgen-test-runner && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WB_VERSION" ]; }; then
  say "installing wasm-bindgen-cli $WB_VERSION (compiles from source; a few minutes, once)"
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" >&2
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# --- npm packages ---
say "installing npm packages"
# onnxruntime-node (a dev dependency) would download GPU files at install; its CPU binaries ship in the package.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi

# --- build everything ---
bash scripts/build.sh

# --- data ---
if [ ! -e data/ptb ] && [ -d "$ROOT/../shared/data/ptb" ]; then
  mkdir -p data
  ln -s "$(cd "$ROOT/../shared/data/ptb" && pwd)" data/ptb
  say "linked data/ptb -> $(readlink data/ptb)"
fi
if [ -e data/ptb/ptb.train.txt ]; then
  say "PTB data: $(cd data/ptb && pwd -P)"
else
  say "no PTB data at data/ptb: pass --data DIR or set QUIRE_DATA (files ptb.train.txt, ptb.valid.txt, ptb.test.txt)"
fi
say "set-up complete: try 'node dist/ts/cli/main.js info' or 'npm test'"
