/** What the trainer reports after each window. */
export interface ProgressState {
  /** What `epoch`/`epochs` count (default `epoch`; the compress loop shows `iteration`). */
  label?: string;
  epoch: number;
  epochs: number;
  window: number;
  windows: number;
  /** Mean training loss (nats per token) of the epoch so far. */
  loss: number;
  tokensPerSecond: number;
  /** Seconds until the end of the epoch at the current speed. */
  etaSeconds: number;
  /** Seconds until the end of the whole run (every remaining epoch) at the current speed, when known. */
  runEtaSeconds?: number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * A progress display on a stream (stderr by default). On a TTY one line is redrawn in place
 * (at most 10 times a second, with a bar); otherwise a plain line is printed every
 * `intervalSeconds`, so logs stay readable.
 */
export class Progress {
  private last = 0;
  private open = false;

  constructor(
    private readonly out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean } = process.stderr,
    private readonly intervalSeconds = 30,
  ) {}

  update(s: ProgressState): void {
    const now = performance.now() / 1000;
    const tty = !!this.out.isTTY;
    if (now - this.last < (tty ? 0.1 : this.intervalSeconds) && s.window < s.windows) return;
    this.last = now;
    const frac = s.window / s.windows;
    const text =
      `${s.label ?? 'epoch'} ${s.epoch}/${s.epochs} ${String(s.window).padStart(String(s.windows).length)}/${s.windows}` +
      ` loss ${s.loss.toFixed(3)} ppl ${Math.exp(s.loss).toFixed(1)}` +
      ` ${Math.round(s.tokensPerSecond)} tok/s eta ${clock(s.etaSeconds)}` +
      (s.runEtaSeconds !== undefined && s.runEtaSeconds > s.etaSeconds ? ` (all ${clock(s.runEtaSeconds)})` : '');
    if (tty) {
      const width = 24;
      const fill = Math.round(frac * width);
      this.out.write(`\r\x1b[2K[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${text}`);
      this.open = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /**
   * Progress of a task measured in bytes (reading a corpus): `label`, share done, MB/s since
   * `startedMs` (a `performance.now()` time) and the time left at that rate.
   */
  task(label: string, done: number, total: number, startedMs: number, unit: 'bytes' | 'merges' = 'bytes'): void {
    const now = performance.now() / 1000;
    const tty = !!this.out.isTTY;
    if (now - this.last < (tty ? 0.1 : Math.min(this.intervalSeconds, 10)) && done < total) return;
    this.last = now;
    const seconds = Math.max(now - startedMs / 1000, 1e-9);
    const rate = done / seconds;
    const mb = (n: number) => (n / 1e6).toFixed(n < 1e7 ? 1 : 0);
    const pct = total > 0 ? Math.min(100, (100 * done) / total) : 100;
    const amount =
      unit === 'bytes'
        ? `${mb(done)}/${mb(total)} MB (${pct.toFixed(0)} %) ${mb(rate)} MB/s`
        : `${done.toLocaleString('en')}/${total.toLocaleString('en')} ${unit} (${pct.toFixed(0)} %) ${Math.round(rate)}/s`;
    const text = `${label} ${amount} eta ${clock((total - done) / rate)}`;
    if (tty) {
      this.out.write(`\r\x1b[2K${text}`);
      this.open = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /** Prints a message on its own line (ending an in-place line first). */
  message(text: string): void {
    if (this.open) this.out.write('\n');
    this.open = false;
    this.out.write(`${text}\n`);
  }
}
