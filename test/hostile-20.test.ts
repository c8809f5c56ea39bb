/**
 * Regression tests of "Hostile input, round two" (issue 20), one `it` per item: each failed
 * before its fix. Library calls run on both backends where the behaviour crosses a binding.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compress } from '../ts/compress/loop.js';
import { LOCK_FILE } from '../ts/io/run-lock.js';
import { CompressedModel, QuireError, train } from '../ts/index.js';
import { syntheticCorpus } from './corpus.js';

const data = syntheticCorpus(2000, 11);
const tmp = () => mkdtempSync(join(tmpdir(), 'quire-hostile20-'));
const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
const cli = (...args: string[]) => spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

async function rejection(p: Promise<unknown>): Promise<QuireError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof QuireError)) throw new Error(`expected a QuireError, got ${err instanceof Error ? err.stack : String(err)}`);
  return err;
}

/** Waits (bounded: at most ~60 s) until `ready()` holds or `child` has exited. */
async function until(child: ChildProcess, ready: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ready() && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  if (!ready()) throw new Error('the child run never reached the awaited point');
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: string | null }>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res({ code: child.exitCode, signal: child.signalCode });
    else child.on('exit', (code, signal) => res({ code, signal }));
  });

let fpDir = '';
beforeAll(async () => {
  fpDir = tmp();
  await train({ preset: 'tiny', overrides: { epochs: 1 }, dataDir: data, outDir: fpDir, backend: 'native' });
}, 120_000);

describe('5. one writer per run folder', () => {
  it('a second compress of the same --out (other bits, or --resume) is E_STATE while the first runs; the first finishes alone', async () => {
    const out = join(tmp(), 'c');
    const run = (bits: number, resume = false) =>
      compress({ model: fpDir, dataDir: data, outDir: out, backend: 'native', resume, settings: { bits, iterations: 1, retrainSteps: 5 } });
    const first = run(1);
    for (const second of [run(3), run(1, true)]) {
      const err = await rejection(second);
      expect(err.code).toBe('E_STATE');
      expect(err.message).toContain(`pid ${process.pid}`);
      expect(err.message).toContain(out);
    }
    const r = await first;
    expect(r.report.settings.bits).toBe(1);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.settings.bits).toBe(1);
    const cm = CompressedModel.fromBytes(readFileSync(join(out, 'model.qcomp')), { backend: 'native' });
    expect(Object.values(cm.header.bits)).toEqual([1, 1, 1, 1]);
    cm.dispose();
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 60_000);

  it('two train --resume at once: the second is E_STATE naming the first process and the folder; SIGTERM removes the lock', async () => {
    const out = join(tmp(), 't');
    const args = ['train', '--preset', 'tiny', '--data', data, '--out', out, '--epochs', '200', '--backend', 'native'];
    const first = spawn(process.execPath, [...CLI, ...args], { stdio: 'ignore' });
    try {
      await until(first, () => existsSync(join(out, 'checkpoint.qckpt')));
      const lock = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8'));
      expect(lock).toMatchObject({ pid: first.pid, host: hostname() });
      for (const command of [
        [...args, '--resume'],
        ['compress', out, '--data', data, '--out', out, '--bits', '2'],
      ]) {
        const second = cli(...command);
        expect(second.status, second.stderr).toBe(1);
        expect(second.stderr).toMatch(new RegExp(`E_STATE: .*${out}.* in use by another quire process: pid ${first.pid}`));
      }
    } finally {
      first.kill('SIGTERM');
    }
    expect((await exited(first)).signal).toBe('SIGTERM');
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    // Ctrl-C (the CLI's graceful stop) releases it too.
    const resumed = spawn(process.execPath, [...CLI, ...args, '--resume'], { stdio: 'ignore' });
    await until(resumed, () => existsSync(join(out, LOCK_FILE)));
    resumed.kill('SIGINT');
    expect((await exited(resumed)).code).toBe(130);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 120_000);

  it('a lock left by a process that has exited is taken over; a lock of another host is E_STATE', async () => {
    const out = tmp();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: gone, host: hostname(), started: '2020-01-01T00:00:00.000Z', token: 'x' }));
    await train({ preset: 'tiny', overrides: { epochs: 1 }, dataDir: data, outDir: out, backend: 'native' });
    expect(existsSync(join(out, 'model.qmodel'))).toBe(true);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    const other = tmp();
    writeFileSync(join(other, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere.example', started: '2020-01-01T00:00:00.000Z', token: 'y' }));
    const err = await rejection(train({ preset: 'tiny', dataDir: data, outDir: other, backend: 'native' }));
    expect(err.code).toBe('E_STATE');
    expect(err.message).toMatch(/pid 1 on elsewhere\.example.*delete .*\.quire-lock/);
    expect(existsSync(join(other, LOCK_FILE))).toBe(true);
  }, 60_000);
});
