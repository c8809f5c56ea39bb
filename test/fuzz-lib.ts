/**
 * The fuzz and crash checks shared by the bounded suite in `npm test` (test/fuzz.test.ts) and the
 * longer developer run `npm run fuzz` (scripts/fuzz.ts); only the counts differ.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '../ts/io/run-lock.js';
import { CompressedModel, gemm, InferenceEngine, LanguageModel, prune, QuireError, type BackendName } from '../ts/index.js';
import { rng } from './backends.js';

/** One example of each file kind quire reads: FP model, checkpoint with carried state, compressed model. */
export function sampleFiles(backend: BackendName): Record<string, Uint8Array> {
  const m = LanguageModel.create({ vocab: 7, hidden: 9, layers: 2, initScale: 0.5, dropout: 0.2, seed: 3 }, { backend });
  const meta = { vocabulary: JSON.stringify(['a', 'b', 'c', 'd', 'e', '<eos>', '<unk>']) };
  const model = m.toBytes('quire-model', meta, false);
  m.resetState(2);
  m.trainStep(new Uint32Array([1, 2, 3, 4]), new Uint32Array([2, 3, 4, 5]), 0.1, 5);
  const checkpoint = m.toBytes('quire-checkpoint', meta, true);
  prune(m, ['lstm.0.w_ih', 'lstm.1.w_hh'], 0.4);
  const tensors = { embedding: 2, 'lstm.0.w_ih': 1, 'lstm.0.w_hh': 2, 'lstm.1.w_ih': 3, 'lstm.1.w_hh': 1, 'softmax.weight': 2 };
  const cm = CompressedModel.fromModel(
    m,
    { method: 'alternating', cycles: 1, groupSize: 0, layers: 'all', sparsity: 0.4, fpModelBytes: model.length, tensors },
    meta,
  );
  const compressed = cm.toBytes();
  cm.dispose();
  m.dispose();
  return { model, checkpoint, compressed };
}

/** Every reader of model bytes on `backend`: 'ok' or the QuireError code (anything else throws). */
export function readAll(bytes: Uint8Array, backend: BackendName): string[] {
  const readers = [
    () => InferenceEngine.fromBytes(bytes, { backend }),
    () => CompressedModel.fromBytes(bytes, { backend }),
    () => LanguageModel.fromBytes(bytes, { backend }),
  ];
  return readers.map((read) => {
    try {
      const h = read();
      if (h instanceof InferenceEngine) h.step([0]);
      if (h instanceof LanguageModel) {
        h.resetState(1);
        h.evaluate(new Uint32Array([0]), new Uint32Array([1]));
      }
      h.dispose();
      return 'ok';
    } catch (err) {
      if (!(err instanceof QuireError)) throw new Error(`a reader threw a non-QuireError: ${err instanceof Error ? err.stack : err}`);
      return err.code;
    }
  });
}

/** Header JSON of a container and the bytes after it. */
function split(file: Uint8Array): { header: string; body: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return { header: new TextDecoder().decode(file.subarray(8, 8 + n)), body: file.subarray(8 + n) };
}

function join8(header: string, body: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + text.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(body, 8 + text.length);
  return out;
}

/** Headers a hostile user would craft from a real one: wrong types, huge numbers, deep nesting. */
function craftedHeaders(file: Uint8Array): Uint8Array[] {
  const { header, body } = split(file);
  const edits: [RegExp, string][] = [
    [/"shape":\[[^\]]*\]/, '"shape":[1e300,1e300]'],
    [/"shape":\[[^\]]*\]/, '"shape":null'],
    [/"data_offsets":\[[^\]]*\]/, '"data_offsets":[0,18446744073709551615]'],
    [/"dtype":"[A-Z0-9]+"/, '"dtype":"F64"'],
    [/"vocab\\":\d+/, '"vocab\\":4294967296'],
    [/"hidden\\":\d+/, '"hidden\\":-1'],
    [/"layers\\":\d+/, '"layers\\":1.5'],
    [/"version":"[^"]*"/, '"version":"999"'],
    [/"bits":"\{/, '"bits":"{\\"nope\\":1,'],
    [/"groupSize":"\d+"/, '"groupSize":"18446744073709551615"'],
    [/"sparsity":"[^"]*"/, '"sparsity":"NaN"'],
  ];
  const out = edits.filter(([re]) => re.test(header)).map(([re, s]) => join8(header.replace(re, s), body));
  out.push(join8('['.repeat(5000) + ']'.repeat(5000), body), join8('{}', body), join8('null', body));
  return out;
}

/**
 * Reads truncations (every `truncateStep`-th length), `flips` random 1–3-bit mutations and the
 * crafted headers of each file kind with every reader: each is 'ok' or E_FORMAT, never a crash,
 * and the backend works afterwards. Returns the number of mutated files read.
 */
export function fuzzFiles(backend: BackendName, flips: number, truncateStep: number, seed = 1): number {
  let count = 0;
  for (const [kind, file] of Object.entries(sampleFiles(backend))) {
    const check = (bytes: Uint8Array, what: string, allowed = ['ok', 'E_FORMAT']) => {
      for (const code of readAll(bytes, backend)) {
        if (!allowed.includes(code)) throw new Error(`${kind} ${what}: ${code}`);
      }
      count++;
    };
    for (let len = 0; len < file.length; len += truncateStep) check(file.subarray(0, len), `truncated to ${len}`, ['E_FORMAT']);
    const r = rng(seed * 7919 + file.length);
    for (let i = 0; i < flips; i++) {
      const b = file.slice();
      for (let k = 0; k < 1 + Math.floor(r() * 3); k++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
      check(b, `flip round ${i}`);
    }
    craftedHeaders(file).forEach((b, i) => check(b, `crafted header ${i}`, ['E_FORMAT']));
  }
  const y = gemm({ m: 1, n: 1, k: 2 }, new Float32Array([1, 2]), new Float32Array([3, 4]), undefined, { backend });
  if (y[0] !== 11) throw new Error(`the ${backend} backend is broken after fuzzing`);
  return count;
}

const CLI = ['--import', 'tsx', 'ts/cli/main.ts'];

/**
 * Runs a CLI command to completion, killing it with SIGKILL up to `kills` times and restarting
 * it (with `--resume` once there is something to resume); returns how many kills landed. Each
 * kill comes 0–300 ms after the attempt has printed 1–3 more lines matching `marker` (a finished
 * epoch or iteration), so it lands mid-work or mid-write whatever the machine's speed.
 */
async function runWithKills(args: string[], out: string, kills: number, seed: number, marker: RegExp, withRival = false): Promise<number> {
  const r = rng(seed);
  let resume = false;
  let landed = 0;
  let rivalFailure: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const child = spawn(process.execPath, [...CLI, ...args, ...(resume ? ['--resume'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const target = 1 + Math.floor(r() * 3);
    const delay = r() * 300;
    let armed = attempt < kills;
    const kill = () => setTimeout(() => child.kill('SIGKILL'), delay);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (armed && (stderr.match(marker) ?? []).length >= target) {
        armed = false;
        // Before the first kill (of the longer compression run): a concurrent writer is refused.
        // The run is stopped (alive, lock held) while the rival starts, so it cannot finish first
        // on a fast host, and killed once the rival has answered.
        if (attempt === 0 && withRival) {
          child.kill('SIGSTOP');
          rival(args, child).then((failure) => {
            rivalFailure = failure;
            child.kill('SIGKILL');
          });
        } else kill();
      }
    });
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    if (rivalFailure) throw new Error(rivalFailure);
    if (code === 0) return landed;
    if (code !== null) throw new Error(`${args[0]} exited ${code} after ${attempt} kills: ${stderr}`);
    landed++;
    // Killed: resume only once the run folder holds something to resume from.
    resume = readdirSync(out).some((f) => f === 'checkpoint.qckpt' || f === 'state.json');
  }
}

/**
 * Starts the same command with `--resume` while `running` writes the folder: it must fail with
 * `E_STATE` naming the running process. Returns a failure message, or undefined (also when the
 * running process ended first, which leaves nothing to check).
 */
async function rival(args: string[], running: ChildProcess): Promise<string | undefined> {
  const child = spawn(process.execPath, [...CLI, ...args, '--resume'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  if (running.exitCode !== null || running.signalCode !== null) return undefined;
  if (code !== 1 || !stderr.includes(`E_STATE`) || !stderr.includes(`pid ${running.pid}`)) {
    return `a concurrent '${args[0]} --resume' of the same folder exited ${code} instead of E_STATE naming pid ${running.pid}: ${stderr}`;
  }
  return undefined;
}

/**
 * `kill -9` a tiny training run and a compression of its model at random moments, resume each
 * time, and check the final files equal those of uninterrupted runs byte for byte and that no
 * temporary or lock file is left behind. Before the first kill of the compression, a second writer
 * of the same folder is started and must be refused (`E_STATE`) while the first runs.
 */
export async function killAndResume(data: string, kills: number, seed: number): Promise<{ train: number; compress: number }> {
  const tmp = () => mkdtempSync(join(tmpdir(), 'quire-crash-'));
  const train = (out: string) => ['train', '--preset', 'tiny', '--data', data, '--out', out, '--epochs', '30', '--backend', 'native'];
  const reference = tmp();
  const ok = spawnSync(process.execPath, [...CLI, ...train(reference)], { encoding: 'utf8' });
  if (ok.status !== 0) throw new Error(ok.stderr);
  const killed = tmp();
  const trainKills = await runWithKills(train(killed), killed, kills, seed, /^epoch \d+\/\d+ lr/gm);
  if (trainKills === 0) throw new Error('no kill landed during training');
  compareRuns(reference, killed, ['model.qmodel', 'log.jsonl'], (f) => (f === 'log.jsonl' ? stripTimes : undefined));

  const compress = (out: string) => [
    'compress',
    reference,
    '--data',
    data,
    '--out',
    out,
    '--bits',
    '1',
    '--iterations',
    '20',
    '--retrain-steps',
    '400',
    '--backend',
    'native',
  ];
  const cref = tmp();
  const cok = spawnSync(process.execPath, [...CLI, ...compress(cref)], { encoding: 'utf8' });
  if (cok.status !== 0) throw new Error(cok.stderr);
  const ckilled = tmp();
  const compressKills = await runWithKills(compress(ckilled), ckilled, kills, seed + 1, /^iteration \d+:/gm, true);
  if (compressKills === 0) throw new Error('no kill landed during compression');
  compareRuns(cref, ckilled, ['model.qcomp'], () => undefined);
  return { train: trainKills, compress: compressKills };
}

/** Drops the wall-clock fields of log lines (the only part of a run that may differ). */
function stripTimes(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds: _s, tokensPerSecond: _t, ...rest } = JSON.parse(l);
      return JSON.stringify(rest);
    })
    .join('\n');
}

function compareRuns(a: string, b: string, files: string[], normalise: (f: string) => ((t: string) => string) | undefined): void {
  for (const f of files) {
    const [x, y] = [readFileSync(join(a, f)), readFileSync(join(b, f))];
    const n = normalise(f);
    const same = n ? n(x.toString('utf8')) === n(y.toString('utf8')) : x.equals(y);
    if (!same) throw new Error(`${f} differs between the uninterrupted run (${a}) and the killed and resumed one (${b})`);
  }
  const left = readdirSync(b).filter((f) => f.startsWith('.quire-tmp-') || f === LOCK_FILE);
  if (left.length) throw new Error(`temporary or lock files left in ${b}: ${left.join(', ')}`);
}
