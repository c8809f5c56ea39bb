import { execFileSync } from 'node:child_process';

/**
 * Runs once before every test file: rebuilds the `quire/web` bundle from the current sources
 * (well under a second), so the browser and edge-runtime tests, which run in parallel, all read
 * the same finished dist/web/.
 */
export default function setup(): void {
  execFileSync('bash', ['scripts/build-web.sh'], { stdio: ['ignore', 'ignore', 'pipe'] });
}
