import { QuireError } from '../errors.js';
import { LanguageModel } from '../model.js';
import { CompressedModel, type CompressionSpec } from './compressed-model.js';
import { type BitGroup, bitGroups, groupTensors } from './layout.js';

/** Bits a budget may give a group. */
export const BUDGET_BITS: readonly number[] = [1, 2, 3, 4];
/**
 * The means a group of mixed-precision vocabulary rows is measured at: between whole bits too, so
 * that a budget is spent to the last fraction (e.g. a tied medium model's shared matrix at 1.75
 * bits under 2 bits per parameter, where 2 does not fit and 1 wastes a third).
 */
export const MIXED_BUDGET_BITS: readonly number[] = [0.75, 1, 1.5, 1.75, 2, 2.5, 3, 4];

/** One group at one bit count, measured. */
export interface GroupCost {
  bits: number;
  /** Bytes of planes and scales (and masks) of the group's matrices at these bits. */
  bytes: number;
  /** Validation perplexity with only this group quantized (one shot, no retraining). */
  perplexity: number;
}

/** One evaluation of a budget's measurement done: `group` and `bits` absent for the FP model's. */
export interface BudgetStep {
  done: number;
  total: number;
  group?: BitGroup;
  bits?: number;
  perplexity: number;
}

/** What a budget chose and why: recorded in the report. */
export interface BitAllocation {
  /** The budget as asked: average bits per parameter of the whole model, or file bytes. */
  target: { bitsPerParameter: number } | { fileBytes: number };
  /** FP validation perplexity the sensitivities are measured against. */
  perplexityFp: number;
  /** Per group of the model (no `softmax` when tied: the `embedding` group is the shared matrix): the bits chosen and the measured cost of each candidate. */
  groups: Partial<Record<BitGroup, { chosen: number; weights: number; candidates: GroupCost[] }>>;
  /** Predicted whole-model bits per parameter and bytes of the chosen combination. */
  bitsPerParameter: number;
  predictedFileBytes: number;
  /** The objective: Σ over groups of the one-shot perplexity increase (lower is better). */
  predictedPerplexityIncrease: number;
}

/**
 * Chooses the bits of the LSTM matrices, the softmax and the embedding (a tied model: the LSTM
 * matrices and the one shared embedding/softmax matrix) for a size budget from measured
 * sensitivity: each group is quantized alone (one shot, with the run's solver) at 1–4 bits and the
 * validation perplexity measured; then the combination with the least summed perplexity increase
 * whose whole model (quantized groups with their scales, FP biases) fits the budget is chosen (4³
 * combinations, 4² when tied, searched exhaustively). `E_CONFIG` when even 1 bit everywhere does
 * not fit.
 *
 * `evaluate` measures validation perplexity; `metadata` is what the file will carry (the
 * vocabulary), so that the header's size counts against a `fileBytes` target exactly.
 * `measured`, when given, is called after each of the `total` evaluations (the FP model's first,
 * without a group), so that a caller can show progress: on a medium model each takes a while.
 */
export function allocateBits(
  model: LanguageModel,
  base: Omit<CompressionSpec, 'tensors' | 'layers'>,
  target: BitAllocation['target'],
  evaluate: (m: LanguageModel) => number,
  metadata: Record<string, string>,
  quantized: (tensors: Record<string, number>) => Pick<CompressionSpec, 'tensors' | 'rows'> = (tensors) => ({ tensors }),
  candidateBits: (g: BitGroup) => readonly number[] = () => BUDGET_BITS,
  measured?: (step: BudgetStep) => void,
): BitAllocation {
  const shape = model.config;
  const present = bitGroups(shape);
  const params = model.parameterCount;
  const bytes = model.toBytes('quire-model', {}, false);
  const total = 1 + present.reduce((n, g) => n + candidateBits(g).length, 0);
  let done = 0;
  const perplexityFp = evaluate(model);
  measured?.({ done: ++done, total, perplexity: perplexityFp });
  const groups = {} as BitAllocation['groups'];
  let groupWeights = 0;
  // The file's non-tensor bytes (header JSON, metadata): the largest seen, plus room for the
  // header to name all groups at once.
  let overheadBytes = 0;
  for (const g of present) {
    const names = groupTensors(g, shape);
    const weights = names.reduce((a, n) => a + model.tensorShape(n).reduce((p, d) => p * d, 1), 0);
    groupWeights += weights;
    const candidates = candidateBits(g).map((bits) => {
      const copy = LanguageModel.fromBytes(bytes, { backend: model.backend });
      try {
        const cm = CompressedModel.fromModel(
          copy,
          { ...base, layers: 'all', ...quantized(Object.fromEntries(names.map((n) => [n, bits]))) },
          metadata,
        );
        const quantizedBytes = cm.header.quantizedBytes;
        overheadBytes = Math.max(overheadBytes, cm.toBytes().length - quantizedBytes - cm.header.fpBytes);
        cm.dispose();
        const perplexity = evaluate(copy);
        measured?.({ done: ++done, total, group: g, bits, perplexity });
        return { bits, bytes: quantizedBytes, perplexity };
      } finally {
        copy.dispose();
      }
    });
    groups[g] = { chosen: 0, weights, candidates };
  }
  const fpRestBytes = 4 * (params - groupWeights);
  overheadBytes += 1024;
  const fits = (totalBytes: number) =>
    'bitsPerParameter' in target
      ? (8 * totalBytes) / params <= target.bitsPerParameter + 1e-9
      : totalBytes + overheadBytes <= target.fileBytes;
  let best: { choice: GroupCost[]; loss: number; bytes: number } | undefined;
  const lists = present.map((g) => groups[g]!.candidates);
  // Every combination, one candidate per group, in the order of the groups (lexicographic).
  const combinations = lists.reduce<GroupCost[][]>((acc, list) => acc.flatMap((prefix) => list.map((k) => [...prefix, k])), [[]]);
  for (const choice of combinations) {
    const total = choice.reduce((s, k) => s + k.bytes, fpRestBytes);
    if (!fits(total)) continue;
    const loss = choice.reduce((s, k) => s + Math.max(0, k.perplexity - perplexityFp), 0);
    if (!best || loss < best.loss - 1e-9 || (Math.abs(loss - best.loss) <= 1e-9 && total < best.bytes))
      best = { choice, loss, bytes: total };
  }
  if (!best) {
    const smallest = lists.reduce((s, list) => s + list[0].bytes, fpRestBytes);
    throw new QuireError(
      'E_CONFIG',
      `the budget is too small: 1 bit everywhere needs ${((8 * smallest) / params).toFixed(3)} bits per parameter ` +
        `(${smallest + overheadBytes} bytes with the file's header)`,
    );
  }
  present.forEach((g, i) => (groups[g]!.chosen = best!.choice[i].bits));
  return {
    target,
    perplexityFp,
    groups,
    bitsPerParameter: (8 * best.bytes) / params,
    predictedFileBytes: best.bytes + overheadBytes,
    predictedPerplexityIncrease: best.loss,
  };
}
