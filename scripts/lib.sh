# Shared helpers for quire's build scripts (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\033[1mquire:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mquire: error:\033[0m %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# The exact wasm-bindgen version the wasm crate pins (its CLI must match it).
wasm_bindgen_version() { sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$ROOT/crates/wasm/Cargo.toml"; }
