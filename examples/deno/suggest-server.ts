// Deno: the stateless suggestion server (POST /suggest; see ../edge/suggest.js) on 127.0.0.1.
//
//   deno run --allow-read=model.qcomp,../../dist/web --allow-net=127.0.0.1 suggest-server.ts model.qcomp [port]
//
// In your own project import from the `quire` package instead: `npm:quire/web`.
import * as quire from '../../dist/web/quire.js';
import { suggester } from '../edge/suggest.js';

const [model, port = '8789'] = Deno.args;
if (!model) {
  console.error('usage: deno run --allow-read --allow-net=127.0.0.1 suggest-server.ts MODEL [PORT]');
  Deno.exit(2);
}
await quire.init(await Deno.readFile(new URL('../../dist/web/quire_wasm_bg.wasm', import.meta.url)));
const service = suggester(quire, await Deno.readFile(model));

Deno.serve(
  { hostname: '127.0.0.1', port: Number(port), onListen: ({ port }) => console.log(`listening on 127.0.0.1:${port}`) },
  async (request) => {
    if (request.method !== 'POST' || new URL(request.url).pathname !== '/suggest') {
      return Response.json({ error: { message: 'POST /suggest {"text": ...}' } }, { status: 404 });
    }
    try {
      return Response.json(service.answer(await request.json()));
    } catch (err) {
      const e = err as { status?: number; code?: string; message: string };
      return Response.json({ error: { code: e.code, message: e.message } }, { status: e.status ?? 500 });
    }
  },
);
