#!/usr/bin/env node
// A small static file server for the examples (and the browser test): serves examples/ and the
// build (dist/) of the package folder on 127.0.0.1 only, so that examples/web/ can import
// ../../dist/web/quire.js, with the MIME types browsers need (application/wasm for streaming
// compilation, text/javascript for modules). Nothing else is served: no dot-files, no path
// outside those two folders (symbolic links are resolved first), no malformed URL; a bad
// request is a 4xx answer, never a crash.
//
//   node scripts/serve-examples.mjs [port]      (default 8080; 0 picks a free port)
//   then open http://127.0.0.1:8080/examples/web/
import { createReadStream, realpathSync, statSync } from 'node:fs';
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

/** The folders of the package that are served. */
const SERVED = ['examples', 'dist'];

const inside = (path, dir) => path === dir || path.startsWith(dir + sep);

/** The real path of `path` when it exists and lies inside one of `roots`, else undefined. */
function realInside(path, roots) {
  try {
    const real = realpathSync(path);
    return roots.some((r) => inside(real, r)) ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a URL path names under `root`'s served folders: a file, a directory (served as its
 * index.html), or nothing (malformed, a dot-file, outside the served folders, missing).
 */
function lookup(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const parts = decoded.split('/').filter((p) => p.length > 0);
  if (parts.some((p) => p.startsWith('.'))) return undefined;
  if (!SERVED.includes(parts[0])) return undefined;
  const roots = SERVED.map((d) => realInside(join(root, d), [root])).filter(Boolean);
  const real = realInside(resolve(root, ...parts), roots);
  if (!real) return undefined;
  const stat = statSync(real, { throwIfNoEntry: false });
  if (stat?.isFile()) return { file: real };
  if (stat?.isDirectory()) {
    const index = realInside(join(real, 'index.html'), roots);
    if (index && statSync(index, { throwIfNoEntry: false })?.isFile()) return { file: index, directory: true };
  }
  return undefined;
}

/**
 * Starts serving `root` (default: the package folder) on 127.0.0.1:`port` (0: a free port).
 * Resolves to `{ url, close() }` once listening. GET and HEAD only; never caches.
 */
export function serve(port = 0, root = ROOT) {
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  });
  const handle = (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let url;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad request\n');
      return;
    }
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
    else
      createReadStream(file)
        .on('error', () => res.destroy())
        .pipe(res);
  };
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
