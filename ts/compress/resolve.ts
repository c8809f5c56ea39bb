import { QuireError } from '../errors.js';
import type { FpSource } from './load.js';
import { DEFAULTS, DEFAULT_LR_FACTOR, validateSettings, type CompressSettings } from './settings.js';

/** Settings as given by the caller: anything left out takes its default or the FP run's value. */
export type SettingsInput = Partial<Omit<CompressSettings, 'lrSource'>> & { bits: number };

/**
 * Completes and validates the settings (`E_CONFIG`). Defaults: method.md §2 values in
 * `DEFAULTS`; `lr` = the FP run's final learning rate × `DEFAULT_LR_FACTOR`, capped at its initial rate; clip, window and
 * streams from the FP run (an FP file without its training record needs them given).
 */
export function resolveSettings(input: SettingsInput, src: FpSource): CompressSettings {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as SettingsInput;
  const tc = src.trainConfig;
  const fromRun = <K extends 'clip' | 'steps' | 'batch' | 'evalBatch'>(k: K): number => {
    const v = given[k] ?? tc?.[k];
    if (v === undefined) throw new QuireError('E_CONFIG', `${src.file} records no training settings: pass --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
    return v;
  };
  let lr = given.lr;
  let lrSource = 'given';
  if (lr === undefined) {
    if (src.finalLr === undefined) throw new QuireError('E_CONFIG', `${src.file} records no training schedule to restart from: pass --lr`);
    lr = Math.min(src.finalLr * DEFAULT_LR_FACTOR, tc?.lr ?? Infinity);
    lrSource = `min(fp-final ${src.finalLr} × ${DEFAULT_LR_FACTOR}, fp-initial ${tc?.lr ?? '?'})`;
  }
  const s: CompressSettings = {
    ...DEFAULTS,
    softmaxBits: given.bits,
    embeddingBits: given.bits,
    retrainSteps: null,
    limitTokens: null,
    ...given,
    lr,
    lrSource,
    clip: fromRun('clip'),
    steps: fromRun('steps'),
    batch: fromRun('batch'),
    evalBatch: fromRun('evalBatch'),
  };
  validateSettings(s);
  return s;
}
