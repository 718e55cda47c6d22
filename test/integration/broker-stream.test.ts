import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { ConfigError, TransientError } from '../../src/core/errors.ts';
import type { StandardSchemaV1 } from '../../src/core/standard-schema.ts';
import { type Logger, SILENT_LOGGER } from '../../src/core/types.ts';
import { type BrokerStreamConfig, broker } from '../../src/index.ts';
import { createRuntime, type Runtime } from '../../src/runtime/create-runtime.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { type Service, startService } from '../../src/runtime/service.ts';
import { sync } from '../../src/runtime/sync.ts';
import { natsReader } from '../../src/sources/broker/nats-reader.ts';
import { redisReader } from '../../src/sources/broker/redis-reader.ts';
import {
  BROKER_KINDS,
  type BrokerKind,
  type BrokerRig,
  debeziumEvent,
  NATS_DOWN,
  NATS_URL,
  openBrokerRig,
  REDIS_URL,
} from '../helpers/broker-rigs.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const CONSUMER = 'syncline_customers';

/** Throws (not a RecordError: the run stops before its commit) on a record while `boom.on`. */
const boom = { on: false, id: -1 };
const explosive: StandardSchemaV1<unknown, Record<string, unknown>> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      if (boom.on && (value as { id?: unknown }).id === boom.id) throw new Error('killed before the commit');
      return { value: value as Record<string, unknown> };
    },
  },
};

/** A test's broker (its own stream or key) and store, and a sync of its `customers` stream. */
function useBrokerTest(kind: BrokerKind, storeKind: (typeof STORE_KINDS)[number]) {
  let rig: BrokerRig | undefined;
  let t: TestStore | undefined;
  afterEach(async () => {
    await rig?.dispose();
    await t?.dispose();
    rig = undefined;
    t = undefined;
    boom.on = false;
  });

  async function start() {
    rig = await openBrokerRig(kind);
    t = await makeTestStore(storeKind);
    return rig;
  }
  function stream(over: Partial<BrokerStreamConfig> = {}) {
    return broker.stream({
      name: 'customers',
      key: 'id',
      format: 'debezium',
      broker: rig!.config(CONSUMER),
      idle: '100ms',
      ...over,
    } as BrokerStreamConfig);
  }
  async function run(over: Partial<BrokerStreamConfig> = {}, log?: Logger) {
    const config: SynclineConfig = { store: t!.location, streams: [stream(over)] };
    const [outcome] = await sync(config, log ? { log } : {});
    return outcome!;
  }
  async function rows() {
    const records = await t!.store.scanRecords('customers', { limit: 1000 });
    return Object.fromEntries(
      records.map((r) => [r.key, r.deletedAt ? 'deleted' : (r.data as { name: string }).name]),
    );
  }
  return { start, run, rows, store: () => t!.store };
}

/** Broker streams against the real brokers, the full Debezium case on each store. */
describe.each(BROKER_KINDS.flatMap((b) => STORE_KINDS.map((s) => [b, s] as const)))(
  'broker streams from %s on %s',
  (kind, storeKind) => {
    const { start, run, rows, store } = useBrokerTest(kind, storeKind);
    it('applies snapshot reads, inserts, updates and deletes; older and repeated events are stale, tombstones skipped, malformed ones dead-lettered; all acknowledged', async () => {
      const broker = await start();
      await broker.publish([
        debeziumEvent('r', { id: 1, name: 'Ada' }, 100),
        debeziumEvent('r', { id: 2, name: 'Bob' }, 100, { wrapped: true }),
        debeziumEvent('c', { id: 3, name: 'Cy' }, 110),
        debeziumEvent('u', { id: 1, name: 'Ada L.' }, 120, { before: { id: 1, name: 'Ada' } }),
        debeziumEvent('d', { id: 2, name: 'Bob' }, 130),
        null, // the tombstone Debezium sends after a delete
        debeziumEvent('u', { id: 1, name: 'Ada (older)' }, 115), // reordered: older than 120
        debeziumEvent('c', { id: 3, name: 'Cy' }, 110), // repeated by a restarted Debezium
        '{"op": "c", "after": ',
        JSON.stringify({ op: 't', source: { lsn: 140, ts_ms: 1 } }),
      ]);
      const first = await run();
      expect(first).toMatchObject({ status: 'ok' });
      expect(first.counters).toMatchObject({
        inserted: 3,
        updated: 1,
        deleted: 1,
        stale: 1,
        unchanged: 1,
        failed: 2,
      });
      expect(await rows()).toEqual({ '1': 'Ada L.', '2': 'deleted', '3': 'Cy' });
      const letters = await store().listDeadLetters({ stream: 'customers', limit: 10 });
      const where =
        kind === 'nats'
          ? /^nats stream syncline-test-\w+ seq (9|10) \(t\w+\.dbserver1\.public\.customers\): /
          : /^redis key \S+ entry \d+-\d+: /;
      expect(letters).toHaveLength(2);
      expect(letters.map((l) => l.reason)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`${where.source}a truncate \\(op t\\)`)),
          expect.stringMatching(new RegExp(`${where.source}the message is not JSON`)),
        ]),
      );
      expect(await broker.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
      const state = await store().getState('customers');
      expect(state?.checkpoint).toEqual(
        kind === 'nats'
          ? { nats: { stream: expect.any(String), seq: 10 } }
          : { redis: { key: expect.any(String), id: expect.stringMatching(/^\d+-\d+$/) } },
      );

      // A delete then the row made again; a rerun without news reads nothing.
      await broker.publish([
        debeziumEvent('c', { id: 2, name: 'Bob again' }, 150),
        debeziumEvent('d', { id: 3, name: 'Cy' }, 160),
      ]);
      const second = await run();
      expect(second.counters).toMatchObject({ fetched: 2, inserted: 0, updated: 1, deleted: 1 });
      expect(await rows()).toEqual({ '1': 'Ada L.', '2': 'Bob again', '3': 'deleted' });
      const third = await run();
      expect(third).toMatchObject({ status: 'ok', counters: { fetched: 0, pages: 0 } });
      expect(await broker.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
    });
  },
);

/** What does not depend on the store, on SQLite. */
describe.each(BROKER_KINDS)('broker streams from %s', (kind) => {
  const { start, run, rows, store } = useBrokerTest(kind, 'sqlite');
  it('acknowledges only committed pages: a run stopped before a commit leaves its messages to the next, which applies them once', async () => {
    const broker = await start();
    await broker.publish([1, 2, 3, 4, 5].map((id) => debeziumEvent('c', { id, name: `n${id}` }, 100 + id)));
    boom.on = true;
    boom.id = 3;
    const failed = await run({ schema: explosive, pageSize: 2 });
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('killed before the commit');
    // The first page (1, 2) committed and was acknowledged; 3 and what followed were not.
    expect(await rows()).toEqual({ '1': 'n1', '2': 'n2' });
    const backlog = await broker.backlog(CONSUMER);
    expect(backlog.unacked + backlog.undelivered).toBe(3);
    expect(backlog.unacked).toBeGreaterThan(0);

    boom.on = false;
    const next = await run({ schema: explosive, pageSize: 2 });
    expect(next).toMatchObject({
      status: 'ok',
      counters: { inserted: 3, updated: 0, unchanged: 0, stale: 0 },
    });
    expect(await rows()).toEqual({ '1': 'n1', '2': 'n2', '3': 'n3', '4': 'n4', '5': 'n5' });
    expect(await broker.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
  });

  it('stops at a page of which no message has the key, a wrong key, and commits and acknowledges nothing of it', async () => {
    const broker = await start();
    await broker.publish([1, 2, 3].map((id) => debeziumEvent('c', { id, name: `n${id}` }, 100 + id)));
    const outcome = await run({ key: 'customer_id' });
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toMatch(
      /^stream "customers": no message of a page \(3\) has the stream's key \(customer_id\), e\.g\. (nats|redis) .*customer_id.*; the page was not committed nor acknowledged\. Fix the stream's key and run again$/,
    );
    expect(await store().listDeadLetters({ stream: 'customers', limit: 10 })).toEqual([]);
    const backlog = await broker.backlog(CONSUMER);
    expect(backlog.unacked + backlog.undelivered).toBe(3);
    expect(await run()).toMatchObject({ status: 'ok', counters: { inserted: 3 } });
  });

  it('reads plain JSON events: one record a message, key, version and deleted from its fields', async () => {
    const broker = await start();
    const order = (id: number, version: number, name: string, deleted = false) =>
      JSON.stringify({ type: 'customer.changed', data: { id, version, name, deleted } });
    await broker.publish([
      order(1, 1, 'Ada'),
      order(2, 1, 'Bob'),
      order(1, 3, 'Ada L.'),
      order(1, 2, 'Ada (older)'),
      order(2, 2, 'Bob', true),
      JSON.stringify({ type: 'customer.changed', data: { name: 'no id' } }),
    ]);
    const outcome = await run({ format: 'json', record: 'data', version: 'version', deleted: 'deleted' });
    expect(outcome.counters).toMatchObject({ inserted: 2, updated: 1, stale: 1, deleted: 1, failed: 1 });
    expect(await rows()).toEqual({ '1': 'Ada L.', '2': 'deleted' });
    const [letter] = await store().listDeadLetters({ stream: 'customers', limit: 10 });
    expect(letter?.reason).toMatch(
      kind === 'nats' ? /^nats stream \S+ seq 6 / : /^redis key \S+ entry \d+-\d+: /,
    );
    expect(await broker.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
  });
});

describe('broker streams from redis, a connection lost mid-run', () => {
  const { start, run, rows } = useBrokerTest('redis', 'sqlite');

  it('resume after the pages handed over and acknowledge every message once committed', async () => {
    const broker = await start();
    await broker.publish(
      Array.from({ length: 300 }, (_, i) => debeziumEvent('c', { id: i + 1, name: `n${i + 1}` }, 100 + i)),
    );
    const admin = createClient({ url: REDIS_URL });
    admin.on('error', () => undefined);
    await admin.connect();
    let killed = 0;
    const cutter: StandardSchemaV1<unknown, Record<string, unknown>> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate(value) {
          if ((value as { id?: unknown }).id === 120 && killed++ === 0) {
            // The stream's reading connection (its client name) is cut while pages are in flight.
            void admin.clientList().then(async (clients) => {
              const reads = clients.find((c) => c.name === 'syncline:customers');
              if (reads) await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(reads.id)]);
            });
          }
          return { value: value as Record<string, unknown> };
        },
      },
    };
    try {
      const outcome = await run({ schema: cutter, pageSize: 20 });
      expect(outcome).toMatchObject({ status: 'ok' });
      expect(outcome.counters.retries).toBeGreaterThanOrEqual(1);
      expect(outcome.counters).toMatchObject({ inserted: 300, updated: 0, unchanged: 0, failed: 0 });
      expect(Object.keys(await rows())).toHaveLength(300);
      expect(await broker.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
    } finally {
      await admin.close();
    }
  });
});

describe('broker streams from redis, the entries', () => {
  const { start, run, rows } = useBrokerTest('redis', 'sqlite');

  const newAdmin = () => createClient({ url: REDIS_URL });
  async function withAdmin<T>(use: (admin: ReturnType<typeof newAdmin>) => Promise<T>): Promise<T> {
    const admin = newAdmin();
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      return await use(admin);
    } finally {
      await admin.close();
    }
  }
  const keyOf = (rig: BrokerRig) => (rig.config(CONSUMER) as { redis: { key: string } }).redis.key;

  it('reads the compact format (one field: key -> value), and the field named by field', async () => {
    const rig = await start();
    const key = keyOf(rig);
    await withAdmin(async (admin) => {
      await admin.xAdd(key, '*', { '{"id":1}': debeziumEvent('c', { id: 1, name: 'compact' }, 100) });
      await admin.xAdd(key, '*', {
        value: debeziumEvent('c', { id: 2, name: 'extended' }, 101),
        key: '{"id":2}',
      });
    });
    expect(await run()).toMatchObject({ status: 'ok', counters: { inserted: 2 } });
    expect(await rows()).toEqual({ '1': 'compact', '2': 'extended' });
    await withAdmin(async (admin) => {
      await admin.xAdd(key, '*', { event: debeziumEvent('u', { id: 1, name: 'named' }, 102), other: 'x' });
    });
    const outcome = await run({
      broker: { redis: { url: REDIS_URL, key, group: CONSUMER, field: 'event' } },
    });
    expect(outcome).toMatchObject({ status: 'ok', counters: { updated: 1 } });
    expect(await rows()).toEqual({ '1': 'named', '2': 'extended' });
  });

  it('warns of pending entries trimmed before they were applied', async () => {
    const rig = await start();
    await rig.publish([1, 2, 3].map((id) => debeziumEvent('c', { id, name: `n${id}` }, 100 + id)));
    boom.on = true;
    boom.id = 1;
    expect(await run({ schema: explosive })).toMatchObject({ status: 'failed' });
    expect(await rig.backlog(CONSUMER)).toEqual({ unacked: 3, undelivered: 0 });
    boom.on = false;
    const key = keyOf(rig);
    await withAdmin(async (admin) => {
      const [first, second] = ((await admin.xRange(key, '-', '+')) ?? []).map((e) => e.id);
      await admin.xDel(key, [first!, second!]);
    });
    const warnings: string[] = [];
    const log: Logger = { ...SILENT_LOGGER, warn: (_obj, msg) => void warnings.push(String(msg)) };
    expect(await run({ schema: explosive }, log)).toMatchObject({ status: 'ok', counters: { inserted: 1 } });
    expect(await rows()).toEqual({ '3': 'n3' });
    expect(warnings).toContainEqual(
      expect.stringMatching(
        /^2 entries delivered and not yet committed were trimmed from ".*" \(MAXLEN or XDEL\) before they could be applied: lost$/,
      ),
    );
    expect(await rig.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
  });
});

describe.each(BROKER_KINDS)('broker streams from %s under syncline run', (kind) => {
  let rig: BrokerRig | undefined;
  let t: TestStore | undefined;
  let runtime: Runtime | undefined;
  let service: Service | undefined;
  afterEach(async () => {
    await service?.stop();
    await runtime?.close();
    await rig?.dispose();
    await t?.dispose();
    service = runtime = rig = t = undefined;
  });

  it('syncs on its schedule what keeps coming, and a stop leaves nothing unacknowledged', async () => {
    rig = await openBrokerRig(kind);
    t = await makeTestStore('sqlite');
    const config: SynclineConfig = {
      store: t.location,
      streams: [
        broker.stream({
          name: 'customers',
          key: 'id',
          format: 'debezium',
          broker: rig.config(CONSUMER),
          idle: '100ms',
          schedule: { every: '1s', jitter: 0 },
        }),
      ],
    };
    runtime = createRuntime({ config: { code: config }, store: t.location });
    service = await startService({ runtime, log: SILENT_LOGGER });
    await service.start();
    const names = async () => {
      const records = await t!.store.scanRecords('customers', { limit: 100 }).catch(() => []);
      return records.filter((r) => r.deletedAt === null).map((r) => (r.data as { name: string }).name);
    };
    const until = async (check: () => Promise<boolean>) => {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`not synced in time: ${JSON.stringify(await names())}`);
        await sleep(100);
      }
    };
    await rig.publish([debeziumEvent('c', { id: 1, name: 'first' }, 100)]);
    await until(async () => (await names()).includes('first'));
    await rig.publish([
      debeziumEvent('u', { id: 1, name: 'second' }, 110),
      debeziumEvent('c', { id: 2, name: 'other' }, 111),
    ]);
    await until(async () => (await names()).sort().join() === 'other,second');
    await service.stop();
    service = undefined;
    expect(await rig.backlog(CONSUMER)).toEqual({ unacked: 0, undelivered: 0 });
  });
});

describe('broker streams from nats, the stream itself', () => {
  it('stops when the stream was made again behind the checkpoint, rather than wait for sequences it passed', async () => {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false });
    } catch {
      throw new Error(NATS_DOWN);
    }
    const t = await makeTestStore('sqlite');
    const name = `syncline-test-${randomUUID().replaceAll('-', '')}`;
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const config: SynclineConfig = {
      store: t.location,
      streams: [
        broker.stream({
          name: 'customers',
          key: 'id',
          format: 'debezium',
          broker: { nats: { stream: name } },
          idle: '100ms',
        }),
      ],
    };
    try {
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      for (const id of [1, 2, 3])
        await js.publish(`${name}.c`, debeziumEvent('c', { id, name: `n${id}` }, id));
      expect((await sync(config))[0]).toMatchObject({ status: 'ok', counters: { inserted: 3 } });
      await jsm.streams.delete(name);
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      await js.publish(`${name}.c`, debeziumEvent('c', { id: 4, name: 'n4' }, 4));
      const [outcome] = await sync(config);
      expect(outcome).toMatchObject({ status: 'failed' });
      expect(outcome?.error).toBe(
        `stream "customers": JetStream stream "${name}" ends at sequence 1, before the committed 3: it was deleted and made again; run \`syncline reset customers\` to read it afresh`,
      );
    } finally {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
      await t.dispose();
    }
  });

  it('refuses a JetStream stream whose retention would drop messages when the consumer is recreated', async () => {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false });
    } catch {
      throw new Error(NATS_DOWN);
    }
    const t = await makeTestStore('sqlite');
    const name = `syncline-test-${randomUUID().replaceAll('-', '')}`;
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.add({ name, subjects: [`${name}.>`], retention: RetentionPolicy.Interest });
      const [outcome] = await sync({
        store: t.location,
        streams: [
          broker.stream({
            name: 'customers',
            key: 'id',
            format: 'debezium',
            broker: { nats: { stream: name } },
          }),
        ],
      });
      expect(outcome).toMatchObject({ status: 'failed' });
      expect(outcome?.error).toBe(
        `stream "customers": JetStream stream "${name}" has interest retention; a broker stream reads a stream with limits retention (the default: keep messages by max_age, max_msgs, max_bytes)`,
      );
    } finally {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
      await t.dispose();
    }
  });
});

describe('broker readers that cannot connect', () => {
  it('say where without the credentials, and the error is retried', async () => {
    const port = await closedPort();
    const nats = natsReader({
      stream: 'customers',
      url: `nats://ref:s3cret@127.0.0.1:${port}`,
      auth: null,
      jsStream: 'DBZ',
      subject: null,
      durable: 'syncline_customers',
      start: 'first',
      ackWaitMs: 60_000,
      maxAckPending: 10_000,
    });
    const redis = redisReader({
      stream: 'customers',
      url: `redis://ref:s3cret@127.0.0.1:${port}`,
      key: 'k',
      group: 'g',
      consumer: 'c',
      start: 'first',
      field: null,
    });
    for (const [reader, where] of [
      [nats, `nats://127.0.0.1:${port}`],
      [redis, `redis://ref:***@127.0.0.1:${port}`],
    ] as const) {
      const error = await reader.open(null).then(
        () => null,
        (e: unknown) => e,
      );
      await reader.close();
      expect(error).toBeInstanceOf(TransientError);
      const message = (error as Error).message;
      expect(message).toContain(
        `stream "customers": cannot connect to ${where.startsWith('nats') ? 'NATS' : 'Redis'} at ${where}`,
      );
      expect(message).toMatch(/refused/i);
      expect(message).not.toContain('s3cret');
    }
  });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('broker stream config', () => {
  const base = { name: 'customers', key: 'id', format: 'debezium', broker: { nats: { stream: 'DBZ' } } };
  const problem = (stream: Record<string, unknown>) => {
    try {
      resolveConfig({ store: ':memory:', streams: [broker.stream(stream as never)] });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain('\n');
      return (error as Error).message;
    }
    return 'accepted';
  };

  it('refuses what a broker stream cannot do, in one line naming the stream and the field', () => {
    expect(problem(base)).toBe('accepted');
    expect(problem({ ...base, version: 'updated_at' })).toMatch(
      /^stream "customers": version: a Debezium stream takes its version from the events/,
    );
    expect(problem({ ...base, deleted: 'gone' })).toMatch(/^stream "customers": deleted: /);
    expect(problem({ ...base, record: 'data' })).toMatch(
      /^stream "customers": record: record is for format json/,
    );
    expect(problem({ ...base, format: 'avro' })).toBe('stream "customers": format: must be debezium or json');
    expect(problem({ ...base, broker: { nats: {} } })).toMatch(/^stream "customers": broker\.nats\.stream: /);
    expect(problem({ ...base, broker: { nats: { stream: 'DBZ', url: 'http://x:4222' } } })).toBe(
      'stream "customers": broker.nats.url: must start with nats:// or tls:// (got http://)',
    );
    expect(
      problem({ ...base, broker: { nats: { stream: 'DBZ', url: 'nats://x', urlEnv: 'NATS_URL' } } }),
    ).toBe('stream "customers": broker.nats.urlEnv: give url or urlEnv, not both');
    expect(problem({ ...base, broker: { redis: { key: 'k' }, nats: { stream: 'DBZ' } } })).toMatch(
      /^stream "customers": broker: must name exactly one broker/,
    );
    expect(problem({ ...base, broker: { redis: { key: 'k', grop: 'g' } } })).toMatch(
      /^stream "customers": broker\.redis\.grop: unknown key; did you mean "group"\?/,
    );
  });

  it('is type: broker in YAML, and never shows a password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-broker-'));
    try {
      const file = join(dir, 'syncline.config.yaml');
      writeFileSync(
        file,
        [
          'streams:',
          '  - name: customers',
          '    type: broker',
          '    key: id',
          '    format: debezium',
          '    broker:',
          '      nats: { url: $' + '{NATS_URL}, stream: DBZ, subject: dbserver1.public.customers }',
          '  - name: orders',
          '    type: broker',
          '    key: id',
          '    format: json',
          '    version: version',
          '    broker:',
          '      redis: { urlEnv: ORDERS_REDIS_URL, key: orders }',
          '',
        ].join('\n'),
      );
      const config = await loadProjectConfig({
        file,
        cwd: dir,
        vars: { NATS_URL: 'nats://u:s3cret@127.0.0.1:4222' },
      });
      const [customers, orders] = config.streams;
      expect(customers?.sourceInfo).toMatchObject({ kind: 'broker' });
      expect(customers?.sourceInfo?.reads).toContain('nats://u:***@127.0.0.1:4222');
      expect(JSON.stringify(customers?.sourceInfo)).not.toContain('s3cret');
      expect(customers).toMatchObject({ version: '__version', deleted: '__deleted' });
      expect(orders?.sourceInfo).toMatchObject({ kind: 'broker', secrets: ['ORDERS_REDIS_URL'] });

      writeFileSync(
        file,
        [
          'streams:',
          '  - name: customers',
          '    type: broker',
          '    key: id',
          '    broker: { redis: { key: k } }',
          '',
        ].join('\n'),
      );
      await expect(loadProjectConfig({ file, cwd: dir })).rejects.toThrow(/customers.*format/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
