/** Shared helpers of the benchmark suites. */
import { Bench, type BenchOptions } from 'tinybench';

/** Median latency in ms of `fn` under tinybench with `options`. */
export async function medianMs(fn: () => unknown, options: BenchOptions): Promise<number> {
  const bench = new Bench(options);
  bench.add('task', fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`benchmark task ${r.state}`);
  return r.latency.p50;
}

/** The median of `xs` (the mean of the two middle values for an even count). */
export function middle(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
