/**
 * The cross-process half of the latency measurement: a webhook sink runner in its own process,
 * reading the store the writer (`events-latency-child.ts`) commits to, woken only by its poll
 * (`SINK_POLL_MS`, as `syncline sinks run` next to another process's syncs), posting to `/poll`.
 * It registers its consumer and runs until the bench stops it; it prints no result.
 */
import { sinkConsumer } from '../src/core/sink.ts';
import { SILENT_LOGGER } from '../src/core/types.ts';
import { openStore } from '../src/runtime/open-store.ts';
import { SINK_POLL_MS } from '../src/runtime/sinks.ts';
import { runSink, wakeOnCommit } from '../src/sinks/sink-runner.ts';
import { createWebhookSink } from '../src/sinks/webhook/webhook-sink.ts';
import { childArgs, exitWithParent, progress } from './child-io.ts';

export interface PollChildArgs {
  readonly store: string;
  readonly receiverUrl: string;
  readonly secret: string;
  readonly batchSize: number;
  /** The sink's name: its consumer is `sink:<name>`, which the writer waits for. */
  readonly name: string;
}

async function main(): Promise<void> {
  exitWithParent();
  const args = childArgs<PollChildArgs>();
  const store = await openStore(args.store);
  const sink = await createWebhookSink({
    name: args.name,
    urls: [new URL('/poll', args.receiverUrl).href],
    secret: args.secret,
    batchSize: args.batchSize,
    timeoutMs: 10_000,
    allowPrivateTargets: true,
  });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  const runner = runSink({
    feed: store,
    sink,
    consumer: sinkConsumer(args.name),
    filter: {},
    data: true,
    batchSize: args.batchSize,
    wake: wakeOnCommit(undefined, SINK_POLL_MS),
    stop: stop.signal,
    retry: { baseMs: 100, maxMs: 2000 },
    pauseAfterMs: 60_000,
    log: SILENT_LOGGER,
  });
  try {
    await runner.done;
  } finally {
    await sink.close();
    await store.close();
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  progress(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
