import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { Tokenizer } from '../data/tokenizer.js';
import { EOS } from '../data/vocabulary.js';
import { generateWords, unknownWords } from '../generate.js';
import { MAX_TEMPERATURE } from '../infer.js';
import { type Kernel, KERNELS } from '../kernel.js';
import { loadEngine } from '../infer-file.js';
import { printable } from './printable.js';
import { writeOut } from './stdout.js';
import { finiteNumber, nonNegativeInt, UsageError } from './usage.js';

interface GenerateFlags {
  prompt?: string;
  tokens: number;
  temperature: number;
  topK: number;
  seed: number;
  kernel: Kernel;
  backend?: BackendChoice;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text with a model (compressed models run on the bit-packed kernels), streamed word by word')
    .argument('<model>', 'model.qcomp / model.qmodel / checkpoint.qckpt file, or a run directory')
    .option('--prompt <text>', 'words to start from (unknown words become <unk>, with a warning)')
    .option('--tokens <n>', 'words to generate', nonNegativeInt, 50)
    .option('--temperature <t>', 'sampling temperature (0 = always the most likely word)', finiteNumber, 1)
    .option('--top-k <k>', 'sample among the k most likely words (0 = all)', nonNegativeInt, 0)
    .option('--seed <s>', 'sampler seed', nonNegativeInt, 0)
    .addOption(
      new Option('--kernel <name>', 'packed kernel (auto: the one the model was retrained for)').choices([...KERNELS]).default('auto'),
    )
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .action((file: string, f: GenerateFlags) => {
      if (!(f.temperature >= 0 && f.temperature <= MAX_TEMPERATURE)) {
        throw new UsageError(`--temperature must be from 0 to ${MAX_TEMPERATURE} (got ${f.temperature})`);
      }
      const { engine, vocabulary, tokenizer } = loadEngine(file, { backend: f.backend, kernel: f.kernel });
      const text = new Tokenizer(tokenizer);
      try {
        // Words come from the model file and the prompt: printed through `printable`, so a
        // vocabulary word holding escape sequences cannot drive the terminal.
        const unknown = unknownWords(vocabulary, f.prompt, tokenizer);
        if (unknown.length > 0) process.stderr.write(`quire: warning: ${unknownSummary(unknown)}\n`);
        if (f.prompt) writeOut(printable(f.prompt));
        let prev = f.prompt ? text.tokens(f.prompt).at(-1) : undefined;
        for (const word of generateWords(engine, vocabulary, { ...f, tokens: f.tokens, tokenizer })) {
          if (word === EOS) {
            writeOut('\n');
            prev = undefined;
          } else {
            writeOut(text.glue(prev, word) + printable(text.display(word)));
            prev = word;
          }
        }
        if (prev !== undefined) writeOut('\n');
      } finally {
        engine.dispose();
      }
    });
}

/** One line for the prompt words missing from the vocabulary: how many, and the first few. */
export function unknownSummary(words: string[], shown = 5): string {
  const distinct = [...new Set(words)];
  const count = words.length === distinct.length ? `${words.length}` : `${words.length} (${distinct.length} distinct)`;
  const list = distinct.slice(0, shown).map((w) => `'${printable(w.length > 30 ? `${w.slice(0, 30)}…` : w)}'`);
  const more = distinct.length > shown ? ` and ${distinct.length - shown} more` : '';
  const verbs = words.length === 1 ? ' is not in the vocabulary and becomes' : 's are not in the vocabulary and become';
  return `${count} prompt word${verbs} <unk>: ${list.join(', ')}${more}`;
}
