#!/usr/bin/env node
// A small static file server for the examples (and the browser test): serves examples/ and the
// build (dist/) of the package folder on 127.0.0.1 only, so that examples/web/ can import
// ../../dist/web/quire.js, with the MIME types browsers need (application/wasm for streaming
// compilation, text/javascript for modules). Nothing else is served: no dot-files (in the URL or
// in the resolved path: a link named visible.txt to .env is refused), no path outside those two
// folders (symbolic links are resolved first, and the file actually opened is checked again, so
// a folder swapped for a link while serving is caught), no malformed URL; a bad request is a 4xx
// answer, never a crash, and a redirect never leaves the host.
//
//   node scripts/serve-examples.mjs [port]      (default 8080; 0 picks a free port)
//   then open http://127.0.0.1:8080/examples/web/
import { closeSync, constants, createReadStream, fstatSync, openSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { extname, join, relative, resolve, sep } from 'node:path';
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

/**
 * Whether the real path `real` may be served: inside one of the real folders `roots`, with no
 * dot-file or dot-folder on the way down from that folder.
 */
const allowed = (real, roots) =>
  roots.some(
    (r) =>
      inside(real, r) &&
      !relative(r, real)
        .split(sep)
        .some((p) => p.startsWith('.')),
  );

/** The real path of `path` when it exists and `allowed` holds for it, else undefined. */
function realAllowed(path, roots) {
  try {
    const real = realpathSync(path);
    return allowed(real, roots) ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a URL path names under `root`'s served folders: a file, a directory (served as its
 * index.html), or nothing (malformed, a dot-file, outside the served folders, missing), with
 * the path's canonical URL form (`canonical`: one slash between segments, re-encoded) and the
 * real served folders (`roots`).
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
  const roots = SERVED.map((d) => realAllowed(join(root, d), [root])).filter(Boolean);
  const real = realAllowed(resolve(root, ...parts), roots);
  if (!real) return undefined;
  const canonical = `/${parts.map(encodeURIComponent).join('/')}`;
  const stat = statSync(real, { throwIfNoEntry: false });
  if (stat?.isFile()) return { file: real, canonical, roots };
  if (stat?.isDirectory()) {
    const index = realAllowed(join(real, 'index.html'), roots);
    if (index && statSync(index, { throwIfNoEntry: false })?.isFile()) return { file: index, directory: true, canonical, roots };
  }
  return undefined;
}

/**
 * Opens `file` and checks what was opened, since a folder on its path may have been swapped for
 * a symbolic link after `lookup` checked it: the descriptor must be a regular file whose real
 * path (the kernel's, from /proc/self/fd; elsewhere `file` resolved again, naming the same
 * device and inode) is allowed. Returns `{ fd, size }`, or undefined (the descriptor closed).
 */
function openChecked(file, roots) {
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && allowed(openedPath(fd, file, st) ?? '', roots)) return { fd, size: st.size };
  } catch {
    // Falls through: refused.
  }
  closeSync(fd);
  return undefined;
}

/** The real path of the file open as `fd` (opened from `file`, `fstat` gave `st`), or undefined. */
function openedPath(fd, file, st) {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    // No /proc: `file` must still resolve to the very file that was opened.
    const real = realpathSync(file);
    const now = statSync(real);
    return now.dev === st.dev && now.ino === st.ino ? real : undefined;
  }
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
    if (found?.directory && !url.pathname.endsWith('/')) {
      // Relative URLs in the page (./main.js) resolve against the folder only with the slash.
      // The location is the canonical path: '//host/...' (from an absolute-form request line
      // or repeated slashes) would send the browser to another host.
      res.writeHead(301, { location: found.canonical + '/' + url.search }).end();
      return;
    }
    const opened = found && openChecked(found.file, found.roots);
    if (!opened) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(found.file)] ?? 'application/octet-stream',
      'content-length': opened.size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD' || opened.size === 0) {
      closeSync(opened.fd);
      res.end();
    } else {
      // Exactly the bytes announced; the descriptor is closed however the response ends.
      pipeline(createReadStream(null, { fd: opened.fd, end: opened.size - 1 }), res, () => {});
    }
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
