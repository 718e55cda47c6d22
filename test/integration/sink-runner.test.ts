import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { FatalError, TransientError } from '../../src/core/errors.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { FeedChange, FeedEvent, RunEvent } from '../../src/core/feed-change.ts';
import type { DeliveryResult, Sink } from '../../src/core/sink.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { sync } from '../../src/runtime/sync.ts';
import {
  type RejectedEvent,
  type RunSinkOptions,
  runSink,
  wakeOnCommit,
} from '../../src/sinks/sink-runner.ts';
import type { PostgresStore } from '../../src/stores/postgres/postgres-store.ts';
import { withPgClient } from '../helpers/postgres.ts';
import { freshLocation, makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';

function config(name: string, n: number, rev = 0): SynclineConfig {
  return testStreamConfig(
    Array.from({ length: n }, (_, i) => testRecord(i, rev)),
    { name },
  );
}

/** A sink that keeps what it was given; `fail` decides per call whether (and how) it fails. */
class TestSink implements Sink {
  readonly name = 'test';
  readonly delivered: FeedChange[] = [];
  calls = 0;
  constructor(
    private readonly behave: (
      events: readonly FeedChange[],
      call: number,
    ) => DeliveryResult | Error = () => ({
      rejected: [],
    }),
  ) {}
  async deliver(events: readonly FeedChange[]): Promise<DeliveryResult> {
    this.calls += 1;
    const outcome = this.behave(events, this.calls);
    if (outcome instanceof Error) throw outcome;
    this.delivered.push(...events);
    return outcome;
  }
  async close() {}
}

describe('the sink runner on SQLite', () => {
  let t: TestStore;
  let stop: AbortController;
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await t.dispose();
  });

  const start = (sink: Sink, extra: Partial<RunSinkOptions> = {}) =>
    runSink({
      feed: t.store,
      sink,
      consumer: 'sink:test',
      filter: {},
      data: true,
      batchSize: 1,
      wake: wakeOnCommit(undefined, 20),
      stop: stop.signal,
      retry: { baseMs: 5, maxMs: 20 },
      pauseAfterMs: 60_000,
      log: SILENT_LOGGER,
      ...extra,
    });

  const until = async (cond: () => boolean | Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const highestSeq = async () => (await t.store.readChanges({ afterSeq: 0, limit: 100_000 })).at(-1)!.seq;

  it('delivers every change in seq order with no gap, in batches, and acknowledges each', async () => {
    await sync(config('items', 95), { store: t.location });
    const sink = new TestSink();
    const events = new SyncEventBus();
    const delivered: number[] = [];
    events.on('sink:delivered', (e) => delivered.push(e.events));
    const runner = start(sink, { batchSize: 10, events });
    const last = await highestSeq();
    await until(() => runner.status().offset === last);
    expect(sink.delivered.map((e) => e.seq)).toEqual(Array.from({ length: 95 }, (_, i) => i + 1));
    expect(sink.delivered[0]!.data).toEqual(testRecord(0));
    expect(delivered).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(await t.store.consumerOffset('sink:test')).toMatchObject({ seq: last });
    expect(runner.status()).toMatchObject({ state: 'running', lastError: null });
  });

  it('moves the offset over filtered-out changes, and leaves data out when data is false', async () => {
    await sync(config('items', 5), { store: t.location });
    await sync(config('others', 5), { store: t.location });
    const sink = new TestSink();
    const runner = start(sink, { filter: { streams: ['items'], kinds: ['insert'] }, data: false });
    await until(() => runner.status().offset === 10);
    expect(sink.delivered.map((e) => e.id)).toEqual(['items:1', 'items:2', 'items:3', 'items:4', 'items:5']);
    expect('data' in sink.delivered[0]!).toBe(false);
  });

  it('retries the same batch after transient failures, then goes on; the retry-after wait is honoured', async () => {
    await sync(config('items', 3), { store: t.location });
    const sink = new TestSink((_events, call) =>
      call <= 3
        ? new TransientError('503 from the target', { retryAfterMs: call === 1 ? 30 : undefined })
        : { rejected: [] },
    );
    const events = new SyncEventBus();
    const failures: { attempt: number; delayMs: number }[] = [];
    events.on('sink:failed', (e) => failures.push({ attempt: e.attempt, delayMs: e.delayMs }));
    const runner = start(sink, { events });
    await until(() => runner.status().offset === 3);
    expect(failures.map((f) => f.attempt)).toEqual([1, 2, 3]);
    expect(failures[0]!.delayMs).toBe(20); // 30 ms asked, capped at retry.maxMs
    expect(sink.delivered.map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('hands rejected events to onRejected with the sink in the reason, and moves past them', async () => {
    await sync(config('items', 4), { store: t.location });
    const rejected: RejectedEvent[] = [];
    const sink = new TestSink((events) => ({
      rejected: events.filter((e) => e.key === '2').map((event) => ({ event, reason: '400 from target' })),
    }));
    const runner = start(sink, {
      onRejected: async (r) => {
        rejected.push(...r);
      },
    });
    await until(() => runner.status().offset === 4);
    expect(rejected.map((r) => [r.event.id, r.reason])).toEqual([['items:3', 'sink test: 400 from target']]);
  });

  it('pauses a sink failing longer than pauseAfter, and resume() tries again', async () => {
    await sync(config('items', 2), { store: t.location });
    let down = true;
    const sink = new TestSink(() => (down ? new TransientError('connection refused') : { rejected: [] }));
    const runner = start(sink, { pauseAfterMs: 50 });
    await until(() => runner.status().state === 'paused');
    expect(runner.status()).toMatchObject({ offset: 0, lastError: 'connection refused' });
    expect(runner.status().failingSince).not.toBeNull();
    const calls = sink.calls;
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.calls).toBe(calls); // paused: no attempts
    down = false;
    runner.resume();
    await until(() => runner.status().offset === 2);
    expect(runner.status()).toMatchObject({ state: 'running', lastError: null, failingSince: null });
  });

  it('stops on a fatal error, and a new runner resumes after the acknowledged seq', async () => {
    await sync(config('items', 6), { store: t.location });
    const first = new TestSink((events) =>
      events[0]!.seq === 4 ? new FatalError('bad target') : { rejected: [] },
    );
    const runner = start(first);
    await expect(runner.done).rejects.toThrow('bad target');
    expect(runner.status()).toMatchObject({ state: 'stopped', offset: 3, lastError: 'bad target' });
    const second = new TestSink();
    const again = start(second);
    await until(() => again.status().offset === 6);
    expect(second.delivered.map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  it('wakes on page:committed well before its poll interval', async () => {
    const sink = new TestSink();
    const events = new SyncEventBus();
    const runner = start(sink, { wake: wakeOnCommit(events, 60_000) });
    await new Promise((r) => setTimeout(r, 50)); // registered, waiting
    await sync(config('items', 1), { store: t.location });
    const at = Date.now();
    events.emit('page:committed', {
      stream: 'items',
      runId: 'r',
      page: {},
      totals: {} as never,
      checkpoint: null,
      newestCursor: null,
    });
    await until(() => runner.status().offset === 1, 2000);
    expect(Date.now() - at).toBeLessThan(1000);
    stop.abort();
    await runner.done;
    expect(runner.status().state).toBe('stopped');
  });
});

describe('the sink runner on PostgreSQL', () => {
  it('wakes at a commit of another connection (LISTEN/NOTIFY) long before its poll', async () => {
    const { location, drop } = await freshLocation('postgres');
    const store = (await openStore(location)) as PostgresStore;
    const other = await freshLocation('postgres'); // commits to another schema must not wake it
    const stop = new AbortController();
    let wakes = 0;
    const waiting = new Set<() => void>();
    const watch = store.watchCommits(() => {
      wakes += 1;
      for (const wake of [...waiting]) wake();
    });
    try {
      const sink = new TestSink();
      const runner = runSink({
        feed: store,
        sink,
        consumer: 'sink:test',
        filter: {},
        data: true,
        batchSize: 50,
        // A poll of a minute: only the notification can wake it within the test's time.
        wake: wakeOnCommit(undefined, 60_000, (listener) => {
          waiting.add(listener);
          return () => waiting.delete(listener);
        }),
        stop: stop.signal,
        retry: { baseMs: 5, maxMs: 20 },
        pauseAfterMs: 60_000,
        log: SILENT_LOGGER,
      });
      const waitFor = async (cond: () => boolean) => {
        const end = Date.now() + 20_000;
        while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      };
      await waitFor(() => wakes > 0); // listening (the watch calls once when it connects)
      const before = wakes;
      await sync(config('items', 5), { store: other.location });
      await new Promise((r) => setTimeout(r, 300));
      expect(wakes).toBe(before);
      await sync(config('items', 20), { store: location }); // its own connections: another "process"
      await waitFor(() => runner.status().offset === 20);
      expect(runner.status().offset).toBe(20);
      expect(sink.delivered).toHaveLength(20);
    } finally {
      stop.abort();
      await watch.close();
      await store.close();
      await drop();
      await other.drop();
    }
  });

  it('goes on after the server dropped its store connections mid-delivery, delivering everything', async () => {
    const { location, drop } = await freshLocation('postgres');
    const name = `sink_${Math.random().toString(36).slice(2, 10)}`;
    const store = await openStore(`${location}&application_name=${name}`);
    const stop = new AbortController();
    try {
      await sync(config('items', 20), { store: location });
      let dropped = false;
      let terminated = 0;
      const warnings: string[] = [];
      const delivered: number[] = [];
      const sink: Sink = {
        name: 'test',
        async deliver(events) {
          delivered.push(...events.map((e) => e.seq));
          if (!dropped && events[0]!.seq === 6) {
            dropped = true;
            const result = await withPgClient((c) =>
              c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
                name,
              ]),
            );
            terminated = result.rowCount ?? 0;
          }
          return { rejected: [] };
        },
        async close() {},
      };
      const runner = runSink({
        feed: store,
        sink,
        consumer: 'sink:test',
        filter: {},
        data: true,
        batchSize: 5,
        wake: wakeOnCommit(undefined, 20),
        stop: stop.signal,
        retry: { baseMs: 5, maxMs: 20 },
        pauseAfterMs: 60_000,
        log: { ...SILENT_LOGGER, warn: (_o: unknown, msg?: string) => warnings.push(msg ?? '') },
      });
      const end = Date.now() + 15_000;
      while (runner.status().offset !== 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(runner.status()).toMatchObject({ offset: 20, state: 'running' });
      expect(dropped).toBe(true);
      // The pool replaced the dropped connections; had a read or an acknowledgement failed, the
      // runner would have said so and read again from its offset.
      expect(terminated).toBeGreaterThan(0);
      expect(warnings.every((w) => w === 'sink: the store failed; reading again')).toBe(true);
      expect([...new Set(delivered)]).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      stop.abort();
      await store.close();
      await drop();
    }
  });
});

describe.each(STORE_KINDS)('run events on %s', (kind) => {
  let t: TestStore;
  let stop: AbortController;
  beforeEach(async () => {
    t = await makeTestStore(kind);
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await t.dispose();
  });

  /** `config(...)` with a sink asking for run events: its runs leave their rows in the log. */
  const withRunSink = (c: SynclineConfig): SynclineConfig => ({
    ...c,
    sinks: [
      { name: 'runs', type: 'redis', url: 'redis://127.0.0.1:6379', kinds: ['insert', 'update', 'run'] },
    ],
  });

  it('delivers a run event after the run’s changes when a sink asks for them; quiet runs leave none', async () => {
    await sync(withRunSink(config('items', 12)), { store: t.location });
    await sync(withRunSink(config('items', 12)), { store: t.location }); // changes nothing: no run row
    await t.store.resetCheckpoint('items', new Date().toISOString()); // read from the start again
    await sync(withRunSink(config('items', 3, 1)), { store: t.location }); // 3 updates
    const log = await t.store.readEvents({ afterSeq: 0, limit: 1000 });
    expect(log.filter((r) => r.kind === 'run')).toHaveLength(2);
    // readChanges (the change feed, `syncline changes`) leaves run rows out.
    expect(await t.store.readChanges({ afterSeq: 0, limit: 1000 })).toHaveLength(15);

    const sink = new TestSink();
    const runner = runSink({
      feed: t.store,
      sink,
      consumer: 'sink:runs',
      filter: { kinds: ['update', 'run'] },
      data: false,
      batchSize: 50,
      wake: wakeOnCommit(undefined, 20),
      stop: stop.signal,
      retry: { baseMs: 5, maxMs: 20 },
      pauseAfterMs: 60_000,
      log: SILENT_LOGGER,
    });
    const last = log.at(-1)!.seq;
    const end = Date.now() + 10_000;
    while (runner.status().offset !== last && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const delivered = sink.delivered as unknown as FeedEvent[];
    expect(delivered.map((e) => e.kind)).toEqual(['run', 'update', 'update', 'update', 'run']);
    const [first, , , , second] = delivered;
    expect(first).toMatchObject({
      kind: 'run',
      stream: 'items',
      mode: 'sync',
      status: 'ok',
      checkpointMoved: true,
      error: null,
      counters: expect.objectContaining({ inserted: 12, updated: 0 }),
    });
    expect(second).toMatchObject({
      kind: 'run',
      counters: expect.objectContaining({ inserted: 0, updated: 3 }),
    });
    expect(first!.id).toBe(`items:${first!.seq}`);
    expect(first!.key).toBe((first as RunEvent).run);
  });

  it('writes no run rows when no sink asks for run events', async () => {
    await sync(config('items', 12), { store: t.location });
    const log = await t.store.readEvents({ afterSeq: 0, limit: 1000 });
    expect(log.map((r) => r.kind)).toEqual(Array(12).fill('insert'));
  });
});
