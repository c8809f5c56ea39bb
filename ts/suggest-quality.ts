import { Batcher } from './data/batcher.js';
import type { TokenSource } from './data/token-source.js';
import type { InferenceEngine } from './infer.js';
import { type Predictor, topIds } from './predict.js';

/** How a keyboard would fare with a model's suggestions on a text (the field's measures). */
export interface SuggestionQuality {
  /** Words scored: every predicted token that is a suggestible word (not `<eos>`, `<unk>` or another special). */
  words: number;
  /** Share of them that were the first, or among the first three, next-word suggestions. */
  top1: number;
  top3: number;
  /**
   * Keystroke savings: the share of keystrokes a user would not make, typing each word and the
   * space after it, when taking the word from the three suggestions as soon as it shows (before
   * its first character: next-word suggestions; after each typed character: completions of the
   * typed prefix). A tap inserts the word and its space, so it saves `length − typed` keystrokes
   * of the `length + 1` the word costs without suggestions.
   */
  keystrokeSavings: number;
  /** Keystrokes of the scored words without suggestions (characters plus one space each). */
  characters: number;
}

/**
 * Top-1 and top-3 next-word accuracy and keystroke savings of `predictor`'s model on the ids of a
 * text, read as `batch` contiguous streams (as perplexity is): after every token, the model's
 * suggestions for the next one are compared with it. Suggestions are ranked as
 * {@link PredictionSession} ranks them (specials left out; completions by prefix of the word).
 */
export function suggestionQuality(predictor: Predictor, ids: Uint32Array | TokenSource, batch = 10): SuggestionQuality {
  const engine: InferenceEngine = predictor.engine;
  const words = predictor.text.vocabulary.words;
  const shown = words.map((w) => predictor.tokenizer.display(w));
  const suggestible = predictor.idsWithPrefix('');
  const isWord = new Uint8Array(words.length);
  for (const id of suggestible) isWord[id] = 1;
  const batcher = new Batcher(ids, batch, 1, true);
  engine.resetState(batch);
  const v = words.length;
  let scored = 0;
  let top1 = 0;
  let top3 = 0;
  let saved = 0;
  let characters = 0;
  const top: number[] = [];
  for (let i = 0; i < batcher.windows; i++) {
    const w = batcher.window(i);
    const logits = engine.step(w.inputs);
    for (let b = 0; b < w.targets.length; b++) {
      const target = w.targets[b];
      if (!isWord[target]) continue;
      const z = logits.subarray(b * v, (b + 1) * v);
      const text = shown[target];
      scored++;
      characters += text.length + 1;
      topIds(z, suggestible, 3, top);
      if (top[0] === target) top1++;
      if (top.includes(target)) {
        top3++;
        saved += text.length;
        continue;
      }
      for (let typed = 1; typed < text.length; typed++) {
        if (topIds(z, predictor.idsWithPrefix(text.slice(0, typed)), 3, top).includes(target)) {
          saved += text.length - typed;
          break;
        }
      }
    }
  }
  const share = (n: number, of: number) => (of > 0 ? n / of : 0);
  return { words: scored, top1: share(top1, scored), top3: share(top3, scored), keystrokeSavings: share(saved, characters), characters };
}
