/**
 * The compress run's report: its JSON shape, a validator for it, the Markdown tables and the
 * SVG plots. Pure functions; the loop (ts/compress/loop.ts) writes the files.
 */
import { lineChartSvg } from '../report/svg-chart.js';
import type { BitAllocation } from './budget.js';
import { bitsText } from './layout.js';

/** One row per quantization event; iteration 0 is one-shot quantization with no retraining. */
export interface IterationRecord {
  iteration: number;
  /** ‖W − Q(W)‖² / ‖W‖² over all selected matrices together, measured before quantizing. */
  quantizationLoss: number;
  /** The same per matrix. */
  perMatrix: Record<string, number>;
  /** Validation perplexity of the quantized model (weights = Q(W)). */
  perplexityQuantized: number;
  /** Validation perplexity after retraining in full precision (null for iteration 0). */
  perplexityFp: number | null;
  /** Learning rate used for this iteration's retraining (null for iteration 0). */
  learningRate: number | null;
  /** Wall time of the iteration. */
  seconds: number;
}

/** Scale tuning: windows, rate, validation perplexity of the quantized model before and after, whether it was kept. */
export interface TuningRecord {
  steps: number;
  learningRate: number;
  perplexityBefore: number;
  /** null when tuning ended non-finite (then not kept). */
  perplexityAfter: number | null;
  kept: boolean;
  seconds: number;
}

export interface CompressReport {
  format: 'quire-compress-report';
  version: 1;
  /** Every setting of the run, defaults included. */
  settings: Record<string, unknown>;
  /** Perplexities of the starting full-precision model. */
  baseline: { perplexityValid: number; perplexityTest?: number };
  /** With `--target-bits`/`--target-size`: which group got which bits, and the measurements behind it. */
  allocation?: BitAllocation;
  iterations: IterationRecord[];
  /** Scale tuning after the last iteration (codes fixed), when the run did it. */
  tuning?: TuningRecord;
  /** Final quantized model (after the last quantization), if the run finished. */
  final?: {
    perplexityValid: number;
    perplexityTest?: number;
    modelBytes: number;
    fpModelBytes: number;
    /** Bits per quantized weight, scales and masks included. */
    bitsPerWeight: number;
    /** Bits per parameter of the whole model (quantized matrices with scales and masks, FP tensors; no file header). */
    bitsPerParameter?: number;
  };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Returns the list of problems (empty when `r` is a valid report). */
export function validateReport(r: unknown): string[] {
  const errs: string[] = [];
  if (typeof r !== 'object' || r === null) return ['report is not an object'];
  const o = r as Record<string, unknown>;
  if (o.format !== 'quire-compress-report') errs.push('format must be "quire-compress-report"');
  if (o.version !== 1) errs.push('version must be 1');
  if (typeof o.settings !== 'object' || o.settings === null) errs.push('settings must be an object');
  const b = o.baseline as Record<string, unknown> | undefined;
  if (!b || !isNum(b.perplexityValid)) errs.push('baseline.perplexityValid must be a finite number');
  if (!Array.isArray(o.iterations)) return [...errs, 'iterations must be an array'];
  o.iterations.forEach((it: unknown, i: number) => {
    const p = `iterations[${i}]`;
    if (typeof it !== 'object' || it === null) return errs.push(`${p} is not an object`);
    const x = it as Record<string, unknown>;
    if (x.iteration !== i) errs.push(`${p}.iteration must be ${i}`);
    if (!isNum(x.quantizationLoss) || x.quantizationLoss < 0) errs.push(`${p}.quantizationLoss must be a number >= 0`);
    if (typeof x.perMatrix !== 'object' || x.perMatrix === null) errs.push(`${p}.perMatrix must be an object`);
    else for (const [k, v] of Object.entries(x.perMatrix)) if (!isNum(v)) errs.push(`${p}.perMatrix.${k} must be a number`);
    if (!isNum(x.perplexityQuantized)) errs.push(`${p}.perplexityQuantized must be a number`);
    if (i === 0 ? x.perplexityFp !== null : !isNum(x.perplexityFp)) errs.push(`${p}.perplexityFp must be ${i === 0 ? 'null' : 'a number'}`);
    if (i === 0 ? x.learningRate !== null : !isNum(x.learningRate)) errs.push(`${p}.learningRate must be ${i === 0 ? 'null' : 'a number'}`);
    if (!isNum(x.seconds) || x.seconds < 0) errs.push(`${p}.seconds must be a number >= 0`);
  });
  if (o.tuning !== undefined) {
    const x = o.tuning as Record<string, unknown> | null;
    if (typeof x !== 'object' || x === null) errs.push('tuning must be an object');
    else {
      for (const k of ['steps', 'learningRate', 'perplexityBefore', 'seconds']) if (!isNum(x[k])) errs.push(`tuning.${k} must be a number`);
      if (x.perplexityAfter !== null && !isNum(x.perplexityAfter)) errs.push('tuning.perplexityAfter must be a number or null');
      if (typeof x.kept !== 'boolean') errs.push('tuning.kept must be a boolean');
      else if (x.kept && !(isNum(x.perplexityAfter) && isNum(x.perplexityBefore) && x.perplexityAfter < x.perplexityBefore))
        errs.push('tuning.kept requires perplexityAfter < perplexityBefore');
    }
  }
  return errs;
}

const f = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? '–' : v.toFixed(digits));

/** Markdown: settings, the per-iteration table, per-matrix losses, the final model. */
export function reportMarkdown(r: CompressReport): string {
  const lines: string[] = ['# quire compress report', '', '## Settings', '', '| setting | value |', '|---|---|'];
  for (const [k, v] of Object.entries(r.settings)) lines.push(`| ${k} | ${typeof v === 'object' ? JSON.stringify(v) : String(v)} |`);
  lines.push(
    '',
    `Full-precision baseline: valid perplexity ${f(r.baseline.perplexityValid)}` +
      (r.baseline.perplexityTest !== undefined ? `, test ${f(r.baseline.perplexityTest)}` : '') +
      '.',
    '',
  );
  lines.push(
    '## Iterations',
    '',
    '| iteration | quantization loss | ppl quantized | ppl FP (after retraining) | learning rate | seconds |',
    '|---|---|---|---|---|---|',
  );
  for (const it of r.iterations) {
    lines.push(
      `| ${it.iteration} | ${it.quantizationLoss.toFixed(5)} | ${f(it.perplexityQuantized)} | ${f(it.perplexityFp)} | ` +
        `${it.learningRate === null ? '–' : it.learningRate.toPrecision(3)} | ${it.seconds.toFixed(1)} |`,
    );
  }
  const names = r.iterations.length ? Object.keys(r.iterations[0].perMatrix) : [];
  if (names.length) {
    lines.push(
      '',
      '## Quantization loss per matrix',
      '',
      `| iteration | ${names.join(' | ')} |`,
      `|---|${names.map(() => '---|').join('')}`,
    );
    for (const it of r.iterations) lines.push(`| ${it.iteration} | ${names.map((n) => (it.perMatrix[n] ?? NaN).toFixed(5)).join(' | ')} |`);
  }
  if (r.allocation) {
    const a = r.allocation;
    // Groups are measured at different bits (mixed rows between whole bits too): one column per bit count measured.
    const columns = [...new Set(Object.values(a.groups).flatMap((v) => v.candidates.map((c) => c.bits)))].sort((x, y) => x - y);
    const target = 'bitsPerParameter' in a.target ? `${a.target.bitsPerParameter} bits per parameter` : `${a.target.fileBytes} bytes`;
    lines.push(
      '',
      '## Bit allocation',
      '',
      `Budget: ${target}. One-shot validation perplexity with only that group quantized (FP ${f(a.perplexityFp)}); chosen: least ` +
        `summed increase that fits, then what it leaves spent on mixed rows (a mean between the measured ones) ` +
        `(predicted ${a.bitsPerParameter.toFixed(3)} bits per parameter, ${a.predictedFileBytes} bytes).`,
      '',
      `| group | weights | chosen bits | ${columns.map((b) => `${bitsText(b)}: ppl / bytes`).join(' | ')} |`,
      `|---|---|---|${columns.map(() => '---|').join('')}`,
    );
    // A tied model has no softmax group: its embedding group is the shared matrix.
    const label = (g: string) => (g === 'embedding' && !a.groups.softmax ? 'embedding = softmax (tied)' : g);
    for (const [g, v] of Object.entries(a.groups)) {
      const cell = (b: number) => {
        const c = v.candidates.find((k) => k.bits === b);
        return c ? `${f(c.perplexity)} / ${c.bytes}` : '–';
      };
      lines.push(`| ${label(g)} | ${v.weights} | ${v.chosen} | ${columns.map(cell).join(' | ')} |`);
    }
  }
  if (r.tuning) {
    const t = r.tuning;
    lines.push(
      '',
      '## Scale tuning',
      '',
      `${t.steps} windows at learning rate ${t.learningRate.toPrecision(3)} with the codes fixed (scales re-fitted after every ` +
        `window): validation perplexity ${f(t.perplexityBefore)} → ${f(t.perplexityAfter)}, ` +
        `${t.kept ? 'kept' : 'not better, so the last iteration is the final model'} (${t.seconds.toFixed(1)} s).`,
    );
  }
  if (r.final) {
    lines.push(
      '',
      '## Final quantized model',
      '',
      '| valid ppl | test ppl | bits/quantized weight | bits/parameter (whole model) | model bytes | FP bytes | ratio |',
      '|---|---|---|---|---|---|---|',
      `| ${f(r.final.perplexityValid)} | ${f(r.final.perplexityTest)} | ${r.final.bitsPerWeight.toFixed(3)} | ` +
        `${f(r.final.bitsPerParameter, 3)} | ${r.final.modelBytes} | ${r.final.fpModelBytes} | ` +
        `${(r.final.fpModelBytes / r.final.modelBytes).toFixed(2)}× |`,
    );
  }
  lines.push('', '![quantization loss](loss.svg)', '', '![perplexity](perplexity.svg)', '');
  return lines.join('\n');
}

/** The two plots: quantization loss vs iteration, and perplexity vs iteration with the FP line. */
export function reportPlots(r: CompressReport): { loss: string; perplexity: string } {
  const loss = lineChartSvg({
    title: 'Quantization loss before each quantization',
    xLabel: 'iteration',
    yLabel: '‖W − Q(W)‖² / ‖W‖²',
    integerX: true,
    logY: r.iterations.every((it) => it.quantizationLoss > 0),
    series: [{ name: 'all selected matrices', points: r.iterations.map((it) => ({ x: it.iteration, y: it.quantizationLoss })) }],
  });
  const perplexity = lineChartSvg({
    title: 'Validation perplexity',
    xLabel: 'iteration',
    yLabel: 'perplexity',
    integerX: true,
    series: [
      { name: 'quantized', points: r.iterations.map((it) => ({ x: it.iteration, y: it.perplexityQuantized })) },
      {
        name: 'full precision after retraining',
        dashed: true,
        points: r.iterations.filter((it) => it.perplexityFp !== null).map((it) => ({ x: it.iteration, y: it.perplexityFp as number })),
      },
    ],
    references: [{ name: 'FP baseline', y: r.baseline.perplexityValid }],
  });
  return { loss, perplexity };
}
