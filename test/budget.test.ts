import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { allocateBits, BUDGET_BITS, type BitAllocation, type BudgetStep, FILL_STEP, MIXED_BUDGET_BITS } from '../ts/compress/budget.js';
import { loadFpModel } from '../ts/compress/load.js';
import { vocabularyGroup } from '../ts/compress/layout.js';
import { mixedSpec } from '../ts/compress/settings.js';
import { train } from '../ts/index.js';
import { BACKEND_NAMES } from './backends.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus(2000, 11);
let fpDir = '';

beforeAll(async () => {
  fpDir = mkdtempSync(join(tmpdir(), 'quire-budget-'));
  await train({ preset: 'tiny', overrides: { epochs: 2, hidden: 24 }, dataDir: data, outDir: fpDir, backend: 'native' });
}, 120_000);

describe.each(BACKEND_NAMES)('size budget on %s', (backend) => {
  /** allocateBits as `compress` calls it: mixed rows (error-weighted) on the vocabulary matrices. */
  async function allocate(target: BitAllocation['target'], steps: BudgetStep[] = []): Promise<BitAllocation> {
    const src = loadFpModel(fpDir, { backend });
    try {
      // A stand-in for perplexity that falls with every bit (a tiny model's measured perplexity is
      // too noisy for that): 1 + the relative squared error of the vocabulary and LSTM matrices.
      const fp = new Map(src.model.tensorNames().map((n) => [n, src.model.getTensor(n)]));
      const evaluate = (m: typeof src.model) => {
        let e = 0;
        for (const [n, w] of fp) {
          if (n.endsWith('bias')) continue;
          const q = m.getTensor(n);
          let d = 0;
          let s = 0;
          for (let i = 0; i < w.length; i++) {
            d += (q[i] - w[i]) ** 2;
            s += w[i] ** 2;
          }
          e += d / s;
        }
        return 1 + e;
      };
      const base = { method: 'alternating' as const, cycles: 2, groupSize: 0, sparsity: 0, fpModelBytes: src.fpModelBytes };
      const candidates = (g: Parameters<typeof vocabularyGroup>[0]) =>
        vocabularyGroup(g, src.model.config) ? MIXED_BUDGET_BITS : BUDGET_BITS;
      return await allocateBits(
        src.model,
        base,
        target,
        evaluate,
        {},
        (tensors) => mixedSpec('error', tensors, undefined),
        candidates,
        (s) => steps.push(s),
      );
    } finally {
      src.model.dispose();
    }
  }

  it('spends what the chosen candidates leave on the mixed-row groups, measured, and still fits', async () => {
    // Every group at its most bits: nothing is left to spend and nothing is filled.
    const none: BudgetStep[] = [];
    const all = await allocate({ bitsPerParameter: 32 }, none);
    expect(Object.values(all.groups).map((v) => v.chosen)).toEqual([4, 4, 4]);
    expect(none.filter((s) => s.fill)).toEqual([]);
    const params = loadFpModel(fpDir, { backend });
    const n = params.model.parameterCount;
    params.model.dispose();
    // A budget between the softmax at 2 and at 2.5 bits, the LSTM at 4 and the embedding at 4.
    const cost = (g: 'lstm' | 'softmax' | 'embedding', bits: number) => all.groups[g]!.candidates.find((c) => c.bits === bits)!.bytes;
    const fpRest = (all.bitsPerParameter * n) / 8 - cost('lstm', 4) - cost('softmax', 4) - cost('embedding', 4);
    const bytes = fpRest + cost('lstm', 4) + cost('embedding', 4) + cost('softmax', 2) + 0.6 * (cost('softmax', 2.5) - cost('softmax', 2));
    const target = { bitsPerParameter: (8 * bytes) / n };
    const steps: BudgetStep[] = [];
    const a = await allocate(target, steps);
    expect(a.bitsPerParameter).toBeLessThanOrEqual(target.bitsPerParameter);
    // The fill measured one or more means between the candidates (progress says so, not counted in the total).
    const fills = steps.filter((s) => s.fill);
    expect(fills.length).toBeGreaterThan(0);
    expect(steps.filter((s) => !s.fill).map((s) => s.done)).toEqual(steps.filter((s) => !s.fill).map((_, i) => i + 1));
    for (const s of fills) {
      expect(s.group).not.toBe('lstm');
      expect(MIXED_BUDGET_BITS).not.toContain(s.bits);
      expect(Math.abs(s.bits! / FILL_STEP - Math.round(s.bits! / FILL_STEP))).toBeLessThan(1e-6);
    }
    // A filled group's chosen mean is recorded among its candidates with its exact bytes, between its neighbours.
    const filled = Object.entries(a.groups).filter(([, v]) => !MIXED_BUDGET_BITS.includes(v.chosen) && !BUDGET_BITS.includes(v.chosen));
    expect(filled.length).toBeGreaterThan(0);
    for (const [, v] of filled) {
      const i = v.candidates.findIndex((c) => c.bits === v.chosen);
      expect(i).toBeGreaterThan(0);
      const [lo, at, hi] = [v.candidates[i - 1], v.candidates[i], v.candidates[i + 1]];
      expect(lo.bits < at.bits && at.bits < hi.bits).toBe(true);
      expect(lo.bytes <= at.bytes && at.bytes <= hi.bytes).toBe(true);
      // Kept only when it does not measure worse than the candidate below it.
      expect(at.perplexity).toBeLessThanOrEqual(lo.perplexity);
    }
    // Most of what the candidates left is spent (a mean moves the rows' bits by whole row-bits).
    const maxBytes = (target.bitsPerParameter * n) / 8;
    const spent = Object.values(a.groups).reduce((s, v) => s + v.candidates.find((c) => c.bits === v.chosen)!.bytes, fpRest);
    const [, first] = filled[0];
    const i = first.candidates.findIndex((c) => c.bits === first.chosen);
    const before = spent - first.candidates[i].bytes + first.candidates[i - 1].bytes;
    expect(maxBytes - spent).toBeLessThan(0.5 * (maxBytes - before));
    // The prediction adds up the chosen candidates' bytes.
    expect((8 * spent) / n).toBeCloseTo(a.bitsPerParameter, 9);
  }, 120_000);
});
