import { TOKENIZER_KEY, type TokenizerSpec, tokenizerFromMetadata } from './tokenizer.js';
import { Vocabulary } from './vocabulary.js';

/** What turns a model's ids into text and back: stored in every model file quire writes. */
export interface ModelText {
  vocabulary: Vocabulary;
  tokenizer: TokenizerSpec;
}

/** The metadata entries that store `text` (vocabulary words and tokenizer spec). */
export function textMetadata(text: ModelText): Record<string, string> {
  return { ...text.vocabulary.toMetadata(), [TOKENIZER_KEY]: JSON.stringify(text.tokenizer) };
}

/** The vocabulary (of `size` words) and tokenizer stored in a model file's metadata; `E_FORMAT` naming `file` when malformed. */
export function textOf(metadata: Readonly<Record<string, string>>, size: number, file: string): ModelText {
  return { vocabulary: Vocabulary.fromMetadata(metadata, size, file), tokenizer: tokenizerFromMetadata(metadata, file) };
}
