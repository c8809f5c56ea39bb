import { Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { dataDirectory, loadCorpus, type Split } from '../data/corpus.js';
import { loadAnyModel } from '../compress/load.js';
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
    .action((file: string, f: EvalFlags) => {
      const { model, vocabulary } = loadAnyModel(file, { backend: f.backend });
      try {
        const corpus = loadCorpus(dataDirectory(f.data), { limit: f.limitTokens, vocabulary });
        const r = evaluatePerplexity(model, corpus.ids[f.split], f.batch, f.steps);
        const out = { perplexity: r.perplexity, tokens: r.tokens, split: f.split };
        process.stdout.write(f.json ? JSON.stringify(out) + '\n' : `${f.split} perplexity ${r.perplexity.toFixed(2)} over ${r.tokens} tokens\n`);
      } finally {
        model.dispose();
      }
    });
}
