/**
 * The bounded fuzz and crash suite (≤ 60 s): mutated and crafted files of every kind on both
 * backends, and `kill -9` of a tiny training and compression run with resume checked byte for
 * byte. `npm run fuzz` runs the same checks with far larger counts.
 */
import { describe, expect, it } from 'vitest';
import { BACKEND_NAMES } from './backends.js';
import { syntheticCorpus } from './corpus.js';
import { fuzzFiles, killAndResume } from './fuzz-lib.js';

describe.each(BACKEND_NAMES)('fuzzed model files (%s)', (backend) => {
  it('truncations, bit flips and crafted headers are read as valid or E_FORMAT, never a crash', () => {
    expect(fuzzFiles(backend, 600, 5)).toBeGreaterThan(2000);
  }, 60_000);
});

describe('kill -9', () => {
  it('a killed and resumed training and compression end with the same files as uninterrupted runs', async () => {
    await killAndResume(syntheticCorpus(3000, 5), 3, 42);
  }, 120_000);
});
