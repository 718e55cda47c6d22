import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { PageCommit, Store } from '../../src/core/store.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { type RunResult, runStream } from '../../src/engine/stream-runner.ts';
import { type SimulatorOptions, type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import type { HttpStreamConfig } from '../../src/sources/http/http-stream-config.ts';
import { http } from '../../src/sources/http/index.ts';
import { crashingAfter } from '../helpers/crashing-store.ts';
import { diffWithGroundTruth, summarize } from '../helpers/ground-truth.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const EMPTY = { missing: [], stale: [], notDeleted: [], extra: [] };

/** Every pagination style of the simulator, as a user would configure it. */
const STYLES: Record<
  string,
  Pick<HttpStreamConfig, 'pagination' | 'pageSizeParam'> & { incremental: boolean }
> = {
  cursor: {
    pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
    incremental: true,
  },
  link: { pagination: { type: 'link' }, incremental: true },
  keyset: { pagination: { type: 'keyset', afterIdParam: 'after_id' }, incremental: true },
  'keyset-gte': { pagination: { type: 'keyset', offsetParam: 'offset' }, incremental: true },
  window: {
    pagination: {
      type: 'window',
      window: 200 * 86_400_000,
      start: '2019-12-01T00:00:00Z',
      offsetParam: 'offset',
    },
    incremental: true,
  },
  page: {
    pagination: { type: 'page', hasMorePath: 'has_more' },
    pageSizeParam: 'per_page',
    incremental: false,
  },
  offset: { pagination: { type: 'offset', overlap: 5 }, incremental: false },
};

function customersStream(
  sim: SimulatorServer,
  style: string,
  extra: Partial<HttpStreamConfig> = {},
): AnyStreamDefinition {
  const s = STYLES[style]!;
  return http.stream({
    name: 'customers',
    key: 'id',
    cursor: 'updated_at',
    version: 'version',
    deleted: 'deleted',
    request: { baseUrl: sim.url, path: '/v1/customers', query: { style }, timeoutMs: 2000 },
    pagination: s.pagination,
    pageSize: 200,
    ...(s.pageSizeParam !== undefined ? { pageSizeParam: s.pageSizeParam } : {}),
    ...(s.incremental ? { incremental: { param: 'updated_since', lookback: '2h' } } : {}),
    ...extra,
  });
}

describe.each(STORE_KINDS)('declarative HTTP streams on %s', (kind) => {
  let t: TestStore;
  let sim: SimulatorServer | null = null;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await sim?.close();
    sim = null;
    await t.dispose();
  });

  async function simulator(options: SimulatorOptions = {}) {
    sim = await startSimulator({ seed: 5, datasets: { customers: 1500 }, maxPageSize: 1000, ...options });
    return sim;
  }

  function run(
    stream: AnyStreamDefinition,
    store: Store = t.store,
    extra: {
      maxDurationMs?: number;
      secret?: (n: string) => string;
      maxPagesInFlight?: number;
      refresh?: readonly string[];
      events?: SyncEventBus;
    } = {},
  ): Promise<RunResult> {
    return runStream({
      store,
      stream,
      holder: newHolderId(),
      events: extra.events ?? new SyncEventBus(),
      log: silent,
      ...(extra.secret ? { secret: extra.secret } : {}),
      options: {
        retry: { baseDelayMs: 5, maxDelayMs: 50, minDelayMs: 1, maxAttempts: 12 },
        ...(extra.maxDurationMs !== undefined ? { maxDurationMs: extra.maxDurationMs } : {}),
        ...(extra.maxPagesInFlight !== undefined ? { maxPagesInFlight: extra.maxPagesInFlight } : {}),
        ...(extra.refresh ? { request: { mode: 'refresh' as const, keys: extra.refresh } } : {}),
      },
    });
  }

  describe.each(Object.keys(STYLES))('pagination %s', (style) => {
    it('syncs exactly the source, writes nothing when rerun, and catches updates, backdates, bursts and soft deletes', async () => {
      // Hard deletes need a tombstone feed and backdates that keep an old updated_at need a
      // reconciliation (both later); what an incremental pass can see, it must not miss.
      const s = await simulator({ mutations: { mix: { hardDelete: 0, backdate: 0 }, burstSize: 300 } });
      const first = await run(customersStream(s, style));
      expect(first.error).toBeNull();
      expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
      const again = await run(customersStream(s, style));
      expect(again.counters).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });

      s.mutate(60);
      // A window pass ends at the moment it starts ([from, now)): a record stamped in that very
      // millisecond belongs to the next pass. Let the clock move past the mutations.
      await sleep(5);
      const third = await run(customersStream(s, style));
      expect(third.status).toBe('ok');
      expect(third.counters.inserted + third.counters.updated + third.counters.deleted).toBeGreaterThan(0);
      expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
    });

    it('resumes after a kill mid-pass without skipping and re-reading at most one page', async () => {
      const s = await simulator();
      const killed = await run(customersStream(s, style), crashingAfter(t.store, 3));
      expect(killed.status).toBe('failed');
      const committed = (await t.store.listStreams())[0]!.records;
      expect(committed).toBeGreaterThan(0);
      const resumed = await run(customersStream(s, style));
      expect(resumed.status).toBe('ok');
      expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
      // The rest, plus at most one page read again (and the offset overlap).
      expect(resumed.counters.inserted).toBe(1500 - committed);
      expect(resumed.counters.fetched).toBeLessThanOrEqual(1500 - committed + 200 + 5);
    });
  });

  it.each(Object.keys(STYLES).filter((style) => STYLES[style]!.incremental))(
    'an incremental run that resumes a killed pass also reads what changed behind its position (%s)',
    async (style) => {
      const s = await simulator();
      await run(customersStream(s, style));
      // 300 fresh updates, then a run killed after its first page of them.
      s.setMutations({ mix: { insert: 0, update: 1, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0 } });
      s.mutate(300);
      await sleep(5);
      expect((await run(customersStream(s, style), crashingAfter(t.store, 1))).status).toBe('failed');
      // Backdated changes land up to an hour behind the newest updated_at: behind the position.
      s.setMutations({ mix: { insert: 0, update: 0, backdate: 1, burst: 0, softDelete: 0, hardDelete: 0 } });
      s.mutate(60);
      await sleep(5);
      const resumed = await run(customersStream(s, style));
      expect(resumed.status).toBe('ok');
      const watermark = (
        (await t.store.getState('customers'))!.checkpoint as { watermark: { cursor: string } }
      ).watermark;
      const from = Date.parse(watermark.cursor) - 2 * 3_600_000;
      const truth = new Map([...s.groundTruthEntries('customers')].map((e) => [e.key, e]));
      const diff = await diffWithGroundTruth(t.store, 'customers', s, 'customers');
      // Backdates that kept an updated_at from years ago are for a reconciliation; the rest must be here.
      const inWindow = diff.stale.filter((key) => Date.parse(truth.get(key)!.updatedAt) >= from);
      expect(inWindow).toEqual([]);
    },
  );

  it('soft-deletes what the deleted-records feed reports, keeping the last data, and resumes the feed after a kill', async () => {
    const s = await simulator({
      mutations: { mix: { insert: 1, update: 1, backdate: 0, burst: 0, softDelete: 0, hardDelete: 3 } },
    });
    const stream = (pageSize = 200) =>
      // Deletes of old records are a backfill to the breaker (a mass delete pauses like one): apply them.
      customersStream(s, 'keyset', {
        deletes: { feed: { path: '/v1/customers/deleted', pageSize } },
        backfill: 'auto',
      });
    expect((await run(stream())).status).toBe('ok');
    const before = new Map((await t.store.scanRecords('customers', { limit: 5000 })).map((r) => [r.key, r]));
    s.mutate(400);
    await sleep(5);
    const hard = [...s.groundTruthEntries('customers')].filter((e) => e.status === 'hard_deleted');
    expect(hard.length).toBeGreaterThan(150);
    // A run killed after its list pass and one page of the feed; the next run finishes the feed.
    // One page per commit (nothing is fetched ahead), so the kill lands inside the feed.
    const tombstonePage = (c: PageCommit) => (c.writes.some((w) => w.keepData) ? 1 : 0);
    const killed = await run(stream(50), crashingAfter(t.store, 1, tombstonePage), { maxPagesInFlight: 1 });
    const partway = (await t.store.getState('customers'))!.checkpoint as { deletes?: { position: unknown } };
    expect(partway.deletes?.position).not.toBeNull();
    expect(killed.status).toBe('failed');
    const resumed = await run(stream(50));
    expect(resumed.status).toBe('ok');
    expect(
      summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers', { hardDeletes: true })),
    ).toEqual(EMPTY);
    // The rows keep the data they had when they were deleted; the change log says delete.
    const rows = new Map((await t.store.scanRecords('customers', { limit: 5000 })).map((r) => [r.key, r]));
    const synced = hard.filter((e) => before.has(e.key));
    expect(synced.length).toBeGreaterThan(100);
    for (const entry of synced) {
      const row = rows.get(entry.key)!;
      expect(row.deletedAt).not.toBeNull();
      expect(row.data).toEqual(before.get(entry.key)!.data);
    }
    const deletes = (await t.store.readChanges({ afterSeq: 0, limit: 100_000 })).filter(
      (c) => c.kind === 'delete',
    );
    expect(new Set(deletes.map((c) => c.key))).toEqual(new Set(synced.map((e) => e.key)));
    // Nothing new: the next run reads the feed from where it stopped and deletes nothing again.
    const again = await run(stream());
    expect(again.counters).toMatchObject({ deleted: 0, inserted: 0, updated: 0 });
  });

  it('refreshes records by key: one found is applied, a 404 soft-deletes keeping the data, the checkpoint stays', async () => {
    const s = await simulator({
      mutations: { mix: { insert: 0, update: 1, backdate: 0, burst: 0, softDelete: 0, hardDelete: 1 } },
    });
    const stream = customersStream(s, 'keyset', { fetchById: { path: '/v1/customers/{id}' } });
    expect((await run(stream)).status).toBe('ok');
    const checkpoint = (await t.store.getState('customers'))!.checkpoint;
    const before = new Map((await t.store.scanRecords('customers', { limit: 5000 })).map((r) => [r.key, r]));
    s.mutate(40);
    const truth = [...s.groundTruthEntries('customers')];
    const gone = truth.filter((e) => e.status === 'hard_deleted').map((e) => e.key);
    const changed = truth
      .filter((e) => e.status === 'live' && before.get(e.key)?.hash !== e.hash)
      .map((e) => e.key);
    expect(gone.length).toBeGreaterThan(5);
    expect(changed.length).toBeGreaterThan(5);
    const refreshed = await run(stream, t.store, { refresh: [...gone, ...changed, 'cus_999999999'] });
    expect(refreshed.status).toBe('ok');
    expect(refreshed.counters).toMatchObject({ deleted: gone.length, updated: changed.length, inserted: 0 });
    expect(
      summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers', { hardDeletes: true })),
    ).toEqual(EMPTY);
    const rows = new Map((await t.store.scanRecords('customers', { limit: 5000 })).map((r) => [r.key, r]));
    for (const key of gone) expect(rows.get(key)?.data).toEqual(before.get(key)?.data);
    expect((await t.store.getState('customers'))!.checkpoint).toEqual(checkpoint);
    // A stream without fetchById cannot be refreshed: the run fails saying what to add.
    const plain = await run(customersStream(s, 'keyset'), t.store, { refresh: ['cus_000000001'] });
    expect(plain.status).toBe('failed');
    expect(plain.error).toMatch(/cannot read records by key: give it fetchById/);
  });

  it('gets through 429s, 5xx bursts, truncated and malformed bodies, resets and hangs', async () => {
    const s = await simulator({
      faults: {
        rateLimit: 0.06,
        retryAfterSeconds: 0,
        serverError: 0.05,
        truncated: 0.04,
        malformed: 0.04,
        reset: 0.04,
        hang: 0.02,
        hangMs: 5000,
      },
    });
    const result = await run(
      customersStream(s, 'keyset', {
        request: { baseUrl: s.url, path: '/v1/customers', query: { style: 'keyset' }, timeoutMs: 300 },
      }),
    );
    expect(result.error).toBeNull();
    expect(result.counters.retries).toBeGreaterThan(0);
    expect(result.counters.throttled).toBeGreaterThan(0);
    expect(result.counters.apiCalls).toBeGreaterThan(result.counters.pages);
    expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
    const [stored] = await t.store.listRuns({ limit: 1 });
    expect(stored?.counters.retries).toBe(result.counters.retries);
  });

  it('polls an unchanged source with one conditional request and no writes', async () => {
    const s = await simulator({ datasets: { customers: 300 } });
    const stream = () =>
      customersStream(s, 'keyset', { incremental: { param: 'updated_since' }, pageSize: 500 });
    await run(stream());
    await run(stream()); // an empty page after the watermark: its ETag is kept
    const before = s.stats().statuses['304'] ?? 0;
    const poll = await run(stream());
    expect(poll.counters).toMatchObject({ apiCalls: 1, inserted: 0, updated: 0, pages: 0 });
    expect((s.stats().statuses['304'] ?? 0) - before).toBe(1);
    s.mutate(1);
    const changed = await run(stream());
    expect(changed.counters.inserted + changed.counters.updated + changed.counters.deleted).toBeGreaterThan(
      0,
    );
  });

  it("probes with HEAD first when conditional is 'head', and skips the GET on a 304", async () => {
    const s = await simulator({ datasets: { customers: 300 } });
    const stream = () =>
      customersStream(s, 'keyset', {
        incremental: { param: 'updated_since' },
        pageSize: 500,
        conditional: 'head',
      });
    await run(stream());
    await run(stream());
    const before = s.stats();
    const poll = await run(stream());
    expect(poll.counters).toMatchObject({ apiCalls: 1, pages: 0 });
    const after = s.stats();
    expect((after.requests['HEAD /v1/customers'] ?? 0) - (before.requests['HEAD /v1/customers'] ?? 0)).toBe(
      1,
    );
    expect((after.requests['GET /v1/customers'] ?? 0) - (before.requests['GET /v1/customers'] ?? 0)).toBe(0);
  });

  it('fetches an OAuth2 token, and on a 401 fetches a new one once and goes on', async () => {
    // The token endpoint hands out a token the API does not accept, then one it does.
    const issued: string[] = [];
    const tokenServer = createServer((_req, res) => {
      const token = issued.length === 0 ? 'expired-token' : 'good-token';
      issued.push(token);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    });
    await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tokenServer.address() as { port: number }).port;
      const s = await simulator({ auth: { bearerTokens: ['good-token'] } });
      const stream = customersStream(s, 'keyset', {
        auth: {
          type: 'oauth2',
          tokenUrl: `http://127.0.0.1:${port}/token`,
          clientIdEnv: 'CID',
          clientSecretEnv: 'CSECRET',
        },
      });
      const result = await run(stream, t.store, { secret: (name) => `${name}-value` });
      expect(result.error).toBeNull();
      expect(issued).toEqual(['expired-token', 'good-token']);
      expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
    } finally {
      await new Promise((resolve) => tokenServer.close(resolve));
    }
  });

  it('keeps the request rate under a configured limit, so a per-client limit never says 429', async () => {
    const s = await simulator({
      datasets: { customers: 600 },
      faults: { clientLimit: { capacity: 3, refillPerSecond: 20 } },
    });
    const result = await run(
      customersStream(s, 'keyset', { pageSize: 50, rateLimit: { requestsPerSecond: 15, burst: 2 } }),
    );
    expect(result.status).toBe('ok');
    expect(result.counters.throttled).toBe(0);
    expect(result.counters.waitMs).toBeGreaterThan(0);
  });

  it('signs requests with a token from the environment and fails clearly without it', async () => {
    const s = await simulator({ auth: { bearerTokens: ['t0ken-42'] } });
    const stream = customersStream(s, 'keyset', { auth: { type: 'bearer', tokenEnv: 'SIM_TOKEN' } });
    const ok = await run(stream, t.store, { secret: (name) => (name === 'SIM_TOKEN' ? 't0ken-42' : '') });
    expect(ok.status).toBe('ok');
    const wrong = await run(stream, t.store, { secret: () => 'wrong-token' });
    expect(wrong.status).toBe('failed');
    expect(wrong.error).toMatch(
      /stream "customers": GET http:\/\/127\.0\.0\.1:\d+\/v1\/customers\?.* answered 401/,
    );
    expect(wrong.error).not.toContain('wrong-token');
  });

  it('never stores an API key that the API copies into its Link URLs, and resumes with it', async () => {
    const s = await simulator({ auth: { apiKeys: ['k3y-secret'] } });
    const stream = customersStream(s, 'link', { auth: { type: 'apiKey', keyEnv: 'SIM_KEY', in: 'query' } });
    const secret = () => 'k3y-secret';
    // One page a commit: under load, ready pages share a commit, and a first commit of three pages
    // would be the one that crashes, leaving no checkpoint to look at.
    const killed = await run(stream, crashingAfter(t.store, 2), { secret, maxPagesInFlight: 1 });
    expect(killed.status).toBe('failed');
    const state = await t.store.getState('customers');
    expect(JSON.stringify(state?.checkpoint)).toContain('api_key=***');
    const resumed = await run(stream, t.store, { secret });
    expect(resumed.status).toBe('ok');
    const runs = await t.store.listRuns({ limit: 10 });
    expect(JSON.stringify(runs)).not.toContain('k3y-secret');
    expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
  });

  it('tells the total the API gives at totalPath, for the live line', async () => {
    const s = await simulator();
    const events = new SyncEventBus();
    const totals: number[] = [];
    events.on('run:estimated', ({ total }) => totals.push(total));
    const result = await run(customersStream(s, 'page', { totalPath: 'total' }), t.store, { events });
    expect(result.status).toBe('ok');
    // One per list page (1,500 records, 200 a page), each the API's count.
    expect(totals).toEqual(Array.from({ length: 8 }, () => 1500));
  });

  it('stops with a clear fatal error on a 404 endpoint', async () => {
    const s = await simulator();
    const result = await run(customersStream(s, 'keyset', { request: { baseUrl: s.url, path: '/v1/nope' } }));
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(
      /^stream "customers": GET http:\/\/127\.0\.0\.1:\d+\/v1\/nope\?.* answered 404/,
    );
    expect(result.counters.retries).toBe(0);
  });

  it('stops at a checkpoint as partial when the run reaches its maximum duration, and continues next run', async () => {
    const s = await simulator({ faults: { slow: 1, slowMs: 150 } });
    const partial = await run(customersStream(s, 'keyset'), t.store, { maxDurationMs: 400 });
    expect(partial.status).toBe('partial');
    const after = (await t.store.listStreams())[0]!.records;
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThan(1500);
    s.setFaults({ slow: 0 });
    expect((await run(customersStream(s, 'keyset'))).status).toBe('ok');
    expect(summarize(await diffWithGroundTruth(t.store, 'customers', s, 'customers'))).toEqual(EMPTY);
  });
});
