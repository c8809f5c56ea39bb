import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { dataDirectory, loadCorpus, type Split } from '../data/corpus.js';
import { containerFormat, loadAnyModel, readModelFile, resolveModelPath } from '../compress/load.js';
import { isFile } from '../io/fs.js';
import type { Vocabulary } from '../data/vocabulary.js';
import { INFERENCE_KERNELS, type InferenceKernel } from '../infer.js';
import { loadEngine } from '../infer-file.js';
import { evaluatePerplexity } from '../train/evaluate.js';
import { positiveInt } from './usage.js';

interface EvalFlags {
  data?: string;
  split: Split;
  json?: boolean;
  limitTokens?: number;
  batch: number;
  steps: number;
  backend?: BackendChoice;
  kernel: InferenceKernel;
  dequantize?: boolean;
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
function open(file: string, f: EvalFlags): { model: Evaluable; vocabulary: Vocabulary; engine: string } {
  const path = resolveModelPath(file);
  const compressed = isFile(path) && containerFormat(readModelFile(path).bytes) === 'quire-compressed';
  if (compressed && !f.dequantize) {
    const { engine, vocabulary } = loadEngine(path, { backend: f.backend, kernel: f.kernel });
    return { model: engine, vocabulary, engine: `packed ${engine.kernel}` };
  }
  const { model, vocabulary } = loadAnyModel(file, { backend: f.backend });
  return { model, vocabulary, engine: compressed ? 'dequantized f32' : 'f32' };
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
        .choices([...INFERENCE_KERNELS])
        .default('auto'),
    )
    .option('--dequantize', 'evaluate a compressed model as the dequantized float model instead of through the packed kernels')
    .action((file: string, f: EvalFlags) => {
      const { model, vocabulary, engine } = open(file, f);
      try {
        const corpus = loadCorpus(dataDirectory(f.data), { limit: f.limitTokens, vocabulary });
        const r = evaluatePerplexity(model, corpus.ids[f.split], f.batch, f.steps);
        const out = { perplexity: r.perplexity, tokens: r.tokens, split: f.split, engine };
        process.stdout.write(f.json ? JSON.stringify(out) + '\n' : `${f.split} perplexity ${r.perplexity.toFixed(2)} over ${r.tokens} tokens (${engine})\n`);
      } finally {
        model.dispose();
      }
    });
}
