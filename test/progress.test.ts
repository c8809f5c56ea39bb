/**
 * The progress line of training and compression: the epoch's time left, and the whole run's
 * when more than the current epoch (or iteration) remains.
 */
import { describe, expect, it } from 'vitest';
import { Progress, type ProgressState } from '../ts/train/progress.js';

function lines(states: ProgressState[], isTTY = false): string[] {
  const written: string[] = [];
  const progress = new Progress({ write: (s: string) => written.push(s) > 0, isTTY }, 0);
  for (const s of states) progress.update(s);
  return written;
}

const state = (over: Partial<ProgressState>): ProgressState => ({
  epoch: 2,
  epochs: 5,
  window: 100,
  windows: 400,
  loss: Math.log(150),
  tokensPerSecond: 1000,
  etaSeconds: 210,
  ...over,
});

describe('Progress', () => {
  it('shows the epoch time left and, when later epochs remain, the whole run time left', () => {
    const [line] = lines([state({ runEtaSeconds: 3 * 3600 + 65 })]);
    expect(line).toBe('epoch 2/5 100/400 loss 5.011 ppl 150.0 1000 tok/s eta 03:30 (all 3:01:05)\n');
  });

  it('leaves the run time out in the last epoch and when it is unknown', () => {
    const out = lines([state({ epoch: 5, runEtaSeconds: 210 }), state({ label: 'tuning' })]);
    expect(out.every((l) => !l.includes('all'))).toBe(true);
    expect(out[1]).toMatch(/^tuning 2\/5 /);
  });

  it('redraws one line with a bar on a terminal', () => {
    const [line] = lines([state({ window: 200, runEtaSeconds: 900 })], true);
    expect(line).toBe('\r\x1b[2K[############............] epoch 2/5 200/400 loss 5.011 ppl 150.0 1000 tok/s eta 03:30 (all 15:00)');
  });
});
