/**
 * `npm run bench -- own-text [--quick]`: training on a user's raw corpus with default settings,
 * against PTB in the same run. Writes a synthetic long-tailed corpus (160 MB, 40 MB with
 * --quick; a 1/x law over 1.5 million word types, about 640,000 of which occur), then trains the
 * small preset for a fixed number of windows on it and on PTB, alternating, each in a child
 * process: seconds to the first progress line (reading the corpus), training tokens/s, and the
 * child's peak resident memory. Targets: first progress within 60 s, RSS ≤ 1 GB, tokens/s ≥ 50 %
 * of PTB's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCorpus } from './corpus.js';
import type { BenchArgs, BenchRow } from './main.js';
import { dataDirectory } from '../ts/index.js';

const WINDOWS = 150;

function trainOnce(dataDir: string, home: string): { firstProgressSeconds: number; tokensPerSecond: number; peakRssMB: number } {
  const out = mkdtempSync(join(tmpdir(), 'quire-bench-run-'));
  const script = `
    import { train } from './ts/index.ts';
    const t0 = performance.now();
    let first = null, rate = 0;
    const ac = new AbortController();
    const progress = {
      task() { first ??= (performance.now() - t0) / 1000; },
      message(text) { first ??= (performance.now() - t0) / 1000; },
      update(s) { rate = s.tokensPerSecond; if (s.window >= ${WINDOWS}) ac.abort(); },
    };
    try {
      await train({ preset: 'small', dataDir: ${JSON.stringify(dataDir)}, outDir: ${JSON.stringify(out)}, progress, signal: ac.signal });
    } catch (e) { if (e.code !== 'E_INTERRUPTED') throw e; }
    console.log(JSON.stringify({ first, rate, rss: process.resourceUsage().maxRSS / 1024 }));
  `;
  try {
    const text = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, QUIRE_HOME: home },
    });
    const r = JSON.parse(text.trim().split('\n').at(-1)!);
    return { firstProgressSeconds: r.first, tokensPerSecond: r.rate, peakRssMB: r.rss };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const total = args.quick ? 40e6 : 160e6;
  const dir = mkdtempSync(join(tmpdir(), 'quire-bench-own-'));
  const home = mkdtempSync(join(tmpdir(), 'quire-bench-home-'));
  const rows: BenchRow[] = [];
  try {
    writeCorpus(join(dir, 'train.txt'), total * 0.9, 1, 1_500_000);
    writeCorpus(join(dir, 'valid.txt'), total * 0.05, 2, 1_500_000);
    writeCorpus(join(dir, 'test.txt'), total * 0.05, 3, 1_500_000);
    const ptb = dataDirectory();
    for (let round = 0; round < (args.rounds ?? 1); round++) {
      const own = trainOnce(dir, home);
      const base = trainOnce(ptb, home);
      const fmt = (r: ReturnType<typeof trainOnce>) => ({
        firstProgressSeconds: Number(r.firstProgressSeconds.toFixed(1)),
        'tok/s': Math.round(r.tokensPerSecond),
        peakRssMB: Math.round(r.peakRssMB),
      });
      rows.push({
        round,
        corpus: `synthetic ${(total / 1e6).toFixed(0)} MB`,
        ...fmt(own),
        'x PTB': Number((own.tokensPerSecond / base.tokensPerSecond).toFixed(2)),
      });
      rows.push({ round, corpus: 'PTB', ...fmt(base), 'x PTB': 1 });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}
