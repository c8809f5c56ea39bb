import { QuireError } from '../errors.js';
import { errnoCode } from '../io/fs.js';

/** Thrown by `writeOut` once the reader of stdout has gone (`quire generate | head`): the command ends quietly, exit 0. */
export class StdoutClosed extends Error {
  constructor() {
    super('standard output was closed by its reader');
  }
}

/**
 * Writes `text` to stdout. Once the reader has closed the pipe (EPIPE) it throws `StdoutClosed`,
 * so a long output stops at once instead of writing into nothing; any other failure (a full
 * disk) is `E_IO`. Writes to pipes and files are synchronous on Linux, so the failure is known
 * right after the write.
 */
export function writeOut(text: string): void {
  process.stdout.write(text);
  const err = process.stdout.errored;
  if (!err && !process.stdout.destroyed) return;
  if (!err || errnoCode(err) === 'EPIPE') throw new StdoutClosed();
  throw new QuireError('E_IO', `cannot write to standard output: ${err.message}`, { cause: err });
}

/**
 * Keeps a closed stdout or stderr from crashing the process with "Unhandled 'error' event" and
 * a stack trace: their errors are reported by `writeOut` (or, for stderr, cannot be reported).
 */
export function guardStdio(): void {
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}
