// Compares finished `quire compress` runs (their report.json) side by side: a Markdown table on
// stdout and, with --svg FILE, a plot of each run's quantized validation perplexity per
// iteration (one line per run, the FP baseline as a reference line); with --fp also the
// retrained FP model's after each retraining (dashed, in its run's colour), the ceiling the
// quantized model follows.
//
//   node --import tsx scripts/compare-runs.ts RUN_DIR... [--svg FILE [--fp]]
//
// docs/results.md uses it for the compression sweeps; every number comes from the reports.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CompressReport } from '../ts/compress/report.js';
import { lineChartSvg, PALETTE } from '../ts/report/svg-chart.js';

const args = process.argv.slice(2);
const svgAt = args.indexOf('--svg');
const svg = svgAt >= 0 ? args.splice(svgAt, 2)[1] : undefined;
const fpAt = args.indexOf('--fp');
const withFp = fpAt >= 0 && args.splice(fpAt, 1).length === 1;
if (args.length === 0 || (withFp && !svg)) {
  console.error('usage: node --import tsx scripts/compare-runs.ts RUN_DIR... [--svg FILE [--fp]]');
  process.exit(2);
}

const runs = args.map((dir) => ({
  name: basename(dir),
  report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as CompressReport,
}));
const f = (v: number | undefined | null, d = 2) => (v === undefined || v === null ? '–' : v.toFixed(d));

const rows = [
  '| run | bits (LSTM / softmax / embedding) | retraining | valid: one-shot → final | valid, retrained FP (last) | test | test / FP | bits per quantized ' +
    'weight | bits per parameter | file bytes | vs FP file | quantization loss, first → last | minutes |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const { name, report: r } of runs) {
  const s = r.settings as Record<string, unknown>;
  const its = r.iterations;
  const fin = r.final;
  const bits =
    s.layers === 'lstm'
      ? `${s.bits} / FP / FP`
      : s.layers === 'lstm,softmax'
        ? `${s.bits} / ${s.softmaxBits} / FP`
        : `${s.bits} / ${s.softmaxBits} / ${s.embeddingBits}`;
  const retrain = [
    `T=${s.iterations}`,
    s.retrainSteps ? `S=${s.retrainSteps}` : `E=${s.retrainEpochs}`,
    `lr ${s.lr}×${s.lrDecay}^t`,
    Number(s.dropout) > 0 ? `dropout ${s.dropout}` : '',
    Number(s.distill) > 0 ? `distill ${s.distill}` : '',
    Number(s.straightThrough) > 0 ? `straight-through every ${s.straightThrough}` : '',
    Number(s.prune) > 0 ? `prune ${s.prune}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const minutes = its.reduce((a, it) => a + it.seconds, 0) / 60;
  const fpTest = r.baseline.perplexityTest;
  rows.push(
    `| ${name} | ${bits} | ${retrain} | ${f(its[0]?.perplexityQuantized)} → ${f(its.at(-1)?.perplexityQuantized)} | ` +
      `${f(its.at(-1)?.perplexityFp)} | ` +
      `${f(fin?.perplexityTest)} | ${fin?.perplexityTest && fpTest ? (fin.perplexityTest / fpTest).toFixed(3) : '–'} | ` +
      `${f(fin?.bitsPerWeight, 3)} | ${f(fin?.bitsPerParameter, 3)} | ${fin?.modelBytes ?? '–'} | ` +
      `${fin ? `${(fin.fpModelBytes / fin.modelBytes).toFixed(2)}×` : '–'} | ${f(its[0]?.quantizationLoss, 4)} → ` +
      `${f(its.at(-1)?.quantizationLoss, 5)} | ${minutes.toFixed(1)} |`,
  );
}
const base = runs[0].report.baseline;
console.log(`FP model: valid ${f(base.perplexityValid)}, test ${f(base.perplexityTest)}.\n`);
console.log(rows.join('\n'));

if (svg) {
  writeFileSync(
    svg,
    lineChartSvg({
      title: withFp
        ? 'Validation perplexity per iteration: quantized, and retrained FP (dashed)'
        : 'Quantized validation perplexity per iteration',
      xLabel: 'iteration (0 = one-shot)',
      yLabel: 'valid perplexity',
      integerX: true,
      logY: false,
      series: runs.flatMap(({ name, report }, i) => {
        const color = PALETTE[i % PALETTE.length];
        const quantized = { name, color, points: report.iterations.map((it) => ({ x: it.iteration, y: it.perplexityQuantized })) };
        const fp = report.iterations.flatMap((it) => (it.perplexityFp === null ? [] : [{ x: it.iteration, y: it.perplexityFp }]));
        return withFp ? [quantized, { name: `${name}, retrained FP`, color, dashed: true, points: fp }] : [quantized];
      }),
      references: [{ name: 'FP model', y: base.perplexityValid }],
      width: 900,
      height: 520,
    }),
  );
  console.log(`\nplot written to ${svg}`);
}
