import { newRunId, nowIso } from '../core/clock.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import type { RetrySettings } from '../core/retry-settings.ts';
import type { StreamSource } from '../core/source.ts';
import type { Store } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import {
  addCounters,
  type Checkpoint,
  emptyCounters,
  type Json,
  type Logger,
  type RunCounters,
  type RunMode,
  type RunStatus,
  type TimeRange,
} from '../core/types.ts';
import { viewColumns } from '../core/view-columns.ts';
import { BackfillGuard, BackfillPausedError } from './backfill-guard.ts';
import { LeaseKeeper, type LeaseOptions } from './lease-keeper.ts';
import { RateLimiters } from './rate-limiter.ts';
import { finishScan, recentChanges, startScan } from './reconcile-scan.ts';
import { replaySource } from './replay-source.ts';
import { RunPipeline } from './run-pipeline.ts';
import { windowedSource } from './windowed-source.ts';

export interface RunOptions {
  /**
   * Pages fetched and prepared ahead of the one being committed. Default 4. Pages ready when a
   * commit starts are committed together, up to this many pages and 5,000 records (1: every page
   * is its own commit).
   */
  readonly maxPagesInFlight?: number;
  readonly lease?: LeaseOptions;
  readonly retry?: RetrySettings;
  /**
   * The longest a run may take. Past it the run stops at its last committed page and is recorded
   * `partial` (the next run continues there). Default: no limit.
   */
  readonly maxDurationMs?: number;
  /**
   * `sync` (default): read from the last checkpoint. `reconcile`: a full scan from the beginning,
   * kept apart from the main checkpoint, that soft-deletes what the source no longer has when it
   * completes and reports the drift it repaired. `refresh`: read the records with `keys` through
   * the stream's `fetchByKey` (deleting those the source says are gone); the checkpoint stays.
   * `replay`: apply the payloads of the stream's open dead letters again; the checkpoint stays.
   */
  readonly mode?: RunMode;
  /** For `refresh`: the `_key` values to read again. */
  readonly keys?: readonly string[];
  /** For `replay`: the ids of the open dead letters to apply again; all the stream's open ones when absent. */
  readonly letters?: readonly number[];
  /** For `backfill`: the range to read again, in windows of `backfillWindowMs` (default 7 days). */
  readonly range?: TimeRange;
  readonly backfillWindowMs?: number;
}

export interface RunStreamArgs {
  readonly store: Store;
  readonly stream: AnyStreamDefinition;
  /** This worker's lease holder id (`newHolderId()`). */
  readonly holder: string;
  readonly events: SyncEventBus;
  readonly log: Logger;
  /** Aborting asks the run to stop after the page it is committing: status `interrupted`. */
  readonly stop?: AbortSignal;
  readonly options?: RunOptions;
  /** Rate limiters shared by the process's runs (per host). Default: a new set for this run. */
  readonly limiters?: RateLimiters;
  /** Reads secrets for the source (environment variables); from config/. Default: none available. */
  readonly secret?: (name: string) => string;
}

export interface RunResult {
  readonly runId: string;
  readonly stream: string;
  readonly status: Exclude<RunStatus, 'running'>;
  readonly counters: RunCounters;
  readonly checkpoint: Checkpoint;
  /** One line, when the run did not end `ok`. */
  readonly error: string | null;
  /** The error itself, for exit codes. */
  readonly cause: unknown;
  /** Backfill evidence or reconciliation findings, as recorded with the run. */
  readonly evidence: Json | null;
}

/**
 * Runs one stream once: takes its lease, reads pages from the last checkpoint, and commits each
 * page (rows, change log, checkpoint, counters) in one transaction, while the next pages are fetched
 * and prepared, up to `maxPagesInFlight` ahead; pages that are ready together share a transaction.
 *
 * Classification happens on the committing side, one page after another, so it always sees what the
 * previous pages wrote (a key can appear in two consecutive pages when the source shifts).
 */
export async function runStream(args: RunStreamArgs): Promise<RunResult> {
  const { store, stream, events, log } = args;
  const mode = args.options?.mode ?? 'sync';
  await store.ensureStream(stream.name, {
    history: stream.history ?? false,
    view: stream.columns ? viewColumns(stream.name, stream.columns) : [],
  });
  const keeper = await LeaseKeeper.acquire({
    store,
    stream: stream.name,
    holder: args.holder,
    events,
    ...(args.options?.lease ? { options: args.options.lease } : {}),
    ...(args.stop ? { signal: args.stop } : {}),
  });
  const startedMs = Date.now();
  const runId = newRunId();
  const totals = emptyCounters();
  let checkpoint: Checkpoint = null;
  let pipeline: RunPipeline | null = null;
  let evidence: Json | null = null;
  let approved = false;
  try {
    const abandoned = await store.closeAbandonedRuns(
      stream.name,
      nowIso(),
      'the run ended without recording an end (its process was killed or crashed); its committed pages stand',
    );
    if (abandoned > 0)
      log.warn({ stream: stream.name, abandoned }, 'closed runs left open by a dead process');
    const state = await store.getState(stream.name);
    checkpoint = state?.checkpoint ?? null;
    await store.startRun({
      runId,
      stream: stream.name,
      mode,
      lease: keeper.lease,
      at: nowIso(),
      checkpointBefore: checkpoint,
    });
    events.emit('run:started', { stream: stream.name, runId, checkpoint });
    approved = state?.approved ?? false;
    if (mode === 'reconcile') await startScan(store, stream.name);
    const guard =
      mode === 'sync'
        ? new BackfillGuard(stream.backfill, {
            stream: stream.name,
            newestCursor: state?.newestCursor ?? null,
            recentChanges: await recentChanges(store, stream.name),
            approved,
          })
        : null;
    pipeline = new RunPipeline({
      store,
      stream,
      events,
      log,
      ...(args.stop ? { stop: args.stop } : {}),
      maxPagesInFlight: args.options?.maxPagesInFlight ?? 4,
      maxDurationMs: args.options?.maxDurationMs ?? null,
      retry: args.options?.retry,
      limiters: args.limiters ?? new RateLimiters(),
      secret: args.secret ?? noSecrets,
      keeper,
      runId,
      totals,
      newestCursor: state?.newestCursor ?? null,
      guard,
      reconcile: mode === 'reconcile',
      slot: mode === 'reconcile' || mode === 'backfill' ? 'backfill' : 'main',
      source:
        mode === 'backfill'
          ? backfillSource(stream, args.options)
          : mode === 'refresh'
            ? refreshSource(stream)
            : mode === 'replay'
              ? replaySource(store, args.options?.letters ?? null)
              : stream.source,
      keys: mode === 'refresh' ? (args.options?.keys ?? []) : null,
      // Reading from the source (not a refresh or replay of known records), a page whose every
      // record failed the same way is the config's fault, not the records'.
      judgePages: mode === 'sync' || mode === 'reconcile' || mode === 'backfill',
    });
    // A reconciliation reads everything from the beginning; a range backfill resumes its own
    // position. Neither moves the main checkpoint; a refresh and a replay commit it unchanged.
    const from =
      mode === 'reconcile' ? null : mode === 'backfill' ? (state?.backfillCheckpoint ?? null) : checkpoint;
    const outcome = await pipeline.run(from);
    if (mode === 'sync') checkpoint = pipeline.checkpoint ?? checkpoint;
    if (mode === 'backfill' && outcome.status === 'ok')
      await store.resetCheckpoint(stream.name, nowIso(), 'backfill');
    if (outcome.error instanceof BackfillPausedError) evidence = outcome.error.evidence;
    else evidence = guard?.evidence ?? null;
    if (mode === 'refresh') {
      const keys = args.options?.keys ?? [];
      evidence = { kind: 'refresh', requested: keys.length, notFound: pipeline.absent };
    }
    const warnings = pipeline.warnings();
    if (warnings.length > 0) {
      evidence = { ...(isObject(evidence) ? evidence : { kind: mode }), warnings };
    }
    if (mode === 'reconcile') {
      const scan = await finishScan({
        store,
        stream,
        lease: keeper.lease,
        runId,
        totals,
        approved,
        ok: outcome.status === 'ok',
        log,
      });
      evidence = scan.evidence;
      if (scan.paused) return await finish('paused_backfill', scan.paused);
    }
    return await finish(outcome.status, outcome.error);
  } catch (error) {
    return await finish('failed', error);
  } finally {
    await keeper.release().catch((error: unknown) => {
      log.warn(
        { stream: stream.name, err: describeError(error) },
        'could not release the lease; it will expire',
      );
    });
  }

  async function finish(status: RunResult['status'], cause: unknown): Promise<RunResult> {
    const error = cause === undefined ? null : describeError(cause);
    const unflushed = pipeline?.takeReport() ?? {};
    addCounters(totals, unflushed);
    try {
      await store.finishRun({ runId, status, at: nowIso(), error, counters: unflushed, evidence });
      // An approval lets runs through until one of them completes.
      if (approved && status === 'ok') await store.setApproval(stream.name, false, nowIso());
    } catch (finishError) {
      log.error(
        { stream: stream.name, err: describeError(finishError) },
        'could not record the end of the run',
      );
    }
    events.emit('run:finished', {
      stream: stream.name,
      runId,
      status,
      totals,
      error,
      durationMs: Date.now() - startedMs,
    });
    return { runId, stream: stream.name, status, counters: totals, checkpoint, error, cause, evidence };
  }
}

function isObject(value: Json | null): value is { [key: string]: Json } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The stream's `fetchByKey`, or a one-line error saying the stream cannot be refreshed by key. */
function refreshSource(stream: AnyStreamDefinition): StreamSource<unknown> {
  if (!stream.fetchByKey) {
    throw new ConfigError(
      `stream "${stream.name}" cannot read records by key: give it fetchById (HTTP streams) or fetchByKey`,
    );
  }
  return stream.fetchByKey;
}

/** The stream's source read over `options.range` in windows (see `windowedSource`). */
function backfillSource(stream: AnyStreamDefinition, options: RunOptions | undefined): StreamSource<unknown> {
  if (!options?.range)
    throw new ConfigError(`stream "${stream.name}": a backfill needs a range (--from and --to)`);
  return windowedSource(stream.source, options.range, options.backfillWindowMs ?? 7 * 86_400_000);
}

function noSecrets(name: string): string {
  throw new ConfigError(`secret ${name} was asked for, but this run was given no way to read secrets`);
}
