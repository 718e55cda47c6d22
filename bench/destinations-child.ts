/**
 * One push of a synced store's change log into the simulator's CRM, in its own process, through
 * the library as `syncline push` drives it: `prepareSinks` with one HTTP destination over an open
 * store, run until the destination confirmed the last change. Timed from the runners' start to
 * that confirmation: the engine's work, not Node's or the CLI's start-up, nor opening the store.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncEventBus } from '../src/core/events.ts';
import type { Logger } from '../src/core/types.ts';
import { defineConfig, http, resolveConfig } from '../src/index.ts';
import { openStore } from '../src/runtime/open-store.ts';
import { prepareSinks } from '../src/runtime/sinks.ts';
import { BenchError } from './bench-error.ts';
import { childArgs, cpuSeconds, peakRssMb, progress, runChildMain } from './child-io.ts';
import { customersConfig } from './customers-stream.ts';

export interface DestinationsChildArgs {
  /** A SQLite store a full sync filled (its change log: one insert per record), never pushed. */
  readonly store: string;
  /** The simulator; the CRM is at `<apiUrl>/crm`. */
  readonly apiUrl: string;
  readonly concurrency: number;
  /** The destination's `batchSize`: changes per map-and-offset commit. */
  readonly batchSize: number;
  /** Through `POST /contacts/batch`, this many per request; null: find, then create or update, per record. */
  readonly bulkMaxSize: number | null;
}

export interface DestinationsChildResult {
  /** The last seq of the log the push went through (a fresh sync's log: one change per record). */
  readonly changes: number;
  readonly wallMs: number;
  readonly cpuSeconds: number;
  readonly peakRssMb: number;
}

/** The payload every run (and the hand-written baseline) sends for a customer. */
export const CONTACT_MAP = {
  email: 'email',
  name: 'name',
  external_id: { template: '{id}' },
} as const;

const LOG: Logger = {
  debug() {},
  info() {},
  warn: (obj, msg) => progress(`warn: ${msg ?? ''} ${JSON.stringify(obj)}`),
  error: (obj, msg) => progress(`error: ${msg ?? ''} ${JSON.stringify(obj)}`),
};

async function main(): Promise<DestinationsChildResult> {
  const args = childArgs<DestinationsChildArgs>();
  const crm = http.destination({
    name: 'crm',
    streams: ['customers'],
    baseUrl: `${args.apiUrl}/crm`,
    map: CONTACT_MAP,
    concurrency: args.concurrency,
    batchSize: args.batchSize,
    allowPrivateTargets: true,
    ...(args.bulkMaxSize === null
      ? {
          create: { path: '/contacts', idPath: 'id' },
          update: { path: '/contacts/{externalId}' },
          find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
        }
      : { batch: { path: '/contacts/batch', maxSize: args.bulkMaxSize } }),
  });
  const config = resolveConfig(
    defineConfig({ ...customersConfig(args.apiUrl, args.store), destinations: [crm] }),
  );
  const events = new SyncEventBus();
  const prepared = await prepareSinks({ sinks: [], destinations: config.destinations, events, log: LOG });
  const store = await openStore(args.store);
  try {
    const { newestSeq } = await store.changeLogBounds();
    const end = newestSeq ?? 0;
    let caughtUp!: () => void;
    const finished = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    events.on('sink:delivered', ({ lastSeq }) => {
      if (lastSeq >= end) caughtUp();
    });
    const cpu = cpuSeconds();
    const began = performance.now();
    const running = prepared.start(store);
    try {
      await Promise.race([
        finished,
        running.done.then(() => {
          throw new BenchError('the destination stopped before it caught up');
        }),
      ]);
      // `sink:delivered` comes before the map rows and the offset commit: wait for that commit too.
      while (running.status()[0]!.offset < end) await sleep(1);
    } finally {
      await running.stop();
    }
    const wallMs = performance.now() - began;
    const status = running.status()[0]!;
    if (status.offset < end) throw new BenchError(`stopped at seq ${status.offset} of ${end}`);
    progress(`caught up at seq ${end} in ${(wallMs / 1000).toFixed(2)} s`);
    return {
      changes: end,
      wallMs,
      cpuSeconds: cpuSeconds() - cpu,
      peakRssMb: peakRssMb(),
    };
  } finally {
    await store.close();
  }
}

runChildMain(main);
