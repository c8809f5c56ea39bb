#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../backend/root.js';
import { QuireError } from '../errors.js';
import { errnoCode, ioError } from '../io/fs.js';
import { registerCompress } from './compress.js';
import { registerData } from './data.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerGenerate } from './generate.js';
import { registerImport } from './import.js';
import { registerInfo } from './info.js';
import { registerSuggest } from './suggest.js';
import { printableLines } from './printable.js';
import { guardStdio, StdoutClosed } from './stdout.js';
import { registerTrain } from './train.js';
import { UsageError } from './usage.js';

/**
 * The `quire` command line. Exit codes: 0 success (also when the reader of stdout stopped early,
 * as with `| head`), 1 runtime failure (a QuireError with its code), 2 usage error (unknown
 * command or option, bad value), 130 interrupted. Messages go through `printableLines`: a value
 * they name cannot drive the terminal.
 */
export function buildProgram(): Command {
  const program = new Command('quire')
    .description(
      'Train LSTM language models, compress them to 1-3 bit binary codes by retraining-based ' +
        'iterative quantization (with pruning), and run them with bit-packed kernels.',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(printableLines(text)) })
    .exitOverride();
  registerInfo(program);
  registerTrain(program);
  registerEval(program);
  registerGenerate(program);
  registerSuggest(program);
  registerExport(program);
  registerImport(program);
  registerCompress(program);
  registerData(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof StdoutClosed) return 0;
    if (err instanceof CommanderError) {
      // --help and --version end with code 0; everything else commander rejects is usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`quire: ${printableLines(err.message)}\n(run with --help for usage)\n`);
      return 2;
    }
    if (err instanceof QuireError) {
      process.stderr.write(`quire: ${err.code}: ${printableLines(err.message)}\n`);
      return err.code === 'E_INTERRUPTED' ? 130 : 1;
    }
    const path = (err as { path?: unknown } | null)?.path;
    if (errnoCode(err) && typeof path === 'string') {
      // A file-system failure that no module turned into a QuireError still names its path.
      const e = ioError((err as { syscall?: string }).syscall ?? 'access', path, err);
      process.stderr.write(`quire: ${e.code}: ${printableLines(e.message)}\n`);
      return 1;
    }
    process.stderr.write(`quire: unexpected error: ${printableLines(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
    return 1;
  }
}

guardStdio();
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
