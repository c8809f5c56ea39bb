import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Native addons and large wasm memories: one process per file, no worker threads.
    pool: 'forks',
    testTimeout: 120_000,
    // Encoded corpora are cached under $QUIRE_HOME: tests keep theirs out of the user's cache.
    env: { QUIRE_HOME: process.env.QUIRE_HOME ?? join(tmpdir(), 'quire-test-home') },
    hookTimeout: 120_000,
  },
});
