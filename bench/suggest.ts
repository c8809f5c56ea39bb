/**
 * `npm run bench -- suggest [--quick] [--compressed DIR]`: next-word suggestions as a keyboard
 * and a suggestion server use them, with the medium shape (2×650, PTB's 10,000 words) at 2 bits
 * per weight (random weights unless `--compressed DIR` names a `quire compress` run: speed does
 * not depend on the values).
 *
 * - keystroke: a PTB test passage typed character by character; each keystroke is
 *   `session.feed(text)` plus `next(3)` (after a space) or `complete(prefix, 3)` (inside a word),
 *   as the keyboard page does (bench/keystrokes.mjs, the same code in every row): 50 warm-up
 *   keystrokes, then `--rounds` passes (default 3; 1 with --quick), each on a new session; p50 /
 *   p99 / max per keystroke of each pass, and their medians over the passes. Native (one thread),
 *   wasm in Node, and wasm in headless Chromium (`quire/web` on a cross-origin-isolated page, so
 *   `performance.now()` is precise to 5 µs, not 100 µs).
 * - workerd: examples/cloudflare/suggest-worker.js served by workerd on 127.0.0.1; the cold start
 *   (wasm instantiation + model load, the worker's `x-quire-cold-ms`), then a bounded load test:
 *   `N` POST /suggest requests from `C` keep-alive connections, each a saved state plus the next
 *   word and the start of the one after (two model steps), answered with suggestions and the new
 *   state. Requests/s and p50 / p99 latency. One worker process is one core: with two or more
 *   CPUs, workerd is pinned to the last CPU and this process (the load generator, raw HTTP/1.1 on
 *   sockets with the request bytes built beforehand) to the others, so neither starves the other.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type CompressionSpec,
  CompressedModel,
  dataDirectory,
  encodeCorpus,
  LanguageModel,
  info,
  Predictor,
  setThreads,
  splitIds,
  textMetadata,
} from '../ts/index.js';
import { serve } from '../scripts/serve-examples.mjs';
import { launchChromium } from '../test/chromium.js';
import { keystrokeRounds } from './keystrokes.mjs';
import type { BenchArgs, BenchRow } from './main.js';

const ROOT = resolve('.');

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A random-weight medium model at 2 bits (every matrix), with PTB's vocabulary; and a test passage. */
export function mediumModel(): { bytes: Uint8Array; passage: string } {
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

/** p50 / p99 / max of each round's keystrokes, and the median of each over the rounds (robust to one disturbed round). */
function latencyRow(what: string, rounds: number[][], extra: BenchRow = {}): BenchRow {
  const stats = rounds.map((times) => {
    const sorted = [...times].sort((a, b) => a - b);
    return [percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.at(-1)!];
  });
  const median = (i: number) =>
    percentile(
      stats.map((s) => s[i]).sort((a, b) => a - b),
      0.5,
    );
  const ms = (x: number) => Number(x.toFixed(3));
  return {
    what,
    keystrokes: rounds[0].length,
    rounds: rounds.length,
    p50ms: ms(median(0)),
    p99ms: ms(median(1)),
    maxMs: ms(median(2)),
    p99Rounds: stats.map((s) => s[1].toFixed(2)).join(' '),
    ...extra,
  };
}

function keystrokes(bytes: Uint8Array, passage: string, backend: 'native' | 'wasm', chars: number, rounds: number): number[][] {
  const p = Predictor.fromBytes(bytes, { backend });
  try {
    return keystrokeRounds(p, passage, chars, rounds);
  } finally {
    p.dispose();
  }
}

/**
 * The Chromium page: `quire/web` on the wasm core, the model and the passage from this bench,
 * the keystroke loop of bench/keystrokes.mjs (50 warm-up keystrokes on another session first).
 * Served cross-origin isolated (COOP + COEP): `performance.now()` then has 5 µs resolution.
 */
const CHROMIUM_PAGE = `<!doctype html><link rel="icon" href="data:,"><script type="module">
import { init, Predictor } from '/dist/web/quire.js';
import { keystrokeRounds } from '/__bench/keystrokes.mjs';
try {
  const core = await init();
  const bytes = new Uint8Array(await (await fetch('/__bench/model.qcomp')).arrayBuffer());
  const passage = await (await fetch('/__bench/passage.txt')).text();
  const query = new URL(location.href).searchParams;
  const times = keystrokeRounds(Predictor.fromBytes(bytes), passage, Number(query.get('chars')), Number(query.get('rounds')));
  window.quireBench = { times, core, isolated: crossOriginIsolated, agent: navigator.userAgent };
} catch (err) {
  window.quireBench = { error: String(err?.stack ?? err) };
}
</script>`;

export async function chromiumKeystrokes(bytes: Uint8Array, passage: string, chars: number, rounds: number): Promise<BenchRow> {
  const server = await serve(0);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const at = (path: string) => `${server.url}/__bench/${path}`;
    const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    await page.route(at('suggest.html?*'), (r) => r.fulfill({ contentType: 'text/html', headers: isolated, body: CHROMIUM_PAGE }));
    await page.route(at('keystrokes.mjs'), (r) =>
      r.fulfill({ contentType: 'text/javascript', body: readFileSync(join(ROOT, 'bench/keystrokes.mjs')) }),
    );
    await page.route(at('model.qcomp'), (r) => r.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(bytes) }));
    await page.route(at('passage.txt'), (r) => r.fulfill({ contentType: 'text/plain; charset=utf-8', body: passage }));
    await page.goto(at(`suggest.html?chars=${chars}&rounds=${rounds}`));
    await page.waitForFunction('"quireBench" in window', null, { timeout: 300_000 });
    const out = (await page.evaluate('window.quireBench')) as {
      error?: string;
      times: number[][];
      isolated: boolean;
      core: { kernels: string; relaxedSimd: boolean };
      agent: string;
    };
    if (out.error) throw new Error(`the Chromium page failed: ${out.error}`);
    const version = /Chrome\/(\d+)/.exec(out.agent)?.[1] ?? '?';
    return latencyRow(`keystroke, wasm (Chromium ${version})`, out.times, {
      isolated: out.isolated,
      simd: out.core.relaxedSimd ? 'relaxed' : out.core.kernels,
    });
  } finally {
    await browser.close();
    await server.close();
  }
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

/** Runs `args` with `taskset` and returns its output (undefined when taskset is missing or fails). */
function taskset(...args: string[]): string | undefined {
  const r = spawnSync('taskset', args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * CPUs for the server and the load generator: workerd on the last CPU, this process (all its
 * threads) on the others; `restore()` gives this process its CPUs back. No pinning (and `pinned`
 * false) on one CPU or without `taskset`.
 */
function pinning(): { server: string[]; pinned: boolean; restore(): void } {
  const cpus = availableParallelism();
  const mask = taskset('-p', String(process.pid))?.split(':').pop()?.trim();
  if (cpus < 2 || !mask || taskset('-a', '-cp', `0-${cpus - 2}`, String(process.pid)) === undefined) {
    return { server: [], pinned: false, restore() {} };
  }
  return {
    server: ['taskset', '-c', String(cpus - 1)],
    pinned: true,
    restore: () => void taskset('-a', '-p', mask, String(process.pid)),
  };
}

/**
 * A bounded load on raw HTTP/1.1 keep-alive connections: `clients` sockets to 127.0.0.1:`port`,
 * each sending the next of `requests` (whole requests, bytes) once its previous answer (with a
 * Content-Length) is in. Returns the wall time, each request's latency and status.
 */
function load(port: number, requests: Buffer[], clients: number): Promise<{ seconds: number; ms: number[]; statuses: number[] }> {
  const ms: number[] = [];
  const statuses: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const client = () =>
    new Promise<void>((done, fail) => {
      const socket = connect(port, '127.0.0.1');
      let buffered = Buffer.alloc(0);
      let sent = 0;
      const send = () => {
        if (next >= requests.length) {
          socket.end();
          return done();
        }
        sent = performance.now();
        socket.write(requests[next++]);
      };
      socket.setNoDelay(true);
      socket.on('connect', send);
      socket.on('error', fail);
      socket.on('data', (chunk: Buffer) => {
        buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (!length) return fail(new Error(`an answer without Content-Length: ${head}`));
        const total = end + 4 + Number(length[1]);
        if (buffered.length < total) return;
        if (buffered.length > total) return fail(new Error('more bytes than one answer'));
        ms.push(performance.now() - sent);
        statuses.push(Number(head.split(' ')[1]));
        buffered = Buffer.alloc(0);
        send();
      });
    });
  return Promise.all(Array.from({ length: clients }, client)).then(() => ({ seconds: (performance.now() - t0) / 1000, ms, statuses }));
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
  const pins = pinning();
  const [command, ...args] = [...pins.server, join(ROOT, 'node_modules/.bin/workerd'), 'serve', 'suggest.capnp'];
  const child = spawn(command, args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
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
    const request = (i: number) => {
      const body = Buffer.from(JSON.stringify({ text: `${words[i % words.length]} ${words[(i + 1) % words.length].slice(0, 2)}`, state }));
      const head = `POST /suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      return Buffer.concat([Buffer.from(head), body]);
    };
    await load(
      port,
      Array.from({ length: 200 }, (_, i) => request(i)),
      clients,
    ); // warm-up
    const {
      seconds,
      ms: times,
      statuses,
    } = await load(
      port,
      Array.from({ length: requests }, (_, i) => request(i)),
      clients,
    );
    const bad = statuses.filter((s) => s !== 200).length;
    if (bad) throw new Error(`${bad} of ${requests} answers were not 200`);
    times.sort((a, b) => a - b);
    const ms = (x: number) => Number(x.toFixed(2));
    return [
      { what: 'workerd cold start (wasm + model load)', ms: ms(first.cold) },
      {
        what: `workerd POST /suggest, ${clients} connections`,
        requests,
        requestsPerSecond: Math.round(requests / seconds),
        p50ms: ms(percentile(times, 0.5)),
        p99ms: ms(percentile(times, 0.99)),
        pinned: pins.pinned ? 'workerd 1 CPU, client the others' : 'no',
      },
    ];
  } finally {
    pins.restore();
    child.kill();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const { bytes, passage } = args.compressed.length
    ? { bytes: new Uint8Array(readFileSync(join(args.compressed[0], 'model.qcomp'))), passage: mediumModel().passage }
    : mediumModel();
  const chars = args.quick ? 300 : Math.min(passage.length, 1500);
  const rounds = args.rounds ?? (args.quick ? 1 : 3);
  const rows: BenchRow[] = [{ what: 'model', bytes: bytes.length }];
  const threads = info().backends.native.threads ?? 1;
  setThreads(1, 'native');
  try {
    for (const backend of ['native', 'wasm'] as const) {
      rows.push(
        latencyRow(
          `keystroke, ${backend === 'native' ? 'native (1 thread)' : 'wasm (Node)'}`,
          keystrokes(bytes, passage, backend, chars, rounds),
        ),
      );
    }
  } finally {
    setThreads(threads, 'native');
  }
  rows.push(await chromiumKeystrokes(bytes, passage, chars, rounds));
  rows.push(...(await workerd(bytes, passage, args.quick ? 300 : 2000, 4)));
  return rows;
}
