/**
 * Runs `work` with an AbortSignal that the first Ctrl-C (SIGINT) aborts, after printing
 * `notice` to stderr. The work decides what to save before it stops (it ends with an
 * `E_INTERRUPTED` QuireError, exit 130); the handler is removed when the work settles.
 */
export async function withInterrupt<T>(notice: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write(`\nquire: ${notice}\n`);
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    return await work(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
