/** The model and the Node reference shared by the browser and edge-runtime tests. */
import { CompressedModel, EOS, generateWords, InferenceEngine, LanguageModel, Vocabulary } from '../ts/index.js';
import { greedy } from '../examples/edge/greedy.js';

const WORDS = ['the', 'meaning', 'of', 'life', 'is', 'a', 'word', EOS, '<unk>'];

function fpModel(): LanguageModel {
  return LanguageModel.create({ vocab: WORDS.length, hidden: 70, layers: 2, initScale: 0.4, dropout: 0, seed: 8 }, { backend: 'native' });
}

/** The full-precision model that `exampleModel()` compresses (a `quire-model` file). */
export function exampleFpModel(): Uint8Array {
  const m = fpModel();
  const bytes = m.toBytes('quire-model', { vocabulary: JSON.stringify(WORDS) }, false);
  m.dispose();
  return bytes;
}

/** A small 1-bit compressed model whose vocabulary holds the examples' prompt words. */
export function exampleModel(): Uint8Array {
  const words = WORDS;
  const m = fpModel();
  const tensors = { embedding: 1, 'lstm.0.w_ih': 1, 'lstm.0.w_hh': 1, 'lstm.1.w_ih': 1, 'lstm.1.w_hh': 1, 'softmax.weight': 1 };
  const spec = { method: 'alternating' as const, cycles: 2, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors };
  const cm = CompressedModel.fromModel(m, spec, { vocabulary: JSON.stringify(words) });
  const bytes = cm.toBytes();
  cm.dispose();
  m.dispose();
  return bytes;
}

/** What every example prints: the greedy words and the last step's logits, from Node's wasm engine. */
export function nodeWasmReference(model: Uint8Array, tokens = 8, prompt = 'the meaning of'): { words: string[]; logits: number[] } {
  const onWasm = {
    InferenceEngine: { fromBytes: (b: Uint8Array) => InferenceEngine.fromBytes(b, { backend: 'wasm' }) },
    Vocabulary,
    generateWords,
  };
  return greedy(onWasm as never, model, { tokens, prompt });
}
