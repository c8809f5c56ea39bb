import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from './backends.js';

/**
 * Writes a small synthetic corpus ({train,valid,test}.txt) with learnable structure: sentences
 * from a first-order Markov chain over 20 words (each word has 3 likely successors).
 */
export function syntheticCorpus(trainTokens = 3000, seed = 1): string {
  const dir = mkdtempSync(join(tmpdir(), 'quire-corpus-'));
  mkdirSync(dir, { recursive: true });
  const r = rng(seed);
  const words = Array.from({ length: 20 }, (_, i) => `w${i}`);
  const text = (n: number) => {
    const lines: string[] = [];
    let count = 0;
    while (count < n) {
      const len = 3 + Math.floor(r() * 8);
      let w = Math.floor(r() * 20);
      const line: string[] = [];
      for (let i = 0; i < len; i++) {
        line.push(words[w]);
        w = (w * 7 + 1 + Math.floor(r() * 3)) % 20;
      }
      lines.push(line.join(' '));
      count += len + 1;
    }
    return lines.join('\n') + '\n';
  };
  writeFileSync(join(dir, 'train.txt'), text(trainTokens));
  writeFileSync(join(dir, 'valid.txt'), text(trainTokens / 6));
  writeFileSync(join(dir, 'test.txt'), text(trainTokens / 6));
  return dir;
}
