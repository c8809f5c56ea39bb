import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../ts/index.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus();
const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
const run = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('quire train / quire eval', () => {
  it('trains the tiny preset, then evaluates the run directory as JSON', () => {
    const out = mkdtempSync(join(tmpdir(), 'quire-cli-'));
    const t = run(
      'train',
      '--preset',
      'tiny',
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '1',
      '--backend',
      'native',
      '--limit-tokens',
      '2000',
    );
    expect(t.status, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/epoch 1\/1 .*valid ppl/);
    const e = run('eval', out, '--data', data, '--split', 'test', '--json', '--backend', 'wasm');
    expect(e.status, e.stderr).toBe(0);
    const r = JSON.parse(e.stdout);
    expect(r.split).toBe('test');
    expect(r.tokens).toBeGreaterThan(400);
    expect(r.perplexity).toBeGreaterThan(1);
    expect(r.perplexity).toBeLessThan(22);
  });

  it('--tie trains a tied model: info says so and eval reads it on both backends', () => {
    const out = mkdtempSync(join(tmpdir(), 'quire-cli-'));
    const t = run(
      'train',
      '--preset',
      'tiny',
      '--tie',
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '1',
      '--backend',
      'native',
      '--limit-tokens',
      '2000',
    );
    expect(t.status, t.stderr).toBe(0);
    const { model } = loadModel(out);
    expect(model.config.tied).toBe(true);
    model.dispose();
    const i = run('info', join(out, 'model.qmodel'));
    expect(i.status, i.stderr).toBe(0);
    expect(i.stdout).toContain('embedding tied to the softmax');
    for (const backend of ['native', 'wasm']) {
      const e = run('eval', out, '--data', data, '--split', 'test', '--json', '--backend', backend, '--limit-tokens', '2000');
      expect(e.status, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).perplexity).toBeLessThan(22);
    }
  });

  it('exits 2 on bad options and 1 with E_DATA when the data is missing', () => {
    expect(run('train', '--epochs', '0').status).toBe(2);
    expect(run('train', '--preset', 'huge').status).toBe(2);
    const missing = run('train', '--preset', 'tiny', '--data', '/nonexistent/quire', '--out', mkdtempSync(join(tmpdir(), 'quire-cli-')));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/E_DATA.*ptb\.\{train,valid,test\}\.txt/);
  });

  it('saves a mid-epoch checkpoint on SIGINT and exits 130', async () => {
    const out = mkdtempSync(join(tmpdir(), 'quire-cli-'));
    const child = spawn(
      process.execPath,
      [...CLI, 'train', '--preset', 'tiny', '--data', data, '--out', out, '--epochs', '100000', '--backend', 'native'],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!existsSync(join(out, 'log.jsonl'))) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const { training } = loadModel(join(out, 'checkpoint.qckpt'), { backend: 'native' });
    expect(training!.epoch).toBeGreaterThanOrEqual(1);
    expect(training!.window).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').length).toBe(training!.epoch);
  });
});
