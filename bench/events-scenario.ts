import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { SYNC_NODE_OPTIONS } from '../src/runtime/heap-tuning.ts';
import { BenchError } from './bench-error.ts';
import type { Sizes } from './bench-options.ts';
import { BenchChild, runChild } from './child-process.ts';
import type { EventsChildArgs, EventsChildResult } from './events-child.ts';
import type { LatencyChildArgs, LatencyChildResult } from './events-latency-child.ts';
import type { PollChildArgs } from './events-poll-child.ts';
import type { ReceiverChildArgs, ReceiverReady } from './events-receiver-child.ts';
import type { Locations } from './locations.ts';
import { SimulatorProcess } from './simulator-process.ts';
import type { SyncChildArgs, SyncChildResult } from './sync-child.ts';
import { SEED } from './sync-scenario.ts';

/**
 * The events section (issue 21): how fast a sink runner delivers a synced store's change log to
 * NATS JetStream and to a webhook receiver, against the raw rate of the same clients, and the
 * commit -> receiver latency under a steady stream of changes. Every part runs in a child process:
 * the simulator, the sync, the receiver, the delivering process, the writer and the polling sink.
 */

export const NATS_START =
  'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server';

/** The NATS server (with JetStream): `SYNCLINE_BENCH_NATS`, else the local one. */
export function benchNatsUrl(): string {
  return process.env.SYNCLINE_BENCH_NATS ?? 'nats://127.0.0.1:4222';
}

export interface EventsShape {
  /** Records synced, hence events in the change log. */
  readonly records: number;
  readonly batchSize: number;
  /** The latency run: changes per second, records per commit, for how long. */
  readonly rate: number;
  readonly pageSize: number;
  /** Written first and not judged: the sink's connection, JIT, the first reads. */
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface EventsScenario {
  readonly shape: EventsShape;
  /** The full sync that filled the change log. */
  readonly sync: SyncChildResult;
  readonly throughput: EventsChildResult;
  readonly latency: LatencyChildResult;
}

/** N events from an N-record sync; 1,000 changes/s for 20 s at full size, for 3 s below 100,000. */
export function eventsShape(sizes: Sizes): EventsShape {
  const full = sizes.records >= 100_000;
  return {
    records: sizes.records,
    batchSize: 100,
    rate: 1000,
    pageSize: 20,
    warmupMs: full ? 5000 : 2000,
    durationMs: full ? 20_000 : 3000,
  };
}

/** Fails with how to start NATS when nothing answers at `url`. */
async function checkNats(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = new Socket();
    const end = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000);
    socket.once('connect', () => end(true));
    socket.once('timeout', () => end(false));
    socket.once('error', () => end(false));
    socket.connect(Number(port || 4222), hostname);
  }).catch(() => false);
  if (!reachable) {
    throw new BenchError(
      `events: no NATS server at ${url} (SYNCLINE_BENCH_NATS); the section needs one with JetStream, e.g.:\n  ${NATS_START}`,
    );
  }
}

async function startReceiver(args: ReceiverChildArgs): Promise<{ child: BenchChild; url: string }> {
  const child = new BenchChild('events-receiver-child.ts', args, 'receiver');
  try {
    const ready = JSON.parse(await child.nextLine()) as ReceiverReady;
    return { child, url: ready.url };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export async function runEventsScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<EventsScenario> {
  const shape = eventsShape(sizes);
  const natsUrl = benchNatsUrl();
  await checkNats(natsUrl);
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  const filled = await locations.fresh('sqlite');
  let sync: SyncChildResult;
  let throughput: EventsChildResult;
  try {
    const sim = await SimulatorProcess.start(shape.records, SEED);
    try {
      log(
        `events: full sync of ${shape.records.toLocaleString('en-US')} records into SQLite (the change log)`,
      );
      const syncArgs: SyncChildArgs = { apiUrl: sim.url, store: filled.location };
      sync = await runChild<SyncChildResult>('sync-child.ts', syncArgs, 'events sync', SYNC_NODE_OPTIONS);
    } finally {
      await sim.stop();
    }
    const receiver = await startReceiver({ secret, keepArrivals: false });
    try {
      log(
        `events: delivering the log to NATS JetStream and to a webhook receiver, batches of ${shape.batchSize}`,
      );
      const args: EventsChildArgs = {
        store: filled.location,
        natsUrl,
        receiverUrl: receiver.url,
        secret,
        batchSize: shape.batchSize,
      };
      throughput = await runChild<EventsChildResult>('events-child.ts', args, 'events delivery');
    } finally {
      await receiver.child.stop();
    }
  } finally {
    await locations.drop(filled);
  }

  const latency = await runLatency(locations, shape, secret, log);
  return { shape, sync, throughput, latency };
}

async function runLatency(
  locations: Locations,
  shape: EventsShape,
  secret: string,
  log: (line: string) => void,
): Promise<LatencyChildResult> {
  const location = await locations.fresh('sqlite');
  const receiver = await startReceiver({ secret, keepArrivals: true });
  const children: BenchChild[] = [receiver.child];
  try {
    log(
      `events: latency, ${shape.rate} changes/s for ${shape.durationMs / 1000} s after ${shape.warmupMs / 1000} s of warm-up, sinks in the writer's process and in another`,
    );
    const pollSink = 'bench-poll';
    const args: LatencyChildArgs = {
      store: location.location,
      receiverUrl: receiver.url,
      secret,
      rate: shape.rate,
      pageSize: shape.pageSize,
      warmupMs: shape.warmupMs,
      durationMs: shape.durationMs,
      batchSize: shape.batchSize,
      pollSink,
    };
    const writer = new BenchChild('events-latency-child.ts', args, 'events writer');
    children.push(writer);
    await writer.nextLine(); // the store exists: the other process may open it
    const pollArgs: PollChildArgs = {
      store: location.location,
      receiverUrl: receiver.url,
      secret,
      batchSize: shape.batchSize,
      name: pollSink,
    };
    children.push(new BenchChild('events-poll-child.ts', pollArgs, 'events poll sink'));
    return await writer.result<LatencyChildResult>();
  } finally {
    for (const child of children.reverse()) await child.stop();
    await locations.drop(location);
  }
}
