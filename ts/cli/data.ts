import type { Command } from 'commander';
import { dataDirectory } from '../data/corpus.js';
import { encodeCorpus } from '../data/encoded-corpus.js';
import { cachedPtbDirectory, fetchPtb, PTB_URL } from '../data/fetch.js';
import { Progress } from '../train/progress.js';
import { reporting } from '../train/trainer.js';
import { addCorpusOptions, type CorpusFlags, corpusSettings } from './corpus-options.js';
import { UsageError } from './usage.js';
import { writeOut } from './stdout.js';

export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description('fetch a corpus into the cache (or --dir) and verify its SHA-256 checksums; `data encode` encodes one to token files')
    .argument('<corpus>', "the corpus: 'ptb' (Penn Treebank, Mikolov's LM split: ptb.{train,valid,test}.txt)")
    .option('--dir <dir>', `target folder (default: $QUIRE_HOME/data/ptb, i.e. ${cachedPtbDirectory()})`)
    .option('--url <url>', `base URL of the three files (default: $QUIRE_PTB_URL, else ${PTB_URL})`)
    .action(async (corpus: string, f: { dir?: string; url?: string }) => {
      if (corpus !== 'ptb') throw new UsageError(`unknown corpus '${corpus}' (have: ptb)`);
      const dir = await fetchPtb({
        dir: f.dir,
        url: f.url,
        onFile: (name, what, bytes) =>
          process.stderr.write(
            `${name}: ${what === 'present' ? 'already present, checksum ok' : `downloaded ${bytes} bytes, checksum ok`}\n`,
          ),
      });
      writeOut(`${dir}\n`);
    });
  addCorpusOptions(
    data
      .command('encode')
      .description(
        'encode a corpus as `quire train` does (same flags, same cache) and print its cache folder: vocabulary.txt (one word per line, ' +
          'line i = id i), {train,valid,test}.bin (u32 little-endian ids), corpus.json',
      ),
  ).action((f: CorpusFlags) => {
    const corpus = encodeCorpus(dataDirectory(f.data), { ...corpusSettings(f), ...reporting(new Progress()) });
    writeOut(`${corpus.cacheDir}\n`);
  });
}
