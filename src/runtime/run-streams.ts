import { type ResolvedConfig, readEnvSecret } from '../config/load-config.ts';
import { newHolderId } from '../core/clock.ts';
import { parseDuration } from '../core/cursor-time.ts';
import { ConfigError, describeError, LeaseHeldError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import { type Store, sharedRateBuckets } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import {
  emptyCounters,
  type Json,
  type Logger,
  type RunCounters,
  type RunRequest,
  type RunStatus,
} from '../core/types.ts';
import { RateLimiters } from '../engine/rate-limiter.ts';
import { runStream } from '../engine/stream-runner.ts';
import { pruneChangeLog } from './prune-change-log.ts';

/** How one stream's run ended. `busy`: another worker held the stream, nothing ran. */
export interface StreamOutcome {
  readonly stream: string;
  readonly status: Exclude<RunStatus, 'running'> | 'busy';
  readonly runId: string | null;
  readonly counters: RunCounters;
  readonly error: string | null;
  readonly cause: unknown;
  /** Backfill evidence or reconciliation findings. */
  readonly evidence: Json | null;
}

export interface RunStreamsArgs {
  readonly config: ResolvedConfig;
  readonly store: Store;
  /** Names to run; all streams of the config when empty. */
  readonly only?: readonly string[];
  readonly events: SyncEventBus;
  readonly log: Logger;
  /** Aborting stops every run after its page in progress. */
  readonly stop?: AbortSignal;
  /** Wait up to this long for a stream another worker holds (default 0: report it busy). */
  readonly waitMs?: number;
  /**
   * What each run is asked to do (`RunRequest`): `{ mode: 'sync' }` by default; `reconcile` (a full
   * scan that finds deletes and drift), `backfill` (re-read a range), `refresh` (read keys again)
   * or `replay` (apply open dead letters again).
   */
  readonly request?: RunRequest;
  /**
   * Prune the change log (`changes.retention`) once the runs ended. Default true; the service
   * prunes on its own timer instead of after every scheduled run.
   */
  readonly prune?: boolean;
  /**
   * Shared across calls by a long-running caller (the service): the rate limiters of each API host,
   * and the lease holder id of this process. Default: new ones for this call, whose `shared` rate
   * limits draw from the store's buckets when it keeps them (PostgreSQL).
   */
  readonly limiters?: RateLimiters;
  readonly holder?: string;
}

/**
 * Runs the chosen streams of a config, `config.sync.concurrency` at a time, then prunes the change
 * log (`changes.retention`).
 */
export async function runStreams(args: RunStreamsArgs): Promise<StreamOutcome[]> {
  const streams = selectStreams(args.config, args.only ?? []);
  const holder = args.holder ?? newHolderId();
  const limiters = args.limiters ?? new RateLimiters({ shared: sharedRateBuckets(args.store) });
  const outcomes: StreamOutcome[] = new Array(streams.length);
  let next = 0;
  const worker = async () => {
    while (next < streams.length) {
      const index = next++;
      outcomes[index] = await runOne(streams[index]!, holder, limiters, args);
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.config.sync.concurrency, streams.length) }, worker));
  // The end of the runs is when the change log's retention applies (never mid-run, beside commits).
  if (args.prune === false) return outcomes;
  await pruneChangeLog({
    store: args.store,
    retentionMs: args.config.changes.retentionMs,
    log: args.log,
    ...(args.stop ? { stop: args.stop } : {}),
  });
  return outcomes;
}

async function runOne(
  stream: AnyStreamDefinition,
  holder: string,
  limiters: RateLimiters,
  args: RunStreamsArgs,
): Promise<StreamOutcome> {
  const request = args.request ?? { mode: 'sync' };
  const outcome = await runOnce(stream, holder, limiters, args, request);
  // `reconcile.fullRefresh`: a sync that went well is followed by a reconciliation when the last
  // completed one is older than that; `reconcileOwed`: when the source says one is owed since a
  // time after the last completed one started (a file stream whose files lost rows).
  if (request.mode === 'sync' && outcome.status === 'ok' && !args.stop?.aborted) {
    const every = stream.reconcile?.fullRefresh;
    if (every !== undefined && (await reconcileDue(args.store, stream.name, parseDuration(every)))) {
      args.log.info({ stream: stream.name }, 'full refresh due: reconciling');
      return runOnce(stream, holder, limiters, args, { mode: 'reconcile' });
    }
    const owed = stream.reconcileOwed?.((await args.store.getState(stream.name))?.checkpoint ?? null) ?? null;
    if (owed !== null && (await reconcileDue(args.store, stream.name, 0, owed))) {
      args.log.info({ stream: stream.name, since: owed }, 'records may be gone at the source: reconciling');
      return runOnce(stream, holder, limiters, args, { mode: 'reconcile' });
    }
  }
  return outcome;
}

async function runOnce(
  stream: AnyStreamDefinition,
  holder: string,
  limiters: RateLimiters,
  args: RunStreamsArgs,
  request: RunRequest,
): Promise<StreamOutcome> {
  if (args.stop?.aborted) {
    return {
      stream: stream.name,
      status: 'interrupted',
      runId: null,
      counters: emptyCounters(),
      error: null,
      cause: undefined,
      evidence: null,
    };
  }
  try {
    return await runStream({
      store: args.store,
      stream,
      holder,
      events: args.events,
      log: args.log,
      ...(args.stop ? { stop: args.stop } : {}),
      limiters,
      secret: readEnvSecret,
      options: {
        request,
        maxPagesInFlight: args.config.sync.maxPagesInFlight,
        logRun: args.config.sinks.some((sink) => sink.kinds.includes('run')),
        lease: { ttlMs: args.config.sync.leaseTtlMs, waitMs: args.waitMs ?? 0 },
        ...(args.config.sync.retry ? { retry: args.config.sync.retry } : {}),
        ...(args.config.sync.maxRunDurationMs !== undefined
          ? { maxDurationMs: args.config.sync.maxRunDurationMs }
          : {}),
      },
    });
  } catch (error) {
    // Only failures before a run record exists land here (lease held, store down).
    return {
      stream: stream.name,
      status: error instanceof LeaseHeldError ? 'busy' : 'failed',
      runId: null,
      counters: emptyCounters(),
      error: describeError(error),
      cause: error,
      evidence: null,
    };
  }
}

/**
 * Whether the stream's last completed reconciliation is older than `everyMs`, or (`since`) started
 * before that time; true when there is none.
 */
async function reconcileDue(store: Store, stream: string, everyMs: number, since?: string): Promise<boolean> {
  const [last] = await store.listRuns({ stream, mode: 'reconcile', status: 'ok', limit: 1 });
  if (!last) return true;
  if (since !== undefined) return Date.parse(last.startedAt) < Date.parse(since);
  return Date.now() - Date.parse(last.endedAt ?? last.startedAt) >= everyMs;
}

/**
 * The config's streams named in `only` (all when empty), each once whatever the repetitions (a
 * stream run twice at once would fight itself for its lease); unknown names are a ConfigError.
 */
export function selectStreams(config: ResolvedConfig, only: readonly string[]): AnyStreamDefinition[] {
  if (only.length === 0) return [...config.streams];
  const byName = new Map(config.streams.map((s) => [s.name, s]));
  return [...new Set(only)].map((name) => {
    const stream = byName.get(name);
    if (!stream) {
      throw new ConfigError(
        `unknown stream "${name}"; ${config.file} defines: ${[...byName.keys()].join(', ')}`,
      );
    }
    return stream;
  });
}
