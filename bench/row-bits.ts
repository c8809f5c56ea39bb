/**
 * `npm run bench -- row-bits [--run DIR]`: how the rows of a matrix should share its bits, one
 * shot (no retraining), on the trained FP run in `--run` (default runs/small). Each row quantizes
 * one group of the model alone — the embedding, the softmax weight or the four LSTM matrices — at
 * k bits with uniform rows, with rows of 0 to k + 2 bits where they lower the squared error most
 * (`equal`: every row's error counts the same), and, for the vocabulary matrices, with each row's
 * error weighted by √ of its word's training count (`sqrt-count`): validation perplexity and
 * next-word top-3 of the packed model, and the quantized bytes (equal up to the row table).
 * `--quick` scores the first 20,000 validation tokens only.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CompressedModel, type CompressionSpec } from '../ts/compress/compressed-model.js';
import { loadFpModel } from '../ts/compress/load.js';
import { ROW_BITS_HEADROOM } from '../ts/compress/settings.js';
import { openCorpus } from '../ts/data/corpus.js';
import { tokensPerWord } from '../ts/data/encoded-corpus.js';
import { textMetadata } from '../ts/data/model-text.js';
import { arraySource, idCounts } from '../ts/data/token-source.js';
import { dataDirectory, LanguageModel, Predictor, suggestionQuality } from '../ts/index.js';
import { evaluatePerplexity } from '../ts/train/evaluate.js';
import type { BenchArgs, BenchRow } from './main.js';

export async function run({ quick, run: runDir }: BenchArgs): Promise<BenchRow[]> {
  const file = join(runDir, 'model.qmodel');
  if (!existsSync(file)) throw new Error(`no trained model in ${runDir}: train one with 'npm run train' (or pass --run DIR)`);
  const src = loadFpModel(file, { backend: 'native' });
  const corpus = openCorpus(dataDirectory(), { vocabulary: src.vocabulary, tokenizer: src.tokenizer });
  try {
    const { vocab, layers, tied } = src.model.config;
    const counts = idCounts(corpus.ids.train, vocab);
    const valid = corpus.ids.valid.toArray();
    const scored = quick ? arraySource(valid, 20_000) : arraySource(valid);
    const perWord = tokensPerWord(corpus.encoded, 'valid');
    const { steps = 35, evalBatch = 10 } = src.trainConfig ?? {};
    const fpBytes = src.model.toBytes('quire-model', {}, false);
    const metadata = { ...textMetadata(src), created_by: 'quire bench row-bits' };
    const lstm = Array.from({ length: layers }, (_, l) => [`lstm.${l}.w_ih`, `lstm.${l}.w_hh`]).flat();
    const groups: [string, string[], number[]][] = [
      ['embedding', ['embedding'], [1, 2]],
      ...(tied ? [] : ([['softmax', ['softmax.weight'], [2]]] as [string, string[], number[]][])),
      ['lstm', lstm, [2]],
    ];
    const measure = (label: string, bits: number, mode: string, spec: CompressionSpec): BenchRow => {
      const model = LanguageModel.fromBytes(fpBytes, { backend: 'native' });
      try {
        const cm = CompressedModel.fromModel(model, spec, metadata);
        const h = cm.header;
        const bytes = cm.toBytes();
        cm.dispose();
        const perplexity = evaluatePerplexity(model, scored, evalBatch, steps, perWord).perplexity;
        const predictor = Predictor.fromBytes(bytes, { backend: 'native' });
        const q = suggestionQuality(predictor, scored, evalBatch);
        predictor.dispose();
        const mean = Object.values(h.meanBits);
        return {
          group: label,
          bits,
          rows: mode,
          meanBits: +(mean.reduce((a, b) => a + b, 0) / mean.length).toFixed(3),
          validPerplexity: +perplexity.toFixed(2),
          top3: +(100 * q.top3).toFixed(2),
          keystrokeSavings: +(100 * q.keystrokeSavings).toFixed(2),
          quantizedBytes: h.quantizedBytes,
        };
      } finally {
        model.dispose();
      }
    };
    const base = { method: 'alternating' as const, cycles: 2, groupSize: 0, layers: 'all', sparsity: 0, fpModelBytes: fpBytes.length };
    const fp = LanguageModel.fromBytes(fpBytes, { backend: 'native' });
    const fpPredictor = Predictor.fromBytes(src.model.toBytes('quire-model', metadata, false), { backend: 'native' });
    const fpQ = suggestionQuality(fpPredictor, scored, evalBatch);
    fpPredictor.dispose();
    const rows: BenchRow[] = [
      {
        group: 'none (FP)',
        bits: 32,
        rows: '-',
        validPerplexity: +evaluatePerplexity(fp, scored, evalBatch, steps, perWord).perplexity.toFixed(2),
        top3: +(100 * fpQ.top3).toFixed(2),
        keystrokeSavings: +(100 * fpQ.keystrokeSavings).toFixed(2),
      },
    ];
    fp.dispose();
    for (const [label, names, bitList] of groups) {
      for (const bits of bitList) {
        const tensors = Object.fromEntries(names.map((n) => [n, bits]));
        // Rows equal, or each weighted by √ of its word's training count (what `--row-bits frequency`
        // does for the softmax and a tied matrix); the LSTM matrices' rows are gate units, not words.
        const modes = label === 'lstm' ? ['uniform', 'equal'] : ['uniform', 'equal', 'sqrt-count'];
        for (const mode of modes) {
          const importance = mode === 'sqrt-count' ? Array.from(counts, (c) => Math.sqrt(c + 1)) : undefined;
          const alloc =
            mode === 'uniform' ? {} : Object.fromEntries(names.map((n) => [n, { maxBits: bits + ROW_BITS_HEADROOM, importance }]));
          rows.push(measure(label, bits, mode, { ...base, tensors, rows: alloc }));
        }
      }
    }
    return rows;
  } finally {
    src.model.dispose();
    corpus.close();
  }
}
