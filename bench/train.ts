/**
 * `npm run bench -- train`: training throughput (tokens/s of forward + backward + clipped SGD
 * update) of the small and medium presets, batch 20, native (all threads) and wasm.
 *
 * Windows come from the PTB training split when `data/ptb` (or `$QUIRE_DATA`) is present,
 * else from seeded random ids (throughput does not depend on the ids). One warm-up window,
 * then the median over timed windows. Memory: the process RSS after each configuration and
 * its peak so far (configurations run in order native small, native medium, wasm small, wasm
 * medium; wasm memory never shrinks, so later peaks include earlier models).
 */
import { existsSync } from 'node:fs';
import { Batcher, dataDirectory, info, LanguageModel, loadCorpus, PRESETS, type BackendName } from '../ts/index.js';
import type { BenchArgs, BenchRow } from './main.js';

function trainingIds(): { ids: Uint32Array; vocab: number; source: string } {
  const dir = dataDirectory();
  if (existsSync(dir)) {
    const c = loadCorpus(dir);
    return { ids: c.ids.train, vocab: c.vocabulary.size, source: 'ptb' };
  }
  let s = 12345;
  const ids = Uint32Array.from({ length: 200_000 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % 10000;
  });
  return { ids, vocab: 10000, source: 'random' };
}

export async function run({ quick }: BenchArgs): Promise<BenchRow[]> {
  const { ids, vocab, source } = trainingIds();
  const rows: BenchRow[] = [];
  for (const backend of ['native', 'wasm'] as BackendName[]) {
    for (const preset of ['small', 'medium']) {
      const p = PRESETS[preset];
      const model = LanguageModel.create({ vocab, hidden: p.hidden, layers: p.layers, initScale: p.initScale, dropout: p.dropout, seed: 1 }, { backend });
      const batcher = new Batcher(ids, p.batch, p.steps, false);
      model.resetState(p.batch);
      const windows = quick ? 2 : preset === 'small' ? 12 : backend === 'wasm' ? 4 : 8;
      const times: number[] = [];
      for (let i = 0; i <= windows; i++) {
        const w = batcher.window(i);
        const t0 = performance.now();
        model.trainStep(w.inputs, w.targets, p.lr, p.clip);
        if (i > 0) times.push(performance.now() - t0);
      }
      model.dispose();
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      const b = info(backend).backends[backend];
      rows.push({
        backend,
        kernels: b.kernels,
        threads: b.threads,
        preset,
        data: source,
        window: `${p.steps}x${p.batch}`,
        windows,
        msPerWindow: +median.toFixed(1),
        tokensPerSecond: Math.round((p.steps * p.batch * 1000) / median),
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      });
    }
  }
  return rows;
}
