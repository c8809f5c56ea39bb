// The quire web example: loads the wasm core with init(), shows what it loaded, runs a fixed
// computation and publishes the numbers as `window.quireResult` (test/web.test.ts compares them
// with the same computation in Node), or `window.quireError` when something fails.
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
    const vocabulary = new Vocabulary(JSON.parse(engine.metadata.vocabulary));
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

async function main() {
  const status = document.getElementById('status');
  try {
    const core = await init();
    const product = runGemm();
    const model = await runModel();
    const sum = product.c.reduce((acc, x) => acc + x, 0);
    show({
      backend: core.backend,
      kernels: core.kernels,
      threads: core.threads,
      [`gemm ${product.spec.m}×${product.spec.k} · ${product.spec.k}×${product.spec.n}`]: `sum of C = ${sum.toFixed(6)}, ${product.ms.toFixed(2)} ms`,
      model: model ? `model.qcomp, ${model.bytes} bytes, prompt + 30 words in ${model.ms.toFixed(1)} ms` : 'none served',
    });
    document.getElementById('text').textContent = model ? model.text : 'No model: copy a compressed model (quire compress) to examples/web/model.qcomp.';
    status.textContent = 'Ready.';
    window.quireResult = { core, gemm: product, model };
  } catch (err) {
    status.textContent = `Failed: ${err.message}`;
    status.className = 'error';
    window.quireError = { name: err.name, code: err.code, message: err.message };
  }
}

main();
