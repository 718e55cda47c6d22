import { newRunId, nowIso } from '../core/clock.ts';
import { ConfigError, describeError, LeaseLostError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import type { RetrySettings } from '../core/retry-settings.ts';
import type { RunStore } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import {
  addCounters,
  type Checkpoint,
  emptyCounters,
  type Json,
  type Logger,
  type RunCounters,
  type RunRequest,
  type RunStatus,
} from '../core/types.ts';
import { viewColumns } from '../core/view-columns.ts';
import { BackfillGuard, BackfillPausedError } from './backfill-guard.ts';
import { LeaseKeeper, type LeaseOptions } from './lease-keeper.ts';
import { RateLimiters } from './rate-limiter.ts';
import { recentChanges } from './reconcile-scan.ts';
import { runModeOf } from './run-modes.ts';
import { RunPipeline } from './run-pipeline.ts';

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
  /** Append the finished run to the change log, for sinks of `run` events (`FinishRun.logRun`). Default false. */
  readonly logRun?: boolean;
  /**
   * What the run is asked to do: `{ mode: 'sync' }` (the default) reads from the last checkpoint;
   * the other modes are described at `RunRequest` and wired in `RUN_MODES` (run-modes.ts).
   */
  readonly request?: RunRequest;
}

export interface RunStreamArgs {
  readonly store: RunStore;
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
  /** The stream's main checkpoint after the run (only a sync moves it). */
  readonly checkpoint: Checkpoint;
  /** One line, when the run did not end `ok`. */
  readonly error: string | null;
  /** The error itself, for exit codes. */
  readonly cause: unknown;
  /** Backfill evidence or reconciliation findings, as recorded with the run. */
  readonly evidence: Json | null;
}

/**
 * Runs one stream once, as its request asks: takes its lease, reads pages from where the request's
 * mode starts (`RUN_MODES`), and commits each page (rows, change log, checkpoint, counters) in one
 * transaction, while the next pages are fetched and prepared, up to `maxPagesInFlight` ahead; pages
 * that are ready together share a transaction.
 *
 * Classification happens on the committing side, one page after another, so it always sees what the
 * previous pages wrote (a key can appear in two consecutive pages when the source shifts).
 */
export async function runStream(args: RunStreamArgs): Promise<RunResult> {
  const { store, stream, events, log } = args;
  const request: RunRequest = args.options?.request ?? { mode: 'sync' };
  const mode = runModeOf(request);
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
      mode: request.mode,
      lease: keeper.lease,
      at: nowIso(),
      checkpointBefore: checkpoint,
    });
    events.emit('run:started', { stream: stream.name, runId, mode: request.mode, checkpoint });
    approved = state?.approved ?? false;
    const context = { request, stream, store };
    await mode.begin?.(context);
    const guard = mode.guarded
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
      request,
      source: mode.source(context),
      slot: mode.slot,
      scans: mode.scans,
      judgesPages: mode.judgesPages,
    });
    const slotCheckpoint = mode.slot === 'main' ? checkpoint : (state?.backfillCheckpoint ?? null);
    const outcome = await pipeline.run(mode.startsAt === 'beginning' ? null : slotCheckpoint);
    if (mode.slot === 'main') checkpoint = pipeline.checkpoint ?? checkpoint;
    evidence =
      outcome.error instanceof BackfillPausedError ? outcome.error.evidence : (guard?.evidence ?? null);
    if (mode.evidence) evidence = mode.evidence({ ...context, absent: pipeline.absent });
    const warnings = pipeline.warnings();
    if (warnings.length > 0) {
      evidence = { ...(isObject(evidence) ? evidence : { kind: request.mode }), warnings };
    }
    if (mode.end) {
      const ended = await mode.end({
        ...context,
        lease: keeper.lease,
        runId,
        totals,
        approved,
        ok: outcome.status === 'ok',
        evidence,
        log,
      });
      evidence = ended.evidence;
      if (ended.paused) return await finish('paused_backfill', ended.paused);
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
      await store.finishRun({
        runId,
        status,
        at: nowIso(),
        error,
        counters: unflushed,
        evidence,
        logRun: args.options?.logRun ?? false,
      });
      // An approval lets runs through until one of them completes.
      if (approved && status === 'ok') await store.setApproval(stream.name, false, nowIso());
    } catch (finishError) {
      log.error(
        { stream: stream.name, err: describeError(finishError) },
        'could not record the end of the run',
      );
    }
    // Wherever the loss was found (a renewal, a commit's fence, a scan's end), the run ends here.
    if (cause instanceof LeaseLostError) {
      events.emit('lease:lost', { stream: stream.name, runId, holder: args.holder, reason: error ?? '' });
    }
    events.emit('run:finished', {
      stream: stream.name,
      runId,
      mode: request.mode,
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

function noSecrets(name: string): string {
  throw new ConfigError(`secret ${name} was asked for, but this run was given no way to read secrets`);
}
