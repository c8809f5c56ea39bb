import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { describeModelFile } from '../compress/describe.js';
import { info, measurePeak } from '../info.js';
import { printableLines } from './printable.js';
import { writeOut } from './stdout.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("show the version, the selected backend, and each backend's kernel set and threads; with MODEL, describe a model file")
    .argument('[model]', 'a model file (FP, checkpoint or compressed) or run directory: size, bits per weight, compression ratio')
    .addOption(new Option('--backend <name>', 'backend to select (default: $QUIRE_BACKEND, else auto)').choices(['auto', 'native', 'wasm']))
    .option('--json', 'print JSON instead of text')
    .option('--peak', "also measure each backend's arithmetic peak (about a second; GFLOP/s of FMA chains on every thread)")
    .action((model: string | undefined, opts: { backend?: BackendChoice; json?: boolean; peak?: boolean }) => {
      if (model !== undefined) {
        const d = describeModelFile(model, { backend: opts.backend });
        if (opts.json) {
          // Strings of the file's header are the file's: printed through `printable`.
          writeOut(printableLines(JSON.stringify(d, null, 2)) + '\n');
          return;
        }
        const lines = [
          `${d.file}: ${d.format}, ${d.bytes} bytes, ${d.parameters} parameters, ${d.bitsPerParameter.toFixed(3)} bits per ` +
            `parameter (whole file); vocabulary ${d.vocabulary} (${d.tokenizer})${d.tied ? '; embedding tied to the softmax' : ''}` +
            `${d.cutoffs.length ? `; adaptive softmax, cut-offs ${d.cutoffs.join(',')}` : ''}`,
        ];
        const c = d.compressed;
        if (c) {
          lines.push(
            `  quantized: ${Object.entries(c.bits)
              .map(([n, k]) => (c.rowBits?.[n] ? `${n}=${c.meanBits[n].toFixed(2)}b (rows ${rowRange(c.rowBits[n])})` : `${n}=${k}b`))
              .join(' ')} (${c.method}, layers ${c.layers}, sparsity ${c.sparsity}, gate order ${c.gateOrder})`,
            `  ${c.quantizedWeights} quantized weights at ${c.bitsPerQuantizedWeight.toFixed(3)} bits per weight (scales and ` +
              `masks included); ${c.fpParams} FP parameters`,
            `  compression ratio vs the FP file (${c.fpModelBytes} bytes): ${c.compressionRatio.toFixed(2)}×`,
          );
          if (c.activationBits !== null)
            lines.push(`  retrained with ${c.activationBits}-bit activations: runs on the popcount-a${c.activationBits} kernel by default`);
        }
        writeOut(printableLines(lines.join('\n')) + '\n');
        return;
      }
      const report = info(opts.backend);
      const peaks: Record<string, number> = {};
      if (opts.peak) {
        for (const [name, b] of Object.entries(report.backends))
          if (b.available) peaks[name] = +measurePeak(name as 'native' | 'wasm').gflops.toFixed(1);
      }
      if (opts.json) {
        writeOut(JSON.stringify(opts.peak ? { ...report, peakGflops: peaks } : report, null, 2) + '\n');
        return;
      }
      const lines = [`quire ${report.version}`, `selected backend: ${report.selected ?? 'none'}`];
      for (const [name, b] of Object.entries(report.backends)) {
        const peak = peaks[name] === undefined ? '' : `  peak=${peaks[name]} GFLOP/s`;
        lines.push(
          b.available
            ? `  ${name.padEnd(7)} available  kernels=${b.kernels}${b.relaxedSimd ? ' (relaxed-SIMD module)' : ''}  ` +
                `threads=${b.threads}${peak}`
            : `  ${name.padEnd(7)} unavailable: ${b.error}`,
        );
      }
      writeOut(lines.join('\n') + '\n');
    });
}

/** `1–4b: 812/5210/2790/1188` for a mixed-precision tensor's histogram of row bits. */
function rowRange(histogram: Record<string, number>): string {
  const bits = Object.keys(histogram)
    .map(Number)
    .sort((a, b) => a - b);
  return `${bits[0]}–${bits.at(-1)}b: ${bits.map((b) => histogram[b]).join('/')}`;
}
