// The quire keyboard: next-word suggestions and completions of the word being typed, updated on
// every keystroke from a compressed model running on the wasm core (quire/web's Predictor).
// Tapping a chip inserts the word. Publishes `window.quireKeyboard` ({ text, prefix, chips, ms })
// after every update (test/web.test.ts types a sentence and compares the chips with Node's
// Predictor), or `window.quireError` when something fails.
import { init, Predictor } from '../../dist/web/quire.js';

const K = 3;
/** The model shipped with the repository (examples/models/README.md says how it was made). */
const SHIPPED = '../models/ptb-small-2b.qcomp';
const status = document.querySelector('#status');
const chips = document.querySelector('#chips');
const input = document.querySelector('#text');
const latency = document.querySelector('#latency');

/** Replaces the last, unfinished word of `text` by `word` and a space. */
function insert(text, prefix, word) {
  return `${text.slice(0, text.length - prefix.length)}${word} `;
}

async function main() {
  await init();
  // A model copied next to the page wins; else the small PTB model shipped in examples/models/.
  let response = await fetch(new URL('./model.qcomp', import.meta.url));
  if (response.status === 404) response = await fetch(new URL(SHIPPED, import.meta.url));
  if (!response.ok) throw new Error(`model.qcomp: HTTP ${response.status} (copy a model from 'quire compress' next to this page)`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const predictor = Predictor.fromBytes(bytes);
  const session = predictor.session();
  const times = [];
  const update = () => {
    const t0 = performance.now();
    session.feed(input.value);
    const list = session.prefix ? session.complete(session.prefix, K) : session.next(K);
    const ms = performance.now() - t0;
    times.push(ms);
    chips.replaceChildren(
      ...list.map((s) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = s.word;
        const p = document.createElement('span');
        p.className = 'p';
        p.textContent = `${(100 * s.probability).toFixed(1)}%`;
        b.append(p);
        b.addEventListener('click', () => {
          input.value = insert(input.value, session.prefix, s.word);
          input.focus();
          update();
        });
        return b;
      }),
    );
    const sorted = [...times].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))];
    latency.textContent = `this keystroke ${ms.toFixed(2)} ms · p99 over ${times.length} keystrokes ${p99.toFixed(2)} ms`;
    window.quireKeyboard = { text: input.value, prefix: session.prefix, chips: list.map((s) => s.word), ms, p99 };
  };
  input.addEventListener('input', update);
  input.disabled = false;
  status.textContent =
    `${bytes.length.toLocaleString('en')}-byte model, ${predictor.text.vocabulary.size.toLocaleString('en')} ` + `words: type below.`;
  update();
}

main().catch((err) => {
  status.textContent = `Error: ${err.message}`;
  status.className = 'error';
  window.quireError = String(err.message ?? err);
});
