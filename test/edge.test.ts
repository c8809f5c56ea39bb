/**
 * The edge matrix: each runtime's example (examples/deno, bun, node, cloudflare) loads the same
 * compressed model with `quire/web`, continues a prompt greedily, and must print the words and
 * last-step logits of Node's wasm engine, bit for bit. The runtimes are the dev dependencies
 * `deno`, `bun` and `workerd` (their binaries ship in the npm packages). The browser Web Worker
 * case is in web.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Predictor } from '../ts/index.js';
import { exampleModel, nodeWasmReference } from './edge-model.js';

const ROOT = resolve('.');
const BIN = (name: string) => join(ROOT, 'node_modules', '.bin', name);
let dir = '';
let modelPath = '';
let reference: { words: string[]; logits: number[] };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'quire-edge-'));
  modelPath = join(dir, 'model.qcomp');
  const model = exampleModel();
  writeFileSync(modelPath, model);
  reference = nodeWasmReference(model);
});

/** Runs a command, returns its parsed JSON stdout (fails the test with stderr otherwise). */
function json(cmd: string, args: string[], env: Record<string, string | undefined> = process.env): { words: string[]; logits: number[] } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000 });
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

describe("edge runtimes run the compressed model like Node's wasm engine, bit for bit", () => {
  it('Deno, with read access to the model and the wasm file only', () => {
    const env: Record<string, string | undefined> = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
    const out = json(
      BIN('deno'),
      ['run', '--no-prompt', `--allow-read=${modelPath},${join(ROOT, 'dist', 'web')}`, 'examples/deno/generate.ts', modelPath],
      env,
    );
    expect(out).toEqual(reference);
  }, 60_000);

  it('Bun', () => {
    expect(json(BIN('bun'), ['examples/bun/generate.ts', modelPath])).toEqual(reference);
  }, 60_000);

  it('Node without the native addon (the quire/web bundle on wasm)', () => {
    expect(json(process.execPath, ['examples/node/generate.mjs', modelPath])).toEqual(reference);
  }, 60_000);

  for (const date of ['2022-11-30', '2024-09-23', '2026-11-01']) {
    it(`Cloudflare workerd, compatibility date ${date}: the wasm and the model imported as modules, served on 127.0.0.1`, async () => {
      const work = mkdtempSync(join(tmpdir(), 'quire-workerd-'));
      for (const [from, to] of [
        ['examples/cloudflare/worker.js', 'worker.js'],
        ['examples/edge/greedy.js', 'greedy.js'],
        ['dist/web/quire.js', 'quire.js'],
        ['dist/web/quire_wasm_bg.wasm', 'quire_wasm_bg.wasm'],
      ])
        copyFileSync(join(ROOT, from), join(work, to));
      copyFileSync(modelPath, join(work, 'model.qcomp'));
      const port = await freePort();
      const config = readFileSync(join(ROOT, 'examples/cloudflare/config.capnp'), 'utf8')
        .replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`)
        .replace(/compatibilityDate = "[^"]+"/, `compatibilityDate = "${date}"`);
      writeFileSync(join(work, 'config.capnp'), config);
      const child = spawn(BIN('workerd'), ['serve', 'config.capnp'], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      try {
        let body: { words: string[]; logits: number[]; error?: unknown } | undefined;
        for (let i = 0; i < 100 && body === undefined; i++) {
          body = await fetch(`http://127.0.0.1:${port}/?tokens=8`).then(
            (r) => r.json(),
            () => undefined,
          );
          if (body === undefined) await new Promise((r) => setTimeout(r, 100));
          if (child.exitCode !== null) break;
        }
        expect(body, `workerd: ${stderr}`).toBeDefined();
        expect(body).toEqual(reference);
      } finally {
        child.kill();
      }
    }, 60_000);
  }
});

describe('stateless suggestions in workerd (examples/cloudflare/suggest-worker.js) and Deno (examples/deno/suggest-server.ts)', () => {
  it("Deno serves POST /suggest like Node's Predictor, reading only the model and the wasm, with net access to 127.0.0.1", async () => {
    const port = await freePort();
    const env: Record<string, string | undefined> = { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' };
    const child = spawn(
      BIN('deno'),
      [
        'run',
        '--no-prompt',
        `--allow-read=${modelPath},${join(ROOT, 'dist', 'web')}`,
        '--allow-net=127.0.0.1',
        'examples/deno/suggest-server.ts',
        modelPath,
        String(port),
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    try {
      let answer: { next: { word: string }[] } | undefined;
      for (let i = 0; i < 200 && answer === undefined; i++) {
        answer = await fetch(`http://127.0.0.1:${port}/suggest`, {
          method: 'POST',
          body: JSON.stringify({ text: 'the meaning of ' }),
        }).then(
          (r) => r.json(),
          () => undefined,
        );
        if (answer === undefined) await new Promise((r) => setTimeout(r, 100));
        if (child.exitCode !== null) break;
      }
      expect(answer, `deno: ${stderr}`).toBeDefined();
      const node = Predictor.fromBytes(readFileSync(modelPath), { backend: 'wasm' });
      const s = node.session();
      s.feed('the meaning of ');
      expect(answer?.next.map((x) => x.word)).toEqual(s.next(3).map((x) => x.word));
      node.dispose();
    } finally {
      child.kill();
    }
  }, 60_000);

  it("POST /suggest answers as Node's Predictor does; two requests through the returned state equal one", async () => {
    const work = mkdtempSync(join(tmpdir(), 'quire-workerd-suggest-'));
    for (const [from, to] of [
      ['examples/cloudflare/suggest-worker.js', 'suggest-worker.js'],
      ['examples/edge/suggest.js', 'suggest.js'],
      ['dist/web/quire.js', 'quire.js'],
      ['dist/web/quire_wasm_bg.wasm', 'quire_wasm_bg.wasm'],
    ])
      copyFileSync(join(ROOT, from), join(work, to));
    copyFileSync(modelPath, join(work, 'model.qcomp'));
    const port = await freePort();
    writeFileSync(
      join(work, 'suggest.capnp'),
      readFileSync(join(ROOT, 'examples/cloudflare/suggest.capnp'), 'utf8').replaceAll('127.0.0.1:8788', `127.0.0.1:${port}`),
    );
    const child = spawn(BIN('workerd'), ['serve', 'suggest.capnp'], { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const post = (body: unknown) =>
      fetch(`http://127.0.0.1:${port}/suggest`, { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        body: await r.json(),
        cold: r.headers.get('x-quire-cold-ms'),
      }));
    try {
      let first: Awaited<ReturnType<typeof post>> | undefined;
      for (let i = 0; i < 100 && first === undefined; i++) {
        first = await post({ text: 'the meaning of li' }).catch(() => undefined);
        if (first === undefined) await new Promise((r) => setTimeout(r, 100));
        if (child.exitCode !== null) break;
      }
      expect(first, `workerd: ${stderr}`).toBeDefined();
      expect(first?.status).toBe(200);
      expect(Number(first?.cold)).toBeGreaterThan(0);
      const node = Predictor.fromBytes(readFileSync(modelPath), { backend: 'wasm' });
      const s = node.session();
      s.feed('the meaning of li');
      expect(first?.body.completions.map((x: { word: string }) => x.word)).toEqual(s.complete(s.prefix, 3).map((x) => x.word));
      expect(first?.body.consumed).toBe('the meaning of '.length);
      // Two requests through the state equal one request with the whole text.
      const a = await post({ text: 'the meaning ' });
      const b = await post({ text: 'of life ', state: a.body.state });
      const whole = await post({ text: 'the meaning of life ' });
      expect(b.body.next).toEqual(whole.body.next);
      expect(b.body.state).toEqual(whole.body.state);
      s.feed('the meaning of life ');
      expect(whole.body.next.map((x: { word: string }) => x.word)).toEqual(s.next(3).map((x) => x.word));
      expect((await post({ text: 'x', state: 'AAAA' })).status).toBe(400);
      expect((await post({ nope: 1 })).status).toBe(400);
      node.dispose();
    } finally {
      child.kill();
    }
  }, 60_000);
});

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}
