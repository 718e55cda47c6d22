import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId, nowIso } from '../../src/core/clock.ts';
import { TransientError } from '../../src/core/errors.ts';
import { SyncEventBus, type SyncEvents } from '../../src/core/events.ts';
import type { PageCommit } from '../../src/core/store.ts';
import {
  type AnyStreamDefinition,
  defineStream,
  type StreamDefinition,
} from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { arraySource, type TestRecord, testRecord } from '../helpers/test-sources.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function stream(
  records: TestRecord[],
  options: Parameters<typeof arraySource>[1] = {},
): StreamDefinition<TestRecord> {
  return defineStream<TestRecord>({
    name: 'items',
    key: 'id',
    cursor: 'updated_at',
    version: 'version',
    deleted: 'deleted',
    source: arraySource(records, options),
  });
}

describe.each(STORE_KINDS)('sync engine on %s', (kind) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await t.dispose();
  });

  function run(
    def: AnyStreamDefinition,
    extra: { stop?: AbortSignal; maxPagesInFlight?: number; events?: SyncEventBus } = {},
  ) {
    return runStream({
      store: t.store,
      stream: def,
      holder: newHolderId(),
      events: extra.events ?? new SyncEventBus(),
      log: silent,
      ...(extra.stop ? { stop: extra.stop } : {}),
      options: { maxPagesInFlight: extra.maxPagesInFlight ?? 4 },
    });
  }

  async function allRows() {
    return t.store.scanRecords('items', { limit: 100_000 });
  }

  it('inserts every record of a full sync and writes nothing when run again', async () => {
    const records = Array.from({ length: 1050 }, (_, i) => testRecord(i));
    const first = await run(stream(records));
    expect(first.status).toBe('ok');
    expect(first.counters).toMatchObject({
      pages: 11,
      fetched: 1050,
      inserted: 1050,
      apiCalls: 11,
      bytes: 10500,
    });
    expect(first.checkpoint).toEqual({ after: 1050 });
    const changesAfterFirst = await t.store.readChanges({ afterSeq: 0, limit: 5000 });
    expect(changesAfterFirst).toHaveLength(1050);

    await t.store.resetCheckpoint('items', new Date().toISOString());
    const second = await run(stream(records));
    expect(second.counters).toMatchObject({ fetched: 1050, inserted: 0, updated: 0, unchanged: 1050 });
    expect(await t.store.readChanges({ afterSeq: changesAfterFirst.at(-1)!.seq, limit: 10 })).toEqual([]);
    const rows = await allRows();
    expect(rows).toHaveLength(1050);
    expect(rows.find((r) => r.key === '7')?.data).toEqual(testRecord(7));
  });

  it('applies newer versions, skips older ones as stale, and soft-deletes tombstones', async () => {
    await run(stream([testRecord(1), testRecord(2), testRecord(3)]));
    await t.store.resetCheckpoint('items', new Date().toISOString());
    const next = [
      testRecord(1, 1),
      { ...testRecord(2, 0), version: 0, name: 'older' },
      { ...testRecord(3), deleted: true },
    ];
    const result = await run(stream(next));
    expect(result.counters).toMatchObject({ updated: 1, stale: 1, deleted: 1, inserted: 0 });
    const rows = await allRows();
    expect(rows.find((r) => r.key === '1')?.data).toMatchObject({ name: 'record 1 rev 1', version: 2 });
    expect(rows.find((r) => r.key === '2')?.data).toMatchObject({ name: 'record 2 rev 0' });
    expect(rows.find((r) => r.key === '3')?.deletedAt).not.toBeNull();
  });

  it('waits for a commit still being applied when a later one fails first, and keeps its checkpoint', async () => {
    const records = Array.from({ length: 300 }, (_, i) => testRecord(i));
    // Commit 1 takes 200 ms to reach the store; commit 2 fails at once, before commit 1 settled.
    let commits = 0;
    const slowThenFailing = new Proxy(t.store, {
      get(target, prop, receiver) {
        if (prop === 'commitPage') {
          return async (commit: PageCommit) => {
            commits++;
            if (commits === 1) {
              await new Promise((resolve) => setTimeout(resolve, 200));
              return target.commitPage(commit);
            }
            throw new Error('killed');
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const failed = await runStream({
      store: slowThenFailing,
      stream: stream(records),
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
      options: { maxPagesInFlight: 1 },
    });
    expect(failed.status).toBe('failed');
    // The run ended after commit 1 was applied, not when commit 2 failed.
    expect(failed.counters).toMatchObject({ pages: 1, inserted: 100 });
    expect((await t.store.getState('items'))?.checkpoint).toEqual({ after: 100 });
    expect((await t.store.listRuns({ limit: 1 }))[0]?.checkpointAfter).toEqual({ after: 100 });
  });

  it('commits the pages before a source failure and resumes after them on the next run', async () => {
    const records = Array.from({ length: 500 }, (_, i) => testRecord(i));
    const failed = await run(stream(records, { failAfterPages: 3 }));
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/source failed after 3 pages/);
    expect((await t.store.getState('items'))?.checkpoint).toEqual({ after: 300 });
    let servedOnResume = 0;
    const resumed = await run(stream(records, { onPage: (n) => (servedOnResume = n) }));
    expect(resumed.status).toBe('ok');
    expect(servedOnResume).toBe(2);
    expect(await allRows()).toHaveLength(500);
    const runs = await t.store.listRuns({ stream: 'items', limit: 10 });
    expect(runs.map((r) => [r.status, r.checkpointBefore, r.checkpointAfter])).toEqual([
      ['ok', { after: 300 }, { after: 500 }],
      ['failed', null, { after: 300 }],
    ]);
  });

  it('dead-letters what a source rejects (with its reason and payload) and tells the source of each durable commit', async () => {
    const heard: unknown[] = [];
    let rowsAtFirstCommit = -1;
    const def = defineStream({
      name: 'items',
      key: 'id',
      async *source(args) {
        args.onCommitted?.((checkpoint) => heard.push(checkpoint));
        yield {
          records: [{ id: 1 }],
          rejects: [{ reason: 'items.csv line 3: 2 fields where the header has 3', payload: 'a,b' }],
          checkpoint: { line: 3 },
        };
        // The first page's commit is durable before the source is asked for more than the
        // pipeline holds; the listener hears only committed checkpoints.
        yield { records: [{ id: 2 }], checkpoint: { line: 4 } };
      },
    });
    const events = new SyncEventBus();
    events.on('page:committed', () => {
      if (rowsAtFirstCommit < 0) rowsAtFirstCommit = heard.length;
    });
    const result = await run(def, { events, maxPagesInFlight: 1 });
    expect(result.status).toBe('ok');
    expect(result.counters).toMatchObject({ fetched: 3, inserted: 2, failed: 1 });
    expect(heard).toEqual([{ line: 3 }, { line: 4 }]);
    expect(rowsAtFirstCommit).toBe(1);
    expect((await t.store.getState('items'))?.checkpoint).toEqual({ line: 4 });
    const [letter] = await t.store.listDeadLetters({ stream: 'items', limit: 5 });
    expect(letter).toMatchObject({ key: null, reason: 'items.csv line 3: 2 fields where the header has 3' });
    expect(JSON.parse(letter!.payload)).toBe('a,b');
  });

  it('dead-letters records that fail the schema or have no key, and goes on', async () => {
    const def = defineStream({
      name: 'items',
      key: 'id',
      schema: z.object({ id: z.number(), email: z.email() }),
      source: arraySource<unknown>([
        { id: 1, email: 'a@example.com' },
        { id: 2, email: 'not-an-email' },
        { email: 'b@example.com' },
        { id: 4, email: 'd@example.com' },
      ]),
    });
    const failures: string[] = [];
    const events = new SyncEventBus();
    events.on('record:failed', (e) => failures.push(`${e.key}: ${e.reason}`));
    const result = await run(def, { events });
    expect(result.status).toBe('ok');
    expect(result.counters).toMatchObject({ fetched: 4, inserted: 2, failed: 2 });
    const letters = await t.store.listDeadLetters({ stream: 'items', limit: 10 });
    const byReason = letters
      .map((l) => [l.key, l.reason.split(':')[0]])
      .sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    expect(byReason).toEqual([
      ['2', 'email'],
      [null, 'id'],
    ]);
    expect(JSON.parse(letters.find((l) => l.key === '2')!.payload)).toEqual({ id: 2, email: 'not-an-email' });
    expect(failures).toHaveLength(2);
  });

  it('dead-letters a record with a NUL character only where the store cannot keep it', async () => {
    const records = [testRecord(1), { ...testRecord(2), name: 'bad\u0000name' }];
    const result = await run(stream(records));
    expect(result.status).toBe('ok');
    if (t.store.capabilities.storesNul) {
      expect(result.counters).toMatchObject({ inserted: 2, failed: 0 });
    } else {
      expect(result.counters).toMatchObject({ inserted: 1, failed: 1 });
      const [letter] = await t.store.listDeadLetters({ limit: 5 });
      expect(letter).toMatchObject({ key: '2', reason: expect.stringMatching(/NUL character/) });
    }
  });

  it('stops after the page in progress when asked, recording the run as interrupted', async () => {
    const records = Array.from({ length: 2000 }, (_, i) => testRecord(i));
    const stop = new AbortController();
    const events = new SyncEventBus();
    let stoppedAt = 0;
    events.on('page:committed', ({ totals }) => {
      // A commit may hold several pages that were ready together.
      if (stoppedAt === 0 && (totals.pages ?? 0) >= 2) {
        stoppedAt = totals.pages ?? 0;
        stop.abort();
      }
    });
    const result = await run(stream(records, { delayMs: 5 }), { stop: stop.signal, events });
    expect(result.status).toBe('interrupted');
    expect(stoppedAt).toBeLessThan(20);
    // The commit already handed to the store behind the one that saw the stop finishes too; no
    // other page is committed.
    const pages = result.counters.pages;
    expect(pages).toBeGreaterThanOrEqual(stoppedAt);
    expect(pages - stoppedAt).toBeLessThanOrEqual(8);
    expect(pages).toBeLessThan(20);
    const state = await t.store.getState('items');
    expect(state?.checkpoint).toEqual({ after: pages * 100 });
    expect(await allRows()).toHaveLength(pages * 100);
    expect((await t.store.listRuns({ limit: 1 }))[0]?.status).toBe('interrupted');
  });

  it('fetches at most maxPagesInFlight pages ahead of the commit', async () => {
    const records = Array.from({ length: 3000 }, (_, i) => testRecord(i));
    let fetched = 0;
    let committed = 0;
    let maxAhead = 0;
    const events = new SyncEventBus();
    events.on('page:committed', ({ page }) => {
      committed += page.pages ?? 1;
    });
    await run(
      stream(records, {
        pageSize: 50,
        onPage: (n) => {
          fetched = n;
          maxAhead = Math.max(maxAhead, fetched - committed);
        },
      }),
      { maxPagesInFlight: 2, events },
    );
    expect(committed).toBe(60);
    // The queue refilled + the page being prepared + two commits handed to the store, each holding
    // the page it took and the ones that were waiting behind it (at most a queue's worth).
    expect(maxAhead).toBeLessThanOrEqual(2 + 1 + 2 * (1 + 2));
  });

  it('looks up no key of a first sync into an empty table, yet applies a key seen again as an update', async () => {
    // Record 7 comes back changed 1,000 records later, after its first copy was committed.
    const records = [
      ...Array.from({ length: 1500 }, (_, i) => testRecord(i)),
      testRecord(7, 1),
      testRecord(9999),
    ];
    const looked: string[] = [];
    const lookup = t.store.lookup.bind(t.store);
    t.store.lookup = async (s, keys) => {
      looked.push(...keys);
      return lookup(s, keys);
    };
    const first = await run(stream(records, { pageSize: 100 }));
    expect(first.counters).toMatchObject({ inserted: 1501, updated: 1 });
    // Only keys the run wrote before can be looked up (the filter's false positives aside).
    expect(looked).toContain('7');
    expect(looked.length).toBeLessThan(60);
    expect((await t.store.lookup('items', ['7'])).get('7')?.version).toBe('2');

    // A table with rows: every key is looked up again.
    looked.length = 0;
    await t.store.resetCheckpoint('items', new Date().toISOString());
    const again = await run(stream(records, { pageSize: 100 }));
    expect(again.counters).toMatchObject({ inserted: 0, updated: 0 });
    expect(new Set(looked).size).toBe(1501);
  });

  it('classifies a key repeated across consecutive pages against the page before it', async () => {
    // The source shifted: record 5 arrives at the end of page 1 and again, changed, in page 2.
    const pages = [testRecord(4), testRecord(5), testRecord(5, 1), testRecord(6)];
    const result = await run(stream(pages, { pageSize: 2 }));
    expect(result.counters).toMatchObject({ inserted: 3, updated: 1 });
    expect(await allRows()).toHaveLength(3);
  });

  it('runs a stream held by another worker as busy without touching it', async () => {
    const config = resolveConfig({ store: t.location, streams: [stream([testRecord(1)])] });
    await t.store.ensureStream('items');
    const held = await t.store.acquireLease({
      stream: 'items',
      holder: 'other-host:1:x',
      ttlMs: 60_000,
      at: new Date().toISOString(),
    });
    expect('lease' in held).toBe(true);
    const [outcome] = await runStreams({ config, store: t.store, events: new SyncEventBus(), log: silent });
    expect(outcome?.status).toBe('busy');
    expect(outcome?.error).toMatch(/being synced by other-host:1:x/);
    expect(await allRows()).toHaveLength(0);
  });

  it('records the newest cursor value for lag', async () => {
    await run(stream([testRecord(10), testRecord(3)]));
    expect((await t.store.getState('items'))?.newestCursor).toBe(testRecord(10).updated_at);
  });

  it("tells the source's expected total and its retries as events, with the run's id", async () => {
    let calls = 0;
    const def = defineStream<TestRecord>({
      name: 'items',
      key: 'id',
      source: async function* ({ report, attempt }) {
        report({ total: 2 });
        const records = await attempt(
          async () => {
            if (++calls === 1) throw new TransientError('GET /items: 503', { summary: '503 from h' });
            return [testRecord(1), testRecord(2)];
          },
          { what: 'GET /items' },
        );
        yield { records, checkpoint: { done: true } };
      },
    });
    const events = new SyncEventBus();
    const estimated: SyncEvents['run:estimated'][] = [];
    const retrying: SyncEvents['request:retrying'][] = [];
    events.on('run:estimated', (e) => estimated.push(e));
    events.on('request:retrying', (e) => retrying.push(e));
    const result = await runStream({
      store: t.store,
      stream: def,
      holder: newHolderId(),
      events,
      log: silent,
      options: { retry: { baseDelayMs: 1, minDelayMs: 1 } },
    });
    expect(result.status).toBe('ok');
    expect(estimated).toEqual([{ stream: 'items', runId: result.runId, total: 2 }]);
    expect(retrying).toEqual([
      expect.objectContaining({
        stream: 'items',
        runId: result.runId,
        what: 'GET /items',
        attempt: 1,
        reason: '503 from h',
      }),
    ]);
  });

  it('tells the newest cursor committed so far with each page, compared as numbers when they are', async () => {
    // Epoch seconds of 9 and 10 digits: as text, "999999999" would sort after "1000000000".
    const rows = [
      { id: 1, updated_at: 1_000_000_100 },
      { id: 2, updated_at: 999_999_999 },
      { id: 3, updated_at: 1_000_000_000 },
    ];
    const def = defineStream<(typeof rows)[number]>({
      name: 'items',
      key: 'id',
      cursor: 'updated_at',
      source: arraySource(rows, { pageSize: 1 }),
    });
    const events = new SyncEventBus();
    const told: (string | null)[] = [];
    const modes: string[] = [];
    events.on('page:committed', (e) => told.push(e.newestCursor));
    events.on('run:started', (e) => modes.push(`started ${e.mode}`));
    events.on('run:finished', (e) => modes.push(`finished ${e.mode}`));
    await run(def, { events, maxPagesInFlight: 1 });
    expect(told.at(-1)).toBe('1000000100');
    expect(told.every((c) => c === '1000000100')).toBe(true);
    expect((await t.store.getState('items'))?.newestCursor).toBe('1000000100');
    expect(modes).toEqual(['started sync', 'finished sync']);
  });

  it('tells lease:lost when another worker took the stream over during the run', async () => {
    const holder = newHolderId();
    const other = newHolderId();
    const def = defineStream<TestRecord>({
      name: 'items',
      key: 'id',
      source: async function* () {
        yield { records: [testRecord(1)], checkpoint: { after: 1 } };
        // Another worker takes the lease over (its holder is alive: only `takeOverFrom` lets it).
        const taken = await t.store.acquireLease({
          stream: 'items',
          holder: other,
          ttlMs: 30_000,
          at: nowIso(),
          takeOverFrom: holder,
        });
        expect('lease' in taken).toBe(true);
        yield { records: [testRecord(2)], checkpoint: { after: 2 } };
      },
    });
    const events = new SyncEventBus();
    const order: string[] = [];
    const lost: SyncEvents['lease:lost'][] = [];
    events.on('lease:lost', (e) => {
      lost.push(e);
      order.push('lease:lost');
    });
    events.on('run:finished', () => order.push('run:finished'));
    const result = await runStream({
      store: t.store,
      stream: def,
      holder,
      events,
      log: silent,
      options: { maxPagesInFlight: 1 },
    });
    expect(result.status).toBe('failed');
    expect(lost).toEqual([
      { stream: 'items', runId: result.runId, holder, reason: expect.stringMatching(/lost the lease/) },
    ]);
    expect(order).toEqual(['lease:lost', 'run:finished']);
  });
});
