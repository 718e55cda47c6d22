import type { SynclineConfig } from '../config/define-config.ts';
import type { FeedChange } from '../core/feed-change.ts';
import { createRuntime } from './create-runtime.ts';
import { type ChangeBatch, type ReadChangeFeedOptions, readChangeFeed } from './read-change-feed.ts';
import { selectStreams } from './run-streams.ts';

export interface ChangesOptions extends ReadChangeFeedOptions {
  /** Overrides `config.store`. */
  readonly store?: string;
}

/**
 * The change feed of a config's store, from code: every insert, update and delete the syncs
 * committed, in commit order, in batches, each change with its key's latest data.
 *
 * ```ts
 * for await (const batch of changes(config, { consumer: 'search-index', follow: true, signal })) {
 *   await index(batch.changes);
 *   await batch.ack(); // a restart resumes after this batch
 * }
 * ```
 *
 * Delivery is at least once: changes not acknowledged come again after a restart (dedupe on `id`).
 * Opens the store (it must exist: run a sync first) and closes it when the iteration ends, also by
 * `break` or `signal`. `streams` must be streams of the config.
 */
export async function* changes(
  config: SynclineConfig,
  options: ChangesOptions = {},
): AsyncGenerator<ChangeBatch, void, undefined> {
  const runtime = createRuntime({
    config: { code: config },
    ...(options.store ? { store: options.store } : {}),
  });
  try {
    const resolved = await runtime.config();
    if (options.streams) selectStreams(resolved, options.streams);
    // Acknowledging writes the consumer's offset; reading alone works on a store it may not write.
    const store = await runtime.store(options.consumer === undefined ? 'read' : 'write');
    yield* readChangeFeed(store, options);
  } finally {
    await runtime.close();
  }
}

/** What `subscribe` follows: the options of `changes()`, always following the log. */
export type SubscribeOptions = Omit<ChangesOptions, 'follow' | 'limit'>;

/** A running `subscribe`. */
export interface Subscription {
  /**
   * Resolves when the subscription ended by `stop()` or `signal`; rejects with the first error of
   * the handler or the store (the batch it was handling is not acknowledged: it comes again).
   */
  readonly done: Promise<void>;
  /** Ends the subscription after the batch in hand and resolves once it ended; never rejects. */
  stop(): Promise<void>;
}

/**
 * Follows the change feed of a config's store and calls `handler` with each batch of changes, in
 * commit order; a batch is acknowledged (for `consumer`) once `handler` resolved, so a restart
 * resumes after the last batch handled and a failed one comes again (at least once: dedupe on `id`).
 *
 * ```ts
 * const events = new SyncEventBus();
 * const subscription = subscribe(config, { consumer: 'search-index', events }, async (batch) => {
 *   await index(batch);
 * });
 * await sync(config, { events }); // the subscription hears of each commit at once
 * await subscription.stop();
 * ```
 *
 * With `events` (the bus of syncs in this process) a commit wakes it at once; commits of other
 * processes are found by polling every `pollMs` (default 1000 ms).
 */
export function subscribe(
  config: SynclineConfig,
  options: SubscribeOptions,
  handler: (changes: readonly FeedChange[]) => unknown,
): Subscription {
  const abort = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => abort.abort();
  if (outer?.aborted) abort.abort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const follow = async () => {
    try {
      for await (const batch of changes(config, { ...options, follow: true, signal: abort.signal })) {
        await handler(batch.changes);
        await batch.ack();
        if (abort.signal.aborted) return;
      }
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
    }
  };
  const done = follow();
  done.catch(() => undefined); // observed by whoever awaits `done`; never an unhandled rejection
  return {
    done,
    async stop() {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}
