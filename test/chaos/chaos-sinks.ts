import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createClient } from 'redis';
import { Webhook } from 'standardwebhooks';
import type { ChangeFeed } from '../../src/core/store.ts';
import type { ChangeRow } from '../../src/core/types.ts';
import { connectSse, type SseConnection } from '../helpers/sse-client.ts';
import { ChaosRandom } from './chaos-schedule.ts';

/** One event as a consumer received it (every receipt, duplicates included, in receipt order). */
export interface ReceivedEvent {
  readonly id: string;
  readonly seq: number;
  readonly stream: string;
  readonly key: string;
  readonly kind: string;
  /**
   * Receipts of one channel are in the order the sink sent them, so the order of first receipts is
   * checked per channel: one for a webhook, one per Redis stream key (entries of different keys
   * have no common order).
   */
  readonly channel: string;
}

/**
 * The consumer side of one sink in a chaos run: it receives what the sink delivers, as a user's
 * consumer would. Another kind of sink joins the chaos run with one more observer in
 * `startSinkObservers`: its config entry, a consumer started before the services, and what it got.
 */
export interface SinkObserver {
  /** The sink's name (its config entry's `name`). */
  readonly name: string;
  /** The sink's entry in the config's `sinks:` list (valid once `start()` resolved). */
  config(): Record<string, unknown>;
  /** Environment variables every child process needs (a secret). */
  readonly env: Readonly<Record<string, string>>;
  /** Starts receiving (a server, a connection); throws, saying how to fix it, when it cannot. */
  start(): Promise<void>;
  /** Every receipt so far, in receipt order. */
  events(): Promise<readonly ReceivedEvent[]>;
  /** What the consumer did on purpose or saw wrong, for the report (`"31 answered 500/503"`). */
  notes(): string;
  /** Problems the consumer saw itself (a bad signature): each is a difference. */
  problems(): readonly string[];
  /** Stops and removes what it made (servers, keys). */
  stop(): Promise<void>;
  /**
   * A sink `syncline run` serves to clients itself (sse): no offset in `syncline_consumers`, so
   * the harness waits for `position()` instead, and `syncline sinks run` does not serve it.
   */
  readonly servedByService?: boolean;
  /** The API URL of a `syncline run` that just started listening (`servedByService` observers). */
  serviceListening?(url: string): void;
  /** The highest seq received so far (`servedByService` observers): caught up once it reaches the log's. */
  position?(): number;
}

/**
 * The sinks a `--sinks` chaos run delivers to: a webhook receiver of the first two streams (a
 * filter: the other streams' rows must still move its offset, and a webhook, one request per 20
 * events, would take a minute over the whole initial load) and a Redis stream per stream, all of them.
 */
export function sinkObservers(seed: number, streams: readonly string[]): SinkObserver[] {
  return [
    webhookObserver(seed, streams.length > 2 ? streams.slice(0, 2) : undefined),
    redisObserver(),
    natsObserver(),
    sseObserver(),
  ];
}

export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * A webhook sink (batches of 20) to a receiver on 127.0.0.1 that verifies every request (Standard
 * Webhooks, on the raw body) and, seeded, answers 500 or 503 or hangs past the sink's timeout for
 * 5% of them, so retries and redeliveries happen; never a 4xx, which would reject events for good.
 */
export function webhookObserver(seed: number, streams?: readonly string[]): SinkObserver {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const secretEnv = 'SYNCLINE_CHAOS_WEBHOOK_SECRET';
  const verifier = new Webhook(secret);
  const random = new ChaosRandom(seed * 7919 + 17);
  const received: ReceivedEvent[] = [];
  const problems: string[] = [];
  const faults = { 500: 0, 503: 0, hang: 0, requests: 0, aborted: 0 };
  let server: Server | null = null;
  let url = '';

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      faults.aborted++; // the sending process was killed mid-request
      return;
    }
    if (!req.complete) {
      faults.aborted++;
      return;
    }
    faults.requests++;
    const body = Buffer.concat(chunks).toString('utf8');
    let payload: { events?: unknown[] } | Record<string, unknown>;
    try {
      payload = verifier.verify(body, req.headers as Record<string, string>) as typeof payload;
    } catch (error) {
      problems.push(`a request failed verification: ${(error as Error).message}`);
      // A 5xx: the sink sends it again, so a bad signature shows here without losing events.
      res.writeHead(500).end();
      return;
    }
    const roll = random.next();
    if (roll < 0.02) {
      faults[500]++;
      res.writeHead(500).end();
      return;
    }
    if (roll < 0.035) {
      faults[503]++;
      res.writeHead(503).end();
      return;
    }
    const events = Array.isArray((payload as { events?: unknown[] }).events)
      ? ((payload as { events: unknown[] }).events as Record<string, unknown>[])
      : [payload as Record<string, unknown>];
    // Recorded on receipt: a hung request was handled, only its answer comes too late.
    for (const event of events) received.push(receivedOf(event, 'webhook'));
    if (roll < 0.05) {
      faults.hang++;
      await sleep(random.int(1200, 2500)); // past the sink's 1 s timeout: it sends the batch again
    }
    if (!res.destroyed) res.writeHead(200).end();
  };

  return {
    name: 'chaos_webhook',
    env: { [secretEnv]: secret },
    config: () => ({
      name: 'chaos_webhook',
      type: 'webhook',
      url,
      secretEnv,
      ...(streams ? { streams } : {}),
      allowPrivateTargets: true,
      batchSize: 20,
      timeout: '1s',
      retry: { base: '50ms', max: '1s' },
    }),
    async start() {
      server = createServer((req, res) => {
        handle(req, res).catch(() => res.destroy());
      });
      server.keepAliveTimeout = 1000;
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(0, '127.0.0.1', () => resolve());
      });
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    },
    events: async () => received,
    notes: () =>
      `${faults.requests} requests, ${faults[500]} answered 500, ${faults[503]} answered 503, ${faults.hang} hung past the timeout, ${faults.aborted} cut off by a kill`,
    problems: () => problems,
    async stop() {
      const s = server;
      server = null;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** How to start the Redis the `--sinks` chaos runs need. */
export const REDIS_HOWTO =
  'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

/**
 * A Redis sink to 127.0.0.1:6379 under a key prefix of its own (one Redis stream per Syncline
 * stream), read back with XRANGE at the end; its keys are deleted on `stop()`.
 */
export function redisObserver(url = REDIS_URL): SinkObserver {
  const prefix = `syncline-chaos:${process.pid}-${randomBytes(4).toString('hex')}:`;
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  const keys = async () => {
    const found: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) found.push(...batch);
    return found.sort();
  };
  return {
    name: 'chaos_redis',
    env: {},
    config: () => ({
      name: 'chaos_redis',
      type: 'redis',
      url,
      stream: `${prefix}{stream}`,
      batchSize: 100,
      retry: { base: '50ms', max: '1s' },
    }),
    async start() {
      try {
        await client.connect();
        await client.ping();
      } catch (error) {
        if (client.isOpen) client.destroy();
        throw new Error(
          `the chaos run's redis sink needs Redis at ${url} (${(error as Error).message}); ${REDIS_HOWTO}`,
        );
      }
    },
    async events() {
      const received: ReceivedEvent[] = [];
      for (const key of await keys()) {
        let start = '-';
        for (;;) {
          const entries = (await client.xRange(key, start, '+', { COUNT: 5000 })) ?? [];
          for (const entry of entries) {
            const event = JSON.parse(String(entry.message.event)) as Record<string, unknown>;
            if (event.id !== entry.message.id || String(event.seq) !== entry.message.seq) {
              received.push({ ...receivedOf(event, key), id: `mismatched fields ${entry.id}` });
            } else received.push(receivedOf(event, key));
          }
          if (entries.length < 5000) break;
          start = `(${entries.at(-1)!.id}`;
        }
      }
      return received;
    },
    notes: () => `key prefix ${prefix}`,
    problems: () => [],
    async stop() {
      if (!client.isOpen) return;
      const found = await keys().catch(() => []);
      if (found.length > 0) await client.del(found).catch(() => undefined);
      await client.close().catch(() => client.destroy());
    },
  };
}

/** How to start the NATS server (with JetStream) the `--sinks` chaos runs need. */
export const NATS_HOWTO =
  'start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server';

export const NATS_URL = 'nats://127.0.0.1:4222';

/**
 * A NATS sink into a JetStream stream of this run's own (its name and subject prefix are random),
 * created by the sink's `createStream`; read back at the end with an ordered consumer (the stream's
 * order, which is the order JetStream stored the publishes in) and deleted on `stop()`.
 */
export function natsObserver(url = NATS_URL): SinkObserver {
  const tag = `${process.pid}${randomBytes(4).toString('hex')}`;
  const streamName = `SYNCLINE_CHAOS_${tag}`;
  const prefix = `chaos${tag}`;
  let nc: NatsConnection | null = null;
  let stored = 0;
  return {
    name: 'chaos_nats',
    env: {},
    config: () => ({
      name: 'chaos_nats',
      type: 'nats',
      url,
      subject: `${prefix}.{stream}.{kind}`,
      createStream: { name: streamName, subjects: [`${prefix}.>`] },
      batchSize: 100,
      timeout: '2s',
      retry: { base: '50ms', max: '1s' },
    }),
    async start() {
      try {
        nc = await connect({ servers: url, timeout: 2000, reconnect: false, name: 'syncline-chaos' });
        await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
      } catch (error) {
        await nc?.close().catch(() => undefined);
        nc = null;
        throw new Error(
          `the chaos run's nats sink needs NATS with JetStream at ${url} (${(error as Error).message}); ${NATS_HOWTO}`,
        );
      }
    },
    async events() {
      if (!nc) return [];
      const jsm = await jetstreamManager(nc);
      try {
        stored = (await jsm.streams.info(streamName)).state.messages;
      } catch (error) {
        if ((error as Error).name === 'StreamNotFoundError') return []; // the sink never delivered
        throw error;
      }
      const received: ReceivedEvent[] = [];
      if (stored === 0) return received;
      const consumer = await jetstream(nc).consumers.get(streamName); // ordered, from the first message
      const messages = await consumer.consume({ max_messages: 1000 });
      for await (const m of messages) {
        const event = m.json<Record<string, unknown>>();
        const msgId = m.headers?.get('Nats-Msg-Id');
        const subject = `${prefix}.${String(event.stream)}.${String(event.kind)}`;
        received.push(
          msgId !== event.id || m.subject !== subject
            ? { ...receivedOf(event, 'nats'), id: `mismatched header or subject ${m.subject} #${m.seq}` }
            : receivedOf(event, 'nats'),
        );
        if (m.info.pending === 0) break;
      }
      messages.stop();
      return received;
    },
    notes: () => `stream ${streamName}, ${stored} messages`,
    problems: () => [],
    async stop() {
      const open = nc;
      nc = null;
      if (!open) return;
      try {
        await (await jetstreamManager(open)).streams.delete(streamName);
      } catch {
        // never created, or already gone
      }
      await open.close().catch(() => undefined);
    },
  };
}

/**
 * An sse sink (`GET /v1/events` of `syncline run`) and a client of it: it connects to each service
 * the harness starts (`serviceListening`), from the start with `?since=0`, and after every
 * disconnect (a kill, a stop) again with `Last-Event-ID` = the last seq it received, every 200 ms
 * until a service answers. An `event: reset` (retention) never may happen here: a problem.
 */
export function sseObserver(options: { readonly retryMs?: number } = {}): SinkObserver {
  const retryMs = options.retryMs ?? 200;
  const kinds = ['insert', 'update', 'delete'];
  const received: ReceivedEvent[] = [];
  const problems: string[] = [];
  const counts = { connections: 0, failed: 0, refused: 0, errors: 0, firstResets: 0 };
  let url: string | null = null;
  let last = 0;
  /** Where the first connection starts (`since`): 0, or past the seqs a PostgreSQL log never used. */
  let startAfter = 0;
  let connection: SseConnection | null = null;
  let stopped = false;
  let loop: Promise<void> | null = null;
  const token = process.env.SYNCLINE_API_TOKEN;

  const take = (message: { id?: string; event?: string; data?: string }) => {
    if (message.event === 'change') {
      const event = JSON.parse(message.data ?? '{}') as Record<string, unknown>;
      if (String(event.seq) !== message.id) {
        received.push({ ...receivedOf(event, 'sse'), id: `mismatched id: ${message.id}` });
      } else {
        received.push(receivedOf(event, 'sse'));
        last = Math.max(last, Number(event.seq));
      }
    } else if (message.event === 'reset') {
      // Nothing is pruned here (retention 7d), but on PostgreSQL a first transaction that was
      // killed leaves seq 1 unused, and `since=0` then looks pruned (documented: errs towards a
      // reset). Only before the first event is that expected: start again after its oldest seq.
      const oldest = (JSON.parse(message.data ?? '{}') as { oldestSeq?: number | null }).oldestSeq;
      if (last === 0 && typeof oldest === 'number' && oldest > 1) {
        counts.firstResets++;
        startAfter = oldest - 1;
      } else {
        problems.push(`event: reset after seq ${last}: ${message.data}`);
      }
    } else if (message.event === 'error') {
      counts.errors++;
    } else if (message.event !== undefined && problems.length < 4) {
      problems.push(`unexpected event: ${message.event}`);
    }
  };

  const follow = async () => {
    while (!stopped) {
      const base = url;
      if (base === null) {
        await sleep(retryMs);
        continue;
      }
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (last > 0) headers['last-event-id'] = String(last);
      let conn: SseConnection;
      try {
        conn = await connectSse(`${base}/v1/events${last > 0 ? '' : `?since=${startAfter}`}`, headers);
      } catch {
        counts.failed++;
        await sleep(retryMs); // no service there (killed, not started yet)
        continue;
      }
      if (!conn.response.ok) {
        counts.refused++; // 503: stopping, or still starting
        if (conn.response.status !== 503 && problems.length < 4) {
          problems.push(`GET /v1/events answered ${conn.response.status}`);
        }
        conn.close();
        await sleep(retryMs);
        continue;
      }
      counts.connections++;
      connection = conn;
      let taken = 0;
      let ended = false;
      void conn.ended.then(() => {
        ended = true;
      });
      for (;;) {
        const done = ended;
        while (taken < conn.messages.length) take(conn.messages[taken++]!);
        if (done || stopped) break;
        await Promise.race([conn.ended, sleep(50)]);
      }
      conn.messages.length = 0;
      conn.close();
      connection = null;
      if (!stopped) await sleep(retryMs);
    }
  };

  return {
    name: 'chaos_sse',
    env: {},
    servedByService: true,
    config: () => ({ name: 'chaos_sse', type: 'sse', kinds, data: false, heartbeat: '2s' }),
    async start() {
      loop = follow();
    },
    serviceListening(next) {
      url = next;
    },
    position: () => last,
    events: async () => received,
    notes: () =>
      `${counts.connections} connections, ${counts.failed} failed to connect, ${counts.refused} refused, ${counts.errors} too-slow errors, ${counts.firstResets} resets before the first event, last seq ${last}`,
    problems: () => problems,
    async stop() {
      stopped = true;
      connection?.close();
      await loop;
    },
  };
}

function receivedOf(event: Record<string, unknown>, channel: string): ReceivedEvent {
  return {
    id: String(event.id),
    seq: Number(event.seq),
    stream: String(event.stream),
    key: String(event.key),
    kind: String(event.kind),
    channel,
  };
}

/** What one sink's consumer got against the change log. */
export interface SinkCheck {
  readonly name: string;
  /** Change-log rows the sink's filter selects. */
  readonly inLog: number;
  /** Receipts, duplicates included. */
  readonly received: number;
  /** Receipts of an id received before (allowed: at least once). */
  readonly duplicates: number;
  /** Log rows never received: a gap. */
  readonly missing: number;
  /** Receipts of no log row (or not matching its stream, key and kind, or outside the filter). */
  readonly unknown: number;
  /** What the consumer refused (a request failing verification). */
  readonly invalid: number;
  /** First receipts of an id after the first receipt of a higher seq on the same channel. */
  readonly outOfOrder: number;
  readonly notes: string;
  /** The first differences, worded. */
  readonly differences: string[];
}

/** Every change-log row, ascending: the whole log, which nothing pruned during the run. */
export async function readWholeLog(feed: ChangeFeed): Promise<ChangeRow[]> {
  const rows: ChangeRow[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await feed.readChanges({ afterSeq, limit: 5000 });
    rows.push(...page);
    if (page.length < 5000) return rows;
    afterSeq = page.at(-1)!.seq;
  }
}

/** The change-log rows a sink's config entry selects (its `streams` and `kinds`). */
export function wantedRows(config: Record<string, unknown>, log: readonly ChangeRow[]): ChangeRow[] {
  const streams = Array.isArray(config.streams) ? new Set(config.streams as string[]) : null;
  const kinds = Array.isArray(config.kinds) ? new Set(config.kinds as string[]) : null;
  return log.filter((r) => (!streams || streams.has(r.stream)) && (!kinds || kinds.has(r.kind)));
}

/**
 * Checks one sink's receipts against the log: every row its filter selects received at least once
 * (no gap), nothing received that the log (filtered) does not hold, and on each channel the first
 * receipts in increasing seq order; duplicates are counted, not wrong.
 */
export async function checkSink(observer: SinkObserver, log: readonly ChangeRow[]): Promise<SinkCheck> {
  const wanted = wantedRows(observer.config(), log);
  const byId = new Map(wanted.map((r) => [`${r.stream}:${r.seq}`, r]));
  const received = await observer.events();
  const differences = observer
    .problems()
    .slice(0, 4)
    .map((p) => `${observer.name}: ${p}`);
  const seen = new Set<string>();
  const lastSeq = new Map<string, number>();
  let duplicates = 0;
  let unknown = 0;
  let outOfOrder = 0;
  for (const event of received) {
    const row = byId.get(event.id);
    if (!row || row.seq !== event.seq || row.key !== event.key || row.kind !== event.kind) {
      unknown++;
      if (differences.length < 8)
        differences.push(
          `${observer.name}: received ${event.id} (${event.kind} ${event.key}), ${row ? `but the log has ${row.kind} ${row.key} at seq ${row.seq}` : 'which the log does not hold'}`,
        );
      continue;
    }
    if (seen.has(event.id)) {
      duplicates++;
      continue;
    }
    seen.add(event.id);
    const before = lastSeq.get(event.channel) ?? Number.NEGATIVE_INFINITY;
    if (event.seq < before) {
      outOfOrder++;
      if (differences.length < 8)
        differences.push(
          `${observer.name}: ${event.id} first received after seq ${before} (${event.channel})`,
        );
    } else lastSeq.set(event.channel, event.seq);
  }
  const gaps = wanted.filter((r) => !seen.has(`${r.stream}:${r.seq}`));
  for (const row of gaps.slice(0, Math.max(0, 8 - differences.length))) {
    differences.push(`${observer.name}: never received ${row.stream}:${row.seq} (${row.kind} ${row.key})`);
  }
  return {
    name: observer.name,
    inLog: wanted.length,
    received: received.length,
    duplicates,
    missing: gaps.length,
    unknown,
    invalid: observer.problems().length,
    outOfOrder,
    notes: observer.notes(),
    differences,
  };
}
