import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { ConfigError, FatalError, TransientError } from '../../src/core/errors.ts';
import type { FeedChange } from '../../src/core/feed-change.ts';
import type { Sink } from '../../src/core/sink.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { buildSink } from '../../src/runtime/sinks.ts';
import { sync } from '../../src/runtime/sync.ts';
import { createRedisSink } from '../../src/sinks/redis/redis-sink.ts';
import { fakeEvent, useDeliveryRig } from '../helpers/sink-rig.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const DOWN =
  'Redis is not answering on 127.0.0.1:6379; start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

function config(name: string, n: number, rev = 0): SynclineConfig {
  return testStreamConfig(
    Array.from({ length: n }, (_, i) => testRecord(i, rev)),
    { name },
  );
}

const admin = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
admin.on('error', () => undefined);

beforeAll(async () => {
  try {
    await admin.connect();
    await admin.ping();
  } catch {
    throw new Error(DOWN);
  }
});
afterAll(async () => {
  if (admin.isOpen) await admin.close();
});

describe('the Redis Streams sink', () => {
  /** This test's own key prefix; its keys are deleted after it. */
  let prefix: string;
  const sinks: Sink[] = [];
  beforeEach(() => {
    prefix = `syncline-test:${randomUUID()}:`;
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(keys);
  });
  const sink = (extra: { maxLen?: number; url?: string; name?: string } = {}) => {
    const built = createRedisSink({
      name: extra.name ?? 'redis',
      url: extra.url ?? REDIS_URL,
      keyTemplate: `${prefix}{stream}`,
      maxLen: extra.maxLen ?? null,
    });
    sinks.push(built);
    return built;
  };
  const entries = async (stream: string) =>
    ((await admin.xRange(`${prefix}${stream}`, '-', '+')) ?? []).map((e) => e.message ?? {});
  const event = fakeEvent;

  describe('delivering from the change log on SQLite', () => {
    const rig = useDeliveryRig('sink:redis');
    const { start, until, highestSeq } = rig;

    it('adds every change to its stream’s Redis stream in seq order, once, with id, seq and event', async () => {
      await sync(config('items', 25), { store: rig.t.location });
      await sync(config('others', 7), { store: rig.t.location });
      const runner = start(sink());
      const last = await highestSeq();
      await until(() => runner.status().offset === last);
      const items = await entries('items');
      const others = await entries('others');
      expect(items.map((m) => Number(m.seq))).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(others.map((m) => Number(m.seq))).toEqual(Array.from({ length: 7 }, (_, i) => i + 26));
      expect(Object.keys(items[0]!).sort()).toEqual(['event', 'id', 'seq']);
      const first = JSON.parse(items[0]!.event!) as FeedChange;
      expect(first).toMatchObject({ id: items[0]!.id, seq: 1, stream: 'items', data: testRecord(0) });
      expect(new Set(items.map((m) => m.id)).size).toBe(25);
    });

    it('resumes after the acknowledged offset when started again', async () => {
      await sync(config('items', 5), { store: rig.t.location });
      const first = start(sink());
      await until(() => first.status().offset === 5);
      rig.stop();
      await first.done;
      await sync(config('items', 8, 1), { store: rig.t.location });
      const again = start(sink());
      const last = await highestSeq();
      await until(() => again.status().offset === last);
      const seqs = (await entries('items')).map((m) => Number(m.seq));
      expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    });
  });

  it('trims each Redis stream to about maxLen entries (MAXLEN ~)', async () => {
    const target = sink({ maxLen: 10 });
    const signal = new AbortController().signal;
    for (let batch = 0; batch < 6; batch += 1) {
      await target.deliver(
        Array.from({ length: 100 }, (_, i) => event(batch * 100 + i + 1)),
        signal,
      );
    }
    const length = await admin.xLen(`${prefix}items`);
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(600);
    const newest = ((await admin.xRevRange(`${prefix}items`, '+', '-', { COUNT: 1 })) ?? [])[0]!;
    expect(newest.message?.seq).toBe('600'); // trimming drops the oldest, never the newest
  });

  it('fails for good, naming the key, when the key holds something other than a stream', async () => {
    await admin.set(`${prefix}items`, 'not a stream');
    const error = await sink()
      .deliver([event(1)], new AbortController().signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toContain(`"${prefix}items"`);
    expect((error as Error).message).toContain('WRONGTYPE');
  });

  it('is transient when Redis cannot be reached or refuses the login, and never shows the password', async () => {
    for (const url of ['redis://user:s3cr3t-pw@127.0.0.1:1', 'redis://nobody:s3cr3t-pw@127.0.0.1:6379']) {
      const error = await sink({ url })
        .deliver([event(1)], new AbortController().signal)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      const message = (error as Error).message;
      expect(message).toContain('cannot connect to Redis at redis://');
      expect(message).toContain(':***@127.0.0.1');
      expect(message).not.toContain('s3cr3t-pw');
      expect(message.split('\n')).toHaveLength(1);
    }
  });

  it('is transient when the connection is lost mid-batch, and the retry connects again', async () => {
    const name = `redis-${randomUUID()}`;
    const target = sink({ name });
    const signal = new AbortController().signal;
    await target.deliver([event(1)], signal);
    const line = (await admin.clientList()).find((c) => c.name === `syncline-sink:${name}`);
    expect(line).toBeDefined();
    // Writes paused (1 s at most), so the batch's EXEC is in flight when its connection is killed.
    await admin.sendCommand(['CLIENT', 'PAUSE', '1000', 'WRITE']);
    const pending = target.deliver([event(2), event(3)], signal).catch((e: unknown) => e);
    try {
      await new Promise((r) => setTimeout(r, 50));
      await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(line!.id)]);
    } finally {
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    }
    const error = await pending;
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('failed mid-batch');
    await target.deliver([event(2), event(3)], signal); // the runner's retry: the same batch
    expect((await entries('items')).map((m) => m.seq)).toEqual(['1', '2', '3']);
  });

  it('is built from the config by buildSink, defaults applied', async () => {
    const resolved = resolveConfig({
      streams: [{ name: 'items', key: 'id', source: async function* () {} }],
      sinks: [{ name: 'events', type: 'redis', url: REDIS_URL, stream: `${prefix}{stream}`, maxLen: 50 }],
    } as never);
    expect(resolved.sinks[0]).toMatchObject({
      type: 'redis',
      url: REDIS_URL,
      keyTemplate: `${prefix}{stream}`,
      maxLen: 50,
      batchSize: 100,
    });
    const built = await buildSink(resolved.sinks[0]!);
    sinks.push(built);
    await built.deliver([event(1), event(2)], new AbortController().signal);
    expect((await entries('items')).map((m) => m.id)).toEqual(['items:1', 'items:2']);
  });
});

describe('the Redis sink in the config', () => {
  const message = (sink: Record<string, unknown>) => {
    try {
      resolveConfig({
        streams: [{ name: 'items', key: 'id', source: async function* () {} }],
        sinks: [{ name: 'events', type: 'redis', ...sink }],
      } as never);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('the config was accepted');
  };

  it('refuses a url that is not redis:// or rediss://, without repeating it', () => {
    expect(message({ url: 'http://127.0.0.1:6379' })).toContain(
      'sink "events" (sinks[0]): url: must be a redis:// or rediss:// URL',
    );
    const bad = message({ url: 'redis//user:s3cr3t-pw@host' });
    expect(bad).toContain('must be a redis:// or rediss:// URL');
    expect(bad).not.toContain('s3cr3t-pw');
    expect(message({ url: REDIS_URL, maxLen: 0 })).toContain('maxLen');
    expect(message({ url: REDIS_URL, batchSize: 1001 })).toContain('must be at most 1000');
  });

  it('defaults: key syncline:{stream}, no trimming, batches of 100', () => {
    const resolved = resolveConfig({
      streams: [{ name: 'items', key: 'id', source: async function* () {} }],
      sinks: [{ name: 'events', type: 'redis', url: REDIS_URL }],
    } as never);
    expect(resolved.sinks[0]).toEqual({
      name: 'events',
      type: 'redis',
      url: REDIS_URL,
      keyTemplate: 'syncline:{stream}',
      maxLen: null,
      streams: [],
      kinds: [],
      data: true,
      batchSize: 100,
      retry: { baseMs: 1000, maxMs: 300_000 },
      pauseAfterMs: 900_000,
    });
  });

  it('takes the url from the environment in a YAML config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-redis-'));
    try {
      const file = join(dir, 'syncline.config.yaml');
      writeFileSync(
        file,
        [
          'streams:',
          '  - name: items',
          '    key: id',
          '    request: { baseUrl: http://127.0.0.1:4010, path: /items }',
          '    pagination: { type: cursor, tokenPath: next, hasMorePath: more }',
          'sinks:',
          '  - name: events',
          '    type: redis',
          '    url: $' + '{REDIS_URL}',
          '    maxLen: 1000',
          '',
        ].join('\n'),
      );
      const config = await loadProjectConfig({
        file,
        cwd: dir,
        vars: { REDIS_URL: 'redis://u:pw@127.0.0.1:6379/2' },
      });
      expect(config.sinks[0]).toMatchObject({
        type: 'redis',
        url: 'redis://u:pw@127.0.0.1:6379/2',
        maxLen: 1000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
