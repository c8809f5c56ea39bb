import { WORD_START } from './data/bpe.js';
import { LINE_BREAKS, Tokenizer, WORD_SEPARATOR } from './data/tokenizer.js';
import { EOS, UNK } from './data/vocabulary.js';
import { QuireError } from './errors.js';
import { InferenceEngine, type InferenceOptions } from './infer.js';
import type { ModelConfig } from './model.js';
import { type ModelText, textOf } from './data/model-text.js';

/** One suggested word with the model's probability for it. */
export interface Suggestion {
  word: string;
  probability: number;
  id: number;
}

/**
 * Serialised session states ({@link PredictionSession.state}): little-endian u32 header words, then
 * `2·layers·hidden` f32. Version 2 (written): magic, layers, hidden, vocab, the pending token
 * (0xffffffff: none), context (1: the floats are the state after the context; 0: no context yet,
 * a uniform prediction), n. Version 1 (still read): magic, layers, hidden, vocab, last token, n;
 * the floats are the state before the last token.
 */
const STATE_MAGIC = 0x32535051; // 'QPS2'
const STATE_V1_MAGIC = 0x31535051; // 'QPS1'
const STATE_HEADER = 28;
const STATE_V1_HEADER = 24;
const NONE = 0xffffffff;

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
    this.config = engine.config;
    this.scratch = new Float32Array(this.config.vocab);
    this.zScratch = new Float32Array(this.config.vocab);
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

  /** @internal Every vocabulary id in order, and one probability per id as scratch for ranking (sessions share them). */
  allIds(): Uint32Array {
    this.#all ??= Uint32Array.from({ length: this.config.vocab }, (_, i) => i);
    return this.#all;
  }
  #all: Uint32Array | undefined;
  /** @internal */
  readonly scratch: Float32Array;
  /** @internal Logits of the candidates of an adaptive model's ranking (sessions share it). */
  readonly zScratch: Float32Array;
  /** @internal The engine's config, read once. */
  readonly config: ModelConfig;
  /** @internal The session whose next-token output the engine holds (adaptive models: computed head first, on demand). */
  owner: PredictionSession | undefined;

  /** @internal The position of every id in the display order of {@link idsWithPrefix} (ids left out: after all, by id). */
  rankOf(): Uint32Array {
    if (!this.#rank) {
      const v = this.config.vocab;
      this.#rank = Uint32Array.from({ length: v }, (_, i) => v + i);
      this.sortedIds.forEach((id, j) => {
        (this.#rank as Uint32Array)[id] = j;
      });
    }
    return this.#rank;
  }
  #rank: Uint32Array | undefined;

  /** @internal Whether `ids` is every suggestible word (`idsWithPrefix('')`), and how many ids it leaves out. */
  leftOut(ids: ArrayLike<number>): number | undefined {
    return ids.length === this.sortedIds.length && ids[0] === this.sortedIds[0] ? this.config.vocab - ids.length : undefined;
  }

  /** @internal Vocabulary ids of the words starting with `prefix` (in display order). */
  idsWithPrefix(prefix: string): Uint32Array {
    const text = this.sortedText;
    const lo = lowerBound(text, prefix);
    // The words with the prefix are a run from `lo`: binary search for its end.
    let [a, b] = [lo, text.length];
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (text[mid].startsWith(prefix)) a = mid + 1;
      else b = mid;
    }
    return this.sortedIds.subarray(lo, a);
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

/** Little-endian hosts (all current ones) move state floats as one block copy. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The smallest normal f32: a k-th probability below it falls back to the exact scan (see {@link PredictionSession}). */
const FLT_MIN = 2 ** -126;
/**
 * Logit distance beyond which a word's probability is certainly below the k-th's (when that is a
 * normal f32): the probabilities' roundings move ratios by a few 2⁻²⁴, far less than 1e-5.
 */
const MARGIN = 1e-5;

/**
 * @internal The `k` ids of `ids` with the largest `score[id]`, best first (ties: lower id first among those kept;
 * once `k` are kept, an id scoring no more than the k-th is passed over, so the order of `ids` settles ties at the
 * edge), into `out`. The one ranking of suggestions ({@link PredictionSession}, `suggestionQuality`).
 */
export function topIds(score: ArrayLike<number>, ids: ArrayLike<number>, k: number, out: number[] = []): number[] {
  out.length = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (out.length === k && score[id] <= score[out[k - 1]]) continue;
    let at = out.length;
    while (at > 0 && (score[out[at - 1]] < score[id] || (score[out[at - 1]] === score[id] && out[at - 1] > id))) at--;
    out.splice(at, 0, id);
    if (out.length > k) out.pop();
  }
  return out;
}

/** The scores of one step: the logits, their maximum and `Σ f32(exp(z − max))` (the softmax's normaliser). */
interface Scores {
  z: Float32Array;
  max: number;
  sum: number;
}

/** Probability of `id`: `f32(f32(exp(z − max)) / sum)`, exactly the value of the full softmax array. */
const probabilityOf = (s: Scores, id: number) => Math.fround(Math.fround(Math.exp(s.z[id] - s.max)) / s.sum);

/**
 * How far below the k-th logit an adaptive model's engine returns candidates: far more than {@link MARGIN} plus the f32
 * rounding of the engine's `k-th − SLACK`, so they hold every id the ranking considers.
 */
const SLACK = 1e-3;
/** Excluded ids (specials) up to which `next` asks the engine for the `k` + that many best of all words, not among a list. */
const FEW_LEFT_OUT = 256;

/**
 * The suggestions for one text being typed. `feed(text)` takes the text typed so far and
 * advances the recurrent state by the words that are new since the last call (a text that no
 * longer starts with the fed words is replayed from the start); the unfinished last word is the
 * {@link prefix} that `complete` extends. `next` and `complete` share one model step per change.
 * `state()` / `restore()` move the session between processes (stateless servers): after
 * `restore`, `feed` continues from the restored state with the words it is given.
 *
 * Cost per change: one model step for the suggestions (the newest word's; the session keeps the
 * state after it, so a state restored elsewhere needs no step again), and steps without the output
 * layer for any further new words ({@link InferenceEngine.advance}). The ranking equals a sort of the full softmax (ties: lower id
 * first) without computing it: candidates are taken by logit, then ranked by their exact
 * probabilities.
 */
export class PredictionSession {
  /**
   * The state after the tokens applied so far; the newest token fed, not yet run (its step gives
   * the next-word logits), if any; and whether any token was applied (else the prediction is
   * uniform until one is).
   */
  private recurrent: Float32Array;
  private pending: number | undefined;
  private started = false;
  /** Ids fed so far (null after restore: the next feed appends), and the complete text they came from. */
  private context: number[] | null = [];
  private fed = '';
  private scores: Scores | null = null;
  private probs: Float32Array | null = null;
  /** The partly typed last word. */
  prefix = '';

  constructor(private readonly p: Predictor) {
    if (p.engine.batch !== 1) p.engine.resetState(1);
    this.recurrent = new Float32Array(2 * p.config.layers * p.config.hidden);
    this.pending = p.eos;
  }

  /** Takes the text typed so far; see the class comment. */
  feed(text: string): void {
    if (typeof text !== 'string') throw new QuireError('E_CONFIG', `feed takes the text typed so far (got ${typeof text})`);
    let cut = text.length;
    while (cut > 0 && !WORD_SEPARATOR.test(text[cut - 1])) cut--;
    const word = text.slice(cut);
    this.prefix = this.p.text.tokenizer.lowercase ? word.toLowerCase() : word;
    const done = text.slice(0, cut);
    // Typing inside a word: the complete words are the ones fed last time.
    if (this.context !== null && done === this.fed) return;
    const ids = this.p.idsOf(done);
    let fresh: number[];
    if (this.context === null) {
      fresh = ids;
      this.context = [];
    } else if (ids.length >= this.context.length && this.context.every((id, i) => id === ids[i])) {
      fresh = ids.slice(this.context.length);
    } else {
      this.recurrent.fill(0);
      this.pending = this.p.eos;
      this.started = false;
      this.changed();
      this.context = [];
      fresh = ids;
    }
    this.fed = done;
    if (fresh.length === 0) return;
    this.advance(fresh);
    for (const id of fresh) this.context.push(id);
  }

  /** Runs the pending token and all new ones but the newest (which becomes pending) without logits. */
  private advance(ids: number[]): void {
    const run: number[] = [];
    for (const id of ids) {
      if (this.pending !== undefined) run.push(this.pending);
      this.pending = id;
    }
    if (run.length > 0) {
      const e = this.engine();
      for (const t of run) e.advance([t]);
      this.recurrent = e.state();
      this.started = true;
    }
    this.changed();
  }

  /** The text changed: no cached scores, and the engine's output (if this session's) is stale. */
  private changed(): void {
    this.scores = null;
    this.probs = null;
    if (this.p.owner === this) this.p.owner = undefined;
  }

  /** The shared engine, holding this session's state (and no output). */
  private engine(): InferenceEngine {
    const e = this.p.engine;
    this.p.owner = undefined;
    if (e.batch !== 1) e.resetState(1);
    e.setState(this.recurrent);
    return e;
  }

  /**
   * An adaptive model after some context: the suggestions come from the engine's output computed head first (the
   * head now, a tail cluster only when it can hold a suggestion), and a word's probability is `f32(exp(log p))` of
   * the model's exact log-probability.
   */
  private headFirst(): boolean {
    return (this.p.config.cutoffs?.length ?? 0) > 0 && (this.started || this.pending !== undefined);
  }

  /** The engine holding this session's next-token output (adaptive models; one step when a token is pending). */
  private output(): InferenceEngine {
    const e = this.p.engine;
    if (this.p.owner === this) return e;
    if (this.pending !== undefined) {
      this.engine().feed([this.pending]);
      this.recurrent = e.state();
      this.pending = undefined;
      this.started = true;
    } else this.engine().outputOfState();
    this.p.owner = this;
    return e;
  }

  /** The logits of the next token and their softmax normaliser (one model step, cached until the text changes). */
  private scored(): Scores {
    if (this.scores) return this.scores;
    let z: Float32Array;
    if (this.pending !== undefined) {
      const e = this.engine();
      z = e.step([this.pending]);
      this.recurrent = e.state();
      this.pending = undefined;
      this.started = true;
    } else if (this.started) {
      z = this.engine().logitsOfState();
    } else {
      z = new Float32Array(this.p.config.vocab);
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
    let sum = 0;
    for (let i = 0; i < z.length; i++) sum += Math.fround(Math.exp(z[i] - max));
    this.scores = { z, max, sum };
    return this.scores;
  }

  /**
   * Probabilities of every vocabulary entry as the next token (one model step, cached until the text changes). An adaptive
   * model's are `f32(exp(log p))` of its exact log-probabilities (every tail computed), the values `next` and
   * `complete` report.
   */
  probabilities(): Float32Array {
    if (this.probs) return this.probs;
    if (this.headFirst()) {
      const z = this.output().values(this.p.allIds());
      this.probs = z.map((v) => Math.exp(v));
      return this.probs;
    }
    const s = this.scored();
    const p = new Float32Array(s.z.length);
    for (let i = 0; i < p.length; i++) p[i] = probabilityOf(s, i);
    this.probs = p;
    return p;
  }

  /** The `k` most likely next words (specials such as `<unk>` and `<eos>` left out unless `specials`). */
  next(k = 3, options: { specials?: boolean } = {}): Suggestion[] {
    checkK(k);
    return this.best(options.specials ? this.p.allIds() : this.p.idsWithPrefix(''), k);
  }

  /** The `k` most likely words that start with `prefix` (default: the partly typed word). */
  complete(prefix = this.prefix, k = 3): Suggestion[] {
    checkK(k);
    if (typeof prefix !== 'string') throw new QuireError('E_CONFIG', `prefix must be a string (got ${typeof prefix})`);
    const key = this.p.text.tokenizer.lowercase ? prefix.toLowerCase() : prefix;
    return this.best(this.p.idsWithPrefix(key), k);
  }

  /**
   * The `k` ids of `ids` as {@link topIds} ranks them by probability. Every id whose probability
   * can reach the k-th's is within {@link MARGIN} of the k-th logit (when that probability is a
   * normal f32), so ranking those candidates, in the order of `ids`, gives the same list as
   * ranking all; otherwise (a k-th probability of 0 or subnormal, or non-finite logits) all are ranked.
   * An adaptive model's engine gives those candidates head first ({@link InferenceEngine.candidates}).
   */
  private best(ids: Uint32Array, k: number): Suggestion[] {
    if (this.headFirst()) return this.bestHeadFirst(ids, k);
    const s = this.scored();
    return this.rank(ids, k, s.z, (id) => probabilityOf(s, id), true) as Suggestion[];
  }

  /**
   * {@link best} of an adaptive model: the engine's candidates (every id of `ids` within {@link SLACK} of the k-th
   * logit, its tails computed only when they can hold one), ranked as `rank` ranks all of `ids`; when the k-th
   * probability is not a normal f32, every id's logit is read and all are ranked.
   */
  private bestHeadFirst(ids: Uint32Array, k: number): Suggestion[] {
    if (ids.length === 0) return [];
    const e = this.output();
    const v = this.p.config.vocab;
    const z = this.p.zScratch;
    const prob = (id: number) => Math.fround(Math.exp(z[id]));
    const all = ids === this.p.allIds();
    const rank = this.p.rankOf();
    const leftOut = all ? 0 : this.p.leftOut(ids);
    let found: Uint32Array;
    if (leftOut !== undefined && leftOut <= FEW_LEFT_OUT) {
      // Every word (but a few specials): the best k + that many of all, the specials dropped.
      found = e.candidates(k + leftOut, { slack: SLACK });
      if (!all) found = found.filter((id) => rank[id] < v);
    } else found = e.candidates(k, { slack: SLACK, among: ids });
    // In the order of `ids`: every id in id order, words in display order.
    if (all) found.sort();
    else found.sort((a, b) => rank[a] - rank[b]);
    const values = e.values(found);
    for (let i = 0; i < found.length; i++) z[found[i]] = values[i];
    const ranked = this.rank(found, k, z, prob, false);
    if (ranked) return ranked;
    z.set(e.values(this.p.allIds()));
    return this.rank(ids, k, z, prob, true) as Suggestion[];
  }

  /**
   * The `k` ids of `ids` by probability `prob(id)` ({@link topIds}), ranking only the candidates within {@link MARGIN}
   * of the k-th logit `z` when its probability is a normal f32; otherwise all of `ids` when `exhaustive`, else `null`.
   */
  private rank(
    ids: ArrayLike<number>,
    k: number,
    z: ArrayLike<number>,
    prob: (id: number) => number,
    exhaustive: boolean,
  ): Suggestion[] | null {
    const top: number[] = []; // positions in `ids`, by logit (ties: lower id first)
    const near: number[] = []; // positions passed over or dropped within MARGIN of the k-th logit of their time
    let floor = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < ids.length; i++) {
      const v = z[ids[i]];
      if (top.length === k && v < floor) {
        if (v >= floor - MARGIN) near.push(i);
        continue;
      }
      let at = top.length;
      while (at > 0 && (z[ids[top[at - 1]]] < v || (z[ids[top[at - 1]]] === v && ids[top[at - 1]] > ids[i]))) at--;
      top.splice(at, 0, i);
      if (top.length > k) near.push(top.pop() as number);
      if (top.length === k) floor = z[ids[top[k - 1]]];
    }
    const chosen = this.p.scratch;
    let candidates: ArrayLike<number> = ids;
    if (top.length > 0 && prob(ids[top[top.length - 1]]) >= FLT_MIN) {
      const positions = top.concat(near.filter((i) => z[ids[i]] >= floor - MARGIN)).sort((a, b) => a - b);
      candidates = positions.map((i) => ids[i]);
    } else if (!exhaustive) return null;
    for (let i = 0; i < candidates.length; i++) chosen[candidates[i]] = prob(candidates[i]);
    const words = this.p.text.vocabulary.words;
    return topIds(chosen, candidates, k).map((id) => ({ word: this.p.tokenizer.display(words[id]), probability: chosen[id], id }));
  }

  /**
   * The session as bytes (version 2: a header with the model shape and the pending token, and
   * `2·layers·hidden` floats; see `STATE_MAGIC`): what {@link restore} continues from, here or in
   * another process. Reads only; equal sessions give equal bytes.
   */
  state(): Uint8Array {
    const c = this.p.config;
    const n = this.recurrent.length;
    const out = new Uint8Array(STATE_HEADER + n * 4);
    const view = new DataView(out.buffer);
    const header = [STATE_MAGIC, c.layers, c.hidden, c.vocab, this.pending ?? NONE, this.started ? 1 : 0, n];
    header.forEach((v, i) => view.setUint32(4 * i, v, true));
    if (LITTLE_ENDIAN) new Float32Array(out.buffer, STATE_HEADER, n).set(this.recurrent);
    else for (let i = 0; i < n; i++) view.setFloat32(STATE_HEADER + 4 * i, this.recurrent[i], true);
    return out;
  }

  /**
   * Continues from a {@link state} of a session of the same model (this version's, or version 1,
   * which earlier versions wrote); `E_FORMAT` for anything else.
   */
  restore(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array) || bytes.length < STATE_V1_HEADER)
      throw new QuireError('E_FORMAT', 'not a prediction state (too short)');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const word = (i: number) => view.getUint32(4 * i, true);
    const magic = word(0);
    const v1 = magic === STATE_V1_MAGIC;
    if (!v1 && (magic !== STATE_MAGIC || bytes.length < STATE_HEADER))
      throw new QuireError('E_FORMAT', 'not a prediction state (bad magic or version)');
    const [layers, hidden, vocab, pending] = [word(1), word(2), word(3), word(4)];
    const context = v1 ? (pending === NONE ? 0 : 1) : word(5);
    const n = word(v1 ? 5 : 6);
    const start = v1 ? STATE_V1_HEADER : STATE_HEADER;
    const c = this.p.config;
    if (layers !== c.layers || hidden !== c.hidden || vocab !== c.vocab || n !== 2 * layers * hidden || bytes.length !== start + 4 * n) {
      throw new QuireError(
        'E_FORMAT',
        `the state is of another model (${layers}×${hidden}, vocabulary ${vocab}; this one is ${c.layers}×${c.hidden}, ${c.vocab})`,
      );
    }
    if (pending !== NONE && pending >= vocab)
      throw new QuireError('E_FORMAT', `the state's pending token ${pending} is outside the vocabulary`);
    if (context > 1) throw new QuireError('E_FORMAT', `the state's context flag is ${context} (0 or 1)`);
    let state: Float32Array;
    if (LITTLE_ENDIAN) state = new Float32Array(bytes.slice(start).buffer);
    else {
      state = new Float32Array(n);
      for (let i = 0; i < n; i++) state[i] = view.getFloat32(start + 4 * i, true);
    }
    // v − v is 0 for every finite v, NaN for NaN and ±∞.
    for (let i = 0; i < n; i++) if (state[i] - state[i] !== 0) throw new QuireError('E_FORMAT', 'the state holds NaN or infinity');
    this.recurrent = state;
    this.pending = pending === NONE ? undefined : pending;
    this.started = context === 1;
    this.context = null;
    this.fed = '';
    this.changed();
    this.prefix = '';
  }
}

function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 1 || k > 1000) throw new QuireError('E_CONFIG', `k must be an integer from 1 to 1000 (got ${k})`);
}
