/**
 * A record kind says how one dataset invents its records. Content is a pure function of
 * `(seed, index, state)`, so the simulator keeps no JSON in memory: only the small `RecordState`
 * of records that a mutation touched.
 */

/** Where a record stands; `hard` records are gone from the API and listed in the tombstone feed. */
export type RecordStatus = 'live' | 'soft' | 'hard';

/** The mutable facts about one record. Everything else is derived from them and the seed. */
export interface RecordState {
  version: number;
  /** `updated_at` in epoch milliseconds. */
  updatedMs: number;
  status: RecordStatus;
  /** Kind-specific data fixed at insert time (candles: series and slot); 0 when unused. */
  aux: number;
  /** True while the record is still forming (the live feed's open candle); absent = final. */
  open?: boolean;
}

/** A generated record, exactly as the API serves it. */
export type SimRecord = Record<string, unknown>;

/** The start of the generated history: 2020-01-01T00:00:00Z. Base `updated_at` values are after it. */
export const SIM_EPOCH_MS = Date.UTC(2020, 0, 1);
/** The end of the generated history: 2024-01-01T00:00:00Z. Mutations happen at the clock's now. */
export const SIM_HISTORY_END_MS = Date.UTC(2024, 0, 1);

export interface RecordKind {
  /** The dataset name, also the path segment: `/v1/<name>`. */
  readonly name: string;
  /** Record fields that form the key, in order (the ground-truth key encodes them). */
  readonly keyFields: readonly string[];
  /** True when `id` order equals index order, which lets comparisons skip building id strings. */
  readonly idOrderIsIndexOrder: boolean;
  /** False for kinds whose records are never deleted (candles): deletes become corrections. */
  readonly supportsDelete: boolean;
  /** False for kinds whose versions never go back (candles): a `regress` mutation becomes a correction. */
  readonly supportsRegress: boolean;
  /** The number of records generated before any mutation. */
  readonly baseCount: number;
  /** Initial `updated_at` of a base record, in whole seconds since `SIM_EPOCH_MS`. */
  baseUpdatedSec(index: number): number;
  /** Initial version of a base record. */
  baseVersion(index: number): number;
  /**
   * Chooses `aux` for a record inserted by a mutation (called once, in insert order); `draw` is a
   * seeded uniform value in [0, 1), `nowMs` the insert time.
   */
  auxForInsert(index: number, draw: number, nowMs: number): number;
  /** The `id` field of the record. */
  idOf(index: number, state: RecordState): string;
  /** The index of a record from its `id`, or undefined when there is no such record. */
  indexOfId(id: string, count: number): number | undefined;
  /** Builds the record object. */
  build(index: number, state: RecordState): SimRecord;
  /**
   * The record's JSON text, equal to `JSON.stringify(build(index, state))` (a test checks it). A
   * hand-written serializer is several times faster, and serving pages is the simulator's hot path.
   */
  serialize(index: number, state: RecordState): string;
  /**
   * Returns a predicate for kind-specific list filters in the query (e.g. candles' `symbol`), or
   * null when the query has none. Throws `SimulatorRequestError` for an unknown value.
   */
  filter(query: URLSearchParams): ((index: number, state: RecordState) => boolean) | null;
}

const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY_MS = 86_400_000;
/** Day number -> `YYYY-MM-DDT`; bounded, cleared when full. */
const dayPrefixes = new Map<number, string>();
/** `Date.prototype.toISOString` is a hot spot when serving pages; years 0-9999 take the fast path. */
const FAST_MIN = Date.UTC(0, 0, 1);
const FAST_MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** ISO 8601 with milliseconds (`toISOString()`), as every timestamp field is served. */
export function isoMs(ms: number): string {
  if (!(ms >= FAST_MIN && ms <= FAST_MAX) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    if (dayPrefixes.size >= 20_000) dayPrefixes.clear();
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return prefix + TWO[h] + ':' + TWO[m] + ':' + TWO[s] + '.' + THREE[rest - s * 1000] + 'Z';
}

/** Zero-padded decimal, so ids compare as strings in index order. */
export function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
