#!/usr/bin/env bash
# Packs quire as users install it, into pack/ (napi-rs convention):
#   quire-<version>.tgz               the library, CLI, wasm core and web bundle (no native code),
#                                     with the platform packages as optional dependencies;
#   quire-linux-x64-gnu-<version>.tgz the native addon for this platform (npm/linux-x64-gnu/).
# Needs a full build (npm run build). The packages carry no install script.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
for f in dist/ts/index.js dist/web/quire.js build/wasm/node/quire_wasm.js build/native/quire.node; do
  [ -f "$f" ] || die "$f is missing: run 'npm run build' first"
done
OUT="$ROOT/pack"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
rm -rf "$OUT" && mkdir -p "$OUT"

# The platform package: the addon under the napi-rs file name.
mkdir -p "$STAGE/native"
cp npm/linux-x64-gnu/package.json "$STAGE/native/"
cp build/native/quire.node "$STAGE/native/quire.linux-x64-gnu.node"
(cd "$STAGE/native" && npm pack --silent --pack-destination "$OUT" >/dev/null)

# The main package: package.json as published (optional platform packages, files list).
mkdir -p "$STAGE/main/build"
cp -r dist README.md "$STAGE/main/"
cp -r build/wasm "$STAGE/main/build/"
node -e '
  const fs = require("fs");
  const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const native = JSON.parse(fs.readFileSync("npm/linux-x64-gnu/package.json", "utf8"));
  p.files = ["dist", "build/wasm", "README.md"];
  p.optionalDependencies = { [native.name]: native.version };
  delete p.devDependencies;
  p.scripts = {};
  fs.writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n");
' "$STAGE/main/package.json"
(cd "$STAGE/main" && npm pack --silent --pack-destination "$OUT" >/dev/null)
say "packed: $(cd "$OUT" && ls *.tgz | tr '\n' ' ')"
