/**
 * The compressible matrices of an LSTM language model, by group (the names are the core's
 * `lstm::tensor_layout`): every LSTM matrix, the softmax weight, the embedding. Biases stay FP.
 * A tied model has no softmax weight: its embedding is the softmax weight, one matrix in one
 * group (`embedding`), quantized once. An adaptive softmax's group holds its head and the tail
 * matrices at least {@link MIN_CODED_COLUMNS} wide (a narrower row costs about as much coded, with
 * its 64-bit code word and scale per bit, as in full precision).
 */
import { adaptiveTails, type ModelConfig } from '../model.js';

/** The groups whose bits the settings (`bits`, `softmaxBits`, `embeddingBits`) and a budget choose. */
export type BitGroup = 'lstm' | 'softmax' | 'embedding';
export const BIT_GROUPS: readonly BitGroup[] = ['lstm', 'softmax', 'embedding'];

/** What the grouping depends on: the number of LSTM layers, whether the embedding is tied, the adaptive softmax. */
export type GroupShape = Pick<ModelConfig, 'layers' | 'tied' | 'hidden' | 'vocab' | 'cutoffs'>;

/** Matrices narrower than this stay in full precision: a coded row costs a 64-bit word and a 32-bit scale per bit. */
export const MIN_CODED_COLUMNS = 8;

/** The matrices whose rows are words: what mixed-precision rows (`compress --row-bits`) apply to. */
export const VOCABULARY_MATRICES: readonly string[] = ['embedding', 'softmax.weight'];

/** Whether a group holds a matrix whose rows are words: the embedding, or a full softmax's weight. */
export function vocabularyGroup(group: BitGroup, shape: GroupShape): boolean {
  return groupTensors(group, shape).some((n) => VOCABULARY_MATRICES.includes(n));
}

/** The groups a model has: all three, or `lstm` and `embedding` when tied. */
export function bitGroups(shape: GroupShape): BitGroup[] {
  return BIT_GROUPS.filter((g) => !(shape.tied && g === 'softmax'));
}

/** `1 bit`, `0.75 bits`, `2 bits`: a bit count in words (one rule for progress lines and reports). */
export function bitsText(bits: number): string {
  return `${bits} bit${bits === 1 ? '' : 's'}`;
}

/** A group as progress messages name it: `LSTM`, `softmax`, `embedding`, or a tied model's `shared embedding/softmax`. */
export function groupLabel(group: BitGroup, tied: boolean): string {
  if (group === 'lstm') return 'LSTM';
  return group === 'embedding' && tied ? 'shared embedding/softmax' : group;
}

/** The tensors of a group (none for a tied model's softmax, whose weight is the embedding). */
export function groupTensors(group: BitGroup, shape: GroupShape): string[] {
  if (group === 'softmax') {
    if (shape.tied) return [];
    if (!shape.cutoffs?.length) return ['softmax.weight'];
    const tails = adaptiveTails(shape).flatMap((t, i) => [
      ...(shape.hidden >= MIN_CODED_COLUMNS ? [`softmax.tail.${i}.proj`] : []),
      ...(t.dim >= MIN_CODED_COLUMNS ? [`softmax.tail.${i}.weight`] : []),
    ]);
    return ['softmax.head.weight', ...tails];
  }
  if (group === 'embedding') return ['embedding'];
  return Array.from({ length: shape.layers }, (_, l) => [`lstm.${l}.w_ih`, `lstm.${l}.w_hh`]).flat();
}
