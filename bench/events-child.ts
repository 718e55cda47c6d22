/**
 * Event delivery throughput, in its own process: a sink runner (`runSink`, as `syncline sinks run`
 * and `syncline run` use it) delivering a synced store's whole change log, to NATS JetStream and to
 * the webhook receiver, each against the "raw" rate of the same client in the same process: the
 * same number of pre-built event payloads of the same size, published the same way (NATS: a batch
 * of publishes with `msgID` in flight at once, awaiting every PubAck; webhook: one signed undici
 * POST of a pre-serialized `{ "events": [...] }` batch at a time), with no store read and no JSON.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import { Agent, fetch } from 'undici';
import { SyncEventBus } from '../src/core/events.ts';
import { type FeedEvent, feedEvent } from '../src/core/feed-change.ts';
import { type Sink, sinkConsumer } from '../src/core/sink.ts';
import type { Store } from '../src/core/store.ts';
import type { Logger } from '../src/core/types.ts';
import { openStore } from '../src/runtime/open-store.ts';
import { createNatsSink, natsSubject } from '../src/sinks/nats/nats-sink.ts';
import { runSink } from '../src/sinks/sink-runner.ts';
import { createWebhookSink } from '../src/sinks/webhook/webhook-sink.ts';
import { BenchError } from './bench-error.ts';
import { childArgs, cpuSeconds, peakRssMb, progress, runChildMain } from './child-io.ts';

export interface EventsChildArgs {
  /** A store a full sync filled: its change log holds one insert per record. */
  readonly store: string;
  readonly natsUrl: string;
  /** The receiver (`events-receiver-child.ts`): the sink posts to `/sink`, the raw client to `/raw`. */
  readonly receiverUrl: string;
  readonly secret: string;
  readonly batchSize: number;
}

/** One delivery of the whole log (or as many raw payloads). */
export interface DeliveryRate {
  readonly events: number;
  readonly ms: number;
  /** CPU seconds of this process during it. */
  readonly cpuSeconds: number;
}

export interface TargetRates {
  readonly sink: DeliveryRate;
  readonly raw: DeliveryRate;
}

export interface EventsChildResult {
  readonly events: number;
  /** Mean size of one event's JSON (`data` included), bytes. */
  readonly eventBytes: number;
  readonly nats: TargetRates;
  readonly webhook: TargetRates;
  readonly peakRssMb: number;
}

/** Distinct pre-built payloads the raw clients cycle through (ids differ on every publish). */
const POOL = 1000;
const WEBHOOK_TIMEOUT_MS = 10_000;

/** Warnings of the runner (a retried batch) reach the bench's progress: a retry costs time. */
const LOG: Logger = {
  debug() {},
  info() {},
  warn: (obj, msg) => progress(`warn: ${msg ?? ''} ${JSON.stringify(obj)}`),
  error: (obj, msg) => progress(`error: ${msg ?? ''} ${JSON.stringify(obj)}`),
};

/** Deletes the bench's JetStream stream when the bench stops this child (SIGTERM) mid-way. */
let onStop: (() => Promise<void>) | null = null;
process.once('SIGTERM', () => {
  void (onStop?.() ?? Promise.resolve()).finally(() => process.exit(143));
});

async function timed(events: number, fn: () => Promise<void>): Promise<DeliveryRate> {
  const cpu = cpuSeconds();
  const began = performance.now();
  await fn();
  return { events, ms: performance.now() - began, cpuSeconds: cpuSeconds() - cpu };
}

/** A sink runner from the log's start until the target confirmed the event at `lastSeq`. */
async function deliverLog(store: Store, sink: Sink, lastSeq: number, batchSize: number): Promise<void> {
  const bus = new SyncEventBus();
  const stop = new AbortController();
  let delivered!: () => void;
  const finished = new Promise<void>((resolve) => {
    delivered = resolve;
  });
  bus.on('sink:delivered', ({ lastSeq: seq }) => {
    if (seq >= lastSeq) delivered();
  });
  const runner = runSink({
    feed: store,
    sink,
    consumer: sinkConsumer(sink.name),
    filter: {},
    data: true,
    batchSize,
    wake: () => sleep(50),
    stop: stop.signal,
    retry: { baseMs: 100, maxMs: 2000 },
    pauseAfterMs: 60_000,
    events: bus,
    log: LOG,
  });
  try {
    await Promise.race([
      finished,
      runner.done.then(() => {
        throw new BenchError(`sink ${sink.name} stopped before delivering the whole log`);
      }),
    ]);
  } finally {
    stop.abort();
    await runner.done.catch(() => undefined);
    await sink.close();
  }
}

async function receiverCount(url: string, path: string): Promise<number> {
  const res = await fetch(`${url}/_count?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as { count: number }).count;
}

async function main(): Promise<EventsChildResult> {
  const args = childArgs<EventsChildArgs>();
  const store = await openStore(args.store);
  try {
    const bounds = await store.changeLogBounds();
    const lastSeq = bounds.newestSeq ?? 0;
    const rows = await store.readEvents({ afterSeq: 0, limit: POOL, withData: true });
    const pool = rows.map(feedEvent).filter((e): e is FeedEvent => e !== null);
    if (pool.length === 0) throw new BenchError('the store has an empty change log: nothing to deliver');
    const events = lastSeq - (bounds.oldestSeq ?? 1) + 1;
    const json = pool.map((e) => JSON.stringify(e));
    const eventBytes = json.reduce((n, s) => n + Buffer.byteLength(s), 0) / json.length;
    progress(`${events} events in the log, ${eventBytes.toFixed(0)} bytes each on average`);

    const nats = await measureNats(args, store, pool, events, lastSeq);
    const webhook = await measureWebhook(args, store, pool, events, lastSeq);
    return { events, eventBytes, nats, webhook, peakRssMb: peakRssMb() };
  } finally {
    await store.close();
  }
}

async function measureNats(
  args: EventsChildArgs,
  store: Store,
  pool: readonly FeedEvent[],
  events: number,
  lastSeq: number,
): Promise<TargetRates> {
  const tag = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const streamName = `syncline_bench_${tag}`;
  const template = `syncline-bench-${tag}.{stream}.{kind}`;
  const admin = await connect({ servers: args.natsUrl, timeout: 5000, reconnect: false });
  const jsm = await jetstreamManager(admin, { timeout: 5000 });
  await jsm.streams.add({ name: streamName, subjects: [`syncline-bench-${tag}.>`] });
  onStop = () => jsm.streams.delete(streamName).then(() => undefined);
  try {
    const subjects = pool.map((e) => natsSubject(template, e));
    const encoder = new TextEncoder();
    const payloads = pool.map((e) => encoder.encode(JSON.stringify(e)));
    const nc = await connect({ servers: args.natsUrl, timeout: 5000 });
    const js = jetstream(nc, { timeout: 5000 });
    const publishAll = async (n: number, run: string) => {
      for (let i = 0; i < n; i += args.batchSize) {
        const acks: Promise<unknown>[] = [];
        for (let j = i; j < Math.min(n, i + args.batchSize); j++) {
          const k = j % pool.length;
          acks.push(js.publish(subjects[k]!, payloads[k]!, { msgID: `${run}:${j}` }));
        }
        await Promise.all(acks);
      }
    };
    // A warm-up (JIT, the connection, the stream's first blocks), then purged: both start alike.
    await publishAll(Math.min(events, 5000), 'warmup');
    await jsm.streams.purge(streamName);
    progress(`NATS raw: ${events} publishes in batches of ${args.batchSize}`);
    const raw = await timed(events, () => publishAll(events, 'raw'));
    await nc.drain();
    await jsm.streams.purge(streamName);
    progress(`NATS raw: ${rateText(raw)}; NATS sink: the whole log`);
    const sink = createNatsSink({ name: 'bench-nats', url: args.natsUrl, subjectTemplate: template });
    const sinkRate = await timed(events, () => deliverLog(store, sink, lastSeq, args.batchSize));
    const info = await jsm.streams.info(streamName);
    if (info.state.messages !== events) {
      throw new BenchError(
        `the NATS stream holds ${info.state.messages} messages after the sink, not ${events}`,
      );
    }
    progress(`NATS sink: ${rateText(sinkRate)}`);
    return { sink: sinkRate, raw };
  } finally {
    onStop = null;
    await jsm.streams.delete(streamName).catch(() => undefined);
    await admin.close();
  }
}

async function measureWebhook(
  args: EventsChildArgs,
  store: Store,
  pool: readonly FeedEvent[],
  events: number,
  lastSeq: number,
): Promise<TargetRates> {
  const signer = new Webhook(args.secret);
  const agent = new Agent();
  const url = new URL('/raw', args.receiverUrl);
  const bodies: string[] = [];
  for (let i = 0; i < pool.length; i += args.batchSize) {
    bodies.push(JSON.stringify({ events: pool.slice(i, i + args.batchSize) }));
  }
  /** As the webhook sink posts: signed, with its headers, timeout and redirect policy. */
  const postAll = async (n: number, run: string) => {
    for (let i = 0, b = 0; i < n; i += args.batchSize, b++) {
      const id = `${run}:${i}`;
      const body = bodies[b % bodies.length]!;
      const timestamp = new Date();
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'syncline-webhook',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signer.sign(id, timestamp, body),
        },
        body,
        redirect: 'manual',
        dispatcher: agent,
        signal: AbortSignal.any([new AbortController().signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new BenchError(`the receiver answered ${response.status}`);
    }
  };
  try {
    await postAll(Math.min(events, 5000), 'warmup');
    progress(`webhook raw: ${events} events in signed POSTs of ${args.batchSize}`);
    const raw = await timed(events, () => postAll(events, 'raw'));
    progress(`webhook raw: ${rateText(raw)}; webhook sink: the whole log`);
    const sink = await createWebhookSink({
      name: 'bench-webhook',
      urls: [new URL('/sink', args.receiverUrl).href],
      secret: args.secret,
      batchSize: args.batchSize,
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      allowPrivateTargets: true,
    });
    const sinkRate = await timed(events, () => deliverLog(store, sink, lastSeq, args.batchSize));
    const received = await receiverCount(args.receiverUrl, '/sink');
    if (received !== events)
      throw new BenchError(`the receiver got ${received} events from the sink, not ${events}`);
    progress(`webhook sink: ${rateText(sinkRate)}`);
    return { sink: sinkRate, raw };
  } finally {
    await agent.close();
  }
}

function rateText(r: DeliveryRate): string {
  return `${Math.round((r.events / r.ms) * 1000)} events/s (${(r.ms / 1000).toFixed(2)} s, CPU ${r.cpuSeconds.toFixed(1)} s)`;
}

runChildMain(main);
