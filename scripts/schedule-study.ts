// The compression schedule study: `quire compress` on one FP model with the default schedule and
// with one retraining setting changed at a time (budget per iteration, restart rate and its decay,
// number of iterations, distillation weight, dropout, retraining through the quantizer), each run
// in its own folder of the study.
// A study outlives an interruption: finished runs are skipped, an unfinished one continues with
// --resume, so a study of many hour-long runs can be spread over several sittings. At the end (or
// with --table alone) it prints the side-by-side table of scripts/compare-runs.ts over the finished
// runs and writes STUDY/valid.svg, their validation perplexity per iteration.
//
// --screen runs one iteration of each variant instead (the variants that set the number of
// iterations left out): about a tenth of the time, for choosing which variants deserve whole runs.
// One iteration tells the retrained FP model's recovery (the table's "retrained FP" column) and
// the first quantized model apart; the ranking after ten iterations may still differ (the study in
// docs/results.md, "What lifts the retrained model", compares both on the tied medium model).
// For a screen under a size budget give the bits the budget chose (e.g. `--bits 2
// --embedding-bits 1.83 --layers all`): each variant then skips the budget's measurement.
//
//   node --import tsx scripts/schedule-study.ts --run runs/medium --study runs/study-medium \
//     [--base "--target-bits 2"] [--only defaults,steps-1600] [--data DIR] [--screen] [--dry-run | --table]
//
// Needs a build (`npm run build`): the runs use dist/ts/cli/main.js.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The variants: a name and the options that differ from the defaults (none for `defaults`). */
const VARIANTS: Record<string, string[]> = {
  defaults: [],
  'steps-400': ['--retrain-steps', '400'],
  'steps-1600': ['--retrain-steps', '1600'],
  'epoch-1': ['--retrain-epochs', '1'],
  'lr-0.5': ['--lr', '0.5'],
  'decay-0.5': ['--lr-decay', '0.5'],
  'decay-0.85': ['--lr-decay', '0.85'],
  'iterations-6': ['--iterations', '6'],
  'iterations-15': ['--iterations', '15'],
  'distill-0': ['--distill', '0'],
  'distill-1': ['--distill', '1'],
  'dropout-0.2': ['--dropout', '0.2'],
  'dropout-0.3': ['--dropout', '0.3'],
  'straight-through-1': ['--straight-through', '1'],
  'straight-through-4': ['--straight-through', '4'],
};

function usage(message: string): never {
  console.error(`schedule-study: ${message}`);
  console.error(
    'usage: node --import tsx scripts/schedule-study.ts --run FP_RUN --study DIR [--base "OPTIONS"] [--only A,B] [--data DIR] [--screen] [--dry-run | --table]',
  );
  console.error(`variants: ${Object.keys(VARIANTS).join(', ')}`);
  process.exit(2);
}

function parse(argv: string[]) {
  const o = {
    run: '',
    study: '',
    base: [] as string[],
    only: [] as string[],
    data: [] as string[],
    screen: false,
    dryRun: false,
    table: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--run') o.run = value();
    else if (a === '--study') o.study = value();
    else if (a === '--base') o.base = value().split(/\s+/).filter(Boolean);
    else if (a === '--only') o.only = value().split(',');
    else if (a === '--data') o.data = ['--data', value()];
    else if (a === '--screen') o.screen = true;
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--table') o.table = true;
    else usage(`unknown argument ${a}`);
  }
  if (!o.study) usage('--study is required');
  // A screen is one iteration per variant: the variants that set the iterations do not apply.
  const setsIterations = (n: string) => VARIANTS[n]?.includes('--iterations');
  if (o.only.length === 0) o.only = Object.keys(VARIANTS).filter((n) => !(o.screen && setsIterations(n)));
  const contradicting = o.screen ? o.only.filter(setsIterations) : [];
  if (contradicting.length) usage(`--screen runs one iteration: ${contradicting.join(', ')} cannot be screened`);
  if (!o.table && !o.run) usage('--run is required');
  const unknown = o.only.filter((n) => !(n in VARIANTS));
  if (unknown.length) usage(`unknown variant ${unknown.join(', ')}`);
  const clash = o.base.find((b) => b === '--out' || b === '--resume');
  if (clash) usage(`--base must not hold ${clash}: the study chooses each run's folder`);
  if (o.screen && o.base.includes('--iterations')) usage('--base must not hold --iterations: --screen runs one iteration');
  return o;
}

/** A run is finished when its report has the final test perplexity. */
function finished(dir: string): boolean {
  const report = join(dir, 'report.json');
  if (!existsSync(report)) return false;
  return JSON.parse(readFileSync(report, 'utf8')).final?.perplexityTest !== undefined;
}

// The built CLI and the table script, found from this file (the table run with this process's own
// --import), so the study runs from any folder.
const CLI = fileURLToPath(new URL('../dist/ts/cli/main.js', import.meta.url));
const COMPARE = fileURLToPath(new URL('./compare-runs.ts', import.meta.url));

const o = parse(process.argv.slice(2));
if (!o.table) {
  for (const name of o.only) {
    const out = join(o.study, name);
    if (finished(out)) {
      console.error(`${name}: finished, skipped`);
      continue;
    }
    const resume = existsSync(join(out, 'state.json')) ? ['--resume'] : [];
    const screen = o.screen ? ['--iterations', '1'] : [];
    const args = [CLI, 'compress', o.run, ...o.base, ...VARIANTS[name], ...screen, ...o.data, '--out', out, ...resume];
    console.error(`${name}: node ${args.join(' ')}`);
    if (o.dryRun) continue;
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`${name}: compress ended with ${r.signal ?? `exit ${r.status}`}; run the study again to continue`);
      process.exit(r.status ?? 1);
    }
  }
}
const done = o.only.map((n) => join(o.study, n)).filter(finished);
if (done.length && !o.dryRun) {
  spawnSync(process.execPath, [...process.execArgv, COMPARE, ...done, '--svg', join(o.study, 'valid.svg')], {
    stdio: 'inherit',
  });
} else if (!o.dryRun) {
  console.error('no finished run in the study yet');
}
