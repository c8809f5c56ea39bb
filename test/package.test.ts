/**
 * The package as users install it: `npm run pack` (scripts/pack.sh) makes the main tarball and
 * the linux-x64-gnu platform package; each is installed into an empty folder whose PATH has
 * node and npm but no cargo or compiler. There: `npx quire info`, a script that imports `quire`
 * and generates from a compressed model, and `quire/web` bundled by esbuild. Without the
 * platform package the loader falls back to wasm with a one-line notice.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleModel, nodeWasmReference } from './edge-model.js';

const ROOT = resolve('.');
let env: Record<string, string | undefined>;
let tarballs: { main: string; native: string };
let modelPath = '';

beforeAll(() => {
  execFileSync('bash', ['scripts/pack.sh'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const files = readdirSync(join(ROOT, 'pack'));
  tarballs = {
    main: join(ROOT, 'pack', files.find((f) => /^quire-\d/.test(f))!),
    native: join(ROOT, 'pack', files.find((f) => f.startsWith('quire-linux-x64-gnu-'))!),
  };
  // A PATH with node, npm and a shell only: no cargo, no rustc, no cc.
  const bin = mkdtempSync(join(tmpdir(), 'quire-bin-'));
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync(npmCli, join(bin, 'npm'));
  symlinkSync(join(dirname(npmCli), 'npx-cli.js'), join(bin, 'npx'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  env = {
    ...process.env,
    PATH: bin,
    QUIRE_BACKEND: undefined,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  delete env.QUIRE_BACKEND;
  modelPath = join(mkdtempSync(join(tmpdir(), 'quire-pkg-model-')), 'model.qcomp');
  writeFileSync(modelPath, exampleModel());
}, 120_000);

function project(...packages: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'quire-user-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  const r = spawnSync('npm', ['install', ...packages], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(spawnSync('sh', ['-c', 'command -v cargo'], { cwd: dir, env }).status).not.toBe(0);
  return dir;
}

const GENERATE = `import { readFileSync } from 'node:fs';
import { generateWords, InferenceEngine, Vocabulary } from 'quire';
const engine = InferenceEngine.fromBytes(readFileSync(process.argv[2]));
const vocabulary = Vocabulary.fromMetadata(engine.metadata, engine.config.vocab);
const words = [...generateWords(engine, vocabulary, { prompt: 'the meaning of', tokens: 8, temperature: 0 })];
console.log(JSON.stringify({ backend: engine.backend.name, words }));
`;

function generate(dir: string): { status: number | null; stderr: string; out?: { backend: string; words: string[] } } {
  writeFileSync(join(dir, 'generate.mjs'), GENERATE);
  const r = spawnSync('node', ['generate.mjs', modelPath], { cwd: dir, env, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, out: r.status === 0 ? JSON.parse(r.stdout) : undefined };
}

describe('the installed package, on a machine without Rust', () => {
  it('with the platform package: the native backend, the CLI, the library and an esbuild bundle of quire/web', () => {
    const dir = project(tarballs.main, tarballs.native);
    const info = spawnSync('npx', ['quire', 'info'], { cwd: dir, env, encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/selected backend: native/);
    const g = generate(dir);
    expect(g.status, g.stderr).toBe(0);
    expect(g.out!.backend).toBe('native');
    expect(g.out!.words).toEqual(nodeWasmReference(readModel()).words);
    // quire/web through a bundler: no Node built-in may be pulled in (platform browser).
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'web', 'entry.js'), "import { init, InferenceEngine } from 'quire/web';\nexport { init, InferenceEngine };\n");
    const esbuild = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'esbuild'),
      ['web/entry.js', '--bundle', '--format=esm', '--platform=browser', '--outfile=web/out.js'],
      { cwd: dir, env, encoding: 'utf8' },
    );
    expect(esbuild.status, esbuild.stderr).toBe(0);
  }, 180_000);

  it('without it: the wasm backend, with a one-line notice', () => {
    const dir = project(tarballs.main);
    const info = spawnSync('npx', ['quire', 'info'], { cwd: dir, env, encoding: 'utf8' });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/selected backend: wasm/);
    const g = generate(dir);
    expect(g.status, g.stderr).toBe(0);
    expect(g.out!.backend).toBe('wasm');
    expect(g.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^quire: using the wasm backend \(no native binary for linux-x64-gnu/),
    ]);
  }, 180_000);
});

function readModel(): Uint8Array {
  return readFileSync(modelPath);
}
