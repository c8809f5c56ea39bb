import { WORD_START } from './data/bpe.js';
import { LINE_BREAKS, Tokenizer } from './data/tokenizer.js';
import { EOS, UNK } from './data/vocabulary.js';
import { QuireError } from './errors.js';
import { InferenceEngine, type InferenceOptions } from './infer.js';
import { type ModelText, textOf } from './data/model-text.js';

/** One suggested word with the model's probability for it. */
export interface Suggestion {
  word: string;
  probability: number;
  id: number;
}

/** Magic and version of a serialised session state ({@link PredictionSession.state}). */
const STATE_MAGIC = 0x31535051; // 'QPS1' little-endian
const STATE_HEADER = 24;

// Whitespace (and control characters) end a word being typed.
const SEPARATOR = /[\s\p{Cc}]/u;
const isSpecial = (w: string) => w.length > 2 && w.startsWith('<') && w.endsWith('>');

/**
 * Next-word suggestions from a language model: one loaded inference engine shared by any number
 * of {@link PredictionSession}s (each holds only its own recurrent state, a few kilobytes), and a
 * prefix index over the vocabulary for completing a partly typed word. Runs on every runtime
 * (native, wasm, `quire/web`, edge workers).
 */
export class Predictor {
  readonly tokenizer: Tokenizer;
  /** Word-like vocabulary ids sorted by their display text (specials left out), and those texts. */
  private readonly sortedIds: Uint32Array;
  private readonly sortedText: string[];
  readonly eos: number | undefined;
  readonly unk: number | undefined;

  constructor(
    readonly engine: InferenceEngine,
    readonly text: ModelText,
  ) {
    this.tokenizer = new Tokenizer(text.tokenizer);
    const words = text.vocabulary.words;
    const subwords = !!text.tokenizer.subwords;
    // With subwords only pieces that start a word are suggested (shown without the marker).
    const ids = [...words.keys()].filter((i) => !isSpecial(words[i]) && (!subwords || words[i].startsWith(WORD_START)));
    const shown = (i: number) => this.tokenizer.display(words[i]);
    ids.sort((a, b) => (shown(a) < shown(b) ? -1 : shown(a) > shown(b) ? 1 : a - b));
    this.sortedIds = Uint32Array.from(ids);
    this.sortedText = ids.map(shown);
    this.eos = text.vocabulary.id(EOS);
    this.unk = text.vocabulary.id(UNK);
  }

  /** A predictor over a model file's bytes (compressed models run on the packed kernels). */
  static fromBytes(bytes: Uint8Array, options: InferenceOptions = {}): Predictor {
    const engine = InferenceEngine.fromBytes(bytes, options);
    try {
      return new Predictor(engine, textOf(engine.metadata, engine.config.vocab, 'the model'));
    } catch (err) {
      engine.dispose();
      throw err;
    }
  }

  /** A new session at the start of a text. */
  session(): PredictionSession {
    return new PredictionSession(this);
  }

  dispose(): void {
    this.engine.dispose();
  }

  /** @internal Vocabulary ids of the words starting with `prefix` (in display order). */
  idsWithPrefix(prefix: string): Uint32Array {
    const lo = lowerBound(this.sortedText, prefix);
    let hi = lo;
    while (hi < this.sortedText.length && this.sortedText[hi].startsWith(prefix)) hi++;
    return this.sortedIds.subarray(lo, hi);
  }

  /** @internal The ids of a piece of complete text: tokens per line, `<eos>` after each line break. */
  idsOf(text: string): number[] {
    const lines = text.split(LINE_BREAKS);
    const out: number[] = [];
    lines.forEach((line, i) => {
      const tokens = this.tokenizer.tokens(line);
      for (const t of tokens) {
        const id = this.text.vocabulary.id(t) ?? this.unk;
        if (id !== undefined) out.push(id);
      }
      if (i < lines.length - 1 && tokens.length && this.eos !== undefined) out.push(this.eos);
    });
    return out;
  }
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The suggestions for one text being typed. `feed(text)` takes the text typed so far and
 * advances the recurrent state by the words that are new since the last call (a text that no
 * longer starts with the fed words is replayed from the start); the unfinished last word is the
 * {@link prefix} that `complete` extends. `next` and `complete` share one model step per change.
 * `state()` / `restore()` move the session between processes (stateless servers): after
 * `restore`, `feed` continues from the restored state with the words it is given.
 */
export class PredictionSession {
  /** State before the last token, and that token (the step that gives the next-word logits). */
  private recurrent: Float32Array;
  private last: number | undefined;
  /** Ids fed so far (null after restore: the next feed appends). */
  private context: number[] | null = [];
  private probs: Float32Array | null = null;
  /** The partly typed last word. */
  prefix = '';

  constructor(private readonly p: Predictor) {
    const e = p.engine;
    if (e.batch !== 1) e.resetState(1);
    this.recurrent = new Float32Array(2 * e.config.layers * e.config.hidden);
    this.last = p.eos;
  }

  /** Takes the text typed so far; see the class comment. */
  feed(text: string): void {
    if (typeof text !== 'string') throw new QuireError('E_CONFIG', `feed takes the text typed so far (got ${typeof text})`);
    let cut = text.length;
    while (cut > 0 && !SEPARATOR.test(text[cut - 1])) cut--;
    const word = text.slice(cut);
    this.prefix = this.p.text.tokenizer.lowercase ? word.toLowerCase() : word;
    const ids = this.p.idsOf(text.slice(0, cut));
    let fresh: number[];
    if (this.context === null) {
      fresh = ids;
      this.context = [];
    } else if (ids.length >= this.context.length && this.context.every((id, i) => id === ids[i])) {
      fresh = ids.slice(this.context.length);
    } else {
      this.recurrent.fill(0);
      this.last = this.p.eos;
      this.context = [];
      fresh = ids;
    }
    if (fresh.length === 0) return;
    this.advance(fresh);
    this.context.push(...fresh);
  }

  private advance(ids: number[]): void {
    const e = this.p.engine;
    if (e.batch !== 1) e.resetState(1);
    e.setState(this.recurrent);
    for (const id of ids) {
      if (this.last !== undefined) e.step([this.last]);
      this.last = id;
    }
    this.recurrent = e.state();
    this.probs = null;
  }

  /** Probabilities of every vocabulary entry as the next token (one model step, cached until the text changes). */
  probabilities(): Float32Array {
    if (this.probs) return this.probs;
    const e = this.p.engine;
    if (e.batch !== 1) e.resetState(1);
    e.setState(this.recurrent);
    let z: Float32Array;
    if (this.last === undefined) {
      z = new Float32Array(e.config.vocab);
    } else {
      z = e.step([this.last]);
    }
    let max = Number.NEGATIVE_INFINITY;
    for (const v of z) if (v > max) max = v;
    let sum = 0;
    const p = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) {
      p[i] = Math.exp(z[i] - max);
      sum += p[i];
    }
    for (let i = 0; i < p.length; i++) p[i] /= sum;
    this.probs = p;
    return p;
  }

  /** The `k` most likely next words (specials such as `<unk>` and `<eos>` left out unless `specials`). */
  next(k = 3, options: { specials?: boolean } = {}): Suggestion[] {
    checkK(k);
    const probs = this.probabilities();
    if (options.specials) return this.best(probs, [...probs.keys()], k);
    return this.best(probs, this.p.idsWithPrefix(''), k);
  }

  /** The `k` most likely words that start with `prefix` (default: the partly typed word). */
  complete(prefix = this.prefix, k = 3): Suggestion[] {
    checkK(k);
    if (typeof prefix !== 'string') throw new QuireError('E_CONFIG', `prefix must be a string (got ${typeof prefix})`);
    const key = this.p.text.tokenizer.lowercase ? prefix.toLowerCase() : prefix;
    return this.best(this.probabilities(), this.p.idsWithPrefix(key), k);
  }

  private best(probs: Float32Array, ids: ArrayLike<number>, k: number): Suggestion[] {
    const top: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (top.length === k && probs[id] <= probs[top[k - 1]]) continue;
      let at = top.length;
      while (at > 0 && (probs[top[at - 1]] < probs[id] || (probs[top[at - 1]] === probs[id] && top[at - 1] > id))) at--;
      top.splice(at, 0, id);
      if (top.length > k) top.pop();
    }
    const words = this.p.text.vocabulary.words;
    return top.map((id) => ({ word: this.p.tokenizer.display(words[id]), probability: probs[id], id }));
  }

  /** The recurrent state as bytes: a versioned header (model shape, last token) and `2·layers·hidden` floats. */
  state(): Uint8Array {
    const c = this.p.engine.config;
    const out = new Uint8Array(STATE_HEADER + this.recurrent.length * 4);
    const view = new DataView(out.buffer);
    [STATE_MAGIC, c.layers, c.hidden, c.vocab, this.last ?? 0xffffffff, this.recurrent.length].forEach((v, i) =>
      view.setUint32(4 * i, v, true),
    );
    for (let i = 0; i < this.recurrent.length; i++) view.setFloat32(STATE_HEADER + 4 * i, this.recurrent[i], true);
    return out;
  }

  /** Continues from a {@link state} of a session of the same model (`E_FORMAT` for anything else). */
  restore(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array) || bytes.length < STATE_HEADER)
      throw new QuireError('E_FORMAT', 'not a prediction state (too short)');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const [magic, layers, hidden, vocab, last, n] = [0, 1, 2, 3, 4, 5].map((i) => view.getUint32(4 * i, true));
    const c = this.p.engine.config;
    if (magic !== STATE_MAGIC) throw new QuireError('E_FORMAT', 'not a prediction state (bad magic or version)');
    if (
      layers !== c.layers ||
      hidden !== c.hidden ||
      vocab !== c.vocab ||
      n !== 2 * layers * hidden ||
      bytes.length !== STATE_HEADER + 4 * n
    ) {
      throw new QuireError(
        'E_FORMAT',
        `the state is of another model (${layers}×${hidden}, vocabulary ${vocab}; this one is ${c.layers}×${c.hidden}, ${c.vocab})`,
      );
    }
    if (last !== 0xffffffff && last >= vocab) throw new QuireError('E_FORMAT', `the state's last token ${last} is outside the vocabulary`);
    const state = new Float32Array(n);
    for (let i = 0; i < n; i++) state[i] = view.getFloat32(STATE_HEADER + 4 * i, true);
    if (!state.every(Number.isFinite)) throw new QuireError('E_FORMAT', 'the state holds NaN or infinity');
    this.recurrent = state;
    this.last = last === 0xffffffff ? undefined : last;
    this.context = null;
    this.probs = null;
    this.prefix = '';
  }
}

function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 1 || k > 1000) throw new QuireError('E_CONFIG', `k must be an integer from 1 to 1000 (got ${k})`);
}
