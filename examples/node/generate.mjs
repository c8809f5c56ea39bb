// Node without the native addon: the `quire/web` bundle runs on the wasm core in plain Node
// (no Rust, no compiled addon, no Node built-in used by the library itself).
//
//   node generate.mjs model.qcomp [tokens]
//
// In your own project: `import * as quire from 'quire/web'`.
import { readFileSync } from 'node:fs';
import * as quire from '../../dist/web/quire.js';
import { greedy } from '../edge/greedy.js';

const [model, tokens = '8'] = process.argv.slice(2);
if (!model) {
  console.error('usage: node generate.mjs MODEL [TOKENS]');
  process.exit(2);
}
await quire.init(readFileSync(new URL('../../dist/web/quire_wasm_bg.wasm', import.meta.url)));
console.log(JSON.stringify(greedy(quire, readFileSync(model), { tokens: Number(tokens) })));
