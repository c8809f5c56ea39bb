/**
 * `npm run bench -- train`: training throughput (tokens/s of forward + backward + clipped SGD
 * update) of the small and medium presets, batch 20, native (all threads) and wasm, as GFLOP/s
 * and as a fraction of the backend's measured arithmetic peak (`measurePeak`), and the PyTorch
 * peer (`bench/peers/torch_train.py`, same model and step, same thread count) when
 * `$QUIRE_PEER_PYTHON` (default `python3`) imports torch.
 *
 * Windows come from the PTB training split when `data/ptb` (or `$QUIRE_DATA`) is present,
 * else from seeded random ids (throughput does not depend on the ids). One warm-up window,
 * then the median over timed windows. Memory: the process RSS after each configuration and
 * its peak so far (configurations run in order native small, native medium, wasm small, wasm
 * medium; wasm memory never shrinks, so later peaks include earlier models).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Batcher, dataDirectory, LanguageModel, measurePeak, loadCorpus, PRESETS, type BackendName } from '../ts/index.js';
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

/** Flops of one training token: forward `L·2·(2·H·4H) + 2·H·V` (gate and softmax products), backward twice that. */
function flopsPerToken(hidden: number, layers: number, vocab: number): number {
  return 3 * (layers * 2 * (2 * hidden * 4 * hidden) + 2 * hidden * vocab);
}

/** The PyTorch peer (`bench/peers/torch_train.py`) for the presets, or a note why it did not run. */
function torchPeer(presets: string[], threads: number, quick: boolean): BenchRow[] {
  const python = process.env.QUIRE_PEER_PYTHON ?? 'python3';
  const script = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'torch_train.py');
  const r = spawnSync(python, [script, '--threads', String(threads), '--windows', quick ? '2' : '12', '--presets', presets.join(',')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    console.log(`torch peer skipped (${python}: ${why}); set QUIRE_PEER_PYTHON to a python with torch`);
    return [];
  }
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as BenchRow);
}

export async function run({ quick }: BenchArgs): Promise<BenchRow[]> {
  const { ids, vocab, source } = trainingIds();
  const rows: BenchRow[] = [];
  for (const backend of ['native', 'wasm'] as BackendName[]) {
    const peak = measurePeak(backend);
    console.log(`${backend}: arithmetic peak ${peak.gflops.toFixed(1)} GFLOP/s (${peak.kernels}, ${peak.threads} thread(s))`);
    for (const preset of ['small', 'medium']) {
      const p = PRESETS[preset];
      const model = LanguageModel.create(
        { vocab, hidden: p.hidden, layers: p.layers, initScale: p.initScale, dropout: p.dropout, seed: 1 },
        { backend },
      );
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
      const tokensPerSecond = (p.steps * p.batch * 1000) / median;
      const gflops = (tokensPerSecond * flopsPerToken(p.hidden, p.layers, vocab)) / 1e9;
      rows.push({
        engine: `quire-${backend}`,
        kernels: peak.kernels,
        threads: peak.threads,
        preset,
        data: source,
        window: `${p.steps}x${p.batch}`,
        windows,
        msPerWindow: +median.toFixed(1),
        tokensPerSecond: Math.round(tokensPerSecond),
        gflops: +gflops.toFixed(1),
        ofPeak: `${((100 * gflops) / peak.gflops).toFixed(0)} %`,
        rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      });
    }
    if (backend === 'native') {
      for (const t of torchPeer(['small', 'medium'], peak.threads, quick)) {
        const mine = rows.find((r) => r.engine === 'quire-native' && r.preset === t.preset);
        const gflops = (Number(t.tokensPerSecond) * flopsPerToken(PRESETS[String(t.preset)].hidden, 2, vocab)) / 1e9;
        rows.push({
          engine: String(t.peer),
          threads: t.threads,
          preset: t.preset,
          data: 'random',
          window: t.window,
          windows: t.windows,
          msPerWindow: t.msPerWindow,
          tokensPerSecond: t.tokensPerSecond,
          gflops: +gflops.toFixed(1),
          ofPeak: `${((100 * gflops) / peak.gflops).toFixed(0)} %`,
          quireSpeedup: mine ? +(Number(mine.tokensPerSecond) / Number(t.tokensPerSecond)).toFixed(2) : undefined,
        });
      }
    }
  }
  return rows;
}
