import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { dataDirectory } from '../data/corpus.js';
import { compress } from '../compress/loop.js';
import { LAYER_SELECTIONS, METHODS, ROW_BITS_MODES, type LayerSelection, type RowBitsMode } from '../compress/settings.js';
import type { QuantMethod } from '../quantize.js';
import { Progress } from '../train/progress.js';
import { withInterrupt } from './interrupt.js';
import { finiteNumber, nonNegativeInt, positiveInt, UsageError } from './usage.js';
import type { SettingsInput } from '../compress/resolve.js';
import { writeOut } from './stdout.js';

interface CompressFlags {
  data?: string;
  out: string;
  backend?: BackendChoice;
  resume?: boolean;
  bits?: number;
  targetBits?: number;
  targetSize?: number;
  softmaxBits?: number;
  embeddingBits?: number;
  method?: QuantMethod;
  cycles?: number;
  groupSize?: number;
  layers?: LayerSelection;
  iterations?: number;
  retrainEpochs?: number;
  retrainSteps?: number;
  lr?: number;
  lrDecay?: number;
  clip?: number;
  dropout?: number;
  distill?: number;
  distillTemperature?: number;
  rowBits?: RowBitsMode;
  tuneSteps?: number;
  tuneLr?: number;
  straightThrough?: number;
  prune?: number;
  activationBits?: number;
  pruneMask?: 'once' | 'each';
  pruneScope?: 'matrix' | 'global';
  steps?: number;
  batch?: number;
  evalBatch?: number;
  limitTokens?: number;
}

/** Integer parser that lets out-of-range values through to the settings validation (E_CONFIG). */
const integer = (v: string) => (/^-?\d+$/.test(v.trim()) ? Number(v) : finiteNumber(v));

export function registerCompress(program: Command): void {
  program
    .command('compress')
    .description('iterative quantize → retrain compression (with optional pruning) of a trained FP model')
    .argument('<model>', 'trained FP model: model.qmodel / checkpoint.qckpt, or a run directory')
    .option('--data <dir>', 'corpus directory (default: $QUIRE_DATA, else ./data/ptb)')
    .requiredOption('--out <dir>', 'output directory (model.qcomp, report.json, report.md, *.svg, state)')
    .option('--bits <k>', 'bits per weight of the LSTM matrices (1-8)', integer)
    .option(
      '--target-bits <b>',
      'instead of --bits: average bits per parameter of the whole model (scales included); the bits of the LSTM matrices, ' +
        'softmax and embedding are chosen from measured sensitivity, and what the choice leaves is spent on the mixed rows',
      finiteNumber,
    )
    .option('--target-size <bytes>', 'instead of --bits: the compressed file size in bytes (bits chosen as for --target-bits)', integer)
    .option('--softmax-bits <k>', 'bits of the softmax weight (default: --bits; with mixed rows a mean such as 1.75)', integer)
    .option('--embedding-bits <k>', 'bits of the embedding (default: --bits; with mixed rows a mean such as 1.75)', integer)
    .addOption(new Option('--method <name>', 'solver (default alternating)').choices(METHODS as QuantMethod[]))
    .option('--cycles <n>', 'alternating rounds (default 2)', nonNegativeInt)
    .option('--group-size <n>', 'columns per scale group, 0 = per row (default 0)', nonNegativeInt)
    .addOption(new Option('--layers <which>', 'matrices to quantize (default lstm)').choices(LAYER_SELECTIONS as LayerSelection[]))
    .addOption(
      new Option(
        '--row-bits <mode>',
        'bits across the rows (words) of the embedding and softmax: frequency = 0 to k+2 bits per row at the mean k, where ' +
          'they lower the error most, a softmax row weighted by √ of its word count; error = all rows equal; uniform = k each ' +
          '(default frequency)',
      ).choices(ROW_BITS_MODES as RowBitsMode[]),
    )
    .option('--iterations <T>', 'quantize → retrain iterations (default 10)', integer)
    .option(
      '--retrain-steps <S>',
      'retraining windows per iteration, continuing through the data (default 400; 800 when the FP run used dropout)',
      integer,
    )
    .option('--retrain-epochs <E>', 'retrain E whole epochs per iteration instead of --retrain-steps', integer)
    .option('--lr <x>', "first retraining learning rate (default: the FP run's initial rate)", finiteNumber)
    .option('--lr-decay <x>', 'learning-rate factor per iteration (default 0.5; 0.7 when the FP run used dropout)', finiteNumber)
    .option('--clip <x>', "gradient-norm clip (default: the FP run's)", finiteNumber)
    .option('--dropout <p>', "dropout during retraining, in [0, 1) (default 0.3, or the FP run's own when lower but not 0)", finiteNumber)
    .option(
      '--distill <alpha>',
      'distil from the FP model while retraining: loss (1-alpha)·CE + alpha·KL(FP || model), alpha in [0, 1], 0 = off (default 0.5)',
      finiteNumber,
    )
    .option(
      '--distill-temperature <T>',
      'temperature of distillation: the KL term compares both distributions softened by T (scaled by T²), in (0, 100] (default 1)',
      finiteNumber,
    )
    .option(
      '--tune-steps <S>',
      'scale tuning after the last iteration: S training windows with the codes fixed and the scales re-fitted after each; ' +
        'kept only when the validation perplexity improves; 0 = off (default: 5 × --retrain-steps = 2000 when the FP run used no dropout, else 0)',
      nonNegativeInt,
    )
    .option('--tune-lr <x>', 'learning rate of scale tuning (default: half the first retraining rate)', finiteNumber)
    .option(
      '--straight-through <n>',
      'retrain through the quantizer: the windows run on the quantized weights, their updates go to full-precision shadow ' +
        'weights, which are quantized again every n windows (0 = off: retrain in full precision from the quantized values, the default)',
      nonNegativeInt,
    )
    .option(
      '--activation-bits <k>',
      'retrain with the activations quantized to k greedy bits per vector (straight-through; W+A); the model then runs on the ' +
        'popcount-a<k> kernel (1-8, default: FP activations)',
      integer,
    )
    .option('--prune <p>', 'target sparsity of the quantized matrices, in [0, 1) (default 0)', finiteNumber)
    .addOption(
      new Option('--prune-mask <when>', 'mask computed once, or each iteration (sparsity ramping to --prune)').choices(['once', 'each']),
    )
    .addOption(new Option('--prune-scope <scope>', 'threshold per matrix or global').choices(['matrix', 'global']))
    .option('--steps <n>', "window length (default: the FP run's)", positiveInt)
    .option('--batch <n>', "training streams (default: the FP run's)", positiveInt)
    .option('--eval-batch <n>', "evaluation streams (default: the FP run's)", positiveInt)
    .option('--limit-tokens <n>', 'use only the first N tokens of each split', positiveInt)
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .option('--resume', 'continue the run in --out at its next iteration (same settings)')
    .action(async (model: string, f: CompressFlags) => {
      if (f.bits === undefined && f.targetBits === undefined && f.targetSize === undefined) {
        throw new UsageError('give --bits, or a size budget with --target-bits or --target-size');
      }
      const settings = {
        bits: f.bits,
        targetBits: f.targetBits,
        targetSize: f.targetSize,
        softmaxBits: f.softmaxBits,
        embeddingBits: f.embeddingBits,
        method: f.method,
        cycles: f.cycles,
        groupSize: f.groupSize,
        layers: f.layers,
        iterations: f.iterations,
        retrainEpochs: f.retrainEpochs,
        retrainSteps: f.retrainSteps,
        lr: f.lr,
        lrDecay: f.lrDecay,
        clip: f.clip,
        dropout: f.dropout,
        distill: f.distill,
        distillTemperature: f.distillTemperature,
        rowBits: f.rowBits,
        tuneSteps: f.tuneSteps,
        tuneLr: f.tuneLr,
        straightThrough: f.straightThrough,
        prune: f.prune,
        pruneMask: f.pruneMask,
        pruneScope: f.pruneScope,
        steps: f.steps,
        batch: f.batch,
        evalBatch: f.evalBatch,
        limitTokens: f.limitTokens,
        activationBits: f.activationBits,
      } as SettingsInput;
      const r = await withInterrupt(
        'interrupted; stopping after the current window or evaluation (finished iterations are kept)',
        (signal) =>
          compress({
            model,
            dataDir: dataDirectory(f.data),
            outDir: f.out,
            settings,
            resume: f.resume,
            backend: f.backend,
            signal,
            progress: new Progress(),
          }),
      );
      writeOut(
        JSON.stringify({
          model: r.modelPath,
          final: r.report.final,
          iterations: r.report.iterations.map((it) => ({
            iteration: it.iteration,
            quantizationLoss: it.quantizationLoss,
            perplexityQuantized: it.perplexityQuantized,
            perplexityFp: it.perplexityFp,
          })),
        }) + '\n',
      );
    });
}
