/**
 * `npm run bench [-- SUITE ...] [--json FILE] [--quick] [--run DIR] [--compressed DIR ...]`: runs benchmark suites (all when none is named)
 * and prints a table per suite. Each suite is a file bench/<name>.ts exporting
 * `run(args): Promise<BenchRow[]>`; rows are also written as JSON with --json.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchRow {
  [key: string]: string | number | boolean | null | undefined;
}

export interface BenchArgs {
  /** Quick mode: fewer shapes and iterations (set by --quick). */
  quick: boolean;
  /** A trained run directory for the suites that use one (--run DIR; default runs/small). */
  run: string;
  /** Compressed runs of that model (`quire compress --out` folders; --compressed DIR, repeatable). */
  compressed: string[];
  /** Alternating rounds for the suites that take them (--rounds N; default 3, 1 with --quick). */
  rounds?: number;
}

const here = dirname(fileURLToPath(import.meta.url));

function suites(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !['main.ts', 'util.ts'].includes(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

async function main(argv: string[]): Promise<void> {
  let jsonFile: string | undefined;
  const names: string[] = [];
  let quick = false;
  let run = join('runs', 'small');
  const compressed: string[] = [];
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') jsonFile = argv[++i];
    else if (a === '--quick') quick = true;
    else if (a === '--run') run = argv[++i];
    else if (a === '--compressed') compressed.push(argv[++i]);
    else if (a === '--rounds') {
      rounds = Number(argv[++i]);
      if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`--rounds needs a positive integer (got ${argv[i]})`);
    } else if (a.startsWith('-'))
      throw new Error(`unknown option ${a} (use SUITE names, --json FILE, --quick, --run DIR, --compressed DIR, --rounds N)`);
    else names.push(a);
  }
  const available = suites();
  for (const n of names) if (!available.includes(n)) throw new Error(`unknown suite '${n}' (have: ${available.join(', ')})`);
  const chosen = names.length ? names : available;
  const all: (BenchRow & { suite: string })[] = [];
  for (const name of chosen) {
    const mod = (await import(`./${name}.ts`)) as { run(args: BenchArgs): Promise<BenchRow[]> };
    console.log(`\n## ${name}\n`);
    const rows = await mod.run({ quick, run, compressed, rounds });
    console.table(rows);
    for (const r of rows) all.push({ suite: name, ...r });
  }
  const out = jsonFile ?? join('bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), rows: all }, null, 2));
  console.log(`\nrows written to ${out}`);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
});
