/**
 * The compressible matrices of an LSTM language model, by group (the names are the core's
 * `lstm::tensor_layout`): every LSTM matrix, the softmax weight, the embedding. Biases stay FP.
 * A tied model has no softmax weight: its embedding is the softmax weight, one matrix in one
 * group (`embedding`), quantized once.
 */

/** The groups whose bits the settings (`bits`, `softmaxBits`, `embeddingBits`) and a budget choose. */
export type BitGroup = 'lstm' | 'softmax' | 'embedding';
export const BIT_GROUPS: readonly BitGroup[] = ['lstm', 'softmax', 'embedding'];

/** What the grouping depends on: the number of LSTM layers, and whether the embedding is tied. */
export interface GroupShape {
  layers: number;
  tied?: boolean;
}

/** The groups a model has: all three, or `lstm` and `embedding` when tied. */
export function bitGroups(shape: GroupShape): BitGroup[] {
  return BIT_GROUPS.filter((g) => !(shape.tied && g === 'softmax'));
}

/** The tensors of a group (none for a tied model's softmax, whose weight is the embedding). */
export function groupTensors(group: BitGroup, shape: GroupShape): string[] {
  if (group === 'softmax') return shape.tied ? [] : ['softmax.weight'];
  if (group === 'embedding') return ['embedding'];
  return Array.from({ length: shape.layers }, (_, l) => [`lstm.${l}.w_ih`, `lstm.${l}.w_hh`]).flat();
}
