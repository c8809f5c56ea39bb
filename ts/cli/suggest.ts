import { emitKeypressEvents } from 'node:readline';
import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { type Kernel, KERNELS } from '../kernel.js';
import { loadEngine } from '../infer-file.js';
import { type PredictionSession, Predictor, type Suggestion } from '../predict.js';
import { printable } from './printable.js';
import { writeOut } from './stdout.js';
import { positiveInt, UsageError } from './usage.js';

interface SuggestFlags {
  prompt?: string;
  k: number;
  json?: boolean;
  kernel: Kernel;
  backend?: BackendChoice;
}

/** Suggestions for the text typed so far: next words after it, completions of its unfinished last word. */
function suggest(session: PredictionSession, text: string, k: number): { next: Suggestion[]; completions: Suggestion[]; ms: number } {
  const t0 = performance.now();
  session.feed(text);
  const next = session.prefix ? [] : session.next(k);
  const completions = session.prefix ? session.complete(undefined, k) : [];
  return { next, completions, ms: performance.now() - t0 };
}

const line = (list: Suggestion[]) => list.map((s) => `${printable(s.word)} (${(100 * s.probability).toFixed(1)} %)`).join('  ');

export function registerSuggest(program: Command): void {
  program
    .command('suggest')
    .description('next-word suggestions and completions of a partly typed word (on a terminal without --prompt: as you type)')
    .argument('<model>', 'model.qcomp / model.qmodel file, or a run directory')
    .option('--prompt <text>', 'the text typed so far; a last word not followed by a space is completed')
    .option('-k, --k <n>', 'suggestions to show', positiveInt, 3)
    .option('--json', 'print JSON: next words or completions with probabilities, and the latency')
    .addOption(
      new Option('--kernel <name>', 'packed kernel (auto: the one the model was retrained for)').choices([...KERNELS]).default('auto'),
    )
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .action(async (file: string, f: SuggestFlags) => {
      if (f.k > 1000) throw new UsageError(`-k must be at most 1000 (got ${f.k})`);
      const { engine, vocabulary, tokenizer } = loadEngine(file, { backend: f.backend, kernel: f.kernel });
      const predictor = new Predictor(engine, { vocabulary, tokenizer });
      try {
        const session = predictor.session();
        if (f.prompt !== undefined || !process.stdin.isTTY || !process.stdout.isTTY) {
          const text = f.prompt ?? '';
          const r = suggest(session, text, f.k);
          const strip = (l: Suggestion[]) => l.map(({ word, probability }) => ({ word, probability }));
          if (f.json) {
            const record = { prompt: text, prefix: session.prefix, next: strip(r.next), completions: strip(r.completions), ms: r.ms };
            writeOut(`${printable(JSON.stringify(record))}\n`);
          } else if (session.prefix) {
            writeOut(`complete '${printable(session.prefix)}': ${line(r.completions) || '(no word starts so)'}\n`);
          } else {
            writeOut(`next: ${line(r.next)}\n`);
          }
          return;
        }
        await interactive(session, f.k);
      } finally {
        predictor.dispose();
      }
    });
}

/**
 * Type on the terminal; suggestions and the latency of each keystroke update below the text. Tab takes the first suggestion;
 * Ctrl-C or Ctrl-D ends.
 */
function interactive(session: PredictionSession, k: number): Promise<void> {
  const out = process.stdout;
  let text = '';
  const render = () => {
    const r = suggest(session, text, k);
    const list = session.prefix ? r.completions : r.next;
    const shown = session.prefix ? `complete: ${line(r.completions)}` : `next: ${line(r.next)}`;
    // The text on this line; the suggestions on the line below (cursor saved and restored around them).
    const typed = printable(text.split('\n').at(-1) ?? '').slice(-(out.columns ?? 80) + 4);
    out.write(`\r\x1b[2K> ${typed}\x1b7\n\r\x1b[2K${shown}   [${r.ms.toFixed(2)} ms]\x1b8`);
    return list;
  };
  out.write('Type text; Tab takes the first suggestion, Enter starts a new line, Ctrl-C ends.\n\n\n\x1b[2A');
  let list = render();
  emitKeypressEvents(process.stdin);
  process.stdin.setRawMode(true);
  return new Promise((resolve) => {
    const done = () => {
      process.stdin.setRawMode(false);
      process.stdin.pause();
      process.stdin.removeListener('keypress', onKey);
      out.write('\n\n');
      resolve();
    };
    const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined) => {
      if (key?.ctrl && (key.name === 'c' || key.name === 'd')) return done();
      if (key?.name === 'backspace') text = text.slice(0, -1);
      else if (key?.name === 'tab') {
        if (list.length) text = `${text.slice(0, text.length - session.prefix.length)}${list[0].word} `;
      } else if (key?.name === 'return') text += '\n';
      else if (str && !/\p{Cc}/u.test(str)) text += str;
      list = render();
    };
    process.stdin.on('keypress', onKey);
  });
}
