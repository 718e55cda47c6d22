import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { ConfigError, TransientError } from '../../src/core/errors.ts';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { prepareSinks } from '../../src/runtime/sinks.ts';
import { sync } from '../../src/runtime/sync.ts';
import { runSink, wakeOnCommit } from '../../src/sinks/sink-runner.ts';
import { guardedLookup, isPrivateAddress, PrivateTargetError } from '../../src/sinks/target-guard.ts';
import { createWebhookSink } from '../../src/sinks/webhook/webhook-sink.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';
import { SECRET, startReceiver } from '../helpers/webhook-receiver.ts';

function config(n: number): SynclineConfig {
  return testStreamConfig(Array.from({ length: n }, (_, i) => testRecord(i)));
}

const event = (seq: number): FeedChange => ({
  id: `items:${seq}`,
  seq,
  stream: 'items',
  key: String(seq),
  kind: 'insert',
  version: '1',
  hash: 'h',
  run: 'r',
  committedAt: '2026-01-01T00:00:00.000Z',
  data: { id: seq },
});

describe('the webhook sink', () => {
  it('refuses loopback, private and link-local targets unless allowPrivateTargets', async () => {
    const options = { name: 'hooks', secret: SECRET, batchSize: 1, timeoutMs: 1000 };
    await expect(createWebhookSink({ ...options, urls: ['http://127.0.0.1:9/x'] })).rejects.toThrow(
      new ConfigError(
        'sink "hooks": url http://127.0.0.1:9/x: resolves to 127.0.0.1, a loopback, private or link-local address; set allowPrivateTargets: true if that is meant',
      ),
    );
    await expect(createWebhookSink({ ...options, urls: ['http://localhost:9/x'] })).rejects.toThrow(
      /a loopback, private or link-local address/,
    );
    await expect(createWebhookSink({ ...options, urls: ['ftp://example.com/x'] })).rejects.toThrow(
      /must be http:\/\/ or https:\/\//,
    );
    await expect(
      createWebhookSink({ ...options, urls: ['http://127.0.0.1:9/x'], allowPrivateTargets: true }),
    ).resolves.toBeDefined();
    for (const a of [
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2606:4700::1']) expect(isPrivateAddress(a), a).toBe(false);
    // At connect time too (a host whose DNS moved inside after the start check): localhost is refused.
    const error = await new Promise<unknown>((resolve) => guardedLookup('localhost', {}, (e) => resolve(e)));
    expect(error).toBeInstanceOf(PrivateTargetError);
    expect(String(error)).toMatch(
      /localhost resolves to (127\.0\.0\.1|::1), a loopback, private or link-local address/,
    );
  });

  it('signs each request; 5xx and 429 are transient with Retry-After, other 4xx reject, 2xx confirms', async () => {
    const statuses = [200, 503, 429, 400];
    const receiver = await startReceiver((_b, n) => statuses[n - 1] ?? 200);
    try {
      const sink = await createWebhookSink({
        name: 'hooks',
        urls: [receiver.url],
        secret: SECRET,
        batchSize: 1,
        timeoutMs: 2000,
        allowPrivateTargets: true,
      });
      const signal = new AbortController().signal;
      expect(await sink.deliver([event(1)], signal)).toEqual({ rejected: [] });
      await expect(sink.deliver([event(2)], signal)).rejects.toThrow(TransientError);
      await expect(sink.deliver([event(2)], signal)).rejects.toMatchObject({ throttled: true });
      const refused = await sink.deliver([event(2)], signal);
      expect(refused.rejected.map((r) => r.event.id)).toEqual(['items:2']);
      expect(refused.rejected[0]!.reason).toMatch(/^400 from 127\.0\.0\.1:\d+\/hook$/);
      expect(receiver.bad).toEqual([]);
      expect(receiver.accepted).toEqual([JSON.parse(JSON.stringify(event(1)))]);
    } finally {
      await receiver.close();
    }
  });

  it('posts to every URL, a retry only to those that did not confirm; paces each URL to its rate limit', async () => {
    let bDown = true;
    const a = await startReceiver();
    const b = await startReceiver(() => (bDown ? 503 : 200));
    try {
      const sink = await createWebhookSink({
        name: 'hooks',
        urls: [a.url, b.url],
        secret: SECRET,
        batchSize: 1,
        timeoutMs: 2000,
        rateLimit: 10,
        allowPrivateTargets: true,
      });
      const signal = new AbortController().signal;
      const started = Date.now();
      await expect(sink.deliver([event(1)], signal)).rejects.toThrow(TransientError);
      bDown = false;
      expect(await sink.deliver([event(1)], signal)).toEqual({ rejected: [] });
      expect(await sink.deliver([event(2)], signal)).toEqual({ rejected: [] });
      // b's three requests at 10 requests/s: the third starts at least 200 ms after the first,
      // however slow the machine (a slow first request only delays the others more).
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(a.accepted.map((e) => (e as FeedChange).id)).toEqual(['items:1', 'items:2']);
      expect(b.accepted.map((e) => (e as FeedChange).id)).toEqual(['items:1', 'items:2']);
      expect(b.requests()).toBe(3);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('times out a receiver that does not answer (transient), never showing the secret', async () => {
    const server = createServer(() => {}); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const sink = await createWebhookSink({
        name: 'hooks',
        urls: [`http://127.0.0.1:${port}/`],
        secret: SECRET,
        batchSize: 1,
        timeoutMs: 100,
        allowPrivateTargets: true,
      });
      const error = await sink.deliver([event(1)], new AbortController().signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect(String((error as Error).message)).toContain('no answer within 100 ms');
      expect(String((error as Error).message)).not.toContain(SECRET.slice(6));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe.each(STORE_KINDS)('webhook delivery from the change log on %s', (kind) => {
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

  const until = async (cond: () => boolean | Promise<boolean>, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('delivers everything once the receiver recovers from 500s, in order; a 400 dead-letters one event', async () => {
    await sync(config(30), { store: t.location });
    let healthy = false;
    const receiver = await startReceiver((body) => {
      if (!healthy) return 500;
      const events = (body as { events: FeedChange[] }).events;
      return events.some((e) => e.key === '7') ? 400 : 200;
    });
    try {
      const sink = await createWebhookSink({
        name: 'hooks',
        urls: [receiver.url],
        secret: SECRET,
        batchSize: 1000,
        timeoutMs: 2000,
        allowPrivateTargets: true,
      });
      const rejected: string[] = [];
      // batches of 4: the one holding key 7 (seq 8) is rejected whole
      const runner = runSink({
        feed: t.store,
        sink,
        consumer: 'sink:hooks',
        filter: {},
        data: true,
        batchSize: 4,
        wake: wakeOnCommit(undefined, 20),
        stop: stop.signal,
        retry: { baseMs: 5, maxMs: 20 },
        pauseAfterMs: 60_000,
        log: SILENT_LOGGER,
        onRejected: async (r) => {
          rejected.push(...r.map((x) => `${x.event.id} ${x.reason}`));
        },
      });
      await until(() => receiver.requests() >= 3);
      expect(runner.status().state).toBe('retrying');
      expect(runner.status().offset).toBe(0);
      healthy = true;
      await until(() => runner.status().offset === 30);
      const seqs = receiver.accepted.flatMap((b) => (b as { events: FeedChange[] }).events.map((e) => e.seq));
      expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1).filter((s) => s < 5 || s > 8));
      expect(rejected).toHaveLength(4);
      expect(rejected[0]).toMatch(/^items:5 sink hooks: 400 from 127\.0\.0\.1:\d+\/hook$/);
      expect(receiver.bad).toEqual([]);
    } finally {
      stop.abort();
      await receiver.close();
    }
  });
  it('dead-letters the events a receiver refuses in the store, and `syncline failed` lists them', async () => {
    const c = config(5);
    await sync(c, { store: t.location });
    const receiver = await startReceiver((body) => ((body as FeedChange).key === '3' ? 422 : 200));
    process.env.WEBHOOK_TEST_SECRET = SECRET;
    try {
      const resolved = resolveConfig({
        ...c,
        sinks: [
          {
            name: 'hooks',
            type: 'webhook',
            url: receiver.url,
            secretEnv: 'WEBHOOK_TEST_SECRET',
            allowPrivateTargets: true,
          },
        ],
      });
      const prepared = await prepareSinks({ sinks: resolved.sinks, log: SILENT_LOGGER });
      const running = prepared.start(t.store);
      await until(() => running.status()[0]!.offset === 5);
      await running.stop();
      const letters = await t.store.listDeadLetters({ stream: 'items', limit: 10 });
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({ sink: 'hooks', key: '3', status: 'open' });
      expect(letters[0]!.reason).toMatch(/^sink hooks: 422 from 127\.0\.0\.1:\d+\/hook$/);
      expect(JSON.parse(letters[0]!.payload)).toMatchObject({ id: 'items:4', key: '3', kind: 'insert' });
      expect(receiver.accepted).toHaveLength(4);
    } finally {
      delete process.env.WEBHOOK_TEST_SECRET;
      await receiver.close();
    }
  });
});
