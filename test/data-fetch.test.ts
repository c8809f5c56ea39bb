/**
 * `quire data ptb` against a loopback HTTP server: good files, a truncated body, a wrong
 * checksum, 404, a refused connection, an endless body and a declared size beyond the file's
 * each end in a clear error with nothing half-written; the data directory resolution finds the
 * cache.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchPtb, PTB_FILES, PTB_SIZES } from '../ts/data/fetch.js';
import { QuireError } from '../ts/index.js';

/** Small stand-ins for the three files; the test swaps in their checksums (the real ones are 6 MB). */
const FILES: Record<string, Buffer> = {
  'ptb.train.txt': Buffer.from(' a b c \n b c a \n'.repeat(50)),
  'ptb.valid.txt': Buffer.from(' a b \n c a \n'.repeat(5)),
  'ptb.test.txt': Buffer.from(' b a \n a c \n'.repeat(5)),
};
const sums = Object.fromEntries(Object.entries(FILES).map(([n, b]) => [n, createHash('sha256').update(b).digest('hex')]));
const sizes = Object.fromEntries(Object.entries(FILES).map(([n, b]) => [n, b.length]));
const original = { ...PTB_FILES };
const originalSizes = { ...PTB_SIZES };
let server: Server;
let base = '';

/** The most an endless body sends before the test server gives up (the client should stop far earlier). */
const CAP = 256 * 2 ** 20;
/** What the last endless answer sent, and whether the client hung up before the cap. */
let endless = { sent: 0, hungUp: Promise.resolve(false) };

/** Streams zeros until the client disconnects or CAP bytes have gone out. */
function streamEndless(res: ServerResponse, headers: Record<string, number>): void {
  res.writeHead(200, headers);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const state = { sent: 0, hungUp: new Promise<boolean>((r) => res.on('close', () => r(state.sent < CAP))) };
  endless = state;
  const pump = () => {
    while (!res.destroyed && state.sent < CAP) {
      state.sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

beforeAll(async () => {
  Object.assign(PTB_FILES as Record<string, string>, sums);
  Object.assign(PTB_SIZES as Record<string, number>, sizes);
  server = createServer((req, res) => {
    const [mode, name] = (req.url ?? '').split('/').filter(Boolean);
    const body = FILES[name];
    if (mode === 'endless') return streamEndless(res, {});
    if (mode === 'huge') return streamEndless(res, { 'content-length': 2 ** 40 });
    if (!body || mode === 'missing') return res.writeHead(404).end('not found');
    if (mode === 'truncated') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 10));
      return res.destroy();
    }
    // The right size, one byte wrong.
    if (mode === 'wrong') return res.writeHead(200).end(Buffer.concat([body.subarray(0, -1), Buffer.from('x')]));
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  Object.assign(PTB_FILES as Record<string, string>, original);
  Object.assign(PTB_SIZES as Record<string, number>, originalSizes);
  await new Promise((r) => server.close(r));
});

async function failure(mode: string): Promise<{ err: QuireError; dir: string }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'quire-fetch-')), 'ptb');
  const err = await fetchPtb({ dir, url: `${base}/${mode}/`, timeoutMs: 5000 }).catch((e) => e);
  expect(err).toBeInstanceOf(QuireError);
  // Nothing half-written: no data file and no temporary.
  expect(readdirSync(dir)).toEqual([]);
  return { err, dir };
}

describe('quire data ptb', () => {
  it('downloads, verifies and keeps the files; a second run downloads nothing', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'quire-fetch-')), 'ptb');
    const seen: string[] = [];
    await fetchPtb({ dir, url: `${base}/good/`, onFile: (n, what) => seen.push(`${n}:${what}`) });
    for (const [n, b] of Object.entries(FILES)) expect(readFileSync(join(dir, n))).toEqual(b);
    await fetchPtb({ dir, url: `${base}/missing/`, onFile: (n, what) => seen.push(`${n}:${what}`) });
    expect(seen.filter((s) => s.endsWith(':present'))).toHaveLength(3);
  });

  it('a truncated download, a wrong checksum, 404 and a refused connection are clear errors', async () => {
    const truncated = await failure('truncated');
    expect(truncated.err.code).toBe('E_IO');
    const wrong = await failure('wrong');
    expect(wrong.err.code).toBe('E_DATA');
    expect(wrong.err.message).toMatch(/SHA-256 .* expected .*nothing was written/);
    const missing = await failure('missing');
    expect(missing.err.code).toBe('E_IO');
    expect(missing.err.message).toMatch(/HTTP 404.*Offline\?.*--data DIR/);
    const dir = join(mkdtempSync(join(tmpdir(), 'quire-fetch-')), 'ptb');
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await fetchPtb({ dir, url: `http://127.0.0.1:${port}/`, timeoutMs: 5000 }).catch((e) => e);
    expect(refused.code).toBe('E_IO');
    expect(refused.message).toMatch(/ECONNREFUSED.*Offline\?/);
  });

  it('an endless body stops at the known file size: E_DATA naming the URL and the limit, the server sees the client hang up', async () => {
    const { err } = await failure('endless');
    expect(err.code).toBe('E_DATA');
    const limit = FILES['ptb.train.txt'].length;
    expect(err.message).toContain(`${base}/endless/ptb.train.txt`);
    expect(err.message).toMatch(new RegExp(`more than ${limit} bytes.*nothing was written`));
    // The client stopped reading: the server's stream ended by the hang-up, long before the cap.
    expect(await endless.hungUp).toBe(true);
    expect(endless.sent).toBeLessThan(CAP / 4);
  }, 60_000);

  it('a Content-Length beyond the known file size is refused before the body is read', async () => {
    const { err } = await failure('huge');
    expect(err.code).toBe('E_DATA');
    expect(err.message).toContain(`${base}/huge/ptb.train.txt`);
    expect(err.message).toMatch(new RegExp(`${2 ** 40} bytes.*${FILES['ptb.train.txt'].length}`));
    expect(await endless.hungUp).toBe(true);
    expect(endless.sent).toBeLessThan(CAP / 4);
  }, 60_000);

  it('the known sizes are those of the files the checksums name', () => {
    for (const [name, size] of Object.entries(originalSizes)) {
      const local = join('data', 'ptb', name);
      if (existsSync(local)) expect(readFileSync(local).length, name).toBe(size);
    }
    expect(Object.keys(originalSizes).sort()).toEqual(Object.keys(original).sort());
  });

  it('train finds the cache ($QUIRE_HOME) when neither --data, QUIRE_DATA nor ./data/ptb exists, and names the fetch command ' +
    'when nothing does', async () => {
    const home = mkdtempSync(join(tmpdir(), 'quire-home-'));
    const cwd = mkdtempSync(join(tmpdir(), 'quire-cwd-'));
    const env: Record<string, string | undefined> = { ...process.env, QUIRE_HOME: home };
    delete env.QUIRE_DATA;
    const cli = join(process.cwd(), 'ts/cli/main.ts');
    const tsx = import.meta.resolve('tsx');
    // Asynchronous: the loopback server answers from this process.
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', tsx, cli, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (status) => resolve({ status, stderr }));
      });
    const train = ['train', '--preset', 'tiny', '--epochs', '1', '--out', 'r'];
    const none = await run(...train);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/E_DATA.*quire data ptb/);
    // The CLI checks the real checksums, so the stand-in files are refused: E_DATA, nothing kept.
    const fetched = await run('data', 'ptb', '--url', `${base}/good/`);
    expect(fetched.status).toBe(1);
    expect(fetched.stderr).toMatch(/E_DATA.*SHA-256/);
    expect(readdirSync(join(home, 'data', 'ptb'))).toEqual([]);
    // With files in the cache, train finds them there.
    for (const [n, b] of Object.entries(FILES)) writeFileSync(join(home, 'data', 'ptb', n), b);
    const trained = await run(...train);
    expect(trained.status, trained.stderr).toBe(0);
    expect(existsSync(join(cwd, 'r', 'model.qmodel'))).toBe(true);
  }, 60_000);
});
