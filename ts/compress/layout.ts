/**
 * The compressible matrices of an LSTM language model, by group (the names are the core's
 * `lstm::tensor_layout`): every LSTM matrix, the softmax weight, the embedding. Biases stay FP.
 */

/** The groups whose bits the settings (`bits`, `softmaxBits`, `embeddingBits`) and a budget choose. */
export type BitGroup = 'lstm' | 'softmax' | 'embedding';
export const BIT_GROUPS: readonly BitGroup[] = ['lstm', 'softmax', 'embedding'];

/** The tensors of a group in a model with `layers` LSTM layers. */
export function groupTensors(group: BitGroup, layers: number): string[] {
  if (group === 'softmax') return ['softmax.weight'];
  if (group === 'embedding') return ['embedding'];
  return Array.from({ length: layers }, (_, l) => [`lstm.${l}.w_ih`, `lstm.${l}.w_hh`]).flat();
}
