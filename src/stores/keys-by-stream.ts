import type { ChangeRow } from '../core/types.ts';

/** The distinct keys of change-log rows, by stream: what reading their data looks up. */
export function keysByStream(rows: readonly ChangeRow[]): Map<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const row of rows) {
    const keys = sets.get(row.stream) ?? new Set<string>();
    keys.add(row.key);
    sets.set(row.stream, keys);
  }
  return new Map([...sets].map(([stream, keys]) => [stream, [...keys]]));
}
