import { describe, expect, it } from 'vitest';
import { CompressedModel, gemm, LanguageModel, prune, type BackendName } from '../ts/index.js';
import { BACKEND_NAMES, rng } from './backends.js';
import { readAll } from './fuzz-lib.js';

/** A tiny FP model file and its pruned 2-bit compressed twin (masks included). */
function files(backend: BackendName): { fp: Uint8Array; compressed: Uint8Array } {
  const m = LanguageModel.create({ vocab: 7, hidden: 9, layers: 1, initScale: 0.5, dropout: 0, seed: 2 }, { backend });
  const meta = { vocabulary: JSON.stringify(['a', 'b', 'c', 'd', 'e', '<eos>', '<unk>']) };
  const fp = m.toBytes('quire-model', meta, false);
  prune(m, ['lstm.0.w_ih', 'lstm.0.w_hh'], 0.3);
  const tensors = { embedding: 2, 'lstm.0.w_ih': 2, 'lstm.0.w_hh': 2, 'softmax.weight': 1 };
  const cm = CompressedModel.fromModel(
    m,
    { method: 'greedy', cycles: 0, groupSize: 0, layers: 'all', sparsity: 0.3, fpModelBytes: fp.length, tensors },
    meta,
  );
  // Losses arrive keyed by tensor name from the core (no reliance on an order across the binding).
  expect(Object.keys(cm.losses).sort()).toEqual(Object.keys(tensors).sort());
  for (const l of Object.values(cm.losses)) expect(l.error).toBeLessThanOrEqual(l.norm);
  const compressed = cm.toBytes();
  cm.dispose();
  m.dispose();
  return { fp, compressed };
}

const load = readAll;

describe.each(BACKEND_NAMES)('model file safety (%s)', (backend) => {
  it('rejects every truncation of a model file with E_FORMAT, and random bit flips never crash', () => {
    const { fp, compressed } = files(backend);
    for (const file of [fp, compressed]) {
      const full = load(file, backend);
      expect(full.filter((c) => c === 'ok').length).toBe(2);
      for (let len = 0; len < file.length; len++) {
        for (const code of load(file.subarray(0, len), backend)) expect(code, `truncated at ${len}`).toBe('E_FORMAT');
      }
      const r = rng(file.length);
      for (let i = 0; i < 300; i++) {
        const b = file.slice();
        for (let k = 0; k < 1 + Math.floor(r() * 3); k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
        for (const code of load(b, backend)) expect(['ok', 'E_FORMAT']).toContain(code);
      }
    }
    // The backend (the wasm instance) still works.
    expect(Array.from(gemm({ m: 1, n: 1, k: 2 }, new Float32Array([1, 2]), new Float32Array([3, 4]), undefined, { backend }))).toEqual([
      11,
    ]);
  });

  it('rejects an oversized header length and a header that declares huge tensors', () => {
    const { compressed } = files(backend);
    const huge = compressed.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(load(huge, backend)).toEqual(['E_FORMAT', 'E_FORMAT', 'E_FORMAT']);
    // A config declaring 32 GB tensors: the shapes are checked against the file before allocating.
    const n = Number(new DataView(compressed.buffer, compressed.byteOffset).getBigUint64(0, true));
    const header = new TextDecoder().decode(compressed.subarray(8, 8 + n));
    const bigger = header.replace('vocab\\":7', 'vocab\\":999999').replace('hidden\\":9', 'hidden\\":8192');
    expect(bigger.length).toBe(header.length + 8);
    const text = new TextEncoder().encode(bigger);
    const out = new Uint8Array(8 + text.length + compressed.length - 8 - n);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    out.set(compressed.subarray(8 + n), 8 + text.length);
    expect(load(out, backend)).toEqual(['E_FORMAT', 'E_FORMAT', 'E_FORMAT']);
  });
});
