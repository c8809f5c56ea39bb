import { type Command, Option } from 'commander';
import { SPLITTERS, type Splitter } from '../data/tokenizer.js';
import { DEFAULT_VOCAB_SIZE } from '../data/vocabulary.js';
import type { EncodeOptions } from '../data/encoded-corpus.js';
import { nonNegativeInt, positiveInt } from './usage.js';

/** The flags that decide how a corpus becomes tokens (`train`, `data encode`). */
export interface CorpusFlags {
  data?: string;
  tokenizer: Splitter | 'bpe';
  lowercase?: boolean;
  vocabSize: number;
  minCount: number;
}

/** Adds `--data`, `--tokenizer`, `--lowercase`, `--vocab-size`, `--min-count` to `command`. */
export function addCorpusOptions(command: Command): Command {
  return command
    .option(
      '--data <dir>',
      "corpus directory with train.txt, valid.txt, test.txt (or PTB's ptb.*.txt); default: $QUIRE_DATA, else ./data/ptb",
    )
    .addOption(
      new Option(
        '--tokenizer <kind>',
        'how text becomes tokens: words (split at whitespace: pre-tokenised text such as PTB), text (raw text: words, numbers, ' +
          'punctuation), bpe (subword pieces learned from the corpus: --vocab-size of them)',
      )
        .choices([...SPLITTERS, 'bpe'])
        .default('words'),
    )
    .option('--lowercase', 'lowercase the text before splitting it')
    .option(
      '--vocab-size <n>',
      'keep the N most frequent words, read the rest as <unk> (0: every word; a large vocabulary slows every step)',
      nonNegativeInt,
      DEFAULT_VOCAB_SIZE,
    )
    .option('--min-count <n>', 'read words seen fewer than N times in the training split as <unk>', positiveInt, 1);
}

/** The encoding settings the corpus flags give. */
export function corpusSettings(f: CorpusFlags): Pick<EncodeOptions, 'tokenizer' | 'subwords' | 'vocabSize' | 'minCount'> {
  return {
    tokenizer: { splitter: f.tokenizer === 'bpe' ? 'words' : f.tokenizer, lowercase: !!f.lowercase },
    subwords: f.tokenizer === 'bpe',
    vocabSize: f.vocabSize,
    minCount: f.minCount,
  };
}
