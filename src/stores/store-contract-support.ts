import { expect } from 'vitest';
import type { PageCommit, Store } from '../core/store.ts';
import type { Json, Lease, RecordWrite } from '../core/types.ts';

/** A store on a fresh location (file, schema) for one test. */
export interface StoreHandle {
  readonly store: Store;
  /** A second, independent Store instance (own connection) on the same location. */
  another(): Promise<Store>;
  /** Another Store instance on the same location, not opened (closed by `dispose`). */
  unopened(): Store;
  /** Closes every instance and deletes the location. */
  dispose(): Promise<void>;
  /**
   * The rows of `<stream>_history`, read with the store's own SQL (no Store method reads them),
   * ordered by key, then `_valid_from`, the open row last.
   */
  readHistory(stream: string): Promise<HistoryRow[]>;
  /** Runs `sql` in the store's location (its schema) on a connection of its own, and returns the rows. */
  query(sql: string): Promise<Record<string, unknown>[]>;
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

/**
 * After a location written by schema version 1 (stream `customers` with row `a`, hash `ha`,
 * version `1`; run `old-run` of 7 pages ending at checkpoint `{ page: 7 }`; one change) was opened
 * by the current store: checks that all of it survived and that the parts added since work on it.
 */
export async function expectMigratedFromVersion1(store: Store, at: string): Promise<void> {
  expect(await store.getState('customers')).toMatchObject({
    checkpoint: { page: 7 },
    newestCursor: '2025-12-31',
    leaseEpoch: 3,
    backfillCheckpoint: null,
    approved: false,
  });
  const [run] = await store.listRuns({ limit: 10 });
  expect(run).toMatchObject({ runId: 'old-run', status: 'ok', evidence: null, checkpointAfter: { page: 7 } });
  expect(run?.counters).toMatchObject({ pages: 7, inserted: 1, flagged: 0 });
  expect((await store.lookup('customers', ['a'])).get('a')).toEqual({
    hash: 'ha',
    version: '1',
    deleted: false,
    cursor: null,
  });
  expect(await store.readChanges({ afterSeq: 0, limit: 10 })).toHaveLength(1);
  // And the new parts work on it.
  await store.ensureStream('customers', { history: true });
  const got = await store.acquireLease({ stream: 'customers', holder: 'h', ttlMs: 1000, at });
  if (!('lease' in got)) throw new Error('no lease');
  await store.startRun({ runId: 'new', stream: 'customers', lease: got.lease, at, checkpointBefore: null });
  await store.commitPage({
    stream: 'customers',
    runId: 'new',
    lease: got.lease,
    writes: [],
    deadLetters: [],
    checkpoint: { scanned: 1 },
    newestCursor: null,
    counters: { flagged: 1 },
    at,
    slot: 'backfill',
    scan: { id: 's', seenKeys: ['b'] },
  });
  expect(await store.countUnseen('customers', 's')).toEqual({ live: 1, unseen: 1 });
  await store.finishRun({
    runId: 'new',
    status: 'paused_backfill',
    at,
    error: null,
    counters: {},
    evidence: { n: 1 },
    slot: 'backfill',
  });
  expect((await store.listRuns({ limit: 1 }))[0]).toMatchObject({
    status: 'paused_backfill',
    evidence: { n: 1 },
    checkpointAfter: { scanned: 1 },
    counters: expect.objectContaining({ flagged: 1 }),
  });
}
