import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { CompressedModel, exportOnnx, InferenceEngine, LanguageModel, type BackendName } from '../ts/index.js';
import { BACKEND_NAMES, maxRelDiff } from './backends.js';

const V = 19;
const H = 12;

function model(backend: BackendName, tied = false, cutoffs?: number[]): LanguageModel {
  return LanguageModel.create({ vocab: V, hidden: H, layers: 2, initScale: 0.6, dropout: 0, seed: 11, tied, cutoffs }, { backend });
}

/** Runs `tokens` (time-major `[seq, batch]`) through the ONNX session from a zero state. */
async function onnxLogits(session: ort.InferenceSession, tokens: number[], seq: number, batch: number): Promise<Float32Array> {
  const feeds: Record<string, ort.Tensor> = { tokens: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [seq, batch]) };
  for (let l = 0; l < 2; l++) {
    feeds[`h0.${l}`] = new ort.Tensor('float32', new Float32Array(batch * H), [1, batch, H]);
    feeds[`c0.${l}`] = new ort.Tensor('float32', new Float32Array(batch * H), [1, batch, H]);
  }
  const out = await session.run(feeds);
  return out.logits.data as Float32Array;
}

/** The same through quire's engine, stepping token by token. */
function quireLogits(engine: InferenceEngine, tokens: number[], seq: number, batch: number): Float32Array {
  engine.resetState(batch);
  const out = new Float32Array(seq * batch * V);
  for (let t = 0; t < seq; t++) out.set(engine.step(tokens.slice(t * batch, (t + 1) * batch)), t * batch * V);
  return out;
}

const TOKENS = [3, 7, 1, 18, 0, 5, 5, 12, 9, 2, 4, 16];

/** The ONNX graph of `m` gives quire's logits for one long stream and for three short ones. */
async function expectOnnxMatches(onnx: Uint8Array, m: LanguageModel): Promise<void> {
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  const engine = InferenceEngine.fromModel(m, { kernel: 'lut-f32' });
  for (const [seq, batch] of [
    [12, 1],
    [4, 3],
  ]) {
    const want = quireLogits(engine, TOKENS, seq, batch);
    expect(maxRelDiff(await onnxLogits(session, TOKENS, seq, batch), want)).toBeLessThan(1e-4);
  }
  engine.dispose();
  await session.release();
}

describe.each(BACKEND_NAMES)('ONNX export (%s)', (backend) => {
  it("runs in onnxruntime-node and matches quire's logits (gate order converted)", async () => {
    const m = model(backend);
    await expectOnnxMatches(exportOnnx(m), m);
  });

  it('exports a tied model with its one matrix stored once (the softmax multiplies by its transpose)', async () => {
    const m = model(backend, true);
    const onnx = exportOnnx(m);
    // The untied export of the same shape holds one more V·H float matrix (the tied one a Transpose node instead).
    const untied = exportOnnx(model(backend));
    expect(untied.length - onnx.length).toBeGreaterThan(4 * V * H - 64);
    await expectOnnxMatches(onnx, m);
  });

  it("exports an adaptive softmax whose outputs are quire's log-probabilities (each row's probabilities sum to 1)", async () => {
    const m = model(backend, false, [6, 11]);
    const onnx = exportOnnx(m);
    await expectOnnxMatches(onnx, m);
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
    const lp = await onnxLogits(session, TOKENS, 4, 3);
    for (let r = 0; r < 12; r++) expect(lp.subarray(r * V, (r + 1) * V).reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 5);
    await session.release();
  });
});

describe('quire export', () => {
  it('writes the dequantized compressed model as ONNX', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quire-onnx-'));
    const m = model('native');
    const tensors = { 'lstm.0.w_ih': 1, 'lstm.0.w_hh': 2, 'lstm.1.w_ih': 1, 'lstm.1.w_hh': 3, 'softmax.weight': 2 };
    const cm = CompressedModel.fromModel(
      m,
      { method: 'alternating', cycles: 2, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: 1, tensors },
      { vocabulary: JSON.stringify(Array.from({ length: V }, (_, i) => `w${i}`)) },
    );
    const file = join(dir, 'model.qcomp');
    writeFileSync(file, cm.toBytes());
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'ts/cli/main.ts', 'export', file, '--onnx', join(dir, 'm.onnx')], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(join(dir, 'm.onnx')), { intraOpNumThreads: 1 });
    const engine = InferenceEngine.fromBytes(cm.toBytes(), { backend: 'native', kernel: 'lut-f32' });
    expect(maxRelDiff(await onnxLogits(session, TOKENS, 12, 1), quireLogits(engine, TOKENS, 12, 1))).toBeLessThan(1e-4);
    await session.release();
  });
});
