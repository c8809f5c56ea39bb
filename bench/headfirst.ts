/**
 * `npm run bench -- headfirst [--quick] [--rounds N] [--run DIR]`: next-word top-3 per step of a model with an adaptive
 * softmax, native backend, one thread, per-step median and p99 over `--rounds` alternating passes (default 3; 1 with
 * --quick) of 300 steps (100 with --quick) after 20 warm-up steps, each mode on its own engine:
 *
 * - `advance`: the recurrent part alone (no output layer): the floor.
 * - `feed + topK(3)`: head first, a tail cluster computed only when its probability reaches the 3rd best word's.
 * - `feed + all tails + topK(3)`: the exact output's work (every tail), nothing returned.
 * - `step + topK(3)`: the exact output, its V log-probabilities returned to JS (what `step` callers pay).
 *
 * Models: 100,000 words in the medium shape (2×650), cut-offs `adaptiveCutoffs` (2000, 10000, 50000), every matrix
 * at 2 bits, random weights (init scale 0.05: a flat head, whose top-3 needs no tail: head first's best case; the
 * third row is its worst case), input ids from a 1/x law (bench/vocab.ts). With `--run DIR` holding an adaptive
 * `model.qmodel` (e.g. PTB small trained with `--adaptive`), the same on the PTB test passage, with the share of
 * steps whose top-3 needed a tail: what trained predictions cost.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  adaptiveCutoffs,
  type CompressionSpec,
  CompressedModel,
  dataDirectory,
  encodeCorpus,
  InferenceEngine,
  info,
  LanguageModel,
  Predictor,
  setThreads,
  splitIds,
} from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';
import { zipfIds } from './vocab.js';

const K = 3;

/** A random-weight 100,000-word adaptive model in the medium shape, every matrix at 2 bits. */
function wideModel(): Uint8Array {
  const vocab = 100_000;
  const m = LanguageModel.create(
    { vocab, hidden: 650, layers: 2, initScale: 0.05, dropout: 0, seed: 1, cutoffs: adaptiveCutoffs(vocab) },
    { backend: 'native' },
  );
  try {
    const tensors = Object.fromEntries(
      m
        .tensorNames()
        .filter((n) => !n.endsWith('bias'))
        .map((n) => [n, 2]),
    );
    const spec: CompressionSpec = { method: 'greedy', cycles: 0, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors };
    const cm = CompressedModel.fromModel(m, spec, {});
    const bytes = cm.toBytes();
    cm.dispose();
    return bytes;
  } finally {
    m.dispose();
  }
}

type Mode = 'advance' | 'feed + topK(3)' | 'feed + all tails + topK(3)' | 'step + topK(3)';
const MODES: Mode[] = ['advance', 'feed + topK(3)', 'feed + all tails + topK(3)', 'step + topK(3)'];

/** One pass of `mode` over `ids` on `e`: per-step ms, and the tails computed per step (head first). */
function pass(e: InferenceEngine, mode: Mode, ids: Uint32Array, warmup: number, tailIds: Uint32Array): { ms: number[]; tails: number[] } {
  e.resetState(1);
  const ms: number[] = [];
  const tails: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    const t = [ids[i]];
    const t0 = performance.now();
    if (mode === 'advance') e.advance(t);
    else if (mode === 'step + topK(3)') {
      e.step(t);
      e.topK(K);
    } else {
      e.feed(t);
      if (mode === 'feed + all tails + topK(3)') e.values(tailIds);
      e.topK(K);
    }
    const dt = performance.now() - t0;
    if (i >= warmup) {
      ms.push(dt);
      if (mode === 'feed + topK(3)') tails.push(e.tailsComputed.computed);
    }
  }
  return { ms, tails };
}

function rows(what: string, bytes: Uint8Array, ids: Uint32Array, args: BenchArgs, warmup: number): BenchRow[] {
  const engines = MODES.map(() => InferenceEngine.fromBytes(bytes, { backend: 'native' }));
  try {
    const c = engines[0].config;
    const cutoffs = c.cutoffs ?? [];
    // One id of each tail: reading them computes every tail.
    const tailIds = Uint32Array.from(cutoffs);
    const times = MODES.map(() => [] as number[]);
    const tails: number[] = [];
    for (let round = 0; round < (args.rounds ?? (args.quick ? 1 : 3)); round++) {
      MODES.forEach((mode, i) => {
        const r = pass(engines[i], mode, ids, warmup, tailIds);
        times[i].push(...r.ms);
        tails.push(...r.tails);
      });
    }
    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
    const exact = q(times[3], 0.5);
    return MODES.map((mode, i) => {
      const row: BenchRow = {
        model: what,
        mode,
        steps: times[i].length,
        p50us: Math.round(1000 * q(times[i], 0.5)),
        p99us: Math.round(1000 * q(times[i], 0.99)),
        vsStep: Number((q(times[i], 0.5) / exact).toFixed(3)),
      };
      if (mode === 'feed + topK(3)') {
        const needed = tails.filter((n) => n > 0).length / tails.length;
        row.tails = `${(tails.reduce((a, b) => a + b, 0) / tails.length).toFixed(2)} of ${cutoffs.length} per step; ${(100 * needed).toFixed(1)} % of steps needed one`;
      }
      return row;
    });
  } finally {
    for (const e of engines) e.dispose();
  }
}

export async function run(args: BenchArgs): Promise<BenchRow[]> {
  const threads = info().backends.native.threads ?? 1;
  setThreads(1, 'native');
  try {
    return measureAll(args);
  } finally {
    setThreads(threads, 'native');
  }
}

function measureAll(args: BenchArgs): BenchRow[] {
  const steps = args.quick ? 100 : 300;
  const warmup = 20;
  const out = rows('100,000 words, 2×650, 2 bits, random', wideModel(), zipfIds(steps + warmup, 100_000, 7), args, warmup);
  const file = join(args.run, 'model.qmodel');
  if (existsSync(file)) {
    const bytes = new Uint8Array(readFileSync(file));
    const p = Predictor.fromBytes(bytes, { backend: 'native' });
    try {
      if (p.config.cutoffs?.length) {
        const corpus = encodeCorpus(dataDirectory());
        const words = corpus.vocabulary.words;
        const test = splitIds(corpus, 'test').subarray(0, steps + warmup);
        const passage = Array.from(test, (i) => (words[i] === '<eos>' ? '\n' : `${words[i]} `)).join('');
        const ids = Uint32Array.from(p.idsOf(passage));
        out.push(...rows(`${file} (V ${p.config.vocab}, cut-offs ${p.config.cutoffs.join(',')}), PTB test`, bytes, ids, args, warmup));
      }
    } finally {
      p.dispose();
    }
  }
  return out;
}
