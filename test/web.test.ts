import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EOS, gemm, InferenceEngine, Predictor } from '../ts/index.js';
import { exampleFpModel, exampleModel, nodeWasmReference } from './edge-model.js';
import { serve } from '../scripts/serve-examples.mjs';
import { maxRelDiff } from './backends.js';
import { launchChromium } from './chromium.js';

/** The bits of an f32 array: equal bits means bit-for-bit equal results (and tells -0 from 0). */
function bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

let browser: Browser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  // The bundle is rebuilt from the current sources once per run (test/global-setup.ts).
  browser = await launchChromium();
  server = await serve(0);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Exercises init() failures, then success, a second init() and calls after errors. */
const INIT_PROBE_PAGE = `<!doctype html><link rel="icon" href="data:,"><script type="module">
import * as q from '/dist/web/quire.js';
const failure = async (fn) => {
  try { await fn(); return undefined; }
  catch (e) { return { quire: e instanceof q.QuireError, code: e.code, message: e.message }; }
};
const missing = await failure(() => q.init('/no/such/module.wasm'));
const garbage = await failure(() => q.init(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff])));
const early = await failure(() => q.gemm({ m: 1, n: 1, k: 1 }, new Float32Array([2]), new Float32Array([3])));
const first = await q.init();
const second = await q.init(new Uint8Array([1, 2, 3]));
const product = Array.from(q.gemm({ m: 1, n: 1, k: 2 }, new Float32Array([2, 1]), new Float32Array([3, 4])));
const shape = await failure(() => q.gemm({ m: 2, n: 2, k: 2 }, new Float32Array(3), new Float32Array(4)));
const after = Array.from(q.gemm({ m: 1, n: 1, k: 1 }, new Float32Array([5]), new Float32Array([7])));
window.initProbe = { missing, garbage, early, first, second, product, shape, after, auto: q.loadBackend().name };
</script>`;

/** Opens a page that records uncaught errors and console errors in `problems`. */
async function openPage(problems: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  return page;
}

describe('quire/web in headless Chromium', () => {
  it('the example page computes the same GEMM as Node on the wasm backend, bit for bit', async () => {
    const problems: string[] = [];
    const page = await openPage(problems);
    const model = exampleModel();
    await page.route('**/examples/web/model.qcomp', (route) =>
      route.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(model) }),
    );
    await page.goto(`${server.url}/examples/web/`);
    await page.waitForFunction(() => 'quireResult' in window || 'quireError' in window);
    const { result, error } = await page.evaluate(() => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's own globals, shaped by examples/web/main.js
      const w = window as any;
      return { result: w.quireResult, error: w.quireError };
    });
    expect(error).toBeUndefined();
    // The page also looks for an optional full-precision model; Chromium logs its 404 (when the
    // log arrives before this check), which is the page working as designed.
    expect(problems.filter((p) => !p.includes('404') || !p.endsWith('/examples/web/model.qmodel)'))).toEqual([]);
    // Chromium with relaxed SIMD loads the relaxed module, while Node 20's wasm backend runs the
    // simd128 one: the logits comparison below is then also relaxed vs simd128, bit for bit.
    expect(result.core).toEqual({ backend: 'wasm', kernels: 'simd128', threads: 1, relaxedSimd: expect.any(Boolean) });

    const { spec, a, b, c } = result.gemm;
    expect(c).toHaveLength(spec.m * spec.n);
    const inNode = gemm(spec, Float32Array.from(a), Float32Array.from(b), undefined, { backend: 'wasm' });
    expect(bits(c)).toEqual(bits(inNode));
    const native = gemm(spec, Float32Array.from(a), Float32Array.from(b), undefined, { backend: 'native' });
    expect(maxRelDiff(c, native)).toBeLessThan(1e-5);
    expect(await page.textContent('#facts')).toContain('simd128');

    // The page's logits for the fixed prompt equal Node's wasm engine on the same file, bit for bit.
    const engine = InferenceEngine.fromBytes(model, { backend: 'wasm' });
    const ids = [7, 0, 1, 2]; // <eos> the meaning of
    let logits = new Float32Array();
    for (const id of ids) logits = engine.step([id]);
    expect(result.model.prompt).toBe('the meaning of');
    expect(bits(result.model.logits)).toEqual(bits(logits));
    expect(result.model.text.startsWith('the meaning of')).toBe(true);
    expect(await page.textContent('#text')).toBe(result.model.text);
    await page.close();
  });

  it('init(): a clear E_BACKEND error for a bad URL or bad bytes, then loads, and a second init() is harmless', async () => {
    const problems: string[] = [];
    const page = await openPage(problems);
    // A page of the server's origin whose module script drives init() by hand. (Kept as text:
    // a function passed to page.evaluate would be rewritten by vitest's transform.)
    const probe = `${server.url}/__init-probe.html`;
    await page.route(probe, (route) => route.fulfill({ contentType: 'text/html', body: INIT_PROBE_PAGE }));
    await page.goto(probe);
    await page.waitForFunction(() => 'initProbe' in window);
    // biome-ignore lint/suspicious/noExplicitAny: the probe page's global
    const out = await page.evaluate(() => (window as any).initProbe);

    expect(out.missing).toMatchObject({ quire: true, code: 'E_BACKEND' });
    expect(out.missing!.message).toMatch(/cannot be instantiated from '\/no\/such\/module\.wasm'.*404/);
    expect(out.garbage).toMatchObject({ quire: true, code: 'E_BACKEND' });
    expect(out.garbage!.message).toMatch(/from the given 9 bytes: CompileError/);
    expect(out.early).toMatchObject({ quire: true, code: 'E_BACKEND' });
    expect(out.early!.message).toMatch(/call 'await init\(\)' from 'quire\/web' first/);
    expect(out.first).toMatchObject({ backend: 'wasm', kernels: 'simd128', threads: 1 });
    expect(out.second).toEqual(out.first);
    expect(out.product).toEqual([10]);
    expect(out.shape).toMatchObject({ quire: true, code: 'E_SHAPE' });
    expect(out.after).toEqual([35]);
    expect(out.auto).toBe('wasm');
    // The 404 of the missing module is the only resource error the page may log.
    expect(problems.filter((p) => !/404/.test(p))).toEqual([]);
    await page.close();
  });
});

describe('quire/web in Node (edge-style use of the bundle)', () => {
  it('init() finds the module next to the bundle and matches the wasm backend bit for bit', async () => {
    const web = await import('../dist/web/quire.js');
    expect(await web.init()).toEqual({ backend: 'wasm', kernels: 'simd128', threads: 1, relaxedSimd: expect.any(Boolean) });
    const [m, n, k] = [7, 13, 33];
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
    const viaBundle = web.gemm({ m, n, k }, a, b, undefined, { backend: 'wasm' });
    expect(bits(viaBundle)).toEqual(bits(gemm({ m, n, k }, a, b, undefined, { backend: 'wasm' })));
  });

  it("a module Web Worker generates from a compressed model; its logits equal Node's wasm engine bit for bit", async () => {
    const problems: string[] = [];
    const page = await openPage(problems);
    const model = exampleModel();
    await page.route('**/examples/worker/model.qcomp', (route) =>
      route.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(model) }),
    );
    await page.goto(`${server.url}/examples/worker/`);
    await page.waitForFunction(() => 'quireWorkerResult' in window);
    // biome-ignore lint/suspicious/noExplicitAny: the page's global
    const result = await page.evaluate(() => (window as any).quireWorkerResult);
    expect(result.error).toBeUndefined();
    expect(problems).toEqual([]);
    const reference = nodeWasmReference(model);
    expect(result.words).toEqual(reference.words);
    expect(result.logits).toEqual(reference.logits);
    await page.close();
  });

  it('the playground: a typed prompt streams greedy words from the compressed and the FP model side by side', async () => {
    const problems: string[] = [];
    const page = await openPage(problems);
    const [compressed, fp] = [exampleModel(), exampleFpModel()];
    await page.route('**/examples/web/model.qcomp', (route) =>
      route.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(compressed) }),
    );
    await page.route('**/examples/web/model.qmodel', (route) =>
      route.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(fp) }),
    );
    await page.goto(`${server.url}/examples/web/`);
    await page.waitForSelector('#generate:not([disabled])');
    await page.fill('#prompt', 'the meaning of life');
    await page.selectOption('#mode', 'greedy');
    await page.fill('#tokens', '12');
    await page.click('#generate');
    await page.waitForSelector('#model-model-qcomp[data-done="true"]');
    await page.waitForSelector('#model-model-qmodel[data-done="true"]');
    for (const [id, bytes] of [
      ['#model-model-qcomp', compressed],
      ['#model-model-qmodel', fp],
    ] as const) {
      const shown = await page.textContent(`${id} .out`);
      const { words } = nodeWasmReference(bytes, 12, 'the meaning of life');
      const expected = words.map((w, i) => (w === EOS ? '\n' : i > 0 && words[i - 1] === EOS ? w : ` ${w}`)).join('');
      expect(shown).toBe(`the meaning of life${expected}`);
      expect(await page.textContent(`${id} .speed`)).toMatch(/^12 words, \d+ words\/s/);
    }
    expect(await page.textContent('#model-model-qcomp .size')).toMatch(/1-bit matrices/);
    expect(await page.textContent('#model-model-qmodel .size')).toMatch(/all FP32/);
    expect(await page.textContent('#status')).toBe('Done.');
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the keyboard page: chips follow every keystroke and equal Node's Predictor; a tapped chip is inserted", async () => {
    const problems: string[] = [];
    const page = await openPage(problems);
    const model = exampleModel();
    await page.route('**/examples/keyboard/model.qcomp', (route) =>
      route.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(model) }),
    );
    await page.goto(`${server.url}/examples/keyboard/`);
    await page.waitForSelector('#text:not([disabled])');
    const node = Predictor.fromBytes(model, { backend: 'wasm' });
    const expected = (text: string) => {
      const s = node.session();
      s.feed(text);
      return (s.prefix ? s.complete(s.prefix, 3) : s.next(3)).map((x) => x.word);
    };
    const sentence = 'the meaning of li';
    for (let i = 1; i <= sentence.length; i++) {
      await page.type('#text', sentence[i - 1]);
      // biome-ignore lint/suspicious/noExplicitAny: the page's global
      const state = await page.evaluate(() => (window as any).quireKeyboard);
      expect(state.text).toBe(sentence.slice(0, i));
      expect(state.chips).toEqual(expected(sentence.slice(0, i)));
      expect(await page.$$eval('#chips button', (b) => b.length)).toBe(state.chips.length);
    }
    const first = expected(sentence)[0];
    await page.click('#chips button >> nth=0');
    expect(await page.inputValue('#text')).toBe(`the meaning of ${first} `);
    expect(await page.textContent('#latency')).toMatch(/this keystroke \d+\.\d\d ms · p99 over \d+ keystrokes/);
    expect(problems).toEqual([]);
    node.dispose();
    await page.close();
  });
});
