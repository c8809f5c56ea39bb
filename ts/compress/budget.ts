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
/** The step, in bits, of the mean a mixed group is raised by to spend what the budget leaves. */
export const FILL_STEP = 0.01;

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
  /** A mean between the candidates, measured after the choice to spend what the budget leaves (not counted in `total`). */
  fill?: boolean;
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
 * combinations, 4² when tied, searched exhaustively; more with `candidateBits` between whole bits),
 * and what it leaves of the budget is spent on the groups of mixed rows (`fill` below: the chosen
 * bits may then lie between candidates). `E_CONFIG` when even 1 bit everywhere does not fit.
 *
 * `evaluate` measures validation perplexity; `metadata` is what the file will carry (the
 * vocabulary), so that the header's size counts against a `fileBytes` target exactly.
 * `measured`, when given, is called after each of the `total` evaluations (the FP model's first,
 * without a group), and awaited, so that a caller can show progress and stop the measurement (by
 * throwing) between evaluations: on a medium model each takes a while.
 */
export async function allocateBits(
  model: LanguageModel,
  base: Omit<CompressionSpec, 'tensors' | 'layers'>,
  target: BitAllocation['target'],
  evaluate: (m: LanguageModel) => number,
  metadata: Record<string, string>,
  quantized: (tensors: Record<string, number>) => Pick<CompressionSpec, 'tensors' | 'rows'> = (tensors) => ({ tensors }),
  candidateBits: (g: BitGroup) => readonly number[] = () => BUDGET_BITS,
  measured?: (step: BudgetStep) => void | Promise<void>,
): Promise<BitAllocation> {
  const shape = model.config;
  const present = bitGroups(shape);
  const params = model.parameterCount;
  const bytes = model.toBytes('quire-model', {}, false);
  const total = 1 + present.reduce((n, g) => n + candidateBits(g).length, 0);
  let done = 0;
  const perplexityFp = evaluate(model);
  await measured?.({ done: ++done, total, perplexity: perplexityFp });
  const groups = {} as BitAllocation['groups'];
  let groupWeights = 0;
  // The file's non-tensor bytes (header JSON, metadata): the largest seen.
  let overheadBytes = 0;
  /** Quantizes a copy with only `g` at `bits` (one shot): its exact bytes and validation perplexity. */
  const measure = async (g: BitGroup, bits: number, fill = false): Promise<GroupCost> => {
    const copy = LanguageModel.fromBytes(bytes, { backend: model.backend });
    try {
      const names = groupTensors(g, shape);
      const cm = CompressedModel.fromModel(
        copy,
        { ...base, layers: 'all', ...quantized(Object.fromEntries(names.map((n) => [n, bits]))) },
        metadata,
      );
      const quantizedBytes = cm.header.quantizedBytes;
      overheadBytes = Math.max(overheadBytes, cm.toBytes().length - quantizedBytes - cm.header.fpBytes);
      cm.dispose();
      const perplexity = evaluate(copy);
      await measured?.(fill ? { done, total, group: g, bits, perplexity, fill } : { done: ++done, total, group: g, bits, perplexity });
      return { bits, bytes: quantizedBytes, perplexity };
    } finally {
      copy.dispose();
    }
  };
  for (const g of present) {
    const names = groupTensors(g, shape);
    const weights = names.reduce((a, n) => a + model.tensorShape(n).reduce((p, d) => p * d, 1), 0);
    groupWeights += weights;
    const candidates: GroupCost[] = [];
    for (const bits of candidateBits(g)) candidates.push(await measure(g, bits));
    groups[g] = { chosen: 0, weights, candidates };
  }
  const fpRestBytes = 4 * (params - groupWeights);
  // Room for the header to name all groups at once.
  overheadBytes += 1024;
  // The most bytes of tensors (quantized groups and the FP rest) the budget allows.
  const maxBytes =
    'bitsPerParameter' in target ? Math.floor(((target.bitsPerParameter + 1e-9) * params) / 8) : target.fileBytes - overheadBytes;
  const fits = (totalBytes: number) => totalBytes <= maxBytes;
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
  const choice = await fill(best.choice, best.bytes);
  present.forEach((g, i) => (groups[g]!.chosen = choice[i].bits));
  const chosenBytes = choice.reduce((s, k) => s + k.bytes, fpRestBytes);
  return {
    target,
    perplexityFp,
    groups,
    bitsPerParameter: (8 * chosenBytes) / params,
    predictedFileBytes: chosenBytes + overheadBytes,
    predictedPerplexityIncrease: choice.reduce((s, k) => s + Math.max(0, k.perplexity - perplexityFp), 0),
  };

  /**
   * Spends what the chosen combination leaves of the budget: a group measured between whole bits
   * (mixed rows) takes any mean, so it is raised toward its next candidate as far as the budget
   * allows, in steps of {@link FILL_STEP} (first the group whose next candidate lowers perplexity
   * most per byte), then measured like a candidate and kept unless that is worse. Bytes are
   * linear in the mean (every row-bit costs the same), so the first guess fits but for rounding;
   * a guess that does not fit steps down.
   */
  async function fill(chosen: GroupCost[], chosenBytes: number): Promise<GroupCost[]> {
    const out = [...chosen];
    const next = (i: number) => groups[present[i]]!.candidates.find((k) => k.bits > out[i].bits);
    const slope = (i: number) => {
      const n = next(i)!;
      return (out[i].perplexity - n.perplexity) / Math.max(1, n.bytes - out[i].bytes);
    };
    const fillable = present
      .map((_, i) => i)
      .filter((i) => candidateBits(present[i]).some((b) => !Number.isInteger(b)) && next(i) !== undefined)
      .sort((a, b) => slope(b) - slope(a));
    let bytesNow = chosenBytes;
    for (const i of fillable) {
      const from = out[i];
      const to = next(i)!;
      const spare = maxBytes - bytesNow;
      let bits = Math.min(
        to.bits - FILL_STEP,
        Math.floor((from.bits + ((to.bits - from.bits) * spare) / (to.bytes - from.bytes)) / FILL_STEP + 1e-9) * FILL_STEP,
      );
      for (let tries = 0; tries < 4 && bits > from.bits + FILL_STEP / 2; tries++, bits -= FILL_STEP) {
        const k = await measure(present[i], Number(bits.toFixed(6)), true);
        if (!fits(bytesNow - from.bytes + k.bytes)) continue;
        if (k.perplexity <= from.perplexity) {
          out[i] = k;
          bytesNow += k.bytes - from.bytes;
          const list = groups[present[i]]!.candidates;
          list.splice(
            list.findIndex((c) => c.bits > k.bits),
            0,
            k,
          );
        }
        break;
      }
    }
    return out;
  }
}
