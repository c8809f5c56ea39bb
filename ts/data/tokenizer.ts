import { QuireError } from '../errors.js';
import { type BpeModel, BpeEncoder, validateBpeModel, WORD_START } from './bpe.js';

/** End-of-sentence token appended to every line. */
export const EOS = '<eos>';
/** Token that out-of-vocabulary words map to. */
export const UNK = '<unk>';

/**
 * How text becomes words:
 * - `words`: split at whitespace (the PTB convention: the corpus is already tokenised);
 * - `text`: raw text, split into runs of letters (with marks and inner apostrophes), numbers (with
 *   inner `.`/`,`) and single other characters (punctuation, symbols), Unicode-aware.
 * Control characters never reach a word: they separate words like spaces (a tokenizer never
 * produces them, so vocabularies and terminals never see them).
 */
export type Splitter = 'words' | 'text';
export const SPLITTERS: readonly Splitter[] = ['words', 'text'];

/** The settings that turn a line of text into tokens; stored in model files and corpus caches. */
export interface TokenizerSpec {
  splitter: Splitter;
  lowercase: boolean;
  /** Subwords: each word becomes byte-pair-encoding pieces (`▁` marks a word's start); absent: whole words. */
  subwords?: BpeModel;
}

export const DEFAULT_TOKENIZER: TokenizerSpec = { splitter: 'words', lowercase: false };

/** One character that separates words: whitespace, a C0/C1 control, a Unicode line or paragraph separator. */
export const WORD_SEPARATOR = /[\s\p{Cc}]/u;
const SEPARATORS = new RegExp(`${WORD_SEPARATOR.source}+`, 'u');
const TEXT_TOKEN = /\p{L}[\p{L}\p{M}]*(?:['’]\p{L}[\p{L}\p{M}]*)*|\p{N}+(?:[.,]\p{N}+)*|[^\s\p{Cc}\p{L}\p{N}]/gu;
/** A line ends at `\n`, `\r\n` or a lone `\r` (one definition for every reader of text). */
export const LINE_BREAKS = /\r\n?|\n/;
// Punctuation that attaches to the previous / next word when `text` tokens are joined back.
const CLOSING = /^[.,;:!?%)\]}»”’…]$/u;
const OPENING = /^[([{«“‘$£€¿¡]$/u;

/** Throws `E_CONFIG` unless `v` is a valid tokenizer spec; returns it typed. */
export function validateTokenizerSpec(v: unknown, where = 'tokenizer'): TokenizerSpec {
  const o = v as Partial<TokenizerSpec> | null;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new QuireError('E_FORMAT', `${where} must be an object`);
  if (!SPLITTERS.includes(o.splitter as Splitter))
    throw new QuireError('E_FORMAT', `${where}.splitter must be one of ${SPLITTERS.join(', ')} (got ${JSON.stringify(o.splitter)})`);
  if (typeof o.lowercase !== 'boolean') throw new QuireError('E_FORMAT', `${where}.lowercase must be true or false`);
  const spec: TokenizerSpec = { splitter: o.splitter as Splitter, lowercase: o.lowercase };
  if (o.subwords !== undefined) spec.subwords = validateBpeModel(o.subwords);
  return spec;
}

/** Turns lines of text into words and words back into text, per a {@link TokenizerSpec}. Pure: runs on every runtime. */
export class Tokenizer {
  private readonly bpe: BpeEncoder | undefined;

  constructor(readonly spec: TokenizerSpec = DEFAULT_TOKENIZER) {
    this.bpe = spec.subwords ? new BpeEncoder(spec.subwords) : undefined;
  }

  /** The model's tokens for one word: its subword pieces, or the word itself. */
  pieces(word: string): string[] {
    return this.bpe ? this.bpe.encodeWord(word) : [word];
  }

  /** The model's tokens of one line (no `<eos>`): the words, split into pieces with subwords. */
  tokens(line: string): string[] {
    const words = this.words(line);
    return this.bpe ? words.flatMap((w) => this.bpe!.encodeWord(w)) : words;
  }

  /** How a token reads as text: a subword piece without its word-start marker. */
  display(token: string): string {
    return this.bpe && token.startsWith(WORD_START) ? token.slice(WORD_START.length) : token;
  }

  /** The words of one line (no line breaks inside), without `<eos>`. */
  words(line: string): string[] {
    const text = this.spec.lowercase ? line.toLowerCase() : line;
    if (this.spec.splitter === 'text') return text.match(TEXT_TOKEN) ?? [];
    const out = text.split(SEPARATORS);
    if (out.length && out[0] === '') out.shift();
    if (out.length && out[out.length - 1] === '') out.pop();
    return out;
  }

  /** Tokens of a text: the words of every non-empty line, each line followed by `<eos>` (Zaremba's PTB reading). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const line of text.split(LINE_BREAKS)) {
      const words = this.words(line);
      if (words.length === 0) continue;
      for (const w of words) out.push(w);
      out.push(EOS);
    }
    return out;
  }

  /**
   * What goes between `prev` (undefined at a line start) and `next` when words are written as
   * text: a space, or nothing before closing and after opening punctuation (`text`).
   */
  glue(prev: string | undefined, next: string): string {
    if (prev === undefined) return '';
    if (this.bpe) return next.startsWith(WORD_START) ? this.glueWords(prev, next.slice(WORD_START.length)) : '';
    return this.glueWords(prev, next);
  }

  private glueWords(prev: string, next: string): string {
    if (this.spec.splitter === 'words') return ' ';
    return CLOSING.test(next) || OPENING.test(prev) ? '' : ' ';
  }

  /** Text of a sequence of words (no `<eos>`). */
  join(words: readonly string[]): string {
    let out = '';
    let prev: string | undefined;
    for (const w of words) {
      out += this.glue(prev, w) + this.display(w);
      prev = w;
    }
    return out;
  }
}

/** Whitespace tokens of a text with `<eos>` after every non-empty line (the `words` tokenizer). */
export function tokenize(text: string): string[] {
  return new Tokenizer().tokenize(text);
}

/** Metadata key of the tokenizer spec in model files (JSON; absent in older files, which used `words`). */
export const TOKENIZER_KEY = 'tokenizer';

/** The tokenizer stored in a model file's metadata (`words` when absent); a malformed one is `E_FORMAT` naming `file`. */
export function tokenizerFromMetadata(metadata: Readonly<Record<string, string>>, file = 'the model'): TokenizerSpec {
  const text = metadata[TOKENIZER_KEY];
  if (text === undefined) return DEFAULT_TOKENIZER;
  try {
    return validateTokenizerSpec(JSON.parse(text));
  } catch (err) {
    throw new QuireError('E_FORMAT', `${file}: metadata 'tokenizer' is invalid (${err instanceof Error ? err.message : err})`);
  }
}
