import { Tokenizer, type TokenizerSpec } from './data/tokenizer.js';
import { EOS, UNK, type Vocabulary } from './data/vocabulary.js';
import { QuireError } from './errors.js';
import type { InferenceEngine, SampleOptions } from './infer.js';

export interface GenerateOptions extends SampleOptions {
  /** Text to condition on, split by `tokenizer` (unknown words become `<unk>`). */
  prompt?: string;
  /** How the prompt is split into words (the model's tokenizer; default: at whitespace). */
  tokenizer?: TokenizerSpec;
  /** Words to generate (default 50). */
  tokens?: number;
  /** Sampler seed (default 0): the same seed, model and backend give the same text. */
  seed?: number;
  /** Called once for every prompt word missing from the vocabulary. */
  onUnknown?: (word: string) => void;
}

/**
 * Generates words with `engine` (reset to one stream): feeds `<eos>` and the prompt, then
 * repeatedly samples the next word and feeds it back. Yields each generated word as it is
 * drawn (`<eos>` included: it ends a sentence).
 */
export function* generateWords(engine: InferenceEngine, vocabulary: Vocabulary, options: GenerateOptions = {}): Generator<string> {
  const count = options.tokens ?? 50;
  if (!Number.isSafeInteger(count) || count < 0) throw new QuireError('E_CONFIG', `tokens must be a non-negative integer (got ${count})`);
  const known = new Set(vocabulary.words);
  const words = new Tokenizer(options.tokenizer).tokens(options.prompt ?? '');
  const unknown = words.filter((w) => !known.has(w));
  if (unknown.length && !known.has(UNK)) {
    throw new QuireError('E_DATA', `the prompt has words outside the vocabulary (${unknown.slice(0, 3).join(', ')}), which has no ${UNK}`);
  }
  for (const w of unknown) options.onUnknown?.(w);
  const context = vocabulary.encode(known.has(EOS) ? [EOS, ...words] : words);
  engine.resetState(1);
  engine.seed(options.seed ?? 0);
  if (context.length === 0) throw new QuireError('E_DATA', `the vocabulary has no ${EOS}: give a prompt`);
  // Only the last token's output is read: the others advance the state; an adaptive model's output is
  // computed head first (the sampler's draws are those of the full logits; see InferenceEngine.feed).
  for (const id of context.slice(0, -1)) engine.advance([id]);
  engine.feed([context[context.length - 1]]);
  for (let i = 0; i < count; i++) {
    const [next] = engine.sample(options);
    yield vocabulary.words[next];
    if (i + 1 < count) engine.feed([next]);
  }
}

/** The words of `prompt` (split by `tokenizer`) missing from `vocabulary`: they become `<unk>`. In order, repeats included. */
export function unknownWords(vocabulary: Vocabulary, prompt: string | undefined, tokenizer?: TokenizerSpec): string[] {
  const known = new Set(vocabulary.words);
  return new Tokenizer(tokenizer).tokens(prompt ?? '').filter((w) => !known.has(w));
}
