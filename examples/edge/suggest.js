// The portable part of the suggestion servers (examples/cloudflare/suggest-worker.js,
// examples/deno/suggest-server.ts): a stateless POST /suggest. The server keeps the loaded model
// and nothing per user; the client keeps the state the last answer gave it.
//
//   request  {"text": "...", "state"?: "<base64>", "k"?: 3}
//   answer   {"next": [{word, probability}], "completions": [...], "prefix": "...",
//             "state": "<base64>", "consumed": N}
//
// Without `state`, `text` is the text typed so far. With it, `text` continues from that state:
// send the text after the first `consumed` characters of the text you sent last time (the
// answer's state holds every complete word; the unfinished last word is not in it).

/** Standard base64 of bytes: the runtime's own (workerd, Deno, Chrome 140+), else btoa (every runtime these examples target). */
const toBase64 = Uint8Array.prototype.toBase64
  ? (bytes) => bytes.toBase64()
  : (bytes) => {
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      return btoa(s);
    };

/** Bytes of standard base64 (throws on anything else). */
const fromBase64 = Uint8Array.fromBase64
  ? (text) => Uint8Array.fromBase64(text)
  : (text) => {
      const s = atob(text);
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
      return out;
    };

/**
 * A suggestion service over one model: `answer(body)` takes the parsed request body and returns
 * the answer object, or throws an error with `status` 400 for a bad request.
 * @param {typeof import('../../dist/web/quire.js')} quire  the `quire/web` module, after `await quire.init(...)`
 * @param {Uint8Array} modelBytes  a `model.qcomp` (or FP model) file
 */
export function suggester(quire, modelBytes) {
  const predictor = quire.Predictor.fromBytes(modelBytes);
  const bad = (message) => Object.assign(new Error(message), { status: 400 });
  return {
    predictor,
    answer(body) {
      if (body === null || typeof body !== 'object' || typeof body.text !== 'string')
        throw bad('the body must be JSON {"text": string, "state"?: string, "k"?: number}');
      const k = body.k ?? 3;
      if (!Number.isSafeInteger(k) || k < 1 || k > 50) throw bad('k must be an integer from 1 to 50');
      if (body.text.length > 100_000) throw bad('text longer than 100,000 characters');
      const session = predictor.session();
      if (body.state !== undefined) {
        if (typeof body.state !== 'string') throw bad('state must be the base64 string of an earlier answer');
        try {
          session.restore(fromBase64(body.state));
        } catch (err) {
          throw bad(`state: ${err.message}`);
        }
      }
      session.feed(body.text);
      const strip = (list) => list.map(({ word, probability }) => ({ word, probability }));
      return {
        next: session.prefix ? [] : strip(session.next(k)),
        completions: session.prefix ? strip(session.complete(session.prefix, k)) : [],
        prefix: session.prefix,
        state: toBase64(session.state()),
        consumed: body.text.length - session.prefix.length,
      };
    },
  };
}
