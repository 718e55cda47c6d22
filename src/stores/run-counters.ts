import { COUNTER_NAMES, emptyCounters, type RunCounters } from '../core/types.ts';

/**
 * The run counters as columns of `syncline_runs`, shared by both stores: core names the counters
 * (`COUNTER_NAMES`), the stores decide how they are stored.
 */

/** The counters' column names, in `COUNTER_NAMES` order (`apiCalls` -> `api_calls`). */
export const COUNTER_COLUMNS: readonly string[] = COUNTER_NAMES.map((name) =>
  name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
);

/** The counters in `COUNTER_NAMES` order, 0 where not given: the values for `COUNTER_COLUMNS`. */
export function counterValues(counters: Partial<RunCounters>): number[] {
  return COUNTER_NAMES.map((name) => counters[name] ?? 0);
}

/** Reads the counters of a `syncline_runs` row (any store: numbers, or bigints as text). */
export function countersFromRow(row: Readonly<Record<string, unknown>>): RunCounters {
  const counters = emptyCounters();
  COUNTER_NAMES.forEach((name, i) => {
    counters[name] = Number(row[COUNTER_COLUMNS[i]!] ?? 0);
  });
  return counters;
}
