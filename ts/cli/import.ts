import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { QuireError } from '../errors.js';
import { readRegularFile } from '../io/fs.js';
import { importStateDict, stateDictTraining } from '../pytorch.js';
import { saveModel, textOf } from '../train/checkpoint.js';
import { stemOf } from './export.js';
import { UsageError } from './usage.js';
import { writeOut } from './stdout.js';

interface ImportFlags {
  vocab: string;
  tokenizer?: string;
  output?: string;
  backend?: BackendChoice;
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      "import a PyTorch state dict (safetensors, the layout of PyTorch's word_language_model with an LSTM) as a quire model " +
        'for eval, generate and compress; shapes come from the tensors',
    )
    .argument('<state>', 'STATE.safetensors (encoder.weight, rnn.{weight,bias}_{ih,hh}_l<k>, decoder.weight, decoder.bias)')
    .requiredOption('--vocab <file>', 'the vocabulary: one word per line, line i = id i (e.g. vocabulary.txt of an encoded corpus)')
    .option('--tokenizer <file>', 'tokenizer JSON written by quire export (default: whole words split on whitespace)')
    .option('-o, --output <file>', 'model file to write (default: STATE.qmodel)')
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .action((file: string, f: ImportFlags) => {
      const out = f.output ?? `${stemOf(file, '.safetensors')}.qmodel`;
      if (!out.endsWith('.qmodel')) throw new UsageError(`--output must name a .qmodel file (got '${out}')`);
      const words = readRegularFile(f.vocab, 'vocabulary file')
        .toString('utf8')
        .replace(/\r?\n$/, '')
        .split(/\r?\n/);
      const tokenizer = f.tokenizer ? readRegularFile(f.tokenizer, 'tokenizer file').toString('utf8') : undefined;
      const bytes = readRegularFile(file, 'state dict');
      const model = importStateDict(bytes, file, { backend: f.backend });
      try {
        const { vocab, hidden, layers } = model.config;
        const training = stateDictTraining(bytes, file, model.config);
        if (words.length !== vocab) {
          throw new QuireError(
            'E_FORMAT',
            `${f.vocab} lists ${words.length} words, the state dict's embedding has ${vocab} rows (one word per row, in id order)`,
          );
        }
        const meta: Record<string, string> = { words: words.join('\n') };
        if (tokenizer !== undefined) meta.tokenizer = tokenizer;
        const text = textOf(meta, vocab, tokenizer === undefined ? f.vocab : `${f.vocab} / ${f.tokenizer}`);
        saveModel(out, model, 'quire-model', text, training);
        const run = training ? `; its training run: ${training.epoch} epochs of the ${training.config.preset} schedule` : '';
        writeOut(`wrote ${out} (${layers} × ${hidden} LSTM, ${vocab} words${run})\n`);
      } finally {
        model.dispose();
      }
    });
}
