import type { SynclineConfig } from '../config/define-config.ts';
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
