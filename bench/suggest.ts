/**
 * `npm run bench -- suggest [--quick] [--compressed DIR]`: next-word suggestions as a keyboard
 * and a suggestion server use them, with the medium shape (2×650, PTB's 10,000 words) at 2 bits
 * per weight (random weights unless `--compressed DIR` names a `quire compress` run: speed does
 * not depend on the values).
 *
 * - keystroke: a PTB test passage typed character by character; each keystroke is
 *   `session.feed(text)` plus `next(3)` (after a space) or `complete(prefix, 3)` (inside a word),
 *   as the keyboard page does. p50 / p99 / max per keystroke, native and wasm (one thread).
 * - workerd: examples/cloudflare/suggest-worker.js served by workerd on 127.0.0.1; the cold start
 *   (wasm instantiation + model load, the worker's `x-quire-cold-ms`), then a bounded load test:
 *   `N` POST /suggest requests from `C` concurrent clients, each a saved state plus the next word
 *   and the start of the one after (two model steps), answered with suggestions and the new state.
 *   Requests/s and p50 / p99 latency.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type CompressionSpec,
  CompressedModel,
  dataDirectory,
  encodeCorpus,
  LanguageModel,
  Predictor,
  splitIds,
  textMetadata,
} from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';

const ROOT = resolve('.');

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A random-weight medium model at 2 bits (every matrix), with PTB's vocabulary; and a test passage. */
function mediumModel(): { bytes: Uint8Array; passage: string } {
  const corpus = encodeCorpus(dataDirectory());
  const words = corpus.vocabulary.words;
  const ids = splitIds(corpus, 'test').subarray(0, 400);
  const passage = Array.from(ids, (i) => (words[i] === '<eos>' ? '\n' : `${words[i]} `)).join('');
  const m = LanguageModel.create(
    { vocab: words.length, hidden: 650, layers: 2, initScale: 0.05, dropout: 0, seed: 1 },
    { backend: 'native' },
  );
  const tensors: Record<string, number> = {
    embedding: 2,
    'softmax.weight': 2,
    'lstm.0.w_ih': 2,
    'lstm.0.w_hh': 2,
    'lstm.1.w_ih': 2,
    'lstm.1.w_hh': 2,
  };
  const spec: CompressionSpec = { method: 'greedy', cycles: 0, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors };
  const cm = CompressedModel.fromModel(m, spec, textMetadata({ vocabulary: corpus.vocabulary, tokenizer: corpus.tokenizer }));
  const bytes = cm.toBytes();
  cm.dispose();
  m.dispose();
  return { bytes, passage };
}

function keystrokes(bytes: Uint8Array, passage: string, backend: 'native' | 'wasm', chars: number): BenchRow {
  const p = Predictor.fromBytes(bytes, { backend });
  const s = p.session();
  const times: number[] = [];
  for (let i = 1; i <= chars; i++) {
    const text = passage.slice(0, i);
    const t0 = performance.now();
    s.feed(text);
    if (s.prefix) s.complete(s.prefix, 3);
    else s.next(3);
    times.push(performance.now() - t0);
  }
  p.dispose();
  times.sort((a, b) => a - b);
  const ms = (x: number) => Number(x.toFixed(3));
  return {
    what: `keystroke, ${backend}`,
    keystrokes: chars,
    p50ms: ms(percentile(times, 0.5)),
    p99ms: ms(percentile(times, 0.99)),
    maxMs: ms(times.at(-1)!),
  };
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function workerd(bytes: Uint8Array, passage: string, requests: number, clients: number): Promise<BenchRow[]> {
  const work = mkdtempSync(join(tmpdir(), 'quire-bench-workerd-'));
  for (const [from, to] of [
    ['examples/cloudflare/suggest-worker.js', 'suggest-worker.js'],
    ['examples/edge/suggest.js', 'suggest.js'],
    ['dist/web/quire.js', 'quire.js'],
    ['dist/web/quire_wasm_bg.wasm', 'quire_wasm_bg.wasm'],
  ])
    copyFileSync(join(ROOT, from), join(work, to));
  writeFileSync(join(work, 'model.qcomp'), bytes);
  const port = await freePort();
  writeFileSync(
    join(work, 'suggest.capnp'),
    readFileSync(join(ROOT, 'examples/cloudflare/suggest.capnp'), 'utf8').replaceAll('127.0.0.1:8788', `127.0.0.1:${port}`),
  );
  const child = spawn(join(ROOT, 'node_modules/.bin/workerd'), ['serve', 'suggest.capnp'], {
    cwd: work,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}/suggest`;
  const post = async (body: unknown) => {
    const r = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
    return { json: (await r.json()) as { state: string; error?: unknown }, cold: Number(r.headers.get('x-quire-cold-ms')) };
  };
  try {
    let first: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 200 && !first; i++) {
      first = await post({ text: 'the ' }).catch(() => undefined);
      if (!first) await new Promise((r) => setTimeout(r, 100));
    }
    if (!first || first.json.error) throw new Error(`workerd did not answer: ${JSON.stringify(first?.json)}`);
    const words = passage.replace(/\n/g, ' ').split(' ').filter(Boolean);
    const state = first.json.state;
    const times: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < requests) {
          const i = next++;
          const text = `${words[i % words.length]} ${words[(i + 1) % words.length].slice(0, 2)}`;
          const s = performance.now();
          const r = await post({ text, state });
          if (r.json.error) throw new Error(JSON.stringify(r.json.error));
          times.push(performance.now() - s);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    const ms = (x: number) => Number(x.toFixed(2));
    return [
      { what: 'workerd cold start (wasm + model load)', ms: ms(first.cold) },
      {
        what: `workerd POST /suggest, ${clients} clients`,
        requests,
        requestsPerSecond: Math.round(requests / seconds),
        p50ms: ms(percentile(times, 0.5)),
        p99ms: ms(percentile(times, 0.99)),
      },
    ];
  } finally {
    child.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const { bytes, passage } = args.compressed.length
    ? { bytes: new Uint8Array(readFileSync(join(args.compressed[0], 'model.qcomp'))), passage: mediumModel().passage }
    : mediumModel();
  const chars = args.quick ? 300 : Math.min(passage.length, 1500);
  const rows: BenchRow[] = [{ what: 'model', bytes: bytes.length }];
  for (const backend of ['native', 'wasm'] as const) {
    keystrokes(bytes, passage, backend, 50); // warm-up
    rows.push(keystrokes(bytes, passage, backend, chars));
  }
  rows.push(...(await workerd(bytes, passage, args.quick ? 300 : 2000, 4)));
  return rows;
}
