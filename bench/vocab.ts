/**
 * `npm run bench -- vocab [--quick]`: training throughput of the small preset as the vocabulary
 * grows, with the full softmax and with the adaptive softmax (`--adaptive`, cut-offs from
 * `adaptiveCutoffs`), native backend, all threads. Windows are drawn from a 1/x (Zipf) law over
 * the vocabulary, the shape of a real corpus's word frequencies (ids in decreasing frequency, as
 * quire's vocabularies are), so the share of tokens that reach the adaptive softmax's tails is
 * realistic: about 30 % beyond the 2,000 most frequent words of 100,000.
 *
 * Configurations alternate within each round (one warm-up window each, then the median over
 * timed windows); the ratio is to the 10,000-word full softmax of the same round. Target: the
 * 100,000-word vocabulary with the adaptive softmax at ≥ 50 % of the 10,000-word full-softmax rate.
 */
import { adaptiveCutoffs, LanguageModel, PRESETS } from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';

/** `n` ids in `0..vocab` drawn as ⌊vocab^u⌋ − 1 (a 1/x law), seeded. */
export function zipfIds(n: number, vocab: number, seed: number): Uint32Array {
  let s = seed >>> 0;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.min(vocab - 1, Math.floor(vocab ** (s / 4294967296)) - 1);
  }
  return out;
}

interface Case {
  vocab: number;
  adaptive: boolean;
}

function measure(c: Case, windows: number): { tokensPerSecond: number; tailShare: number } {
  const p = PRESETS.small;
  const cutoffs = c.adaptive ? adaptiveCutoffs(c.vocab) : undefined;
  const model = LanguageModel.create(
    { vocab: c.vocab, hidden: p.hidden, layers: p.layers, initScale: p.initScale, dropout: p.dropout, seed: 1, cutoffs },
    { backend: 'native' },
  );
  try {
    const n = p.steps * p.batch;
    const ids = zipfIds((windows + 1) * n + 1, c.vocab, 7);
    model.resetState(p.batch);
    const times: number[] = [];
    for (let w = 0; w <= windows; w++) {
      const x = ids.subarray(w * n, (w + 1) * n);
      const y = ids.subarray(w * n + 1, (w + 1) * n + 1);
      const t0 = performance.now();
      model.trainStep(x, y, 0.1, 5);
      if (w > 0) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1];
    const tail = cutoffs ? ids.filter((t) => t >= cutoffs[0]).length / ids.length : 0;
    return { tokensPerSecond: n / (median / 1000), tailShare: tail };
  } finally {
    model.dispose();
  }
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const cases: Case[] = [
    { vocab: 10_000, adaptive: false },
    { vocab: 10_000, adaptive: true },
    { vocab: 100_000, adaptive: false },
    { vocab: 100_000, adaptive: true },
  ];
  const windows = args.quick ? 4 : 20;
  const rates = new Map<number, number[]>();
  const shares = new Map<number, number>();
  for (let round = 0; round < (args.rounds ?? (args.quick ? 1 : 3)); round++) {
    cases.forEach((c, i) => {
      const r = measure(c, windows);
      rates.set(i, [...(rates.get(i) ?? []), r.tokensPerSecond]);
      shares.set(i, r.tailShare);
    });
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const base = median(rates.get(0)!);
  return cases.map((c, i) => {
    const rate = median(rates.get(i)!);
    return {
      vocab: c.vocab,
      softmax: c.adaptive ? `adaptive ${adaptiveCutoffs(c.vocab).join(',')}` : 'full',
      tokensPerSecond: Math.round(rate),
      vsFull10k: Number((rate / base).toFixed(3)),
      tailTokens: c.adaptive ? `${(100 * shares.get(i)!).toFixed(1)} %` : '',
    };
  });
}
