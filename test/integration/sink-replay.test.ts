import { afterEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { ConfigError, NotFoundError } from '../../src/core/errors.ts';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { sinkConsumer } from '../../src/core/sink.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import type { MetricsHandle, SchedulerHandle } from '../../src/runtime/service-types.ts';
import { replayableSink, replaySinkLetters } from '../../src/runtime/sink-replay.ts';
import { prepareSinks } from '../../src/runtime/sinks.ts';
import { replayTargets, sinkLettersHint } from '../../src/runtime/stream-operations.ts';
import { sync } from '../../src/runtime/sync.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { makeTestStore } from '../helpers/stores.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';
import { SECRET, startReceiver } from '../helpers/webhook-receiver.ts';

/** Items 0..n-1: item i is the change of seq i + 1, key String(i). */
const RECORDS = 10;

/** The events of a request's body: one event (batchSize 1) or `{ events }`. */
const eventsOf = (body: unknown): FeedChange[] =>
  'events' in (body as object) ? (body as { events: FeedChange[] }).events : [body as FeedChange];

/**
 * A store holding RECORDS synced items whose webhook sink `hooks` (batches of `batchSize`) had the
 * batches holding `refused` keys answered 400 by the receiver: those events are its dead letters.
 * `answer` then decides the receiver's status for what comes next (a replay).
 */
async function deadLettered(kind: 'sqlite' | 'postgres', refused: readonly string[], batchSize: number) {
  const t = await makeTestStore(kind);
  const c: SynclineConfig = testStreamConfig(Array.from({ length: RECORDS }, (_, i) => testRecord(i)));
  await sync(c, { store: t.location });
  let answer: (events: FeedChange[]) => number = (events) =>
    events.some((e) => refused.includes(e.key)) ? 400 : 200;
  const receiver = await startReceiver((body) => answer(eventsOf(body)));
  process.env.SINK_REPLAY_TEST_SECRET = SECRET;
  const config = resolveConfig({
    ...c,
    sinks: [
      {
        name: 'hooks',
        type: 'webhook',
        url: receiver.url,
        secretEnv: 'SINK_REPLAY_TEST_SECRET',
        allowPrivateTargets: true,
        batchSize,
      },
      { name: 'events', type: 'sse' },
    ],
  });
  const prepared = await prepareSinks({ sinks: config.sinks, log: SILENT_LOGGER });
  const running = prepared.start(t.store);
  const end = Date.now() + 10_000;
  while (running.status()[0]!.offset < RECORDS) {
    if (Date.now() > end) throw new Error('timed out waiting for the runner');
    await new Promise((r) => setTimeout(r, 10));
  }
  await running.stop();
  const accepted = receiver.accepted.length;
  return {
    t,
    config,
    receiver,
    sink: replayableSink(config, 'hooks'),
    /** Bodies the receiver accepted after the runner stopped. */
    redelivered: () => receiver.accepted.slice(accepted).flatMap(eventsOf),
    answer(fn: (events: FeedChange[]) => number) {
      answer = fn;
    },
    letters: async () =>
      (await t.store.listDeadLetters({ all: true, limit: 100 })).sort((a, b) => a.id - b.id),
    async dispose() {
      delete process.env.SINK_REPLAY_TEST_SECRET;
      await receiver.close();
      await t.dispose();
    },
  };
}

describe('syncline sinks replay: redelivering a sink’s dead letters', () => {
  const disposers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const d of disposers.splice(0).reverse()) await d();
  });
  const setUp = async (kind: 'sqlite' | 'postgres', refused: readonly string[], batchSize: number) => {
    const s = await deadLettered(kind, refused, batchSize);
    disposers.push(() => s.dispose());
    return s;
  };

  it.each(['sqlite', 'postgres'] as const)(
    'on %s: once the target is fixed, redelivers them in id order and batches, settles them, leaves the offset; a second replay has nothing to do',
    async (kind) => {
      // Batches of 2: [3,4] holds key 2 and [7,8] key 7, so items 2, 3, 6 and 7 are dead-lettered.
      const s = await setUp(kind, ['2', '7'], 2);
      const before = await s.letters();
      expect(before.map((d) => [d.key, d.sink, d.status])).toEqual([
        ['2', 'hooks', 'open'],
        ['3', 'hooks', 'open'],
        ['6', 'hooks', 'open'],
        ['7', 'hooks', 'open'],
      ]);
      const offset = await s.t.store.consumerOffset(sinkConsumer('hooks'));
      expect(offset?.seq).toBe(RECORDS);

      s.answer(() => 200);
      const at = '2026-06-01T00:00:00.000Z';
      const outcome = await replaySinkLetters({ store: s.t.store, sink: s.sink, now: () => at });
      expect(outcome).toEqual({
        sink: 'hooks',
        kind: 'sink',
        redelivered: 4,
        refusedAgain: 0,
        left: 0,
        error: null,
      });
      // Two signed requests of two events (the receiver verifies the Standard Webhooks signature).
      expect(s.receiver.bad).toEqual([]);
      expect(s.receiver.accepted.slice(-2).map((b) => eventsOf(b).map((e) => e.seq))).toEqual([
        [3, 4],
        [7, 8],
      ]);
      expect(s.redelivered().map((e) => [e.id, e.key, e.kind])).toEqual([
        ['items:3', '2', 'insert'],
        ['items:4', '3', 'insert'],
        ['items:7', '6', 'insert'],
        ['items:8', '7', 'insert'],
      ]);
      const after = await s.letters();
      expect(after.map((d) => d.status)).toEqual(['replayed', 'replayed', 'replayed', 'replayed']);
      expect(Date.parse(after[0]!.resolvedAt!)).toBe(Date.parse(at));
      expect(after[0]!.resolvedRunId).toBeNull();
      expect(await s.t.store.consumerOffset(sinkConsumer('hooks'))).toEqual(offset);

      const again = await replaySinkLetters({ store: s.t.store, sink: s.sink });
      expect(again).toEqual({
        sink: 'hooks',
        kind: 'sink',
        redelivered: 0,
        refusedAgain: 0,
        left: 0,
        error: null,
      });
      expect(s.redelivered()).toHaveLength(4);
    },
  );

  it('keeps a letter refused again open with the new reason and one more occurrence; --id redelivers only those', async () => {
    const s = await setUp('sqlite', ['1', '4', '8'], 1);
    const [one, four, eight] = await s.letters();
    s.answer((events) => (events.some((e) => e.key === '4') ? 422 : 200));

    const only = await replaySinkLetters({ store: s.t.store, sink: s.sink, ids: [eight!.id] });
    expect(only).toMatchObject({ redelivered: 1, refusedAgain: 0, left: 0 });
    expect(s.redelivered().map((e) => e.key)).toEqual(['8']);

    const rest = await replaySinkLetters({ store: s.t.store, sink: s.sink });
    expect(rest).toEqual({
      sink: 'hooks',
      kind: 'sink',
      redelivered: 1,
      refusedAgain: 1,
      left: 0,
      error: null,
    });
    const letters = await s.letters();
    expect(letters.find((d) => d.id === one!.id)?.status).toBe('replayed');
    const refused = letters.find((d) => d.id === four!.id)!;
    expect(refused).toMatchObject({ status: 'open', occurrences: 2, sink: 'hooks' });
    expect(refused.reason).toMatch(/^sink hooks: 422 from 127\.0\.0\.1:\d+\/hook$/);
    expect(JSON.parse(refused.payload)).toMatchObject({ id: 'items:5', key: '4' });
    // Settled letters are no longer to be redelivered by id.
    await expect(replaySinkLetters({ store: s.t.store, sink: s.sink, ids: [one!.id] })).rejects.toThrow(
      new NotFoundError(`no open dead letter of sink "hooks" with id ${one!.id}; see \`syncline failed\``),
    );
  });

  it('stops at a transient failure (503), leaving that batch and the rest open', async () => {
    const s = await setUp('sqlite', ['1', '4', '8'], 1);
    let n = 0;
    s.answer(() => (++n === 1 ? 200 : 503));
    const outcome = await replaySinkLetters({ store: s.t.store, sink: s.sink });
    expect(outcome).toMatchObject({ redelivered: 1, refusedAgain: 0, left: 2 });
    expect(outcome.error).toMatch(/^sink "hooks": POST 127\.0\.0\.1:\d+\/hook: 503/);
    expect(outcome.error).not.toContain(SECRET);
    expect(n).toBe(2); // nothing sent after the failure
    const letters = await s.letters();
    expect(letters.map((d) => [d.key, d.status, d.occurrences])).toEqual([
      ['1', 'replayed', 1],
      ['4', 'open', 1],
      ['8', 'open', 1],
    ]);
  });

  it('names what cannot be replayed: an unknown sink, the sse sink; `failed replay` points sink letters to `sinks replay`', async () => {
    const s = await setUp('sqlite', ['1'], 1);
    expect(() => replayableSink(s.config, 'hookz')).toThrow(
      new ConfigError('unknown sink "hookz"; the config\'s sinks are hooks, events'),
    );
    expect(() => replayableSink(s.config, 'events')).toThrow(
      new ConfigError(
        'sink "events" is an sse sink: its clients read the change log themselves, so it has no dead letters to redeliver',
      ),
    );
    const [letter] = await s.letters();
    await expect(replayTargets(s.t.store, { ids: [letter!.id] }, ['items'])).rejects.toThrow(
      new ConfigError(
        `dead letter ${letter!.id} is an event a sink refused, not a record: redeliver with \`syncline sinks replay hooks --id <ids...>\``,
      ),
    );
    expect(await sinkLettersHint(s.t.store, 'items')).toBe(
      '1 open letter is an event a sink refused, not a record: redeliver with `syncline sinks replay hooks --all`',
    );
    expect(await sinkLettersHint(s.t.store, 'other')).toBeNull();
    // A record replay of every stream passes over a stream whose open letters are all a sink's.
    expect(await replayTargets(s.t.store, {}, ['items'])).toEqual([]);
  });

  it('POST /v1/sinks/:name/replay redelivers through the same function: ids, then the rest; 404 and 400 for what it cannot', async () => {
    const s = await setUp('sqlite', ['1', '4'], 1);
    const [one] = await s.letters();
    s.answer(() => 200);
    const control = createServiceControl({
      store: s.t.store,
      config: s.config,
      // Neither is used by a sink's replay.
      scheduler: {} as SchedulerHandle,
      metrics: {} as MetricsHandle,
    });
    const api = createApiApp(control, { token: null, log: SILENT_LOGGER });
    const post = async (path: string, body?: unknown) => {
      const res = await api.request(path, {
        method: 'POST',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await post('/v1/sinks/hooks/replay', { ids: [one!.id] })).toEqual({
      status: 200,
      body: {
        sink: 'hooks',
        kind: 'sink',
        redelivered: 1,
        refusedAgain: 0,
        left: 0,
        error: null,
        message: 'sink "hooks": redelivered 1, refused again 0, left 0',
      },
    });
    expect((await post('/v1/sinks/hooks/replay')).body).toMatchObject({ redelivered: 1 });
    expect((await post('/v1/sinks/hooks/replay')).body).toMatchObject({
      redelivered: 0,
      message: 'sink "hooks" has no open dead letters to redeliver',
    });
    expect(s.redelivered().map((e) => e.key)).toEqual(['1', '4']);
    expect((await post('/v1/sinks/nope/replay')).status).toBe(404);
    expect((await post('/v1/sinks/hooks/replay', { ids: [one!.id] })).status).toBe(404);
    expect((await post('/v1/sinks/events/replay')).status).toBe(400);
    expect((await post('/v1/sinks/hooks/replay', { ids: [] })).status).toBe(400);
  });
});
