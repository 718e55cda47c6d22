import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { Webhook } from 'standardwebhooks';
import type { ChangeFeed } from '../../src/core/store.ts';
import type { ChangeRow } from '../../src/core/types.ts';
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
}

/**
 * The sinks a `--sinks` chaos run delivers to: a webhook receiver of the first two streams (a
 * filter: the other streams' rows must still move its offset, and a webhook, one request per 20
 * events, would take a minute over the whole initial load) and a Redis stream per stream, all of them.
 */
export function sinkObservers(seed: number, streams: readonly string[]): SinkObserver[] {
  return [webhookObserver(seed, streams.length > 2 ? streams.slice(0, 2) : undefined), redisObserver()];
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

/**
 * Checks one sink's receipts against the log: every row its filter selects received at least once
 * (no gap), nothing received that the log (filtered) does not hold, and on each channel the first
 * receipts in increasing seq order; duplicates are counted, not wrong.
 */
export async function checkSink(observer: SinkObserver, log: readonly ChangeRow[]): Promise<SinkCheck> {
  const config = observer.config();
  const streams = Array.isArray(config.streams) ? new Set(config.streams as string[]) : null;
  const kinds = Array.isArray(config.kinds) ? new Set(config.kinds as string[]) : null;
  const wanted = log.filter((r) => (!streams || streams.has(r.stream)) && (!kinds || kinds.has(r.kind)));
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
