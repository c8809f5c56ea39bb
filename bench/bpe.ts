/**
 * `npm run bench -- bpe [--quick]`: speed of the subword tokenizer (ts/data/bpe.ts).
 * - train: wall time of `trainBpe` learning 8,000 merges from PTB's training words (whitespace
 *   split, ~10k distinct words; skipped when `data/ptb` / `$QUIRE_DATA` is missing) and 16,000
 *   merges from a seeded synthetic long-tailed vocabulary of 600,000 distinct words (60,000 and
 *   4,000 merges with --quick): words are 1-4 syllables drawn Zipf-like from 2,000 (of 2,376 possible) syllables, the
 *   word of rank r counted ⌈10⁷ / (r + 10)^1.1⌉ times (most words occur once or twice);
 * - encode: words/s of `BpeEncoder.encodeWord` (the 8,000 PTB merges) over PTB's validation words
 *   with a cold cache (a fresh encoder after a JIT warm-up on other words, each distinct word
 *   encoded once) and warm (all 70k running words, now cached).
 * rssMB: the process's resident memory after the row (it includes the earlier rows' garbage).
 * One run each (training is deterministic; the times are single wall-clock measurements).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpeEncoder, trainBpe } from '../ts/data/bpe.js';
import { dataDirectory } from '../ts/index.js';
import { rng } from '../test/backends.js';
import type { BenchArgs, BenchRow } from './main.js';

/** `distinct` distinct words with Zipf-like counts (seeded). */
export function syntheticCounts(distinct: number, seed = 21): Map<string, number> {
  const uniform = rng(seed);
  const onsets = [
    '',
    'b',
    'c',
    'd',
    'f',
    'g',
    'h',
    'k',
    'l',
    'm',
    'n',
    'p',
    'r',
    's',
    't',
    'v',
    'w',
    'st',
    'tr',
    'ch',
    'sh',
    'th',
    'pl',
    'gr',
  ];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ea', 'ou', 'ai', 'y'];
  const codas = ['', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'ng', 'st', 'ck'];
  const syllables = new Set<string>();
  while (syllables.size < 2000) {
    syllables.add(
      onsets[Math.floor(uniform() * onsets.length)] +
        vowels[Math.floor(uniform() * vowels.length)] +
        codas[Math.floor(uniform() * codas.length)],
    );
  }
  const inventory = [...syllables];
  // Zipf-like syllable choice: index ⌊n·u²⌋ favours the first syllables.
  const syllable = () => inventory[Math.floor(inventory.length * uniform() ** 2)];
  const counts = new Map<string, number>();
  while (counts.size < distinct) {
    const k = 1 + Math.floor(uniform() * uniform() * 4);
    let w = '';
    for (let i = 0; i < k; i++) w += syllable();
    if (!counts.has(w)) counts.set(w, Math.ceil(1e7 / (counts.size + 10) ** 1.1));
  }
  return counts;
}

function wordCounts(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of readFileSync(file, 'utf8').split(/\s+/)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

function timeTraining(corpus: string, counts: Map<string, number>, merges: number): BenchRow {
  const t0 = performance.now();
  const model = trainBpe(counts, { merges });
  const seconds = (performance.now() - t0) / 1000;
  let occurrences = 0;
  for (const c of counts.values()) occurrences += c;
  const rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  return {
    task: 'train',
    corpus,
    distinctWords: counts.size,
    occurrences,
    merges,
    learned: model.merges.length,
    seconds: Number(seconds.toFixed(2)),
    rssMB,
  };
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dir = dataDirectory();
  const train = join(dir, 'ptb.train.txt');
  let ptbModel: ReturnType<typeof trainBpe> | undefined;
  if (existsSync(train)) {
    const counts = wordCounts(train);
    rows.push(timeTraining('ptb.train', counts, 8000));
    ptbModel = trainBpe(counts, { merges: 8000 });
  } else console.log(`no PTB at ${dir}: skipping the PTB rows (quire data fetch, or set QUIRE_DATA)`);
  const distinct = args.quick ? 60_000 : 600_000;
  const t0 = performance.now();
  const synthetic = syntheticCounts(distinct);
  console.log(`synthetic vocabulary of ${distinct} words generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  rows.push(timeTraining('synthetic Zipf', synthetic, args.quick ? 4000 : 16_000));

  const valid = join(dir, 'ptb.valid.txt');
  if (ptbModel && existsSync(valid)) {
    const words = readFileSync(valid, 'utf8').split(/\s+/).filter(Boolean);
    const distinctWords = [...new Set(words)];
    // JIT warm-up on other words (the training split), then a fresh encoder: cold cache, warm code.
    const warmup = new BpeEncoder(ptbModel);
    for (const w of readFileSync(train, 'utf8').split(/\s+/).slice(0, 200_000)) warmup.encodeWord(`${w}s`);
    const encoder = new BpeEncoder(ptbModel);
    let t = performance.now();
    let pieces = 0;
    for (const w of distinctWords) pieces += encoder.encodeWord(w).length;
    const cold = distinctWords.length / ((performance.now() - t) / 1000);
    t = performance.now();
    for (const w of words) encoder.encodeWord(w);
    const warm = words.length / ((performance.now() - t) / 1000);
    rows.push({
      task: 'encode',
      corpus: 'ptb.valid',
      distinctWords: distinctWords.length,
      occurrences: words.length,
      merges: 8000,
      piecesPerWord: Number((pieces / distinctWords.length).toFixed(2)),
      coldWordsPerSecond: Math.round(cold),
      warmWordsPerSecond: Math.round(warm),
    });
  }
  return rows;
}
