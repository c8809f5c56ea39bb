import { createRequire } from 'node:module';
import type { onnx as OnnxNs } from 'onnx-proto';
import type { LanguageModel } from './model.js';

// onnx-proto is a CommonJS protobufjs module: load it through require.
const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNs };

/** Opset of the exported graph (LSTM, Gather, MatMul, Add, Squeeze with axes as an input). */
export const ONNX_OPSET = 17;

/** quire's gate blocks are i, f, g, o; ONNX's LSTM wants i, o, f, c (c = quire's g). */
const ONNX_GATES = [0, 3, 1, 2];

const FLOAT = 1;
const INT64 = 7;

function floatTensor(name: string, dims: number[], values: Float32Array): OnnxNs.ITensorProto {
  const copy = new Float32Array(values);
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(copy.buffer) };
}

/** Rows of a `[4H, ·]` matrix or `[4H]` vector reordered from quire's gate order to ONNX's. */
function toOnnxGates(values: Float32Array): Float32Array {
  const block = values.length / 4;
  const out = new Float32Array(values.length);
  ONNX_GATES.forEach((src, dst) => out.set(values.subarray(src * block, (src + 1) * block), dst * block));
  return out;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): OnnxNs.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/**
 * The model as ONNX (opset 17): `tokens` int64 `[seq, batch]` → Gather(embedding) → one ONNX
 * `LSTM` node per layer (W = w_ih, R = w_hh with gate blocks reordered to i, o, f, c; B = bias
 * then zeros, since quire has one bias per gate) → MatMul(softmaxᵀ) + bias → `logits`
 * `[seq, batch, V]`. The state is explicit: inputs `h0.<l>`, `c0.<l>` and outputs `h.<l>`,
 * `c.<l>` (each `[1, batch, H]`), so a runtime can step token by token.
 */
export function exportOnnx(model: LanguageModel): Uint8Array {
  const { vocab: v, hidden: h, layers } = model.config;
  const init: OnnxNs.ITensorProto[] = [floatTensor('embedding', [v, h], model.getTensor('embedding'))];
  const nodes: OnnxNs.INodeProto[] = [{ opType: 'Gather', input: ['embedding', 'tokens'], output: ['x.0'], name: 'embed' }];
  const inputs = [valueInfo('tokens', INT64, ['seq', 'batch'])];
  const outputs = [valueInfo('logits', FLOAT, ['seq', 'batch', v])];
  init.push({ name: 'axis1', dims: [1], dataType: INT64, int64Data: [1] });
  for (let l = 0; l < layers; l++) {
    const w = toOnnxGates(model.getTensor(`lstm.${l}.w_ih`));
    const r = toOnnxGates(model.getTensor(`lstm.${l}.w_hh`));
    const b = new Float32Array(8 * h);
    b.set(toOnnxGates(model.getTensor(`lstm.${l}.bias`)));
    init.push(floatTensor(`W.${l}`, [1, 4 * h, h], w), floatTensor(`R.${l}`, [1, 4 * h, h], r), floatTensor(`B.${l}`, [1, 8 * h], b));
    inputs.push(valueInfo(`h0.${l}`, FLOAT, [1, 'batch', h]), valueInfo(`c0.${l}`, FLOAT, [1, 'batch', h]));
    outputs.push(valueInfo(`h.${l}`, FLOAT, [1, 'batch', h]), valueInfo(`c.${l}`, FLOAT, [1, 'batch', h]));
    nodes.push(
      {
        opType: 'LSTM',
        name: `lstm.${l}`,
        input: [`x.${l}`, `W.${l}`, `R.${l}`, `B.${l}`, '', `h0.${l}`, `c0.${l}`],
        output: [`y.${l}`, `h.${l}`, `c.${l}`],
        attribute: [{ name: 'hidden_size', type: 2, i: h }],
      },
      { opType: 'Squeeze', name: `squeeze.${l}`, input: [`y.${l}`, 'axis1'], output: [`x.${l + 1}`] },
    );
  }
  const st = model.getTensor('softmax.weight');
  const transposed = new Float32Array(h * v);
  for (let i = 0; i < v; i++) for (let j = 0; j < h; j++) transposed[j * v + i] = st[i * h + j];
  init.push(floatTensor('softmax.weightT', [h, v], transposed), floatTensor('softmax.bias', [v], model.getTensor('softmax.bias')));
  nodes.push(
    { opType: 'MatMul', name: 'softmax.matmul', input: [`x.${layers}`, 'softmax.weightT'], output: ['z'] },
    { opType: 'Add', name: 'softmax.bias', input: ['z', 'softmax.bias'], output: ['logits'] },
  );
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'quire',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: { name: 'quire-lstm-lm', node: nodes, initializer: init, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(proto).finish();
}
