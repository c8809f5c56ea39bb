/**
 * `npm run bench -- corpus [--quick]`: encoding a large raw corpus to token files. Writes a
 * synthetic long-tailed corpus (1 GB; 100 MB with --quick) of English-like words drawn from a
 * Zipf-like law over 3 million types (`writeCorpus`), then encodes it in a child process (default settings:
 * `words` tokenizer, 10,000-word vocabulary, a fresh cache) and reports the rate (MB/s of text)
 * and the child's peak resident memory. Targets: ≥ 50 MB/s, ≤ 600 MB for 1 GB.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchArgs, BenchRow } from './main.js';

/** A word for type `i`: letters from a fixed hash, 2-12 characters, rarer types longer. */
export function wordOf(i: number): string {
  let h = (i + 1) * 2654435761;
  const len = 2 + Math.min(10, Math.floor(Math.log2(i + 2) / 2) + (i % 3));
  let w = '';
  for (let k = 0; k < len; k++) {
    h = (h ^ (h >>> 13)) * 1274126177;
    w += String.fromCharCode(97 + (Math.abs(h) % 26));
  }
  return w;
}

/** Writes `bytes` of text to `file`: lines of 5-24 words, word types drawn as ⌊types^u⌋ (a 1/x law). */
export function writeCorpus(file: string, bytes: number, seed: number, types = 3_000_000): void {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cache = new Map<number, string>();
  const fd = openSync(file, 'w');
  let written = 0;
  while (written < bytes) {
    const lines: string[] = [];
    let size = 0;
    while (size < 4 << 20) {
      const n = 5 + Math.floor(rand() * 20);
      const line: string[] = [];
      for (let k = 0; k < n; k++) {
        const type = Math.floor(types ** rand()) - 1;
        let w = cache.get(type);
        if (w === undefined) {
          w = wordOf(type);
          if (cache.size < 4_000_000) cache.set(type, w);
        }
        line.push(w);
      }
      const text = line.join(' ');
      lines.push(text);
      size += text.length + 1;
    }
    const chunk = Buffer.from(lines.join('\n') + '\n');
    writeSync(fd, chunk);
    written += chunk.length;
  }
  closeSync(fd);
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const total = args.quick ? 100e6 : 1e9;
  const dir = mkdtempSync(join(tmpdir(), 'quire-bench-corpus-'));
  try {
    writeCorpus(join(dir, 'train.txt'), total * 0.9, 1);
    writeCorpus(join(dir, 'valid.txt'), total * 0.05, 2);
    writeCorpus(join(dir, 'test.txt'), total * 0.05, 3);
    const script = `
      import { encodeCorpus } from './ts/data/encoded-corpus.ts';
      const t0 = performance.now();
      const c = encodeCorpus(${JSON.stringify(dir)}, { cacheDir: ${JSON.stringify(join(dir, 'cache'))} });
      const seconds = (performance.now() - t0) / 1000;
      const tokens = c.splits.train.tokens + c.splits.valid.tokens + c.splits.test.tokens;
      const folded = c.stats.foldedTokens / c.stats.tokens;
      console.log(JSON.stringify({ seconds, tokens, distinct: c.stats.distinct, folded, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    return [
      {
        corpus: `synthetic ${(total / 1e9).toFixed(1)} GB`,
        distinctWords: r.distinct,
        tokens: r.tokens,
        seconds: Number(r.seconds.toFixed(1)),
        'MB/s': Number((total / 1e6 / r.seconds).toFixed(1)),
        peakRssMB: Math.round(r.maxRssMB),
        unkShare: Number(r.folded.toFixed(4)),
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
