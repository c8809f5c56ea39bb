/**
 * `npm run bench -- quality [--run DIR] [--json FILE]`: the quality of the compressed models a
 * user gets, for the same model in every row: test perplexity, its ratio to the FP model, bits
 * per quantized weight and per parameter of the whole model (scales and masks included), file
 * bytes, ratio to the FP file, and wall time. Trains nothing: compresses the trained FP run in
 * `--run` (default runs/small) with the defaults (`--bits 1`), with a whole-model budget
 * (`--target-bits 2`), and with 1 bit + 50 % pruning. `--quick` runs one short iteration on a
 * slice of the data (a smoke test of the suite, not a measurement).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress } from '../ts/compress/loop.js';
import type { SettingsInput } from '../ts/compress/resolve.js';
import { dataDirectory } from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';

const CONFIGS: [string, SettingsInput][] = [
  ['defaults: --bits 1 (LSTM matrices)', { bits: 1 }],
  ['whole model: --target-bits 2', { targetBits: 2 }],
  ['1 bit + 50 % pruning: --bits 1 --prune 0.5', { bits: 1, prune: 0.5 }],
];

export async function run({ quick, run: runDir }: BenchArgs): Promise<BenchRow[]> {
  if (!existsSync(join(runDir, 'model.qmodel'))) {
    throw new Error(`no trained model in ${runDir}: train one with 'npm run train' (or pass --run DIR)`);
  }
  const rows: BenchRow[] = [];
  for (const [name, settings] of CONFIGS) {
    const out = mkdtempSync(join(tmpdir(), 'quire-quality-'));
    const t0 = performance.now();
    const quickSettings = quick ? { iterations: 1, retrainSteps: 5, limitTokens: 20_000 } : {};
    const r = await compress({
      model: runDir,
      dataDir: dataDirectory(),
      outDir: out,
      backend: 'native',
      settings: { ...settings, ...quickSettings },
    });
    const f = r.report.final!;
    const fpTest = r.report.baseline.perplexityTest!;
    rows.push({
      config: name,
      bits:
        `lstm ${r.settings.bits}` +
        (r.settings.layers === 'all'
          ? `, softmax ${r.settings.softmaxBits}, embedding ${r.settings.embeddingBits}`
          : r.settings.layers === 'lstm,softmax'
            ? `, softmax ${r.settings.softmaxBits}`
            : ''),
      testPerplexity: +f.perplexityTest!.toFixed(2),
      fpTestPerplexity: +fpTest.toFixed(2),
      ratioToFp: +(f.perplexityTest! / fpTest).toFixed(3),
      bitsPerQuantizedWeight: +f.bitsPerWeight.toFixed(3),
      bitsPerParameter: +(f.bitsPerParameter ?? NaN).toFixed(3),
      fileBytes: f.modelBytes,
      fileRatio: +(f.fpModelBytes / f.modelBytes).toFixed(2),
      seconds: Math.round((performance.now() - t0) / 1000),
    });
    rmSync(out, { recursive: true, force: true });
  }
  return rows;
}
