import { expect } from 'vitest';
import { QuireError } from '../ts/errors.js';

/** Runs `fn`, which must throw a `QuireError`, and returns that error for the test to inspect. */
export function thrown(fn: () => unknown): QuireError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(QuireError);
    return err as QuireError;
  }
  throw new Error('expected an error');
}
