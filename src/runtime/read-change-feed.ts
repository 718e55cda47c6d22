import { nowIso } from '../core/clock.ts';
import { ConfigError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import { type FeedChange, feedChange } from '../core/feed-change.ts';
import type { ChangeFeed } from '../core/store.ts';
import { wakeOnCommit } from '../sinks/sink-runner.ts';

/** How the change feed is read (`changes()`, `syncline changes`). */
export interface ReadChangeFeedOptions {
  /**
   * Read the changes after this seq. Default 0: from the oldest row the log still keeps. With
   * `consumer`, a floor: reading starts after the later of this and the consumer's offset, and a
   * new consumer is registered here.
   */
  readonly since?: number;
  /**
   * A named consumer: registered on first use (at `since`), it resumes after the seq it last
   * acknowledged, and each batch's `ack()` moves it forward. While registered it keeps the change
   * log from pruning rows it has not passed. Default none: nothing is stored.
   */
  readonly consumer?: string;
  /** Only the changes of these streams. Default (or empty): every stream. */
  readonly streams?: readonly string[];
  /** At the end of the log, wait for more (polling every `pollMs`) until `signal` aborts. Default false. */
  readonly follow?: boolean;
  /** Aborting ends the iteration cleanly, also while it waits for new changes. */
  readonly signal?: AbortSignal;
  /** Changes per batch, at most. Default 500. */
  readonly batchSize?: number;
  /** With `follow`, how long to wait after finding nothing new before reading again. Default 1000 ms. */
  readonly pollMs?: number;
  /**
   * With `follow`, the event bus of syncs in this process (`sync(config, { events })`): a commit
   * there wakes the feed at once instead of at the next poll.
   */
  readonly events?: SyncEventBus;
  /** End after this many changes in all. Default no limit. */
  readonly limit?: number;
}

/** A batch of the change feed, in `seq` order. */
export interface ChangeBatch {
  readonly changes: readonly FeedChange[];
  /** The seq of its last change. */
  readonly lastSeq: number;
  /**
   * Records for the consumer that every change up to `lastSeq` is handled: a restart resumes after
   * it. Call it once the changes are safely processed; until then they will be delivered again
   * after a restart (at least once). An offset never moves backwards. Without a `consumer` there is
   * nothing to record: it resolves at once.
   */
  ack(): Promise<void>;
}

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_POLL_MS = 1000;

/**
 * Reads the change log of an open store as batches of changes with their data: after `since`, or
 * after a consumer's acknowledged offset. Without `follow` it ends at the end of the log.
 */
export async function* readChangeFeed(
  store: ChangeFeed,
  options: ReadChangeFeedOptions = {},
): AsyncGenerator<ChangeBatch, void, undefined> {
  const { consumer, signal } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  checkOptions(options, batchSize, pollMs);
  let after = options.since ?? 0;
  if (consumer !== undefined) {
    const offset = await store.registerConsumer({ consumer, afterSeq: after, at: nowIso() });
    after = Math.max(after, offset.seq);
  }
  const wake = wakeOnCommit(options.events, pollMs);
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  const stream = options.streams?.length ? { stream: options.streams } : {};
  while (left > 0 && !signal?.aborted) {
    const rows = await store.readChanges({
      afterSeq: after,
      limit: Math.min(batchSize, left),
      ...stream,
      withData: true,
    });
    const last = rows.at(-1);
    if (last === undefined) {
      if (!options.follow) return;
      await wake(signal);
      continue; // the loop ends when the wait ended by `signal`
    }
    after = last.seq;
    left -= rows.length;
    const lastSeq = last.seq;
    yield {
      changes: rows.map(feedChange),
      lastSeq,
      ack: async () => {
        if (consumer !== undefined) await store.ackChanges({ consumer, seq: lastSeq, at: nowIso() });
      },
    };
  }
}

function checkOptions(options: ReadChangeFeedOptions, batchSize: number, pollMs: number): void {
  const whole = (name: string, value: number | undefined, min: number) => {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= min)) {
      throw new ConfigError(`changes: ${name} must be an integer of at least ${min}, got ${value}`);
    }
  };
  whole('since', options.since, 0);
  whole('limit', options.limit, 1);
  whole('batchSize', batchSize, 1);
  whole('pollMs', pollMs, 1);
  if (options.consumer !== undefined && options.consumer.trim() === '') {
    throw new ConfigError('changes: consumer must be a non-empty name');
  }
}
