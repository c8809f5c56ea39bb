/**
 * What the CLI prints from a model file reaches the user's terminal: control characters and
 * bidi controls in vocabulary words, prompt words and error messages are shown as visible
 * escapes, never sent raw; and a reader that stops early (`| head -c 20`) ends the command
 * quietly with exit 0 (issue 20).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { printable } from '../ts/cli/printable.js';
import { EOS, LanguageModel } from '../ts/index.js';

const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });

/**
 * What a terminal acts on: C0 controls, DEL, C1 controls, bidi embeddings, overrides and
 * isolates; the CLI's own line ends (\n) aside.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Words a model file may hold (its loader refuses whitespace and \p{Cc} controls, not format
 * characters): bidi embeddings, overrides and isolates, which reorder what the terminal shows.
 */
const BIDI = ['abc\u202edcba', '\u2066iso\u2069', 'r\u202bl', 'x\u202ay'];
/**
 * Words that would start a C1 CSI, or retitle the terminal and clear it: such a file is refused,
 * and the refusal names the first (JSON-quoted, which leaves C1 raw).
 */
const CONTROL = ['\u009b31m', '\u001b]0;pwned\u0007\u001b[2J'];

function modelFile(words: string[]): string {
  const m = LanguageModel.create({ vocab: words.length, hidden: 8, layers: 1, initScale: 0.1, dropout: 0, seed: 3 }, { backend: 'native' });
  const file = join(mkdtempSync(join(tmpdir(), 'quire-output-')), 'model.qmodel');
  writeFileSync(file, m.toBytes('quire-model', { vocabulary: JSON.stringify(words) }, false));
  m.dispose();
  return file;
}

let model = '';
let refused = '';
beforeAll(() => {
  model = modelFile([EOS, '<unk>', 'plain', ...BIDI]);
  refused = modelFile([EOS, '<unk>', 'plain', ...CONTROL]);
});

describe('printable', () => {
  it('escapes C0 (newline and tab too), DEL, C1 and bidi controls visibly, and nothing else', () => {
    expect(printable('\u001b]0;t\u0007\u001b[2J')).toBe('\\x1b]0;t\\x07\\x1b[2J');
    expect(printable('a\nb\tc\u007f\u0000')).toBe('a\\x0ab\\x09c\\u007f\\x00');
    expect(printable('\u009b1m \u0080')).toBe('\\u009b1m \\u0080');
    expect(printable('\u202a\u202e\u2066\u2069')).toBe('\\u202a\\u202e\\u2066\\u2069');
    // Still JSON, for the same value.
    const value = { word: '\u001b[2J\u007f\u009b\u202e' };
    expect(JSON.parse(printable(JSON.stringify(value)))).toEqual(value);
    const ordinary = 'the café said $ N 日本 <unk> \\x1b ½ \u00a0 \u2070 \u202f';
    expect(printable(ordinary)).toBe(ordinary);
  });
});

describe('quire generate on a model with hostile words', () => {
  it('prints vocabulary words, the prompt and warnings with their control characters escaped', () => {
    const g = cli(['generate', model, '--prompt', 'plain \u001b[2Jzap\u009b1m', '--tokens', '60', '--seed', '1', '--backend', 'native']);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).not.toMatch(UNSAFE);
    expect(g.stdout.startsWith('plain \\x1b[2Jzap\\u009b1m')).toBe(true);
    // The model drew words with bidi controls, and they arrived as visible escapes.
    expect(g.stdout).toMatch(/abc\\u202edcba|\\u2066iso\\u2069|r\\u202bl|x\\u202ay/);
    // One warning line for the unknown prompt words, as the tokenizer splits them (it drops the controls).
    expect(g.stderr.trim().split('\n')).toEqual([
      "quire: warning: 2 prompt words are not in the vocabulary and become <unk>: '[2Jzap', '1m'",
    ]);
    expect(g.stderr).not.toMatch(UNSAFE);
  });

  it('a model whose words hold control characters is refused, and the refusal shows them escaped', () => {
    const g = cli(['generate', refused, '--tokens', '5', '--backend', 'native']);
    expect(g.status).toBe(1);
    expect(g.stderr).toMatch(/E_FORMAT.*\\u009b31m/);
    expect(g.stderr).not.toMatch(UNSAFE);
  });

  it('error messages are escaped too (a hostile QUIRE_BACKEND value)', () => {
    const r = cli(['info'], { QUIRE_BACKEND: '\u001b[2J\u001b]0;x\u0007' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('\\x1b[2J');
    expect(r.stderr).not.toMatch(UNSAFE);
  });
});

describe('a reader that stops early', () => {
  it('generate | head -c 20: exit 0, nothing on stderr', async () => {
    const child = spawn(process.execPath, [...CLI, 'generate', model, '--tokens', '100000', '--backend', 'native'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let got = 0;
    child.stdout.on('data', (d: Buffer) => {
      got += d.length;
      // Like head -c 20: read 20 bytes, then close the pipe.
      if (got >= 20) child.stdout.destroy();
    });
    const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    expect(got).toBeGreaterThanOrEqual(20);
    expect(stderr).toBe('');
    expect(status).toBe(0);
  }, 60_000);
});
