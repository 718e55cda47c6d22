import type { PageCommit, Store } from '../core/store.ts';
import type { Json, Lease, RecordWrite } from '../core/types.ts';

/** A store on a fresh location (file, schema) for one test. */
export interface StoreHandle {
  readonly store: Store;
  /** A second, independent Store instance (own connection) on the same location. */
  another(): Promise<Store>;
  /** Closes every instance and deletes the location. */
  dispose(): Promise<void>;
  /**
   * The rows of `<stream>_history`, read with the store's own SQL (no Store method reads them),
   * ordered by key, then `_valid_from`, the open row last.
   */
  readHistory(stream: string): Promise<HistoryRow[]>;
}

/** A history row as the contract compares it: timestamps as ISO-8601 UTC with milliseconds. */
export interface HistoryRow {
  readonly key: string;
  readonly data: Json;
  readonly hash: string;
  readonly version: string | null;
  readonly validFrom: string;
  readonly validTo: string | null;
  readonly runId: string;
  readonly deleted: boolean;
}

/** The ORDER BY of `readHistory` in both stores. */
export const HISTORY_ORDER = 'ORDER BY _key, _valid_from, _valid_to IS NULL, _valid_to';

/** A timestamp read back (ISO text or Date) as ISO-8601 UTC with milliseconds. */
export function isoOf(value: string | Date): string {
  return new Date(value).toISOString();
}

export const T0 = '2026-01-01T00:00:00.000Z';
export const T1 = '2026-01-01T00:01:00.000Z';
export const T2 = '2026-01-01T00:02:00.000Z';
export const T3 = '2026-01-01T00:03:00.000Z';

export function write(key: string, over: Partial<RecordWrite> = {}): RecordWrite {
  const data = over.data ?? JSON.stringify({ id: key, name: `name ${key}` });
  return {
    kind: 'insert',
    existed: false,
    key,
    data,
    hash: over.hash ?? `h-${key}-${data.length}`,
    version: null,
    cursor: null,
    deleted: false,
    ...over,
  };
}

/** Leases, runs and pages on the store of the test in progress. */
export function contractSteps(current: () => Store) {
  async function lease(stream = 'customers', holder = 'host:1:a'): Promise<Lease> {
    const got = await current().acquireLease({ stream, holder, ttlMs: 60_000, at: T0 });
    if (!('lease' in got)) throw new Error(`expected a lease, got conflict with ${got.conflict.holder}`);
    return got.lease;
  }

  async function startedRun(l: Lease, runId = 'r1'): Promise<string> {
    await current().startRun({ runId, stream: l.stream, lease: l, at: T0, checkpointBefore: null });
    return runId;
  }

  function commit(l: Lease, runId: string, over: Partial<PageCommit> = {}): PageCommit {
    return {
      stream: l.stream,
      runId,
      lease: l,
      writes: [],
      deadLetters: [],
      checkpoint: { page: 1 },
      newestCursor: null,
      counters: { pages: 1 },
      at: T1,
      ...over,
    };
  }

  return { lease, startedRun, commit };
}
