import { InvalidArgumentError } from 'commander';

/** Parses a `--limit` value (an option's argument parser): a positive integer. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`--limit must be a positive integer, got "${value}"`);
  return n;
}

/** Parses one value of `--id <ids...>` (an option's argument parser), collecting them in order. */
export function parseIds(value: string, previous: number[] | undefined): number[] {
  const ids: number[] = [...(previous ?? [])];
  for (const part of value.split(',')) {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`--id takes dead-letter ids (positive integers), got "${part}"`);
    ids.push(n);
  }
  return ids;
}
