// A Cloudflare Worker (module syntax) that serves greedy continuations of a compressed model.
// The wasm core and the model are imported as modules: no fetch, no file system.
//
// Layout (copy next to this file): quire.js and quire_wasm_bg.wasm from dist/web/ (or import
// 'quire/web' through your bundler), greedy.js from ../edge/, and your model.qcomp. Run it with
// workerd (config.capnp) or wrangler (wrangler.toml). GET /?tokens=N answers
// {"words": [...], "logits": [...]}.
import { greedy } from './greedy.js';
import model from './model.qcomp';
import * as quire from './quire.js';
import wasm from './quire_wasm_bg.wasm';

export default {
  async fetch(request) {
    try {
      await quire.init(wasm);
      const tokens = Number(new URL(request.url).searchParams.get('tokens') ?? 8);
      return Response.json(greedy(quire, new Uint8Array(model), { tokens }));
    } catch (err) {
      return Response.json({ error: { code: err.code, message: err.message } }, { status: 500 });
    }
  },
};
