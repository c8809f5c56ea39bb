import { QuireError } from './errors.js';
import { f32Tensor, f32Values, floatValues, type RawTensor, readSafetensors, writeSafetensors } from './io/safetensors.js';
import { adaptiveTails, LanguageModel, type ModelConfig, tailDim } from './model.js';
import type { BackendOption } from './options.js';
import { type TrainState, validateTrainStateOf } from './train/checkpoint.js';
import { VOCABULARY_MATRICES } from './compress/layout.js';

/**
 * Conversion between quire's LSTM language model and the `state_dict` of PyTorch's
 * word-language-model example (`RNNModel` with `rnn_type='LSTM'`): `encoder.weight [V,H]`,
 * per layer `rnn.weight_ih_l{k} [4H,H]`, `rnn.weight_hh_l{k} [4H,H]`, `rnn.bias_ih_l{k} [4H]`,
 * `rnn.bias_hh_l{k} [4H]`, then `decoder.weight [V,H]`, `decoder.bias [V]`. Both gate orders
 * are i, f, g, o, so the matrices are copied as they are; quire has one bias per gate where
 * PyTorch has two: export writes it to `bias_ih` and zeros to `bias_hh`, import sums them.
 * An adaptive softmax is PyTorch's `AdaptiveLogSoftmaxWithLoss` (`div_value` 4, `head_bias`
 * true) in place of the decoder: `decoder.head.weight [S+n,H]`, `decoder.head.bias [S+n]`,
 * `decoder.tail.<i>.0.weight [dᵢ,H]` (the projection), `decoder.tail.<i>.1.weight [sizeᵢ,dᵢ]`.
 */

/** Metadata key holding quire's model config (init scale, dropout, seed survive a round trip). */
const CONFIG_KEY = 'quire.config';
/** Metadata key holding the training run in quire's trainer-state form (written by examples/pytorch/train.py). */
const TRAINING_KEY = 'quire.training';
/** Extra tensors under this prefix (the codes and scales of a compressed model) are quire's own; import skips them. */
export const EXTRA_PREFIX = 'quire.';
/** PyTorch's default for the parameters import cannot infer. */
const IMPORT_DEFAULTS = { initScale: 0.1, dropout: 0, seed: 0 };

/** The PyTorch name of each quire tensor of a model with `layers` layers (and an adaptive softmax of `clusters` tails). */
export function pytorchNames(layers: number, clusters = 0): Map<string, string> {
  const names = new Map([['embedding', 'encoder.weight']]);
  for (let l = 0; l < layers; l++) {
    names.set(`lstm.${l}.w_ih`, `rnn.weight_ih_l${l}`);
    names.set(`lstm.${l}.w_hh`, `rnn.weight_hh_l${l}`);
    names.set(`lstm.${l}.bias`, `rnn.bias_ih_l${l}`);
  }
  if (clusters > 0) {
    names.set('softmax.head.weight', 'decoder.head.weight');
    names.set('softmax.head.bias', 'decoder.head.bias');
    for (let i = 0; i < clusters; i++) {
      names.set(`softmax.tail.${i}.proj`, `decoder.tail.${i}.0.weight`);
      names.set(`softmax.tail.${i}.weight`, `decoder.tail.${i}.1.weight`);
    }
    return names;
  }
  names.set('softmax.weight', 'decoder.weight');
  names.set('softmax.bias', 'decoder.bias');
  return names;
}

/** The model's weights as a PyTorch state dict (F32 tensors), plus `extra` tensors; the safetensors file bytes. */
export function exportStateDict(model: LanguageModel, extra: ReadonlyMap<string, RawTensor> = new Map()): Uint8Array {
  const { hidden: h, layers } = model.config;
  const tensors = new Map<string, RawTensor>();
  for (const [quire, torch] of pytorchNames(layers, model.config.cutoffs?.length)) {
    // A tied model's softmax weight is its embedding: PyTorch's `decoder.weight` gets a copy.
    const own = quire === 'softmax.weight' && model.config.tied ? 'embedding' : quire;
    tensors.set(torch, f32Tensor(model.tensorShape(own), model.getTensor(own)));
  }
  for (let l = 0; l < layers; l++) tensors.set(`rnn.bias_hh_l${l}`, f32Tensor([4 * h], new Float32Array(4 * h)));
  for (const [name, t] of extra) tensors.set(name, t);
  const c = model.config;
  const config = {
    vocab: c.vocab,
    hidden: c.hidden,
    layers: c.layers,
    init_scale: c.initScale,
    dropout: c.dropout,
    seed: c.seed,
    ...(c.cutoffs ? { cutoffs: c.cutoffs } : {}),
  };
  return writeSafetensors(tensors, { format: 'pt', [CONFIG_KEY]: JSON.stringify(config) });
}

/**
 * The training run a state dict records under `quire.training` (examples/pytorch/train.py writes
 * it: schedule, clip, window, streams and per-epoch history, in quire's `TrainState` form), so
 * that `quire compress` restarts an imported model as it does one of its own runs; undefined
 * when the file records none. A record that is malformed or describes another shape than
 * `model` is `E_FORMAT`.
 */
export function stateDictTraining(bytes: Uint8Array, file: string, model: { hidden: number; layers: number }): TrainState | undefined {
  const text = readSafetensors(bytes, file).metadata[TRAINING_KEY];
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as TrainState;
    validateTrainStateOf(state, model);
    return state;
  } catch (err) {
    throw new QuireError('E_FORMAT', `${file}: its ${TRAINING_KEY} record is invalid (${err instanceof Error ? err.message : err})`);
  }
}

const LAYER_TENSOR = /^rnn\.(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)$/;

/**
 * A model from the bytes of a safetensors state dict of PyTorch's word-language-model (shapes
 * inferred from the tensors; a DDP `module.` prefix is dropped). What quire's model cannot hold
 * (GRU or plain RNN layers, bidirectional or projected LSTMs, an embedding narrower or wider
 * than the LSTM, other tensors, another dtype, non-finite values) is `E_FORMAT` naming it.
 */
export function importStateDict(bytes: Uint8Array, file: string, options: BackendOption = {}): LanguageModel {
  const { metadata, tensors: all } = readSafetensors(bytes, file);
  const fail = (what: string): never => {
    throw new QuireError('E_FORMAT', `${file}: ${what}`);
  };
  let tensors = new Map([...all].filter(([name]) => !name.startsWith(EXTRA_PREFIX)));
  if (tensors.size > 0 && [...tensors.keys()].every((k) => k.startsWith('module.'))) {
    tensors = new Map([...tensors].map(([k, t]) => [k.slice('module.'.length), t]));
  }
  const names = [...tensors.keys()];
  if (names.some((n) => n.includes('_reverse')))
    fail('a bidirectional LSTM (tensors ending in _reverse) is not supported: quire runs one direction');
  if (names.some((n) => /weight_hr_l\d+/.test(n))) fail('an LSTM with projections (proj_size, tensors weight_hr_l*) is not supported');
  const emb =
    tensors.get('encoder.weight') ??
    fail("tensor 'encoder.weight' is missing (expected the state_dict of PyTorch's word_language_model RNNModel)");
  if (emb.shape.length !== 2) fail(`tensor 'encoder.weight' has shape ${JSON.stringify(emb.shape)}, expected [vocab, hidden]`);
  const [v, ninp] = emb.shape;
  const w0 = tensors.get('rnn.weight_hh_l0') ?? fail("tensor 'rnn.weight_hh_l0' is missing (no LSTM layer found)");
  const h = w0.shape[1];
  if (w0.shape.length !== 2 || w0.shape[0] !== 4 * h) {
    const kind = w0.shape[0] === 3 * h ? 'a GRU' : w0.shape[0] === h ? 'a plain RNN (tanh/relu)' : 'not an LSTM';
    fail(
      `tensor 'rnn.weight_hh_l0' has shape ${JSON.stringify(w0.shape)}: ${kind}; quire imports LSTMs (weight_hh of shape ` +
        `[4·hidden, hidden])`,
    );
  }
  if (ninp !== h) fail(`the embedding is ${ninp} wide and the LSTM has ${h} units; quire's models need equal sizes (emsize = nhid)`);
  let layers = 0;
  while (tensors.has(`rnn.weight_ih_l${layers}`)) layers++;
  let clusters = 0;
  while (tensors.has(`decoder.tail.${clusters}.0.weight`)) clusters++;
  const adaptive = tensors.has('decoder.head.weight');
  const expected = new Set(['encoder.weight', ...pytorchNames(0, adaptive ? clusters : 0).values()]);
  for (let l = 0; l < layers; l++) for (const p of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) expected.add(`rnn.${p}_l${l}`);
  const unknown = names.filter((n) => !expected.has(n));
  if (unknown.length > 0) {
    const layer = unknown.map((n) => LAYER_TENSOR.exec(n)).find((m) => m !== null);
    fail(
      layer
        ? `tensor 'rnn.${layer[1]}_l${layer[2]}' is not part of layers 0..${layers - 1} (each layer needs rnn.weight_ih_l<k>, ` +
            `layers numbered from 0 without gaps)`
        : `unsupported tensor${unknown.length > 1 ? 's' : ''} ${unknown
            .slice(0, 5)
            .map((n) => `'${n}'`)
            .join(', ')}: quire imports encoder.weight, rnn.{weight,bias}_{ih,hh}_l<k>, decoder.weight, decoder.bias ` +
            `(or an AdaptiveLogSoftmaxWithLoss decoder: decoder.head.*, decoder.tail.<i>.{0,1}.weight)`,
    );
  }
  const values = (name: string, shape: number[], optional = false): Float32Array => {
    const t = tensors.get(name);
    if (!t) return optional ? new Float32Array(shape.reduce((a, d) => a * d, 1)) : fail(`tensor '${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      fail(`tensor '${name}' has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)}`);
    const out = f32Values(name, t, file);
    if (!out.every(Number.isFinite)) fail(`tensor '${name}' holds non-finite values`);
    return out;
  };
  const embedding = values('encoder.weight', [v, h]);
  const cutoffs = adaptive ? adaptiveCutoffsOf(tensors, clusters, v, h, fail) : undefined;
  const decoder = adaptive ? undefined : values('decoder.weight', [v, h]);
  // PyTorch's `--tied` model saves one tensor under both names: equal bits import as a tied model.
  const tied = decoder !== undefined && embedding.every((x, i) => Object.is(x, decoder[i]));
  const config: ModelConfig = { vocab: v, hidden: h, layers, ...IMPORT_DEFAULTS, ...savedSettings(metadata[CONFIG_KEY]), tied, cutoffs };
  const weights = new Map<string, Float32Array>([['embedding', embedding]]);
  for (let l = 0; l < layers; l++) {
    weights.set(`lstm.${l}.w_ih`, values(`rnn.weight_ih_l${l}`, [4 * h, h]));
    weights.set(`lstm.${l}.w_hh`, values(`rnn.weight_hh_l${l}`, [4 * h, h]));
    const bias = values(`rnn.bias_ih_l${l}`, [4 * h], true);
    const hh = values(`rnn.bias_hh_l${l}`, [4 * h], true);
    for (let i = 0; i < bias.length; i++) bias[i] += hh[i];
    weights.set(`lstm.${l}.bias`, bias);
  }
  if (cutoffs) {
    const head = cutoffs[0] + clusters;
    weights.set('softmax.head.weight', values('decoder.head.weight', [head, h]));
    weights.set('softmax.head.bias', values('decoder.head.bias', [head], true));
    for (const [i, t] of adaptiveTails({ vocab: v, hidden: h, cutoffs }).entries()) {
      weights.set(`softmax.tail.${i}.proj`, values(`decoder.tail.${i}.0.weight`, [t.dim, h]));
      weights.set(`softmax.tail.${i}.weight`, values(`decoder.tail.${i}.1.weight`, [t.hi - t.lo, t.dim]));
    }
  } else {
    if (!tied && decoder) weights.set('softmax.weight', decoder);
    weights.set('softmax.bias', values('decoder.bias', [v], true));
  }
  let model: LanguageModel;
  try {
    model = LanguageModel.create(config, options);
  } catch (err) {
    // Sizes out of quire's range (an empty vocabulary, 0 units, too many layers).
    if (err instanceof QuireError && err.code === 'E_CONFIG') fail(`a model of ${v} words, ${layers} × ${h} units: ${err.message}`);
    throw err;
  }
  try {
    for (const [name, w] of weights) model.setTensor(name, w);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/**
 * The cut-offs of an `AdaptiveLogSoftmaxWithLoss` decoder of `clusters` tails over `v` words
 * (from the head's rows and the tails' sizes); `E_FORMAT` (through `fail`) for shapes quire's
 * adaptive softmax cannot hold (a `div_value` other than 4, sizes that do not add up to V).
 */
function adaptiveCutoffsOf(
  tensors: Map<string, RawTensor>,
  clusters: number,
  v: number,
  h: number,
  fail: (what: string) => never,
): number[] {
  const head = tensors.get('decoder.head.weight')?.shape ?? [];
  if (clusters === 0 || head.length !== 2 || head[1] !== h)
    fail(`'decoder.head.weight' has shape ${JSON.stringify(head)}, expected [shortlist + clusters, ${h}] and tails decoder.tail.<i>`);
  const cutoffs = [head[0] - clusters];
  for (let i = 0; i < clusters; i++) {
    const [dim] = tensors.get(`decoder.tail.${i}.0.weight`)?.shape ?? [];
    const want = tailDim(h, i);
    if (dim !== want)
      fail(`'decoder.tail.${i}.0.weight' projects to ${dim} dimensions, expected ${want}: quire's adaptive softmax has div_value 4`);
    const size = tensors.get(`decoder.tail.${i}.1.weight`)?.shape[0] ?? 0;
    if (i + 1 < clusters) cutoffs.push(cutoffs[i] + size);
    else if (cutoffs[i] + size !== v) fail(`the adaptive softmax's clusters cover ${cutoffs[i] + size} words, the embedding ${v}`);
  }
  return cutoffs;
}

/** Init scale, dropout and seed recorded by `exportStateDict`; none when absent or malformed (a file from elsewhere). */
function savedSettings(text: string | undefined): Partial<ModelConfig> {
  try {
    const c = JSON.parse(text ?? 'null') as { init_scale?: unknown; dropout?: unknown; seed?: unknown } | null;
    const ok = (x: unknown, max: number) => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x < max;
    if (c && ok(c.init_scale, Number.POSITIVE_INFINITY) && ok(c.dropout, 1) && Number.isSafeInteger(c.seed) && (c.seed as number) >= 0) {
      return { initScale: c.init_scale as number, dropout: c.dropout as number, seed: c.seed as number };
    }
  } catch {
    // A file from elsewhere: PyTorch's defaults.
  }
  return {};
}

/** Bit `b` of a little-endian stream of u64 words held as bytes. */
const bit = (bytes: Uint8Array, b: number) => (bytes[b >> 3] >> (b & 7)) & 1;

/**
 * The binary codes and scales of a compressed model file (`quire-compressed` bytes) as extra
 * tensors for `exportStateDict`, under PyTorch's names: `quire.<name>.codes` I8 `[k, rows, cols]`
 * (±1, 0 where pruned) and `quire.<name>.scales` F32 `[rows, groups, k]`, so that
 * `W[r, c] = Σ_i scales[r, ⌊c / group⌋, i] · codes[i, r, c]` (group: the file's `groupSize`, or
 * `cols` when 0) is the dequantized weight the export holds. A mixed-precision matrix (rows of
 * 0 to k bits) has codes 0 and scales 0 in the planes a row does not use.
 */
export function compressedCodes(bytes: Uint8Array, file: string): Map<string, RawTensor> {
  const { metadata, tensors } = readSafetensors(bytes, file);
  const bits = JSON.parse(metadata.bits ?? '{}') as Record<string, number>;
  // Every matrix of the model is `hidden` wide but an adaptive softmax's tail weights (`dᵢ`).
  const { layers, hidden, vocab, cutoffs } = JSON.parse(metadata.config ?? '{}') as ModelConfig;
  const tails = adaptiveTails({ vocab, hidden, cutoffs });
  const names = pytorchNames(layers, tails.length);
  const groupSize = Number(metadata.groupSize ?? 0);
  const out = new Map<string, RawTensor>();
  for (const [name, k] of Object.entries(bits)) {
    const scales = tensors.get(`${name}.scales`);
    const torch = names.get(name);
    if (!scales || !torch) throw new QuireError('E_FORMAT', `${file}: the quantized tensor '${name}' has no scales`);
    const cols = tails.find((_, i) => name === `softmax.tail.${i}.weight`)?.dim ?? hidden;
    const groups = Math.ceil(cols / (groupSize > 0 && groupSize < cols ? groupSize : cols));
    const table = tensors.get(`${name}.rowbits`)?.data;
    // A mixed matrix's scales are one list: its rows are the words of a vocabulary matrix, or an LSTM matrix's gate units.
    const rows = !table ? scales.shape[0] : VOCABULARY_MATRICES.includes(name) ? vocab : name.startsWith('lstm.') ? 4 * hidden : undefined;
    if (rows === undefined)
      throw new QuireError(
        'E_FORMAT',
        `${file}: '${name}' has mixed-precision rows, which the export reads for vocabulary and LSTM matrices only`,
      );
    const rowBits = Array.from({ length: rows }, (_, r) =>
      table ? bit(table, 3 * r) + 2 * bit(table, 3 * r + 1) + 4 * bit(table, 3 * r + 2) : k,
    );
    const mask = tensors.get(`${name}.mask`)?.data;
    const kept = tensors.get(`${name}.codes`)?.data;
    const planes = tensors.get(`${name}.planes`)?.data;
    if (!(kept && mask) && !planes) throw new QuireError('E_FORMAT', `${file}: the quantized tensor '${name}' has no codes`);
    const stored = floatValues(`${name}.scales`, scales, file);
    const codes = new Int8Array(k * rows * cols);
    const full = new Float32Array(rows * groups * k);
    let [pos, segment, s] = [0, 0, 0];
    for (let r = 0; r < rows; r++) {
      const kr = rowBits[r];
      if (kr > k) throw new QuireError('E_FORMAT', `${file}: row ${r} of '${name}' has ${kr} bits, more than the file's ${k}`);
      for (let i = 0; i < kr; i++, segment++) {
        for (let c = 0; c < cols; c++) {
          if (mask && !bit(mask, r * cols + c)) continue;
          const set = kept && mask ? bit(kept, pos++) : bit(planes as Uint8Array, segment * cols + c);
          codes[(i * rows + r) * cols + c] = set ? 1 : -1;
        }
      }
      for (let g = 0; g < groups; g++) for (let i = 0; i < kr; i++) full[(r * groups + g) * k + i] = stored[s++];
    }
    if (s !== stored.length) throw new QuireError('E_FORMAT', `${file}: '${name}' has ${stored.length} scales, its rows use ${s}`);
    out.set(`${EXTRA_PREFIX}${torch}.codes`, { dtype: 'I8', shape: [k, rows, cols], data: new Uint8Array(codes.buffer) });
    out.set(`${EXTRA_PREFIX}${torch}.scales`, f32Tensor([rows, groups, k], full));
  }
  return out;
}
