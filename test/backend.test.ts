import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { info, loadBackend, QuireError } from '../ts/index.js';
import { BACKEND_NAMES } from './backends.js';

describe('backend loader', () => {
  it('loads both backends (CI needs both)', () => {
    for (const name of BACKEND_NAMES) expect(loadBackend(name).name).toBe(name);
  });

  it('remembers its choice', () => {
    expect(loadBackend('auto')).toBe(loadBackend('auto'));
    expect(loadBackend('wasm')).toBe(loadBackend('wasm'));
  });

  it('reports SIMD kernel sets for both backends', () => {
    const report = info();
    expect(report.backends.native.available).toBe(true);
    expect(['avx512', 'avx2', 'scalar']).toContain(report.backends.native.kernels);
    expect(report.backends.native.threads).toBeGreaterThanOrEqual(1);
    expect(report.backends.wasm).toMatchObject({ available: true, kernels: 'simd128', threads: 1 });
  });

  it('loads the relaxed-SIMD wasm module where relaxed SIMD validates, unless QUIRE_WASM_RELAXED=0', () => {
    const script = "import('./ts/index.ts').then((q) => console.log(q.info().backends.wasm.relaxedSimd))";
    const run = (flags: string[], env: Record<string, string> = {}) =>
      spawnSync('node', [...flags, '--import', 'tsx', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
    // Node 22+ validates relaxed SIMD as is; Node 20 behind a V8 flag.
    const flags = run([]).stdout.trim() === 'true' ? [] : ['--experimental-wasm-relaxed-simd'];
    const relaxed = run(flags);
    expect(relaxed.stderr).toBe('');
    expect(relaxed.stdout.trim()).toBe('true');
    expect(run(flags, { QUIRE_WASM_RELAXED: '0' }).stdout.trim()).toBe('false');
  });

  it('rejects an unknown QUIRE_BACKEND with E_CONFIG', () => {
    const saved = process.env.QUIRE_BACKEND;
    process.env.QUIRE_BACKEND = 'gpu';
    try {
      expect(() => loadBackend()).toThrow(QuireError);
      expect(() => loadBackend()).toThrow(/QUIRE_BACKEND must be auto, native or wasm/);
    } finally {
      if (saved === undefined) delete process.env.QUIRE_BACKEND;
      else process.env.QUIRE_BACKEND = saved;
    }
  });
});

const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];

describe('quire CLI', () => {
  it('info --json has the documented shape', () => {
    const out = JSON.parse(execFileSync('node', [...CLI, 'info', '--json'], { encoding: 'utf8' }));
    expect(out.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(out.selected).toBe('native');
    expect(out.backends.native).toMatchObject({ available: true });
    expect(out.backends.wasm).toMatchObject({ available: true, kernels: 'simd128' });
    expect(out.peakGflops).toBeUndefined();
  });

  it('info --peak measures each backend', () => {
    const out = JSON.parse(execFileSync('node', [...CLI, 'info', '--peak', '--json'], { encoding: 'utf8' }));
    for (const b of ['native', 'wasm']) expect(out.peakGflops[b]).toBeGreaterThan(0.1);
  });

  it('QUIRE_BACKEND=wasm selects wasm', () => {
    const out = JSON.parse(
      execFileSync('node', [...CLI, 'info', '--json'], { encoding: 'utf8', env: { ...process.env, QUIRE_BACKEND: 'wasm' } }),
    );
    expect(out.selected).toBe('wasm');
  });

  it('exits 2 on unknown options, commands and bad values', () => {
    for (const args of [['info', '--bogus'], ['frobnicate'], ['info', '--backend', 'gpu']]) {
      const r = spawnSync('node', [...CLI, ...args], { encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/error|unknown|invalid/i);
    }
  });

  it('--help lists the commands', () => {
    const r = spawnSync('node', [...CLI, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/info/);
  });
});
