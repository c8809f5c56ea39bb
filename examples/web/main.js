// The quire playground: loads the wasm core with init(), then the compressed model (and the FP
// model, when served) next to the page, and generates text from a prompt with the settings of
// the form, word by word, showing size and speed of each model side by side. At start it also
// runs a fixed computation and publishes the numbers as `window.quireResult` (test/web.test.ts
// compares them with the same computation in Node), or `window.quireError` when something fails.
import { init, gemm, generateWords, InferenceEngine, Vocabulary, EOS } from '../../dist/web/quire.js';

/** The fixed computation: C = A·B for seeded A (m×k) and B (k×n). */
const GEMM = { m: 24, n: 40, k: 72, seed: 20240611 };

/** `n` seeded values in [-1, 1) (mulberry32), so every run and every browser sees the same input. */
function seededArray(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function runGemm() {
  const { m, n, k, seed } = GEMM;
  const a = seededArray(m * k, seed);
  const b = seededArray(k * n, seed + 1);
  const start = performance.now();
  const c = gemm({ m, n, k }, a, b);
  return { spec: { m, n, k }, a: Array.from(a), b: Array.from(b), c: Array.from(c), ms: performance.now() - start };
}

/** The fixed prompt the model continues (its last token's logits are what the test compares). */
const PROMPT = 'the meaning of';

/**
 * Fetches the compressed model served next to this page (`model.qcomp`, e.g. copied from a
 * `quire compress` run), runs the prompt through the bit-packed kernels and generates 30 words
 * (top-10 sampling, seed 1). Returns `{ prompt, logits, text, bytes, ms }`, or null when no
 * model is served (404).
 */
async function runModel() {
  const response = await fetch(new URL('./model.qcomp', import.meta.url));
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`model.qcomp: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const start = performance.now();
  const engine = InferenceEngine.fromBytes(bytes);
  try {
    const vocabulary = Vocabulary.fromMetadata(engine.metadata, engine.config.vocab);
    engine.resetState(1);
    let logits;
    for (const id of vocabulary.encode([EOS, ...PROMPT.split(' ')])) logits = engine.step([id]);
    const words = [...generateWords(engine, vocabulary, { prompt: PROMPT, tokens: 30, topK: 10, seed: 1 })];
    const text = [PROMPT, ...words].join(' ').replaceAll(` ${EOS}`, '\n');
    return { prompt: PROMPT, logits: Array.from(logits), text, bytes: bytes.length, ms: performance.now() - start };
  } finally {
    engine.dispose();
  }
}

function show(facts) {
  const list = document.getElementById('facts');
  for (const [name, value] of Object.entries(facts)) {
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = name;
    dd.textContent = value;
    list.append(dt, dd);
  }
}

/** The models served next to the page: `{ name, file, bytes, engine, vocabulary }` for each found. */
async function loadModels() {
  const models = [];
  for (const [name, file] of [
    ['compressed', 'model.qcomp'],
    ['full precision', 'model.qmodel'],
  ]) {
    const response = await fetch(new URL(`./${file}`, import.meta.url));
    if (response.status === 404) continue;
    if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const engine = InferenceEngine.fromBytes(bytes);
    const vocabulary = Vocabulary.fromMetadata(engine.metadata, engine.config.vocab);
    models.push({ name, file, bytes: bytes.length, engine, vocabulary });
  }
  return models;
}

/** One column per model: its name, size, bits and the streamed output. */
function columns(models) {
  const root = document.getElementById('models');
  root.replaceChildren();
  const cols = models.map((m) => {
    const box = document.createElement('section');
    box.className = 'model';
    box.id = `model-${m.file.replace('.', '-')}`;
    const bits = Object.values(m.engine.bits);
    const quantized = [...new Set(bits.filter((b) => b < 32))].sort((x, y) => x - y);
    box.innerHTML = `<h3></h3><div class="meta size"></div><div class="meta speed">—</div><div class="out"></div>`;
    box.querySelector('h3').textContent = `${m.name} (${m.file})`;
    box.querySelector('.size').textContent =
      `${(m.bytes / 1e6).toFixed(2)} MB file, ${quantized.length ? `${quantized.join('/')}-bit matrices` : 'all FP32'}, ` +
      `${(m.engine.weightBytes / 1e6).toFixed(2)} MB of weights in memory`;
    return { model: m, out: box.querySelector('.out'), speed: box.querySelector('.speed'), box };
  });
  for (const c of cols) root.append(c.box);
  return cols;
}

const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Generates with every model, one word at a time per model, so the columns stream side by side. */
async function generateAll(cols) {
  const settings = {
    prompt: document.getElementById('prompt').value.trim(),
    tokens: Number(document.getElementById('tokens').value),
    seed: Number(document.getElementById('seed').value),
    temperature: document.getElementById('mode').value === 'greedy' ? 0 : Number(document.getElementById('temperature').value),
    topK: Number(document.getElementById('topk').value),
  };
  const runs = cols.map((c) => {
    c.out.replaceChildren();
    const prompt = document.createElement('span');
    prompt.className = 'prompt';
    prompt.textContent = settings.prompt;
    c.out.append(prompt);
    const unknown = [];
    const words = generateWords(c.model.engine, c.model.vocabulary, { ...settings, onUnknown: (w) => unknown.push(w) });
    if (unknown.length) c.speed.textContent = `unknown words read as <unk>: ${unknown.join(', ')}`;
    return { c, words, count: 0, ms: 0, done: false, lineStart: false };
  });
  while (runs.some((r) => !r.done)) {
    for (const r of runs.filter((x) => !x.done)) {
      const start = performance.now();
      const next = r.words.next();
      r.ms += performance.now() - start;
      if (next.done) {
        r.done = true;
        r.c.box.dataset.done = 'true';
        continue;
      }
      r.count++;
      // <eos> ends a sentence: a line break, and the next word starts the line.
      r.c.out.append(next.value === EOS ? '\n' : r.lineStart ? next.value : ` ${next.value}`);
      r.lineStart = next.value === EOS;
      r.c.speed.textContent = `${r.count} words, ${((1000 * r.count) / r.ms).toFixed(0)} words/s (wasm, 1 thread)`;
    }
    await nextFrame();
  }
}

async function main() {
  const status = document.getElementById('status');
  try {
    const core = await init();
    const product = runGemm();
    const model = await runModel();
    const sum = product.c.reduce((acc, x) => acc + x, 0);
    show({
      backend: core.backend,
      kernels: core.relaxedSimd ? `${core.kernels} (relaxed SIMD)` : core.kernels,
      threads: core.threads,
      [`gemm ${product.spec.m}×${product.spec.k} · ${product.spec.k}×${product.spec.n}`]:
        `sum of C = ${sum.toFixed(6)}, ` + `${product.ms.toFixed(2)} ms`,
      model: model ? `model.qcomp, ${model.bytes} bytes, prompt + 30 words in ${model.ms.toFixed(1)} ms` : 'none served',
    });
    document.getElementById('text').textContent = model
      ? model.text
      : 'No model: copy a compressed model (quire compress) to examples/web/model.qcomp.';
    window.quireResult = { core, gemm: product, model };

    const models = await loadModels();
    if (models.length === 0) {
      status.textContent =
        'Ready, but no model is served: copy a compressed model to examples/web/model.qcomp (and its FP model to model.qmodel).';
      return;
    }
    const cols = columns(models);
    const button = document.getElementById('generate');
    document.getElementById('settings').addEventListener('submit', async (event) => {
      event.preventDefault();
      button.disabled = true;
      status.textContent = 'Generating…';
      try {
        await generateAll(cols);
        status.textContent = 'Done.';
      } catch (err) {
        status.textContent = `Failed: ${err.message}`;
        status.className = 'error';
      } finally {
        button.disabled = false;
      }
    });
    button.disabled = false;
    status.textContent = `Ready: ${models.map((m) => m.file).join(' and ')} loaded.`;
  } catch (err) {
    status.textContent = `Failed: ${err.message}`;
    status.className = 'error';
    window.quireError = { name: err.name, code: err.code, message: err.message };
  }
}

main();
