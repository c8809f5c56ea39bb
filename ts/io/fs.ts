import { mkdirSync, openSync, closeSync, readSync, readdirSync, rmSync, statSync, fstatSync, constants, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { QuireError } from '../errors.js';

/**
 * File-system access for everything quire reads or creates on a user's behalf. Every failure is
 * an `E_IO` naming the path (never a raw `ENOENT`/`EISDIR`/... error), and nothing blocks: a
 * path is checked to be what it must be (a regular file, a directory) before it is opened, so a
 * FIFO, a socket or a device is refused instead of read forever.
 */

/** The Node error code of `err` (`ENOENT`, ...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `E_IO` for a failed file-system call on `path`, with the OS's reason. */
export function ioError(what: string, path: string, err: unknown): QuireError {
  const code = errnoCode(err);
  const reason =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EISDIR'
        ? 'is a directory'
        : code === 'ENOTDIR'
          ? 'a part of the path is not a directory'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : code === 'EEXIST'
              ? 'already exists'
              : code === 'ENOSPC'
                ? 'no space left on the device'
                : code === 'EROFS'
                  ? 'read-only file system'
                  : err instanceof Error
                    ? err.message
                    : String(err);
  return new QuireError('E_IO', `cannot ${what} ${path}: ${reason}${code && !reason.includes(code) ? ` (${code})` : ''}`, { cause: err });
}

/** `stat` of `path`, or `undefined` when nothing is there (other failures are `E_IO`). */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw ioError('inspect', path, err);
  }
}

export function isDirectory(path: string): boolean {
  return statOrUndefined(path)?.isDirectory() ?? false;
}

export function isFile(path: string): boolean {
  return statOrUndefined(path)?.isFile() ?? false;
}

/**
 * Opens a regular file for reading: a missing path, a directory, a FIFO or device (which could
 * block forever) is `E_IO` naming the path; the file is opened non-blocking and checked again
 * after opening, so a swap between the check and the open is caught too. Returns the descriptor
 * (the caller closes it) and the size.
 */
export function openRegularFile(path: string, what = 'file'): { fd: number; size: number } {
  const st = statOrUndefined(path);
  if (!st) throw new QuireError('E_IO', `no ${what} at ${path}`);
  if (!st.isFile()) throw new QuireError('E_IO', `${path} is not a regular file (${kindOf(st)}); expected a ${what}`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw ioError(`read ${what}`, path, err);
  }
  const fst = fstatSync(fd);
  if (!fst.isFile()) {
    closeSync(fd);
    throw new QuireError('E_IO', `${path} is not a regular file (${kindOf(fst)}); expected a ${what}`);
  }
  return { fd, size: fst.size };
}

/**
 * Reads up to `length` bytes at `position` into `buffer[offset…]`, retrying short reads; returns the bytes read (fewer only
 * at the end of the file).
 */
export function readFully(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Reads a whole regular file (checked as {@link openRegularFile} does); more than `maxBytes` is `E_IO`. */
export function readRegularFile(path: string, what = 'file', maxBytes = 2 ** 32): Buffer {
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size > maxBytes) throw new QuireError('E_IO', `${path} is ${size} bytes, more than the ${maxBytes} a ${what} may have`);
    const out = Buffer.allocUnsafe(size);
    const n = readFully(fd, out, 0, size, 0);
    return n === out.length ? out : out.subarray(0, n);
  } catch (err) {
    if (err instanceof QuireError) throw err;
    throw ioError(`read ${what}`, path, err);
  } finally {
    closeSync(fd);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Creates directory `dir` and its missing parents, one level at a time (Node's recursive mkdir
 * spins forever under /proc). An existing non-directory on the way, or a parent where nothing
 * may be created, is `E_IO` naming it. Returns the directories it created, outermost first.
 */
export function ensureDirectory(dir: string): string[] {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    const st = statOrUndefined(p);
    if (st) {
      if (!st.isDirectory()) throw new QuireError('E_IO', `cannot create directory ${abs}: ${p} exists and is not a directory`);
      break;
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  const created: string[] = [];
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
      created.push(d);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST' && isDirectory(d)) continue;
      throw ioError('create directory', d, err);
    }
  }
  return created;
}

/** The prefix of the temporary files `writeFileAtomic` writes next to their target. */
export const TMP_PREFIX = '.quire-tmp-';

/** Whether process `pid` is alive on this machine (`kill(pid, 0)`: ESRCH = gone, EPERM = alive, another user's). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/**
 * Removes the temporaries (files of atomic writes, folders of corpus builds) that a process killed
 * mid-way left in `dir` (their writer is gone); those of live writers are left alone. Returns how
 * many were removed.
 */
export function removeStaleTemporaries(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const m = /-(\d+)-\d+$/.exec(name);
    if (m && alive(Number(m[1]))) continue;
    try {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed++;
    } catch {
      // A temporary that cannot be removed is harmless: it is never read.
    }
  }
  return removed;
}

/** The name of a temporary for `path` (same folder, so the final rename is atomic). */
export function temporaryFor(path: string): string {
  return join(dirname(path), `${TMP_PREFIX}${basename(path)}-${process.pid}-${Date.now()}`);
}
