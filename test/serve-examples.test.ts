/**
 * The example server against a hostile local user and hostile request lines (issue 20): a folder
 * swapped with a symbolic link while it serves, a link to a dot-file, an absolute-form request
 * line that would redirect off the host. Each test fails on the server before its fix.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serve } from '../scripts/serve-examples.mjs';

const SECRET = 'SECRET-OUTSIDE-THE-ROOT';

/** A served tree in a temporary folder: examples/sub/page.txt, and a secret folder next to examples/. */
function tree(): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'quire-serve-')));
  mkdirSync(join(root, 'examples', 'sub'), { recursive: true });
  writeFileSync(join(root, 'examples', 'sub', 'page.txt'), 'public\n');
  mkdirSync(join(root, 'secret'));
  writeFileSync(join(root, 'secret', 'page.txt'), `${SECRET}\n`);
  return root;
}

/** The raw answer to a request line sent exactly as written (fetch would normalise it). */
function rawRequest(url: string, target: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (answer += d));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

const header = (answer: string, name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(answer)?.[1]?.trim();

describe('the example server under a hostile local user', () => {
  it('a folder swapped with a symbolic link out of the root while serving never serves what the link names', async () => {
    const root = tree();
    const examples = join(root, 'examples');
    symlinkSync(join(root, 'secret'), join(examples, 'sub.link'));
    // Another process swaps examples/sub between the real folder and the link, a bounded number of times.
    const swapper = spawn(
      process.execPath,
      [
        '-e',
        `const { renameSync } = require('node:fs');
         const [dir] = process.argv.slice(1);
         const j = (n) => dir + '/' + n;
         for (let i = 0; i < 200000; i++) {
           renameSync(j('sub'), j('sub.real')); renameSync(j('sub.link'), j('sub'));
           renameSync(j('sub'), j('sub.link')); renameSync(j('sub.real'), j('sub'));
         }`,
        examples,
      ],
      { stdio: 'ignore' },
    );
    const done = new Promise((r) => swapper.on('exit', r));
    const s = await serve(0, root);
    const seen = { public: 0, secret: 0, other: 0 };
    try {
      for (let i = 0; i < 4000 && swapper.exitCode === null; i++) {
        // A request cut off mid-swap is fine; only what arrives matters.
        const body = await fetch(`${s.url}/examples/sub/page.txt`)
          .then((r) => r.text())
          .catch(() => '');
        if (body.includes(SECRET)) seen.secret++;
        else if (body === 'public\n') seen.public++;
        else seen.other++;
      }
    } finally {
      swapper.kill();
      await done;
      await s.close();
    }
    expect(seen.public).toBeGreaterThan(0);
    expect(seen.other).toBeGreaterThan(0);
    expect(seen.secret).toBe(0);
  }, 60_000);

  it('a link to a dot-file (or into a dot-folder) is not served: the rule holds for the resolved path', async () => {
    const root = tree();
    const examples = join(root, 'examples');
    writeFileSync(join(examples, '.env'), 'TOKEN=hunter2\n');
    mkdirSync(join(examples, '.hidden'));
    writeFileSync(join(examples, '.hidden', 'key.txt'), 'private\n');
    symlinkSync('.env', join(examples, 'visible.txt'));
    symlinkSync('.hidden', join(examples, 'shown'));
    const s = await serve(0, root);
    try {
      const get = async (p: string) => (await fetch(s.url + p)).status;
      expect(await get('/examples/sub/page.txt')).toBe(200);
      expect(await get('/examples/visible.txt')).toBe(404);
      expect(await get('/examples/shown/key.txt')).toBe(404);
      expect(await get('/examples/.env')).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('an absolute-form request line or repeated slashes never redirect off the host', async () => {
    const s = await serve(0);
    try {
      // The probe's case: an absolute-form request line whose path starts with '//'.
      const absolute = await rawRequest(s.url, 'http://127.0.0.1//examples/web');
      expect(absolute).toMatch(/^HTTP\/1\.1 301/);
      expect(header(absolute, 'location')).toBe('/examples/web/');
      for (const target of [
        '//examples/web',
        '/examples//web',
        'http://127.0.0.1///examples/web?x=1',
        '/\\examples/web',
        'http://127.0.0.1/%2Fexamples/web',
      ]) {
        const answer = await rawRequest(s.url, target);
        expect(answer, target).toMatch(/^HTTP\/1\.1 (301|400|404)/);
        const location = header(answer, 'location');
        // Only a path on this host: one leading slash, never '//' or a backslash.
        if (location !== undefined) expect(location, target).toMatch(/^\/examples\/web\/(\?x=1)?$/);
      }
      const ok = await rawRequest(s.url, 'http://127.0.0.1/examples/web/');
      expect(ok).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      await s.close();
    }
  });
});
