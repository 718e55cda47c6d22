import { randomUUID } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from 'redis';
import type { BrokerConfig } from '../../src/sources/broker/broker-stream-config.ts';

export const NATS_URL = 'nats://127.0.0.1:4222';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const NATS_DOWN =
  'NATS (with JetStream) is not answering on 127.0.0.1:4222; start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server';
export const REDIS_DOWN =
  'Redis is not answering on 127.0.0.1:6379; start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

export const BROKER_KINDS = ['nats', 'redis'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

/** What is left in the broker for the stream's consumer: delivered and unacknowledged, and not yet delivered. */
export interface Backlog {
  readonly unacked: number;
  readonly undelivered: number;
}

/**
 * One broker as a test uses it: a JetStream stream or a Redis key of the test's own (a unique
 * name, deleted by `dispose`), messages published as Debezium Server's sinks publish them, and the
 * consumer's backlog. Connecting fails with how to start the broker.
 */
export interface BrokerRig {
  readonly kind: BrokerKind;
  /** The `broker:` block of a stream reading it (`consumer`: the durable or the group). */
  config(consumer: string): BrokerConfig;
  /** Publishes message bodies in order (null: an empty message, a Kafka-style tombstone). */
  publish(bodies: readonly (string | null)[]): Promise<void>;
  backlog(consumer: string): Promise<Backlog>;
  dispose(): Promise<void>;
}

export async function openBrokerRig(kind: BrokerKind): Promise<BrokerRig> {
  return kind === 'nats' ? openNatsRig() : openRedisRig();
}

async function openNatsRig(): Promise<BrokerRig> {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  try {
    nc = await connect({ servers: NATS_URL, timeout: 2000, reconnect: false });
    jsm = await jetstreamManager(nc, { timeout: 2000 });
    await jsm.getAccountInfo();
  } catch {
    throw new Error(NATS_DOWN);
  }
  const id = randomUUID().replaceAll('-', '');
  const stream = `syncline-test-${id}`;
  const subject = `t${id}.dbserver1.public.customers`;
  await jsm.streams.add({ name: stream, subjects: [`t${id}.>`] });
  const js: JetStreamClient = jetstream(nc);
  const encoder = new TextEncoder();
  return {
    kind: 'nats',
    config: (consumer) => ({ nats: { url: NATS_URL, stream, subject, durable: consumer } }),
    async publish(bodies) {
      for (const body of bodies)
        await js.publish(subject, body === null ? new Uint8Array() : encoder.encode(body));
    },
    async backlog(consumer) {
      const info = await jsm.consumers.info(stream, consumer);
      return { unacked: info.num_ack_pending, undelivered: info.num_pending };
    },
    async dispose() {
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
    },
  };
}

async function openRedisRig(): Promise<BrokerRig> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch {
    throw new Error(REDIS_DOWN);
  }
  const key = `syncline-test:${randomUUID()}:dbserver1.public.customers`;
  return {
    kind: 'redis',
    config: (consumer) => ({ redis: { url: REDIS_URL, key, group: consumer } }),
    async publish(bodies) {
      // Debezium Server's Redis sink, extended format: the record's key and value as fields.
      for (const body of bodies) await client.xAdd(key, '*', { key: '{}', value: body ?? '' });
    },
    async backlog(consumer) {
      const groups = (await client.xInfoGroups(key)) as unknown as {
        name: string;
        pending: number;
        lag: number;
      }[];
      const group = groups.find((g) => g.name === consumer);
      if (!group) throw new Error(`no group ${consumer} on ${key}`);
      return { unacked: Number(group.pending), undelivered: Number(group.lag) };
    },
    async dispose() {
      await client.del(key).catch(() => undefined);
      await client.close();
    },
  };
}

/** A Debezium PostgreSQL change event (JSON converter, schemas off), as Debezium Server publishes it. */
export function debeziumEvent(
  op: 'c' | 'u' | 'd' | 'r',
  row: { readonly id: number; readonly [field: string]: unknown },
  lsn: number,
  options: { before?: object | null; wrapped?: boolean } = {},
): string {
  const ts = 1_765_000_000_000 + lsn;
  const payload = {
    before: op === 'd' ? row : (options.before ?? null),
    after: op === 'd' ? null : row,
    source: {
      version: '2.7.3.Final',
      connector: 'postgresql',
      name: 'dbserver1',
      ts_ms: ts,
      snapshot: op === 'r' ? 'true' : 'false',
      db: 'shop',
      schema: 'public',
      table: 'customers',
      txId: 700 + lsn,
      lsn,
    },
    op,
    ts_ms: ts + 5,
  };
  return JSON.stringify(options.wrapped ? { schema: { type: 'struct', optional: false }, payload } : payload);
}
