// The quire web example: loads the wasm core with init(), shows what it loaded, runs a fixed
// computation and publishes the numbers as `window.quireResult` (test/web.test.ts compares them
// with the same computation in Node), or `window.quireError` when something fails.
import { init, gemm } from '../../dist/web/quire.js';

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

/**
 * MODEL INFERENCE — TO BE FILLED IN once the model API lands in `quire/web`: fetch a compressed
 * model file served next to this page (e.g. `new URL('./model.quire', import.meta.url)`), load it,
 * run it on a fixed prompt, and return `{ prompt, logits: number[], text }` (the logits of the
 * prompt's last token are what the browser test compares with Node). Until then it returns null.
 */
async function runModel() {
  return null;
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
      [`gemm ${product.spec.m}×${product.spec.k} · ${product.spec.k}×${product.spec.n}`]:
        `sum of C = ${sum.toFixed(6)}, ${product.ms.toFixed(2)} ms`,
    });
    document.getElementById('text').textContent = model ? model.text : 'No model yet: runModel() is not filled in.';
    status.textContent = 'Ready.';
    window.quireResult = { core, gemm: product, model };
  } catch (err) {
    status.textContent = `Failed: ${err.message}`;
    status.className = 'error';
    window.quireError = { name: err.name, code: err.code, message: err.message };
  }
}

main();
