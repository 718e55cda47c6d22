import { InvalidArgumentError } from 'commander';

/** Parses a `--limit` value: a positive integer. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`--limit must be a positive integer, got "${value}"`);
  return n;
}
