import { afterEach, beforeEach } from 'vitest';
import type { FeedChange } from '../../src/core/feed-change.ts';
import type { Sink } from '../../src/core/sink.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { type RunSinkOptions, runSink, type SinkRunner, wakeOnCommit } from '../../src/sinks/sink-runner.ts';
import { makeTestStore, type TestStore } from './stores.ts';

/** A change event made up for a sink's own tests (no store behind it). */
export function fakeEvent(seq: number, stream = 'items', extra: Partial<FeedChange> = {}): FeedChange {
  return {
    id: `${stream}:${seq}`,
    seq,
    stream,
    key: String(seq),
    kind: 'insert',
    ...extra,
  } as unknown as FeedChange;
}

/** What a sink's delivery tests share: a fresh SQLite store per test and a quick runner over it. */
export interface DeliveryRig {
  /** This test's store. */
  readonly t: TestStore;
  /** A runner of `sink` as consumer `consumer`: batches of 10, a 20 ms poll, fast retries. */
  start(sink: Sink, extra?: Partial<RunSinkOptions>): SinkRunner;
  /** Resolves once `cond` holds; throws after `ms`. */
  until(cond: () => boolean, ms?: number): Promise<void>;
  /** The change log's highest seq. */
  highestSeq(): Promise<number>;
  /** Stops the runners started so far; later `start`s run until the next `stop` or the test's end. */
  stop(): void;
}

/** Registers the hooks (call it inside a `describe`) and returns the rig of the running test. */
export function useDeliveryRig(consumer: string): DeliveryRig {
  let t: TestStore | undefined;
  let stop = new AbortController();
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
    stop = new AbortController();
  });
  afterEach(async () => {
    stop.abort();
    await t?.dispose();
  });
  const store = () => {
    if (!t) throw new Error('the delivery rig is used outside a test');
    return t;
  };
  return {
    get t() {
      return store();
    },
    start: (sink, extra = {}) =>
      runSink({
        feed: store().store,
        sink,
        consumer,
        filter: {},
        data: true,
        batchSize: 10,
        wake: wakeOnCommit(undefined, 20),
        stop: stop.signal,
        retry: { baseMs: 5, maxMs: 20 },
        pauseAfterMs: 60_000,
        log: SILENT_LOGGER,
        ...extra,
      }),
    async until(cond, ms = 10_000) {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    highestSeq: async () => (await store().store.readEvents({ afterSeq: 0, limit: 100_000 })).at(-1)!.seq,
    stop() {
      stop.abort();
      stop = new AbortController();
    },
  };
}
