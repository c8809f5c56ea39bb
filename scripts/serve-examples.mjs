#!/usr/bin/env node
// A small static file server for the examples (and the browser test): serves the package folder
// on 127.0.0.1 so that examples/web/ can import ../../dist/web/quire.js, with the MIME types
// browsers need (application/wasm for streaming compilation, text/javascript for modules).
//
//   node scripts/serve-examples.mjs [port]      (default 8080; 0 picks a free port)
//   then open http://127.0.0.1:8080/examples/web/
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** What a URL path names under `root`: a file, a directory (served as its index.html), or nothing. */
function lookup(root, urlPath) {
  let path;
  try {
    path = resolve(join(root, decodeURIComponent(urlPath)));
  } catch {
    return undefined;
  }
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat?.isFile()) return { file: path };
  if (stat?.isDirectory() && statSync(join(path, 'index.html'), { throwIfNoEntry: false })?.isFile()) {
    return { file: join(path, 'index.html'), directory: true };
  }
  return undefined;
}

/**
 * Starts serving `root` (default: the package folder) on 127.0.0.1:`port` (0: a free port).
 * Resolves to `{ url, close() }` once listening. GET and HEAD only; never caches.
 */
export function serve(port = 0, root = ROOT) {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const found = lookup(root, url.pathname);
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (found.directory && !url.pathname.endsWith('/')) {
      // Relative URLs in the page (./main.js) resolve against the folder only with the slash.
      res.writeHead(301, { location: url.pathname + '/' + url.search }).end();
      return;
    }
    const { file } = found;
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address();
      resolvePromise({
        url: `http://127.0.0.1:${actual}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const port = Number(process.argv[2] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`usage: node scripts/serve-examples.mjs [port]   (got '${process.argv[2]}')`);
    process.exit(2);
  }
  const { url } = await serve(port);
  console.log(`serving ${ROOT} at ${url}/  (web example: ${url}/examples/web/)`);
}
