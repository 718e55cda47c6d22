/**
 * Commit -> receiver latency, in its own process: the engine syncs a stream whose source yields a
 * page of new records every `pageMs` (a steady `rate` changes per second) into SQLite, while a
 * webhook sink runner in this same process, woken by the engine's `page:committed` (as in
 * `syncline run`), delivers them to the receiver (`/inproc`). Each record's commit time is this
 * process's clock when its page's `page:committed` is emitted (right after the commit returned);
 * the receiver notes each event's arrival on the same machine clock. With `crossProcess`, a sink in
 * another process (`events-poll-child.ts`, posting to `/poll`) reads the same store, woken only by
 * its poll; this writer starts once that sink's consumer is registered.
 *
 * Prints `{ "ready": true }` once the store exists, then the result line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncEventBus } from '../src/core/events.ts';
import { sinkConsumer } from '../src/core/sink.ts';
import type { Store } from '../src/core/store.ts';
import { SILENT_LOGGER } from '../src/core/types.ts';
import { defineStream, type Page, type SourceArgs, sync } from '../src/index.ts';
import { openStore } from '../src/runtime/open-store.ts';
import { SINK_POLL_MS } from '../src/runtime/sinks.ts';
import { runSink, wakeOnCommit } from '../src/sinks/sink-runner.ts';
import { createWebhookSink } from '../src/sinks/webhook/webhook-sink.ts';
import { BenchError, SyncRunError } from './bench-error.ts';
import { childArgs, cpuSeconds, progress, runChildMain } from './child-io.ts';

export interface LatencyChildArgs {
  readonly store: string;
  readonly receiverUrl: string;
  readonly secret: string;
  /** Changes committed per second. */
  readonly rate: number;
  /** Records per page (one commit each). */
  readonly pageSize: number;
  /** Changes written (at the same rate) before the judged ones: the connection, JIT, first reads. */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly batchSize: number;
  /** Wait for the other process's sink (consumer `sink:<pollSink>`) before writing. */
  readonly pollSink: string | null;
}

/** Latencies in ms, commit -> arrival at the receiver. */
export interface LatencyStats {
  readonly events: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface LatencyChildResult {
  /** Changes judged (those written after the warm-up's). */
  readonly changes: number;
  readonly warmupChanges: number;
  /** Changes per second actually committed (from the first commit to the last). */
  readonly committedRate: number;
  readonly pageSize: number;
  readonly inProcess: LatencyStats;
  readonly crossProcess: LatencyStats | null;
  /** CPU of this process (writer and in-process sink) over the writing, % of one core. */
  readonly cpuPercent: number;
}

export const STREAM = 'changes';

interface Change {
  id: number;
  email: string;
  name: string;
  plan: string;
  updated_at: string;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function arrivals(url: string, path: string): Promise<{ count: number; arrivals: [string, number][] }> {
  const res = await fetch(`${url}/_arrivals?path=${encodeURIComponent(path)}`);
  return (await res.json()) as { count: number; arrivals: [string, number][] };
}

/** Until the receiver holds `n` events on `path` (the sink catches up after the last commit). */
async function untilReceived(url: string, path: string, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${url}/_count?path=${encodeURIComponent(path)}`);
    const { count } = (await res.json()) as { count: number };
    if (count >= n) return;
    if (Date.now() > deadline) throw new BenchError(`the receiver got ${count} of ${n} events on ${path}`);
    await sleep(50);
  }
}

async function latencies(
  url: string,
  path: string,
  committedAt: Float64Array,
  judgedFrom: number,
): Promise<LatencyStats> {
  const got = await arrivals(url, path);
  const ms = got.arrivals
    .filter(([key]) => Number(key) >= judgedFrom)
    .map(([key, at]) => at - committedAt[Number(key)]!)
    .sort((a, b) => a - b);
  return {
    events: ms.length,
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    p99: percentile(ms, 99),
    max: ms.at(-1) ?? 0,
  };
}

async function untilRegistered(store: Store, consumer: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await store.consumerOffset(consumer)) === null) {
    if (Date.now() > deadline)
      throw new BenchError(`the other process's sink (${consumer}) never registered`);
    await sleep(20);
  }
}

async function main(): Promise<LatencyChildResult> {
  const args = childArgs<LatencyChildArgs>();
  const warmup = Math.round((args.rate * args.warmupMs) / 1000);
  const total = warmup + Math.round((args.rate * args.durationMs) / 1000);
  const pageMs = (args.pageSize / args.rate) * 1000;
  const committedAt = new Float64Array(total);
  const store = await openStore(args.store);
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const bus = new SyncEventBus();
  const stop = new AbortController();
  const sink = await createWebhookSink({
    name: 'bench-inproc',
    urls: [new URL('/inproc', args.receiverUrl).href],
    secret: args.secret,
    batchSize: args.batchSize,
    timeoutMs: 10_000,
    allowPrivateTargets: true,
  });
  const runner = runSink({
    feed: store,
    sink,
    consumer: sinkConsumer(sink.name),
    filter: {},
    data: true,
    batchSize: args.batchSize,
    wake: wakeOnCommit(bus, SINK_POLL_MS),
    stop: stop.signal,
    retry: { baseMs: 100, maxMs: 2000 },
    pauseAfterMs: 60_000,
    events: bus,
    log: SILENT_LOGGER,
  });
  try {
    if (args.pollSink !== null) await untilRegistered(store, sinkConsumer(args.pollSink));
    await untilRegistered(store, sinkConsumer(sink.name));
    let written = 0;
    let first = 0;
    let last = 0;
    bus.on('page:committed', ({ stream, totals }) => {
      if (stream !== STREAM) return;
      const at = Date.now();
      if (written >= warmup) {
        first ||= at;
        last = at;
      }
      for (; written < totals.inserted && written < total; written++) committedAt[written] = at;
    });
    const source = async function* (_args: SourceArgs): AsyncGenerator<Page<Change>> {
      const began = performance.now();
      for (let from = 0, page = 0; from < total; from += args.pageSize, page++) {
        const wait = began + page * pageMs - performance.now();
        if (wait > 0) await sleep(wait);
        const records: Change[] = [];
        const now = new Date().toISOString();
        for (let id = from; id < Math.min(total, from + args.pageSize); id++) {
          records.push({
            id,
            email: `user${id}@example.com`,
            name: `User ${id}`,
            plan: 'pro',
            updated_at: now,
          });
        }
        yield { records, checkpoint: { after: from + records.length } };
      }
    };
    progress(
      `${total} changes at ${args.rate}/s in pages of ${args.pageSize}, the first ${warmup} not judged`,
    );
    let cpu = cpuSeconds();
    bus.on('page:committed', () => {
      if (written === warmup) cpu = cpuSeconds();
    });
    const [outcome] = await sync(
      { streams: [defineStream<Change>({ name: STREAM, key: 'id', source })] },
      { store: args.store, events: bus },
    );
    const cpuUsed = cpuSeconds() - cpu;
    if (outcome?.status !== 'ok') {
      throw new SyncRunError(
        `the writer's run ended ${outcome?.status ?? 'without an outcome'}: ${outcome?.error ?? ''}`,
      );
    }
    await untilReceived(args.receiverUrl, '/inproc', total);
    if (args.pollSink !== null) await untilReceived(args.receiverUrl, '/poll', total);
    const inProcess = await latencies(args.receiverUrl, '/inproc', committedAt, warmup);
    const crossProcess =
      args.pollSink === null ? null : await latencies(args.receiverUrl, '/poll', committedAt, warmup);
    const seconds = (last - first) / 1000;
    progress(
      `in process: p50 ${inProcess.p50} ms, p99 ${inProcess.p99} ms` +
        (crossProcess ? `; other process: p50 ${crossProcess.p50} ms, p99 ${crossProcess.p99} ms` : ''),
    );
    return {
      changes: total - warmup,
      warmupChanges: warmup,
      committedRate: seconds > 0 ? (total - warmup - args.pageSize) / seconds : total - warmup,
      pageSize: args.pageSize,
      inProcess,
      crossProcess,
      cpuPercent: (cpuUsed / (args.durationMs / 1000)) * 100,
    };
  } finally {
    stop.abort();
    await runner.done.catch(() => undefined);
    await sink.close();
    await store.close();
  }
}

runChildMain(main);
