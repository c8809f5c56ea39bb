// Deno: greedy continuation with a compressed model. Needs read access to the model and the
// wasm file only (no --allow-env, no network):
//
//   deno run --allow-read=model.qcomp,../../dist/web generate.ts model.qcomp [tokens]
//
// In your own project import from the `quire` package instead: `npm:quire/web`.
import * as quire from '../../dist/web/quire.js';
import { greedy } from '../edge/greedy.js';

const [model, tokens = '8'] = Deno.args;
if (!model) {
  console.error('usage: deno run --allow-read generate.ts MODEL [TOKENS]');
  Deno.exit(2);
}
await quire.init(await Deno.readFile(new URL('../../dist/web/quire_wasm_bg.wasm', import.meta.url)));
console.log(JSON.stringify(greedy(quire, await Deno.readFile(model), { tokens: Number(tokens) })));
