import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Store } from '../../src/core/store.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { type RunOptions, type RunResult, runStream } from '../../src/engine/stream-runner.ts';
import { type SimulatorOptions, type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import type { HttpStreamConfig } from '../../src/sources/http/http-stream-config.ts';
import { http } from '../../src/sources/http/index.ts';
import { crashingAfter } from '../helpers/crashing-store.ts';
import { diffWithGroundTruth, summarize } from '../helpers/ground-truth.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const EMPTY = { missing: [], stale: [], notDeleted: [], extra: [] };

/** The simulator's changes feed as a user configures it: unwrap `doc`, rename `_id`, drop `_rev`. */
function feedStream(sim: SimulatorServer, extra: Partial<HttpStreamConfig> = {}): AnyStreamDefinition {
  return http.stream({
    name: 'customers',
    key: 'id',
    version: 'version',
    deleted: 'deleted',
    request: { baseUrl: sim.url, path: '/v1/customers/changes', timeoutMs: 2000 },
    records: 'results',
    record: 'doc',
    deletedPath: 'deleted',
    fields: { rename: { _id: 'id' }, drop: ['_rev'] },
    pagination: { type: 'feed', tokenPath: 'last_seq', param: 'since', pendingPath: 'pending' },
    pageSize: 100,
    ...extra,
  });
}

interface FeedBody {
  results: { seq: number; id: string; deleted?: boolean }[];
  last_seq: number;
  pending: number;
}

/** The rows of the feed after `since`, read straight from the simulator: records and deleted rows. */
async function rowsAfter(sim: SimulatorServer, since: number): Promise<{ records: number; deleted: number }> {
  let records = 0;
  let deleted = 0;
  for (let at = since; ; ) {
    const res = await fetch(`${sim.url}/v1/customers/changes?since=${at}&limit=1000`);
    const body = (await res.json()) as FeedBody;
    for (const row of body.results) row.deleted ? deleted++ : records++;
    at = body.last_seq;
    if (body.pending === 0) return { records, deleted };
  }
}

function position(state: { checkpoint: unknown } | null): string | null {
  return (state?.checkpoint as { position: string | null } | null)?.position ?? null;
}

describe.each(STORE_KINDS)('a declarative changes feed on %s', (kind) => {
  let t: TestStore;
  let sim: SimulatorServer | null = null;
  let server: Server | null = null;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await sim?.close();
    sim = null;
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = null;
    await t.dispose();
  });

  async function simulator(options: SimulatorOptions): Promise<SimulatorServer> {
    sim = await startSimulator(options);
    return sim;
  }

  function run(
    stream: AnyStreamDefinition,
    store: Store = t.store,
    options: RunOptions = {},
    events = new SyncEventBus(),
    stop?: AbortSignal,
  ): Promise<RunResult> {
    return runStream({
      store,
      stream,
      holder: newHolderId(),
      events,
      log: silent,
      ...(stop ? { stop } : {}),
      options: { retry: { baseDelayMs: 5, maxDelayMs: 50, minDelayMs: 1, maxAttempts: 12 }, ...options },
    });
  }

  it('reads the whole feed on the first run, then only the changes after the token it kept', async () => {
    const s = await simulator({
      seed: 12,
      datasets: { customers: 450 },
      mutations: { mix: { insert: 2, update: 3, backdate: 1, burst: 0, softDelete: 1, hardDelete: 2 } },
    });
    s.mutate(60); // the first run meets soft and hard deletes too
    const first = await run(feedStream(s));
    expect(first.error).toBeNull();
    const feed = s.dataset('customers').changes;
    // One request per 100 rows, every record ever created being one row; `pending: 0` ends it.
    expect(first.counters.apiCalls).toBe(Math.ceil(s.dataset('customers').totalCreated / 100));
    expect(
      summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers', { hardDeletes: true })),
    ).toEqual(EMPTY);
    const kept = position(await t.store.getState('customers'));
    expect(kept).toBe(String(feed.last));

    s.mutate(40);
    const expected = await rowsAfter(s, Number(kept));
    expect(expected.deleted).toBeGreaterThan(0);
    const before = s.stats().requests['GET /v1/customers/changes']!;
    const second = await run(feedStream(s));
    expect(second.status).toBe('ok');
    // One request from the kept token: exactly the rows after it, not the whole feed again.
    expect(second.counters.apiCalls).toBe(1);
    expect(s.stats().requests['GET /v1/customers/changes']! - before).toBe(1);
    expect(second.counters.fetched).toBe(expected.records);
    expect(
      summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers', { hardDeletes: true })),
    ).toEqual(EMPTY);
    expect(position(await t.store.getState('customers'))).toBe(String(feed.last));

    // Nothing new: one empty answer, no writes, the token stays.
    const third = await run(feedStream(s));
    expect(third.counters).toMatchObject({ apiCalls: 1, fetched: 0, inserted: 0, updated: 0, deleted: 0 });
    expect(position(await t.store.getState('customers'))).toBe(String(feed.last));
  });

  it('resumes a killed run at its last committed token, reading nothing twice and skipping nothing', async () => {
    const s = await simulator({
      seed: 13,
      datasets: { customers: 700 },
      mutations: { mix: { insert: 1, update: 3, backdate: 1, burst: 0, softDelete: 1, hardDelete: 2 } },
    });
    const killed = await run(feedStream(s), crashingAfter(t.store, 3), { maxPagesInFlight: 1 });
    expect(killed.status).toBe('failed');
    const committed = position(await t.store.getState('customers'));
    // Base records hold the first sequence numbers in order: the token counts the rows committed.
    expect(committed).toBe(String((await t.store.listStreams())[0]!.records));
    expect(Number(committed)).toBe(300);
    // Changes behind the token and ahead of it before the next run.
    s.mutate(80);
    const expected = await rowsAfter(s, Number(committed));
    const resumed = await run(feedStream(s));
    expect(resumed.status).toBe('ok');
    expect(resumed.counters.fetched).toBe(expected.records);
    expect(
      summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers', { hardDeletes: true })),
    ).toEqual(EMPTY);
  });

  it('stops an interrupted run after the page it commits, and the next run goes on from that token', async () => {
    const s = await simulator({ seed: 16, datasets: { customers: 600 } });
    const events = new SyncEventBus();
    const stop = new AbortController();
    events.on('page:committed', () => stop.abort());
    const interrupted = await run(feedStream(s), t.store, { maxPagesInFlight: 1 }, events, stop.signal);
    expect(interrupted.status).toBe('interrupted');
    const committed = Number(position(await t.store.getState('customers')));
    expect(committed).toBe((await t.store.listStreams())[0]!.records);
    expect(committed).toBeLessThan(600);
    const next = await run(feedStream(s));
    expect(next.status).toBe('ok');
    expect(next.counters).toMatchObject({ fetched: 600 - committed, inserted: 600 - committed, updated: 0 });
    expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
  });

  it('gets through 429s, 5xx bursts, truncated and malformed bodies and resets', async () => {
    const s = await simulator({
      seed: 14,
      datasets: { customers: 800 },
      faults: {
        rateLimit: 0.08,
        retryAfterSeconds: 0,
        serverError: 0.06,
        truncated: 0.05,
        malformed: 0.05,
        reset: 0.05,
      },
      mutations: { mix: { hardDelete: 2 } },
    });
    s.mutate(50);
    const result = await run(feedStream(s, { pageSize: 50 }));
    expect(result.error).toBeNull();
    expect(result.counters.retries).toBeGreaterThan(0);
    expect(
      summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers', { hardDeletes: true })),
    ).toEqual(EMPTY);
  });

  it('reconciles by reading the feed from its start, leaving the kept token; a range backfill refuses', async () => {
    const s = await simulator({ seed: 15, datasets: { customers: 300 } });
    await run(feedStream(s));
    const before = (await t.store.getState('customers'))!.checkpoint;
    const reconcile = await run(feedStream(s), t.store, { request: { mode: 'reconcile' } });
    expect(reconcile.status).toBe('ok');
    expect(reconcile.counters).toMatchObject({
      apiCalls: 3,
      fetched: 300,
      inserted: 0,
      updated: 0,
      deleted: 0,
    });
    expect((await t.store.getState('customers'))!.checkpoint).toEqual(before);
    const backfill = await run(feedStream(s), t.store, {
      request: { mode: 'backfill', range: { from: '2023-01-01T00:00:00Z', to: '2023-02-01T00:00:00Z' } },
    });
    expect(backfill.status).toBe('failed');
    expect(backfill.error).toMatch(
      /pagination "feed" cannot start at a time, so it cannot backfill a range; use `syncline reconcile`/,
    );
  });

  /**
   * A Stripe-events-like feed on its own server: it lists every event (not each record once) from
   * `since`, and `GET /events/<id>` answers a CouchDB-like document. Returns the stream reading it.
   */
  async function eventsFeed(rows: readonly { seq: number; deleted?: boolean; doc: object }[]) {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      res.setHeader('content-type', 'application/json');
      if (url.pathname !== '/events') {
        res.end(JSON.stringify({ _id: url.pathname.split('/').at(-1), _rev: '9-z', name: 'by id' }));
        return;
      }
      const since = Number(url.searchParams.get('since') ?? 0);
      const results = rows.filter((r) => r.seq > since);
      res.end(JSON.stringify({ results, last_seq: results.at(-1)?.seq ?? since }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return http.stream({
      name: 'events',
      key: 'id',
      request: {
        baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        path: '/events',
      },
      records: 'results',
      record: 'doc',
      deletedPath: 'deleted',
      fields: { rename: { _id: 'id' }, drop: ['_rev'] },
      pagination: { type: 'feed' },
      fetchById: { path: '/events/{id}' },
    });
  }

  async function storedEvents() {
    const stored = await t.store.scanRecords('events', { limit: 10 });
    return stored.map((r) => [r.key, r.data, r.deletedAt !== null]);
  }

  it('applies the rows of one answer in their order: a key deleted and created again stays', async () => {
    const stream = await eventsFeed([
      { seq: 1, doc: { _id: 'a', name: 'first' } },
      { seq: 2, doc: { _id: 'b', name: 'b' } },
      { seq: 3, deleted: true, doc: { _id: 'a' } },
      { seq: 4, doc: { _id: 'a', name: 'again' } },
      { seq: 5, deleted: true, doc: { _id: 'b' } },
    ]);
    const result = await run(stream);
    expect(result.status).toBe('ok');
    expect(await storedEvents()).toEqual([
      ['a', { id: 'a', name: 'again' }, false],
      ['b', { id: 'b', name: 'b' }, true],
    ]);
    expect(position(await t.store.getState('events'))).toBe('5');
  });

  it('renames and drops the fields of a record read by id too (syncline refresh)', async () => {
    const stream = await eventsFeed([{ seq: 1, doc: { _id: 'a', _rev: '1-a', name: 'first' } }]);
    await run(stream);
    expect(await storedEvents()).toEqual([['a', { id: 'a', name: 'first' }, false]]);
    const refreshed = await run(stream, t.store, { request: { mode: 'refresh', keys: ['a'] } });
    expect(refreshed.counters).toMatchObject({ updated: 1 });
    expect(await storedEvents()).toEqual([['a', { id: 'a', name: 'by id' }, false]]);
  });
});
