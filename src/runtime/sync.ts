import type { SynclineConfig } from '../config/define-config.ts';
import { resolveConfig } from '../config/load-config.ts';
import { SyncEventBus } from '../core/events.ts';
import type { Logger } from '../core/types.ts';
import { openStore } from './open-store.ts';
import { runStreams, type StreamOutcome } from './run-streams.ts';

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

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Runs a config's streams once, from code: `await sync(defineConfig({ streams: [...] }))`. Opens
 * the store, runs, closes it, and returns how each stream ended.
 */
export async function sync(config: SynclineConfig, options: SyncOptions = {}): Promise<StreamOutcome[]> {
  const resolved = resolveConfig(config, '<code>', options.store);
  const store = await openStore(resolved.store, { streams: resolved.streams.map((s) => s.name) });
  try {
    return await runStreams({
      config: resolved,
      store,
      only: options.streams ?? [],
      events: options.events ?? new SyncEventBus(),
      log: options.log ?? silent,
      ...(options.signal ? { stop: options.signal } : {}),
      ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    });
  } finally {
    await store.close();
  }
}
