// A Cloudflare Worker (module syntax) serving next-word suggestions, stateless: POST /suggest
// (see ../edge/suggest.js for the request and answer). The wasm core and the model are imported
// as modules and loaded once per isolate; the `x-quire-cold-ms` header of every answer says how
// long that load (wasm instantiation + model) took in this isolate.
//
// Layout (copy next to this file): quire.js and quire_wasm_bg.wasm from dist/web/, suggest.js
// from ../edge/, and your model.qcomp. Run it with workerd (suggest.capnp).
import model from './model.qcomp';
import * as quire from './quire.js';
import wasm from './quire_wasm_bg.wasm';
import { suggester } from './suggest.js';

let service;
let coldMs = 0;

export default {
  async fetch(request) {
    try {
      if (!service) {
        const t0 = performance.now();
        await quire.init(wasm);
        service = suggester(quire, new Uint8Array(model));
        coldMs = performance.now() - t0;
      }
      if (request.method !== 'POST' || new URL(request.url).pathname !== '/suggest') {
        return Response.json({ error: { message: 'POST /suggest {"text": ...}' } }, { status: 404 });
      }
      let body;
      try {
        body = await request.json();
      } catch {
        return Response.json({ error: { message: 'the body is not JSON' } }, { status: 400 });
      }
      return Response.json(service.answer(body), { headers: { 'x-quire-cold-ms': coldMs.toFixed(2) } });
    } catch (err) {
      return Response.json({ error: { code: err.code, message: err.message } }, { status: err.status ?? 500 });
    }
  },
};
