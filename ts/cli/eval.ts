import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { dataDirectory, type Split } from '../data/corpus.js';
import { encodeCorpus, openSplit, tokensPerWord } from '../data/encoded-corpus.js';
import type { TokenFile } from '../data/token-source.js';
import type { ModelText } from '../train/checkpoint.js';
import { Progress } from '../train/progress.js';
import { reporting } from '../train/trainer.js';
import { containerFormat, loadAnyModel, readModelFile, resolveModelPath } from '../compress/load.js';
import { isFile } from '../io/fs.js';
import { type Kernel, KERNELS } from '../kernel.js';
import { loadEngine } from '../infer-file.js';
import { evaluatePerplexity } from '../train/evaluate.js';
import { Predictor } from '../predict.js';
import { suggestionQuality } from '../suggest-quality.js';
import { positiveInt } from './usage.js';
import { printable } from './printable.js';
import { writeOut } from './stdout.js';

interface EvalFlags {
  data?: string;
  split: Split;
  json?: boolean;
  limitTokens?: number;
  batch: number;
  steps: number;
  backend?: BackendChoice;
  kernel: Kernel;
  dequantize?: boolean;
  suggest?: boolean;
}

interface Evaluable {
  resetState(batch: number): void;
  evaluate(inputs: Uint32Array, targets: Uint32Array): number;
  dispose(): void;
}

/**
 * A compressed model runs on the inference engine (packed kernels) unless `dequantize` asks for
 * the float model holding `Q(W)`; FP models and checkpoints run on the training model.
 */
function open(file: string, f: EvalFlags): ModelText & { model: Evaluable; engine: string } {
  const path = resolveModelPath(file);
  const compressed = isFile(path) && containerFormat(readModelFile(path).bytes) === 'quire-compressed';
  if (compressed && !f.dequantize) {
    const { engine, vocabulary, tokenizer } = loadEngine(path, { backend: f.backend, kernel: f.kernel });
    return { model: engine, vocabulary, tokenizer, engine: `packed ${engine.kernel}` };
  }
  const { model, vocabulary, tokenizer } = loadAnyModel(file, { backend: f.backend });
  return { model, vocabulary, tokenizer, engine: compressed ? 'dequantized f32' : 'f32' };
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('perplexity of a trained model (a model file or a run directory) on a data split')
    .argument('<model>', 'model.qmodel / checkpoint.qckpt / model.qcomp (compressed) file, or a run directory')
    .option('--data <dir>', 'corpus directory (default: $QUIRE_DATA, else ./data/ptb)')
    .addOption(new Option('--split <name>', 'split').choices(['train', 'valid', 'test']).default('test'))
    .option('--json', 'print JSON')
    .option('--limit-tokens <n>', 'use only the first N tokens of the split', positiveInt)
    .option('--batch <n>', 'streams', positiveInt, 10)
    .option('--steps <n>', 'steps per window', positiveInt, 35)
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .addOption(
      new Option('--kernel <name>', 'packed kernel for compressed models (auto: the one the model was retrained for)')
        .choices([...KERNELS])
        .default('auto'),
    )
    .option('--dequantize', 'evaluate a compressed model as the dequantized float model instead of through the packed kernels')
    .option('--suggest', 'also measure next-word suggestions: top-1 and top-3 accuracy and keystroke savings (3 suggestions)')
    .action((file: string, f: EvalFlags) => {
      if (f.suggest) return evalSuggest(file, f);
      const { model, vocabulary, tokenizer, engine } = open(file, f);
      let source: TokenFile | undefined;
      try {
        const progress = new Progress();
        const corpus = encodeCorpus(dataDirectory(f.data), { vocabulary, tokenizer, ...reporting(progress) });
        source = openSplit(corpus, f.split, f.limitTokens);
        const r = evaluatePerplexity(model, source, f.batch, f.steps, tokensPerWord(corpus, f.split));
        const out = { perplexity: r.perplexity, tokenPerplexity: r.tokenPerplexity, tokens: r.tokens, split: f.split, engine };
        writeOut(
          printable(f.json ? JSON.stringify(out) : `${f.split} perplexity ${r.perplexity.toFixed(2)} over ${r.tokens} tokens (${engine})`) +
            '\n',
        );
      } finally {
        source?.close();
        model.dispose();
      }
    });
}

/** `eval --suggest`: perplexity and the keyboard measures, both through the inference engine. */
function evalSuggest(file: string, f: EvalFlags): void {
  const { engine, vocabulary, tokenizer } = loadEngine(file, { backend: f.backend, kernel: f.kernel });
  const predictor = new Predictor(engine, { vocabulary, tokenizer });
  let source: TokenFile | undefined;
  try {
    const corpus = encodeCorpus(dataDirectory(f.data), { vocabulary, tokenizer, ...reporting(new Progress()) });
    source = openSplit(corpus, f.split, f.limitTokens);
    const r = evaluatePerplexity(engine, source, f.batch, f.steps, tokensPerWord(corpus, f.split));
    const q = suggestionQuality(predictor, source, f.batch);
    const kind = containerFormat(readModelFile(file).bytes) === 'quire-compressed' ? `packed ${engine.kernel}` : 'f32 engine';
    const out = { perplexity: r.perplexity, tokens: r.tokens, ...q, split: f.split, engine: kind };
    const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
    writeOut(
      printable(
        f.json
          ? JSON.stringify(out)
          : `${f.split} perplexity ${r.perplexity.toFixed(2)}; next word top-1 ${pct(q.top1)}, top-3 ${pct(q.top3)}, keystroke ` +
              `savings ${pct(q.keystrokeSavings)} over ${q.words} words (${out.engine})`,
      ) + '\n',
    );
  } finally {
    source?.close();
    predictor.dispose();
  }
}
