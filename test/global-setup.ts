import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs once before every test file: rebuilds the `quire/web` bundle from the current sources
 * (well under a second), so the browser and edge-runtime tests, which run in parallel, all read
 * the same finished dist/web/.
 *
 * It also gives the run one temporary folder of its own: `TMPDIR` points into it for every test
 * process and every command a test starts (they inherit the environment), and the folder is
 * removed when the run ends, so the models, corpora and reports tests write never pile up in the
 * system's temporary folder.
 */
export default function setup(): () => void {
  execFileSync('bash', ['scripts/build-web.sh'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const runTmp = mkdtempSync(join(tmpdir(), 'quire-tests-'));
  process.env.TMPDIR = runTmp;
  return () => rmSync(runTmp, { recursive: true, force: true });
}
