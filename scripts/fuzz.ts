// The long fuzz and crash run for developers (npm run fuzz [-- ROUNDS]): the checks of
// test/fuzz.test.ts with many more mutations and kills. Exits non-zero on the first failure.
import { BACKEND_NAMES } from '../test/backends.js';
import { syntheticCorpus } from '../test/corpus.js';
import { fuzzFiles, killAndResume } from '../test/fuzz-lib.js';

const rounds = Number(process.argv[2] ?? 10);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`usage: npm run fuzz [-- ROUNDS]   (a positive integer; got '${process.argv[2]}')`);
  process.exit(2);
}
const t0 = performance.now();
for (let round = 1; round <= rounds; round++) {
  for (const backend of BACKEND_NAMES) {
    const n = fuzzFiles(backend, 2000, 1, round);
    console.log(`round ${round}/${rounds} ${backend}: ${n} mutated files read, every one valid or E_FORMAT`);
  }
  const k = await killAndResume(syntheticCorpus(3000, round), 8, round * 1000);
  console.log(
    `round ${round}/${rounds}: ${k.train} kills of training and ${k.compress} of compression, resumed runs identical to uninterrupted ones`,
  );
}
console.log(`fuzz: ${rounds} rounds passed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
