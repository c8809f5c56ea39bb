// Bun: greedy continuation with a compressed model.
//
//   bun generate.ts model.qcomp [tokens]
//
// In your own project: `import * as quire from 'quire/web'`.
import * as quire from '../../dist/web/quire.js';
import { greedy } from '../edge/greedy.js';

const [model, tokens = '8'] = Bun.argv.slice(2);
if (!model) {
  console.error('usage: bun generate.ts MODEL [TOKENS]');
  process.exit(2);
}
await quire.init(await Bun.file(new URL('../../dist/web/quire_wasm_bg.wasm', import.meta.url)).bytes());
console.log(JSON.stringify(greedy(quire, await Bun.file(model).bytes(), { tokens: Number(tokens) })));
