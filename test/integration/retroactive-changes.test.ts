import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';
import { nowIso } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import { type AnyStreamDefinition, defineStream } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { arraySource } from '../helpers/test-sources.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const DAY = 86_400_000;

interface Row {
  id: number;
  name: string;
  updated_at: string;
  version: number;
  fetched_at?: string;
}

/** A dataset the test edits between runs; each run reads all of it (a full pass). */
function dataset(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    name: `row ${i}`,
    updated_at: new Date(Date.UTC(2026, 0, 1) + i * DAY).toISOString(),
    version: 1,
  }));
}

describe.each(STORE_KINDS)('retroactive changes, backfills and deletes on %s', (kind) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await t.dispose();
  });

  function stream(rows: Row[], extra: Partial<AnyStreamDefinition> = {}): AnyStreamDefinition {
    return {
      ...defineStream<Row>({
        name: 'items',
        key: 'id',
        cursor: 'updated_at',
        version: 'version',
        source: arraySource(rows, { pageSize: 50 }),
      }),
      ...extra,
    };
  }

  async function run(def: AnyStreamDefinition, mode: 'sync' | 'reconcile' = 'sync') {
    // Every run reads the whole dataset again (the source restarts when its checkpoint is reset).
    await t.store.ensureStream(def.name);
    await t.store.resetCheckpoint(def.name, nowIso());
    // One page per commit (nothing fetched ahead), so counts per page are exact.
    const config = resolveConfig({ store: t.location, streams: [def], sync: { maxPagesInFlight: 1 } });
    const [outcome] = await runStreams({
      config,
      store: t.store,
      events: new SyncEventBus(),
      log: silent,
      request: { mode },
    });
    return outcome!;
  }

  async function row(key: string) {
    return (await t.store.scanRecords('items', { limit: 10_000 })).find((r) => r.key === key);
  }

  it('ignores noise fields excluded from the hash', async () => {
    const rows = dataset(20).map((r) => ({ ...r, fetched_at: 'a' }));
    await run(stream(rows, { hash: { exclude: ['fetched_at'] } }));
    const again = await run(
      stream(
        rows.map((r) => ({ ...r, fetched_at: 'b' })),
        { hash: { exclude: ['fetched_at'] } },
      ),
    );
    expect(again.counters).toMatchObject({ unchanged: 20, updated: 0 });
  });

  it('hashes only the fields named by hash.include', async () => {
    const include = { hash: { include: ['name'] } };
    const rows = dataset(20).map((r) => ({ ...r, fetched_at: 'a', note: 'a' }));
    await run(stream(rows, include));
    // Fields outside `include` changed: nothing to write (a whole-record hash would update all 20).
    const noise = await run(
      stream(
        rows.map((r) => ({ ...r, fetched_at: 'b', note: 'b' })),
        include,
      ),
    );
    expect(noise.counters).toMatchObject({ unchanged: 20, updated: 0 });
    const changed = await run(
      stream(
        rows.map((r) => ({ ...r, name: 'x', fetched_at: 'c' })),
        include,
      ),
    );
    expect(changed.counters).toMatchObject({ updated: 20, unchanged: 0 });
  });

  it('flags a changed record whose version did not move, and dead-letters a version regression', async () => {
    const rows = dataset(10);
    await run(stream(rows));
    rows[1] = { ...rows[1]!, name: 'silently changed' };
    rows[2] = {
      ...rows[2]!,
      version: 0,
      name: 'rolled back',
      updated_at: new Date(Date.UTC(2027, 0, 1)).toISOString(),
    };
    rows[3] = { ...rows[3]!, version: 0, name: 'old copy' };
    const result = await run(stream(rows));
    expect(result.counters).toMatchObject({ flagged: 1, updated: 1, stale: 1, failed: 1 });
    expect((await row('1'))?.data).toMatchObject({ name: 'silently changed' });
    expect((await row('2'))?.data).toMatchObject({ name: 'row 2' });
    const [letter] = await t.store.listDeadLetters({ stream: 'items', limit: 5 });
    expect(letter).toMatchObject({
      key: '2',
      reason: expect.stringMatching(/version went back from 1 to 0/),
    });
    const accepted = await run(stream(rows, { onVersionRegression: 'accept' }));
    expect(accepted.counters.updated).toBe(1);
    expect((await row('2'))?.data).toMatchObject({ name: 'rolled back' });
  });

  it('pauses before committing changes to records far older than the newest cursor, until approved', async () => {
    const rows = dataset(100); // updated_at spans 100 days
    await run(stream(rows, { backfill: { maxAge: '30d' } }));
    const newest = (await t.store.getState('items'))?.newestCursor;
    // The source rewrites history: ten records from the first weeks change.
    for (let i = 0; i < 10; i++) rows[i] = { ...rows[i]!, version: 2, name: `corrected ${i}` };
    const paused = await run(stream(rows, { backfill: { maxAge: '30d' } }));
    expect(paused.status).toBe('paused_backfill');
    expect(paused.evidence).toMatchObject({
      kind: 'backfill',
      oldRecords: 10,
      oldestCursor: rows[0]!.updated_at,
    });
    expect((paused.evidence as { sampleKeys: string[] }).sampleKeys).toContain('0');
    expect((await row('0'))?.data).toMatchObject({ name: 'row 0' });
    expect((await t.store.getState('items'))?.newestCursor).toBe(newest);
    const [recorded] = await t.store.listRuns({ stream: 'items', limit: 1 });
    expect(recorded).toMatchObject({ status: 'paused_backfill', evidence: { kind: 'backfill' } });

    await t.store.setApproval('items', true, nowIso());
    const approved = await run(stream(rows, { backfill: { maxAge: '30d' } }));
    expect(approved.status).toBe('ok');
    expect(approved.counters.updated).toBe(10);
    expect(approved.evidence).toMatchObject({ kind: 'backfill' });
    expect((await t.store.getState('items'))?.approved).toBe(false);
  });

  it('pauses a run whose change volume is far over its baseline, and applies it in auto mode with evidence', async () => {
    const rows = dataset(300);
    const settings = { volumeFactor: 5, minBaseline: 10, maxAge: '10000d' };
    await run(stream(rows, { backfill: settings }));
    for (let round = 0; round < 3; round++) {
      rows[round] = { ...rows[round]!, version: rows[round]!.version + 1 };
      expect((await run(stream(rows, { backfill: settings }))).status).toBe('ok');
    }
    for (let i = 0; i < 200; i++) rows[i] = { ...rows[i]!, version: rows[i]!.version + 1, name: 'mass' };
    const paused = await run(stream(rows, { backfill: settings }));
    expect(paused.status).toBe('paused_backfill');
    // The volume is counted over the run: the first page (50 changes) was within it, the second not.
    expect(paused.counters.updated).toBe(50);
    expect(paused.evidence).toMatchObject({ kind: 'backfill', threshold: 50, changes: 100 });
    const auto = await run(stream(rows, { backfill: { ...settings, mode: 'auto' } }));
    expect(auto.status).toBe('ok');
    expect(auto.counters.updated).toBe(150);
    expect(auto.evidence).toMatchObject({ kind: 'backfill', changes: 150 });
  });

  it('reconciles: soft-deletes what the source no longer has, reports drift, and deletes nothing on a failed scan', async () => {
    const rows = dataset(50);
    await run(stream(rows));
    const survivors = rows.filter((r) => r.id % 10 !== 0); // 5 of 50 gone at the source
    // A change the incremental syncs missed, beyond what the failed scan below gets to.
    survivors[40] = { ...survivors[40]!, version: 2, name: 'drifted' };
    const failing = defineStream<Row>({
      name: 'items',
      key: 'id',
      source: arraySource(survivors, { pageSize: 10, failAfterPages: 2 }),
    });
    const failed = await run(failing, 'reconcile');
    expect(failed.status).toBe('failed');
    expect((await t.store.listStreams())[0]?.records).toBe(50);
    const result = await run(stream(survivors), 'reconcile');
    expect(result.status).toBe('ok');
    expect(result.counters.deleted).toBe(5);
    expect(result.evidence).toMatchObject({
      kind: 'reconcile',
      completed: true,
      deletedMissing: 5,
      drift: { updated: 1 },
    });
    expect((await row('10'))?.deletedAt).not.toBeNull();
    expect((await row('11'))?.deletedAt).toBeNull();
    const deletes = (await t.store.readChanges({ afterSeq: 0, limit: 1000 })).filter(
      (c) => c.kind === 'delete',
    );
    expect(deletes.map((c) => c.key).sort()).toEqual(['0', '10', '20', '30', '40']);
  });

  it('pauses a reconciliation that would delete more than the allowed share, until approved', async () => {
    const rows = dataset(40);
    await run(stream(rows));
    const few = rows.slice(0, 20);
    const paused = await run(stream(few, { reconcile: { maxDeleteShare: 0.25 } }), 'reconcile');
    expect(paused.status).toBe('paused_backfill');
    expect(paused.evidence).toMatchObject({ kind: 'reconcile', wouldDelete: 20, live: 40 });
    expect((await t.store.listStreams())[0]?.records).toBe(40);
    await t.store.setApproval('items', true, nowIso());
    const approved = await run(stream(few, { reconcile: { maxDeleteShare: 0.25 } }), 'reconcile');
    expect(approved.status).toBe('ok');
    expect((await t.store.listStreams())[0]?.records).toBe(20);
  });

  it('runs a reconciliation after a sync when the full refresh is due', async () => {
    const rows = dataset(10);
    const def = stream(rows, { reconcile: { fullRefresh: '1d' } });
    const first = await run(def);
    expect(first.evidence).toMatchObject({ kind: 'reconcile', completed: true });
    const second = await run(def);
    expect(second.evidence).toBeNull();
  });

  it('keeps every version of a record in history mode', async () => {
    const rows = dataset(3);
    await run(stream(rows, { history: true }));
    rows[0] = { ...rows[0]!, version: 2, name: 'second' };
    await run(stream(rows, { history: true }));
    rows[0] = { ...rows[0]!, version: 3, name: 'third' };
    await run(stream(rows, { history: true }));
    const history = await historyOf(t, '0');
    expect(history.map((h) => [JSON.parse(h.data).name, h.open])).toEqual([
      ['row 0', false],
      ['second', false],
      ['third', true],
    ]);
  });
});

/** Reads `items_history` directly, as a user would query it. */
async function historyOf(t: TestStore, key: string): Promise<{ data: string; open: boolean }[]> {
  if (t.kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(t.location, { readonly: true });
    try {
      const rows = db
        .prepare(
          'SELECT _data AS data, _valid_to AS validTo FROM items_history WHERE _key = ? ORDER BY _valid_from, rowid',
        )
        .all(key) as { data: string; validTo: string | null }[];
      return rows.map((r) => ({ data: r.data, open: r.validTo === null }));
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const url = new URL(t.location);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const result = await client.query(
      `SELECT _data::text AS data, _valid_to AS "validTo" FROM "${schema}".items_history WHERE _key = $1 ORDER BY _valid_from`,
      [key],
    );
    return result.rows.map((r: { data: string; validTo: Date | null }) => ({
      data: r.data,
      open: r.validTo === null,
    }));
  } finally {
    await client.end();
  }
}
