import { closeSync, linkSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { QuireError } from '../errors.js';
import { alive, ensureDirectory, errnoCode, ioError, temporaryFor } from './fs.js';

/**
 * One writer per run folder. `quire train` and `quire compress` hold `<out>/.quire-lock` while
 * they run: a small JSON file naming the process (pid, host, start time), created atomically
 * (a complete temporary file hard-linked into place, which fails when a lock exists; `wx` where
 * the file system has no hard links). A second writer gets `E_STATE` naming the holder. A lock
 * left by a process that no longer exists on this host (a `kill -9`, a power cut) is taken over.
 * The lock is removed when the run ends, normally or by an error, at `process.exit`, and on
 * SIGINT/SIGTERM/SIGHUP when nothing else handles that signal (the CLI's Ctrl-C handler stops the
 * run gracefully, which releases it too).
 */

/** The lock file inside a run folder. */
export const LOCK_FILE = '.quire-lock';

/** What a lock file records. */
export interface LockRecord {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  started: string;
  /** Distinguishes two locks of one process. */
  token: string;
}

interface Held {
  dir: string;
  path: string;
  text: string;
  /** Directories created for the run (outermost first): removed on release when left empty. */
  created: string[];
}

const held = new Set<Held>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const handlers = new Map<string, () => void>();
let counter = 0;

/** A held lock: `release()` removes it (idempotent). */
export interface RunLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock of run folder `dir`, creating the folder (and missing parents) first. `E_STATE`
 * when another live process holds it; `E_IO` when the folder cannot be created or written.
 */
export function acquireRunLock(dir: string): RunLock {
  const created = ensureDirectory(dir);
  const path = join(dir, LOCK_FILE);
  const record: LockRecord = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    token: `${process.pid}-${++counter}-${Date.now()}`,
  };
  const text = JSON.stringify(record) + '\n';
  try {
    for (let attempt = 0; ; attempt++) {
      if (create(path, text)) break;
      const other = readLock(path);
      if (other === undefined) continue; // removed meanwhile: try again
      if (attempt < 3 && isStale(other.record) && takeOver(path, other.text)) continue;
      throw busy(dir, path, other.record);
    }
  } catch (err) {
    removeCreated(created);
    throw err;
  }
  const h: Held = { dir, path, text, created };
  held.add(h);
  if (held.size === 1) installHandlers();
  return { path, release: () => release(h) };
}

/** Runs `work` holding the lock of `dir` (see {@link acquireRunLock}); releases it however `work` ends. */
export async function withRunLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = acquireRunLock(dir);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/** Creates the lock file holding `text` atomically; false when one exists. */
function create(path: string, text: string): boolean {
  const tmp = temporaryFor(path);
  try {
    writeNew(tmp, text);
    try {
      linkSync(tmp, path);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(errnoCode(err) ?? '')) throw err;
    }
    // No hard links on this file system: exclusive create (a reader may briefly see it empty).
    try {
      writeNew(path, text);
      return true;
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return false;
      throw err;
    }
  } catch (err) {
    throw ioError('create the lock file', path, err);
  } finally {
    rmSync(tmp, { force: true });
  }
}

function writeNew(path: string, text: string): void {
  const fd = openSync(path, 'wx');
  try {
    const data = Buffer.from(text);
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } finally {
    closeSync(fd);
  }
}

/** The lock at `path`: its text and record (`record` undefined when unreadable); undefined when absent. */
function readLock(path: string): { text: string; record: LockRecord | undefined } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw ioError('read the lock file', path, err);
  }
  return { text, record: parseRecord(text) };
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as LockRecord;
    const ok = Number.isSafeInteger(r?.pid) && r.pid > 0 && typeof r.host === 'string' && typeof r.started === 'string';
    return ok ? r : undefined;
  } catch {
    return undefined;
  }
}

/** A lock of a process that no longer runs on this host. */
function isStale(r: LockRecord | undefined): boolean {
  return r !== undefined && r.host === hostname() && !alive(r.pid);
}

/**
 * Removes the stale lock whose text is `text`. The file is renamed aside first and checked: if
 * another process took it over in between (the text changed), its lock is put back.
 */
function takeOver(path: string, text: string): boolean {
  const aside = temporaryFor(`${path}-stale`);
  try {
    renameSync(path, aside);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return true; // someone else removed it: try again
    throw ioError('remove the stale lock file', path, err);
  }
  try {
    if (readFileSync(aside, 'utf8') === text) return true;
    try {
      linkSync(aside, path); // a fresh lock of another process: restore it
    } catch {
      // A third process created one meanwhile: it holds the folder now.
    }
    return false;
  } finally {
    rmSync(aside, { force: true });
  }
}

function busy(dir: string, path: string, r: LockRecord | undefined): QuireError {
  if (r === undefined) {
    return new QuireError(
      'E_STATE',
      `${resolve(dir)} is locked by ${path}, which names no process: if no quire run writes to this folder, delete that file and retry`,
    );
  }
  const self = r.pid === process.pid && r.host === hostname() ? ' (this process)' : '';
  const elsewhere = r.host !== hostname() ? ` (if that process no longer runs on ${r.host}, delete ${path} and retry)` : '';
  return new QuireError(
    'E_STATE',
    `${resolve(dir)} is in use by another quire process: pid ${r.pid}${self} on ${r.host}, since ${r.started}. A run folder has ` +
      `one writer at a time: wait for it to finish or stop it, or choose another --out${elsewhere}`,
  );
}

function release(h: Held): void {
  if (!held.delete(h)) return;
  try {
    // Only our own lock: never one that replaced it.
    if (readFileSync(h.path, 'utf8') === h.text) rmSync(h.path, { force: true });
  } catch {
    // Already gone, or the folder is: nothing to release.
  }
  removeCreated(h.created);
  if (held.size === 0) removeHandlers();
}

/** Removes the directories a failed or empty run created, innermost first, while they are empty. */
function removeCreated(created: string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (the run wrote something) or gone
    }
  }
}

function releaseAll(): void {
  for (const h of [...held]) release(h);
}

function installHandlers(): void {
  process.on('exit', releaseAll);
  for (const sig of SIGNALS) {
    // A signal somebody else handles (the CLI's Ctrl-C) ends the run through them; an unhandled
    // one would end the process at once, so release the locks first and then die of it.
    if (process.listenerCount(sig) > 0) continue;
    const handler = () => {
      releaseAll();
      removeHandlers();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    handlers.set(sig, handler);
    process.on(sig, handler);
  }
}

function removeHandlers(): void {
  process.off('exit', releaseAll);
  for (const [sig, handler] of handlers) process.off(sig, handler);
  handlers.clear();
}
