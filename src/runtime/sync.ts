import type { SynclineConfig } from '../config/define-config.ts';
import { SyncEventBus } from '../core/events.ts';
import type { Logger } from '../core/types.ts';
import { createRuntime } from './create-runtime.ts';
import type { StreamOutcome } from './run-streams.ts';

export interface SyncOptions {
  /** Names of the streams to run; all when omitted. */
  readonly streams?: readonly string[];
  /** Overrides `config.store`. */
  readonly store?: string;
  /** Subscribe to run events here (progress, page commits, failures). */
  readonly events?: SyncEventBus;
  /** Defaults to silence. */
  readonly log?: Logger;
  /** Abort to stop every run after its page in progress. */
  readonly signal?: AbortSignal;
  /** Wait this long for streams another worker holds (default: report them `busy`). */
  readonly waitMs?: number;
}

/**
 * Runs a config's streams once, from code: `await sync(defineConfig({ streams: [...] }))`. Opens
 * the store, runs, closes it, and returns how each stream ended.
 */
export async function sync(config: SynclineConfig, options: SyncOptions = {}): Promise<StreamOutcome[]> {
  const runtime = createRuntime({
    config: { code: config },
    ...(options.store ? { store: options.store } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    // Resolved before the store opens: a bad config is reported without touching the store.
    await runtime.config();
    return await runtime.run({
      only: options.streams ?? [],
      events: options.events ?? new SyncEventBus(),
      ...(options.signal ? { stop: options.signal } : {}),
      ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    });
  } finally {
    await runtime.close();
  }
}
