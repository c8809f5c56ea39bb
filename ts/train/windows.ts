import type { Batcher } from '../data/batcher.js';
import { QuireError } from '../errors.js';
import type { LanguageModel } from '../model.js';

/** One pass of training steps over consecutive windows, shared by `quire train` and `quire compress`. */
export interface WindowRun {
  model: LanguageModel;
  /** Distil from this model with weight `distill` (its state advances with the student's). */
  teacher?: LanguageModel | null;
  distill?: number;
  /** Distillation temperature (default 1). */
  temperature?: number;
  batcher: Batcher;
  /** First window index and how many windows to run (wrapping to window 0 after the last). */
  first: number;
  count: number;
  lr: number;
  clip: number;
  /** Zero the carried state (and the teacher's) when the run wraps to window 0; the caller resets before the first window. */
  resetAtWrap?: { batch: number };
  /**
   * After each step: `done` windows finished so far, the window index, the step's mean loss and
   * the rate in tokens/s since the run started. May be async (a progress tick); `true` stops the run.
   */
  afterWindow(done: number, window: number, loss: number, tokensPerSecond: number): boolean | Promise<boolean>;
  /** The error to throw when the core reports a diverged step (`E_NONFINITE`): `done` steps had finished, at data window `window`. */
  diverged(done: number, window: number, message: string): QuireError;
}

/**
 * Runs `count` training steps (plain or distilled) from window `first`; returns how many ran
 * (fewer when `afterWindow` asked to stop). A diverged step becomes the caller's error.
 */
export async function runWindows(r: WindowRun): Promise<number> {
  const t0 = performance.now();
  const tokens = r.batcher.steps * r.batcher.batch;
  for (let i = 0; i < r.count; i++) {
    const w = (r.first + i) % r.batcher.windows;
    if (w === 0 && i > 0 && r.resetAtWrap) {
      r.model.resetState(r.resetAtWrap.batch);
      r.teacher?.resetState(r.resetAtWrap.batch);
    }
    const win = r.batcher.window(w);
    let loss: number;
    try {
      loss = r.teacher
        ? r.model.trainStepDistilled(r.teacher, r.distill ?? 0, win.inputs, win.targets, r.lr, r.clip, r.temperature ?? 1)
        : r.model.trainStep(win.inputs, win.targets, r.lr, r.clip);
    } catch (err) {
      // The core rejects a non-finite loss, and one whose perplexity overflows, on both backends.
      if (err instanceof QuireError && err.code === 'E_NONFINITE') throw r.diverged(i, w, err.message);
      throw err;
    }
    const rate = ((i + 1) * tokens) / Math.max((performance.now() - t0) / 1000, 1e-9);
    if (await r.afterWindow(i + 1, w, loss, rate)) return i + 1;
  }
  return r.count;
}
