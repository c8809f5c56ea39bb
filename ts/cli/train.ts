import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { dataDirectory } from '../data/corpus.js';
import { PRESETS, type TrainConfig } from '../train/presets.js';
import { Progress } from '../train/progress.js';
import { train } from '../train/trainer.js';
import { addCorpusOptions, type CorpusFlags, corpusSettings } from './corpus-options.js';
import { withInterrupt } from './interrupt.js';
import { finiteNumber, nonNegativeInt, positiveInt } from './usage.js';
import { writeOut } from './stdout.js';

interface TrainFlags extends CorpusFlags {
  preset: string;
  out?: string;
  backend?: BackendChoice;
  resume?: boolean;
  epochs?: number;
  seed?: number;
  limitTokens?: number;
  hidden?: number;
  layers?: number;
  steps?: number;
  batch?: number;
  initScale?: number;
  dropout?: number;
  lr?: number;
  lrDecay?: number;
  decayAfter?: number;
  clip?: number;
  evalBatch?: number;
  tie?: boolean;
  adaptive?: string | true;
  keepBest?: boolean;
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train an LSTM language model (Zaremba presets) with per-epoch checkpoints')
    .addOption(new Option('--preset <name>', 'tiny, small, medium or large').choices(Object.keys(PRESETS)).default('small'));
  addCorpusOptions(command)
    .option('--out <dir>', 'run directory for checkpoint.qckpt, log.jsonl, model.qmodel (default: runs/<preset>)')
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .option('--resume', 'continue from <out>/checkpoint.qckpt')
    .option('--epochs <n>', 'epochs', positiveInt)
    .option('--seed <n>', 'seed of initialisation and dropout', nonNegativeInt)
    .option('--limit-tokens <n>', 'use only the first N tokens of each split', positiveInt)
    .option('--hidden <n>', 'units per layer', positiveInt)
    .option('--layers <n>', 'LSTM layers', positiveInt)
    .option('--steps <n>', 'unrolled steps per window', positiveInt)
    .option('--batch <n>', 'streams per window', positiveInt)
    .option('--init-scale <x>', 'uniform init range', finiteNumber)
    .option('--dropout <p>', 'dropout on non-recurrent connections', finiteNumber)
    .option('--lr <x>', 'initial learning rate', finiteNumber)
    .option('--lr-decay <x>', 'learning-rate factor per epoch after --decay-after', finiteNumber)
    .option('--decay-after <n>', 'epochs at the initial learning rate', nonNegativeInt)
    .option('--clip <x>', 'global gradient-norm clip (0: none)', finiteNumber)
    .option('--eval-batch <n>', 'streams for validation/test evaluation', positiveInt)
    .option(
      '--keep-best',
      'write model.qmodel from the epoch with the lowest validation perplexity (kept as best.qmodel while training), not the last epoch',
    )
    .option('--tie', 'tie the embedding to the softmax weight: one shared matrix, V·H fewer parameters (Press & Wolf 2017)')
    .option(
      '--adaptive [cutoffs]',
      'adaptive softmax for large vocabularies (Grave et al. 2017): a head of the frequent words and tail clusters, ' +
        "training at a fraction of the full softmax's cost; 'auto' (the default: 2000, 10000, 50000, ... below the vocabulary size) " +
        'or increasing cut-offs such as 2000,10000',
    )
    .action(async (f: TrainFlags) => {
      const overrides: Partial<TrainConfig> = {
        epochs: f.epochs,
        seed: f.seed,
        limitTokens: f.limitTokens,
        hidden: f.hidden,
        layers: f.layers,
        steps: f.steps,
        batch: f.batch,
        initScale: f.initScale,
        dropout: f.dropout,
        lr: f.lr,
        lrDecay: f.lrDecay,
        decayAfter: f.decayAfter,
        clip: f.clip,
        evalBatch: f.evalBatch,
        tie: f.tie,
        adaptive: f.adaptive === true ? 'auto' : f.adaptive,
        keepBest: f.keepBest,
      };
      const result = await withInterrupt('interrupted, saving a checkpoint...', (signal) =>
        train({
          preset: f.preset,
          overrides,
          dataDir: dataDirectory(f.data),
          corpus: corpusSettings(f),
          outDir: f.out ?? `runs/${f.preset}`,
          resume: f.resume,
          backend: f.backend,
          signal,
          progress: new Progress(),
        }),
      );
      writeOut(
        JSON.stringify({ test: { perplexity: result.test.perplexity, tokens: result.test.tokens }, model: result.modelPath }) + '\n',
      );
    });
}
