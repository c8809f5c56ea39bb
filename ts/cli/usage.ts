import { InvalidArgumentError } from 'commander';

/** A bad command line the parser could not catch (values checked after parsing): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Commander argument parser for a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  }
  return n;
}

/** Commander argument parser for a non-negative integer. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`expected a non-negative integer, got '${value}'`);
  }
  return n;
}

/** Commander argument parser for a finite number. */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new InvalidArgumentError(`expected a number, got '${value}'`);
  }
  return n;
}
