import { Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { info } from '../info.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the version, the selected backend, and each backend\'s kernel set and threads')
    .addOption(new Option('--backend <name>', 'backend to select (default: $QUIRE_BACKEND, else auto)').choices(['auto', 'native', 'wasm']))
    .option('--json', 'print JSON instead of text')
    .action((opts: { backend?: BackendChoice; json?: boolean }) => {
      const report = info(opts.backend);
      if (opts.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      const lines = [`quire ${report.version}`, `selected backend: ${report.selected ?? 'none'}`];
      for (const [name, b] of Object.entries(report.backends)) {
        lines.push(
          b.available
            ? `  ${name.padEnd(7)} available  kernels=${b.kernels}  threads=${b.threads}`
            : `  ${name.padEnd(7)} unavailable: ${b.error}`,
        );
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
