import type { LanguageModel } from './model.js';
import { ProtoWriter } from './protobuf.js';

/** Opset of the exported graph (LSTM, Gather, MatMul, Add, Squeeze with axes as an input, Transpose). */
export const ONNX_OPSET = 17;

/** quire's gate blocks are i, f, g, o; ONNX's LSTM wants i, o, f, c (c = quire's g). */
const ONNX_GATES = [0, 3, 1, 2];

const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;

// Field numbers of onnx.proto (ONNX IR): only the fields the export writes.
/** TensorProto: dims 1, data_type 2, int64_data 7, name 8, raw_data 9. */
function floatTensor(name: string, dims: number[], values: Float32Array): ProtoWriter {
  const copy = new Float32Array(values);
  return new ProtoWriter().packedInts(1, dims).int(2, FLOAT).string(8, name).bytes(9, new Uint8Array(copy.buffer));
}

function int64Tensor(name: string, dims: number[], values: number[]): ProtoWriter {
  return new ProtoWriter().packedInts(1, dims).int(2, INT64).packedInts(7, values).string(8, name);
}

/** NodeProto: input 1, output 2, name 3, op_type 4, attribute 5 (AttributeProto: name 1, i 3, type 20). */
function node(opType: string, name: string, input: string[], output: string[], ints: Record<string, number> = {}): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of input) w.string(1, i);
  for (const o of output) w.string(2, o);
  w.string(3, name).string(4, opType);
  for (const [k, v] of Object.entries(ints)) w.message(5, new ProtoWriter().string(1, k).int(3, v).int(20, ATTRIBUTE_INT));
  return w;
}

/** Rows of a `[4H, ·]` matrix or `[4H]` vector reordered from quire's gate order to ONNX's. */
function toOnnxGates(values: Float32Array): Float32Array {
  const block = values.length / 4;
  const out = new Float32Array(values.length);
  ONNX_GATES.forEach((src, dst) => out.set(values.subarray(src * block, (src + 1) * block), dst * block));
  return out;
}

/** ValueInfoProto name 1, type 2 → TypeProto tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1 | dim_param 2. */
function valueInfo(name: string, elemType: number, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().int(1, elemType).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/** The model's 2-D tensor `name` `[r, c]` transposed to `[c, r]`, as an initializer named `as`. */
function transposedTensor(model: LanguageModel, name: string, as: string): ProtoWriter {
  const [r, c] = model.tensorShape(name);
  const w = model.getTensor(name);
  const t = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = w[i * c + j];
  return floatTensor(as, [c, r], t);
}

/** The adaptive softmax's nodes from `x` (`[seq, batch, H]`) to `logits` (log-probabilities, see {@link exportOnnx}). */
function adaptiveSoftmax(model: LanguageModel, x: string, init: ProtoWriter[], nodes: ProtoWriter[]): void {
  const cutoffs = model.config.cutoffs ?? [];
  const head = cutoffs[0] + cutoffs.length;
  init.push(
    transposedTensor(model, 'softmax.head.weight', 'head.weightT'),
    floatTensor('head.bias', [head], model.getTensor('softmax.head.bias')),
  );
  init.push(int64Tensor('head.split', [1 + cutoffs.length], [cutoffs[0], ...cutoffs.map(() => 1)]));
  const clusters = cutoffs.map((_, i) => `cluster.${i}`);
  nodes.push(
    node('MatMul', 'head.matmul', [x, 'head.weightT'], ['head.z']),
    node('Add', 'head.bias', ['head.z', 'head.bias'], ['head.logits']),
    node('LogSoftmax', 'head.logsoftmax', ['head.logits'], ['head.lp'], { axis: 2 }),
    node('Split', 'head.split', ['head.lp', 'head.split'], ['shortlist', ...clusters], { axis: 2 }),
  );
  cutoffs.forEach((_, i) => {
    init.push(transposedTensor(model, `softmax.tail.${i}.proj`, `tail.${i}.projT`));
    init.push(transposedTensor(model, `softmax.tail.${i}.weight`, `tail.${i}.weightT`));
    nodes.push(
      node('MatMul', `tail.${i}.proj`, [x, `tail.${i}.projT`], [`tail.${i}.p`]),
      node('MatMul', `tail.${i}.matmul`, [`tail.${i}.p`, `tail.${i}.weightT`], [`tail.${i}.z`]),
      node('LogSoftmax', `tail.${i}.logsoftmax`, [`tail.${i}.z`], [`tail.${i}.lp`], { axis: 2 }),
      node('Add', `tail.${i}.cluster`, [`tail.${i}.lp`, clusters[i]], [`tail.${i}.logp`]),
    );
  });
  nodes.push(node('Concat', 'logprobs', ['shortlist', ...cutoffs.map((_, i) => `tail.${i}.logp`)], ['logits'], { axis: 2 }));
}

/**
 * The model as ONNX (opset 17): `tokens` int64 `[seq, batch]` → Gather(embedding) → one ONNX
 * `LSTM` node per layer (W = w_ih, R = w_hh with gate blocks reordered to i, o, f, c; B = bias
 * then zeros, since quire has one bias per gate) → MatMul(softmaxᵀ) + bias → `logits`
 * `[seq, batch, V]`. The state is explicit: inputs `h0.<l>`, `c0.<l>` and outputs `h.<l>`,
 * `c.<l>` (each `[1, batch, H]`), so a runtime can step token by token. A tied model stores its
 * one matrix once: the softmax multiplies by `Transpose(embedding)`. With an adaptive softmax,
 * `logits` are its exact log-probabilities (as quire's engine gives them): LogSoftmax of the head,
 * split into the shortlist and one column per cluster, each tail's LogSoftmax over its two
 * products plus its cluster's column, concatenated.
 */
export function exportOnnx(model: LanguageModel): Uint8Array {
  const { vocab: v, hidden: h, layers, tied } = model.config;
  const init = [floatTensor('embedding', [v, h], model.getTensor('embedding'))];
  const nodes = [node('Gather', 'embed', ['embedding', 'tokens'], ['x.0'])];
  const inputs = [valueInfo('tokens', INT64, ['seq', 'batch'])];
  const outputs = [valueInfo('logits', FLOAT, ['seq', 'batch', v])];
  init.push(int64Tensor('axis1', [1], [1]));
  for (let l = 0; l < layers; l++) {
    const w = toOnnxGates(model.getTensor(`lstm.${l}.w_ih`));
    const r = toOnnxGates(model.getTensor(`lstm.${l}.w_hh`));
    const b = new Float32Array(8 * h);
    b.set(toOnnxGates(model.getTensor(`lstm.${l}.bias`)));
    init.push(floatTensor(`W.${l}`, [1, 4 * h, h], w), floatTensor(`R.${l}`, [1, 4 * h, h], r), floatTensor(`B.${l}`, [1, 8 * h], b));
    inputs.push(valueInfo(`h0.${l}`, FLOAT, [1, 'batch', h]), valueInfo(`c0.${l}`, FLOAT, [1, 'batch', h]));
    outputs.push(valueInfo(`h.${l}`, FLOAT, [1, 'batch', h]), valueInfo(`c.${l}`, FLOAT, [1, 'batch', h]));
    nodes.push(
      node('LSTM', `lstm.${l}`, [`x.${l}`, `W.${l}`, `R.${l}`, `B.${l}`, '', `h0.${l}`, `c0.${l}`], [`y.${l}`, `h.${l}`, `c.${l}`], {
        hidden_size: h,
      }),
      node('Squeeze', `squeeze.${l}`, [`y.${l}`, 'axis1'], [`x.${l + 1}`]),
    );
  }
  if (model.config.cutoffs?.length) {
    adaptiveSoftmax(model, `x.${layers}`, init, nodes);
  } else if (tied) {
    // Transpose without `perm` reverses the axes: [V, H] → [H, V].
    nodes.push(node('Transpose', 'softmax.tied', ['embedding'], ['softmax.weightT']));
  } else {
    init.push(transposedTensor(model, 'softmax.weight', 'softmax.weightT'));
  }
  if (!model.config.cutoffs?.length) {
    init.push(floatTensor('softmax.bias', [v], model.getTensor('softmax.bias')));
    nodes.push(
      node('MatMul', 'softmax.matmul', [`x.${layers}`, 'softmax.weightT'], ['z']),
      node('Add', 'softmax.bias', ['z', 'softmax.bias'], ['logits']),
    );
  }
  // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
  const graph = new ProtoWriter();
  for (const n of nodes) graph.message(1, n);
  graph.string(2, 'quire-lstm-lm');
  for (const t of init) graph.message(5, t);
  for (const i of inputs) graph.message(11, i);
  for (const o of outputs) graph.message(12, o);
  // ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8 (OperatorSetIdProto: domain 1, version 2).
  return new ProtoWriter()
    .int(1, 8)
    .string(2, 'quire')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, ONNX_OPSET))
    .finish();
}
