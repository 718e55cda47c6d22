import { newRunId, nowIso } from '../core/clock.ts';
import { compareCursorText } from '../core/cursor-time.ts';
import {
  ConfigError,
  describeError,
  FatalError,
  InterruptedError,
  RunDeadlineError,
  TransientError,
} from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import type { CheckpointSlot, DeadLetterResolution, RunStore } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import {
  addCounters,
  type Checkpoint,
  type DeadLetter,
  emptyCounters,
  type Json,
  type Logger,
  type RunCounters,
  type RunMode,
  type RunStatus,
  type SourceReport,
  type StreamSource,
  type TimeRange,
} from '../core/types.ts';
import { viewColumns } from '../core/view-columns.ts';
import { BackfillGuard, BackfillPausedError } from './backfill-guard.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { classify } from './classifier.ts';
import { LeaseKeeper, type LeaseOptions } from './lease-keeper.ts';
import { canFollow, mergePages, PagePreparer, type PreparedPage, sharedFailure } from './page-preparer.ts';
import { RateLimiters } from './rate-limiter.ts';
import { finishScan, recentChanges, SCAN_ID, seenKeys, startScan } from './reconcile-scan.ts';
import { type ReplayPage, replaySource } from './replay-source.ts';
import { RetryPolicy, type RetrySettings } from './retry-policy.ts';
import { sourceServices } from './source-services.ts';
import { StoredStates } from './stored-states.ts';
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
      ...args,
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

interface PipelineArgs extends RunStreamArgs {
  readonly keeper: LeaseKeeper;
  readonly runId: string;
  readonly totals: RunCounters;
  readonly newestCursor: string | null;
  readonly guard: BackfillGuard | null;
  /** A reconciliation: pages move the backfill slot and record the keys they saw. */
  readonly reconcile: boolean;
  /** Which checkpoint the pages move. */
  readonly slot: CheckpointSlot;
  /** The stream's source, or a wrapper of it (range backfills), or its `fetchByKey` (refresh). */
  readonly source: StreamSource<unknown>;
  /** The keys a refresh reads; null otherwise. */
  readonly keys: readonly string[] | null;
  /** Fail the run at a page whose every record failed the same way (see `sharedFailure`). */
  readonly judgePages: boolean;
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

/**
 * A commit takes ready pages until it holds this many records (and tombstones). Larger commits
 * cost fewer fsyncs and round trips but keep more records alive while in flight, which V8 then
 * promotes and collects late: 5,000 kept the 1M-record bench as fast as 10,000 with less memory.
 */
const MAX_RECORDS_PER_COMMIT = 5_000;
/**
 * Commits handed to the store and not yet confirmed: one being applied while the next is handed
 * over, so the store never waits for the engine to classify.
 */
const MAX_COMMITS_IN_FLIGHT = 2;
/**
 * Keys of open dead letters a run keeps in memory, to resolve only those when they commit. A stream
 * with more sends every key it commits (the store looks each up in an index of open letters).
 */
const MAX_TRACKED_LETTER_KEYS = 50_000;

/** The producer (source -> prepare) and consumer (classify -> commit) of one run. */
class RunPipeline {
  readonly #args: PipelineArgs;
  readonly #abort = new AbortController();
  #newestCursor: string | null;
  /** Counters the source reported that no commit has carried yet. */
  #report: Partial<RunCounters> = {};
  readonly #startedAt = Date.now();
  /** Commits handed to the store and not resolved yet, oldest first. */
  readonly #pending: { readonly done: Promise<void> }[] = [];
  /** Commits handed over so far. */
  #commits = 0;
  /** The checkpoint of the last commit the store confirmed. */
  checkpoint: Checkpoint | undefined;
  /** Keys a refresh read that neither the source nor the store has. */
  readonly absent: string[] = [];
  /**
   * Keys with open dead letters, which a commit of the key resolves; null when there are too many
   * to keep (every committed key is then sent).
   */
  #letterKeys: Set<string> | null = new Set();
  /** Records read with and without a value in the stream's cursor field. */
  #withCursor = 0;
  #withoutCursor = 0;

  constructor(args: PipelineArgs) {
    this.#args = args;
    this.#newestCursor = args.newestCursor;
  }

  /** What the run should say beside its counters (kept in its evidence, shown by `syncline status`). */
  warnings(): string[] {
    const { stream } = this.#args;
    if (stream.cursor && this.#withoutCursor > 0 && this.#withCursor === 0) {
      return [
        `cursor field "${stream.cursor}" is missing from every record read (${this.#withoutCursor}): ` +
          'incremental reads cannot move past them, so each run reads them all again; check `cursor`',
      ];
    }
    return [];
  }

  /** Hands over the counters not yet committed (and forgets them). */
  takeReport(): Partial<RunCounters> {
    const report = this.#report;
    this.#report = {};
    return report;
  }

  async run(from: Checkpoint): Promise<{ status: RunResult['status']; error: unknown }> {
    const { stream, log, stop, keeper, runId } = this.#args;
    const inFlight = this.#args.options?.maxPagesInFlight ?? 4;
    const queue = new BoundedQueue<PreparedPage>(inFlight);
    const onStop = () =>
      this.#abort.abort(new InterruptedError('stopped by signal', { stream: stream.name }));
    stop?.addEventListener('abort', onStop, { once: true });
    if (stop?.aborted) onStop();
    keeper.keepAlive((lost) => {
      this.#abort.abort(lost);
      queue.fail(lost);
    });
    const maxDuration = this.#args.options?.maxDurationMs;
    const deadlineTimer =
      maxDuration === undefined
        ? null
        : setTimeout(() => {
            this.#abort.abort(
              new RunDeadlineError(
                `stream "${stream.name}": reached the maximum run duration (${Math.round(maxDuration / 1000)} s); ` +
                  'stopped at the last checkpoint',
                { stream: stream.name },
              ),
            );
          }, maxDuration);
    const producer = this.#produce(from, queue);
    try {
      const states = await StoredStates.open(this.#args.store, stream.name);
      const letterKeys = await this.#args.store.openDeadLetterKeys(stream.name, MAX_TRACKED_LETTER_KEYS);
      this.#letterKeys = letterKeys === null ? null : new Set(letterKeys);
      for await (const page of queue) {
        if (this.#abort.signal.aborted) break;
        // Pages that are ready while the last commit ran go into this one's transaction: when the
        // store is the bottleneck, commits grow (fewer fsyncs, fences and round trips) by themselves.
        const batch = [page];
        let size = page.records.length + page.tombstones.length;
        while (batch.length < inFlight && size < MAX_RECORDS_PER_COMMIT) {
          const next = queue.shiftReady((p) => canFollow(batch, p));
          if (next === undefined) break;
          batch.push(next);
          size += next.records.length + next.tombstones.length;
        }
        await this.#commit(mergePages(batch), batch.length, states, queue);
      }
    } catch (error) {
      this.#abort.abort(error);
    } finally {
      stop?.removeEventListener('abort', onStop);
      if (deadlineTimer) clearTimeout(deadlineTimer);
      queue.drain();
    }
    // Commits handed over still finish (or fail) before the run ends.
    await Promise.allSettled(this.#pending.map((p) => p.done));
    await producer;
    const reason: unknown = this.#abort.signal.aborted ? this.#abort.signal.reason : undefined;
    if (reason === undefined) return { status: 'ok', error: undefined };
    if (reason instanceof InterruptedError) {
      log.info({ stream: stream.name, runId }, 'stopped after the page in progress');
      return { status: 'interrupted', error: reason };
    }
    if (reason instanceof BackfillPausedError) {
      log.warn(
        { stream: stream.name, runId, evidence: reason.evidence },
        'paused before a suspected backfill',
      );
      return { status: 'paused_backfill', error: reason };
    }
    if (reason instanceof RunDeadlineError) {
      log.warn({ stream: stream.name, runId, reason: reason.message }, 'run stopped at its deadline');
      return { status: 'partial', error: reason };
    }
    return { status: 'failed', error: reason };
  }

  async #produce(from: Checkpoint, queue: BoundedQueue<PreparedPage>): Promise<void> {
    const { stream, log, events, runId } = this.#args;
    const preparer = new PagePreparer(stream, !this.#args.store.capabilities.storesNul);
    try {
      const report = (r: SourceReport) => {
        addCounters(this.#report, r);
        if (r.total !== undefined && Number.isFinite(r.total) && r.total >= 0) {
          events.emit('run:estimated', { stream: stream.name, runId, total: Math.round(r.total) });
        }
      };
      const maxDuration = this.#args.options?.maxDurationMs;
      const deadline = maxDuration === undefined ? null : this.#startedAt + maxDuration;
      const { attempt, observeLimit, backOff } = sourceServices({
        stream: stream.name,
        policy: new RetryPolicy(this.#args.options?.retry),
        limiters: this.#args.limiters ?? new RateLimiters(),
        signal: this.#abort.signal,
        deadline,
        report,
        events,
        runId,
      });
      // The checkpoint of the last page handed over: where the source resumes if it throws a
      // transient error (a custom source's fetch that failed); `failures` counts restarts there.
      let resumeAt = from;
      let failures = 0;
      for (;;) {
        try {
          const pages = this.#args.source({
            stream: stream.name,
            checkpoint: resumeAt,
            signal: this.#abort.signal,
            log,
            report,
            attempt,
            observeLimit,
            deadline,
            secret: this.#args.secret ?? noSecrets,
            range: null,
            fullScan: this.#args.reconcile === true,
            keys: this.#args.keys,
          });
          for await (const page of pages) {
            if (this.#abort.signal.aborted) break;
            if (!page || !Array.isArray(page.records)) {
              throw new FatalError(
                `stream "${stream.name}": the source yielded ${page === null ? 'null' : typeof page} instead of ` +
                  'a page { records: [...], checkpoint }',
                { stream: stream.name },
              );
            }
            const prepared = await preparer.prepare(page, (page as Partial<ReplayPage>).origins);
            this.#judge(prepared);
            if (!(await queue.push(prepared))) break;
            resumeAt = page.checkpoint;
            failures = 0;
          }
          break;
        } catch (error) {
          if (!(error instanceof TransientError) || this.#abort.signal.aborted) throw error;
          failures++;
          log.warn(
            { stream: stream.name, err: describeError(error), attempt: failures },
            'the source failed with a transient error; resuming after the last page handed over',
          );
          await backOff(error, failures, 'reading the source');
        }
      }
      queue.close();
    } catch (error) {
      // Pages already queued precede the error and are still committed; then the run fails.
      if (!this.#abort.signal.aborted) queue.fail(error);
      else queue.close();
    }
  }

  /**
   * Stops the run at a page whose every record failed the same way (a wrong `key`, a schema that
   * does not fit): its dead letters would otherwise be committed with its checkpoint, and an
   * incremental stream would never read those records again. Warns, once, about a page whose
   * records all lack the stream's cursor field.
   */
  #judge(page: PreparedPage): void {
    const { stream, log } = this.#args;
    if (this.#args.judgePages) {
      const shared = sharedFailure(page);
      if (shared !== null) {
        const how = shared.count === page.fetched ? 'the same way' : `${shared.count} of them the same way`;
        throw new FatalError(
          `stream "${stream.name}": every record of a page (${page.fetched}) failed, ${how}: ${shared.reason}; ` +
            "the page was not committed and the checkpoint stays where it was. Fix the stream's key or schema " +
            'and run again (records dead-lettered by earlier runs: `syncline failed replay`)',
          { stream: stream.name },
        );
      }
    }
    if (page.withoutCursor > 0 && this.#withoutCursor === 0 && page.withoutCursor === page.records.length) {
      log.warn(
        { stream: stream.name, cursor: stream.cursor, records: page.withoutCursor },
        'the cursor field is missing from every record of a page: incremental reads cannot move past them',
      );
    }
    this.#withoutCursor += page.withoutCursor;
    this.#withCursor += page.records.length - page.withoutCursor;
  }

  /**
   * Classifies `page` (`pages` source pages merged) and hands it to the store as one transaction,
   * without waiting for the commits handed over before it (at most `MAX_COMMITS_IN_FLIGHT` are).
   * Their writes are what classification sees for their keys (`StoredStates`).
   */
  async #commit(
    page: PreparedPage,
    pages: number,
    states: StoredStates,
    queue: BoundedQueue<PreparedPage>,
  ): Promise<void> {
    const { store, stream, keeper, runId } = this.#args;
    const keys = page.records.map((r) => r.key);
    for (const tombstone of page.tombstones) keys.push(tombstone.key);
    const stored = keys.length > 0 ? await states.of(keys) : new Map();
    // Keys applied without fault are collected only when some may have open dead letters.
    const applied =
      this.#letterKeys === null || this.#letterKeys.size > 0 || page.replayed.length > 0 ? [] : undefined;
    const {
      writes,
      counters,
      deadLetters: regressions,
      absent,
    } = classify(
      page.records,
      stored,
      {
        ...(stream.onVersionRegression ? { onVersionRegression: stream.onVersionRegression } : {}),
        ...(applied ? { settled: applied } : {}),
      },
      page.tombstones,
    );
    this.absent.push(...absent);
    const { letters: deadLetters, resolve } = this.#settle(page, regressions, applied);
    let newestCursor: string | null = null;
    if (
      page.newestCursor !== null &&
      (this.#newestCursor === null || compareCursorText(page.newestCursor, this.#newestCursor) > 0)
    ) {
      newestCursor = page.newestCursor;
      this.#newestCursor = newestCursor;
    }
    this.#args.guard?.check(writes);
    while (this.#pending.length >= MAX_COMMITS_IN_FLIGHT) await this.#pending[0]!.done;
    if (this.#abort.signal.aborted) return;
    const report = this.takeReport();
    const delta: Partial<RunCounters> = {
      ...report,
      ...counters,
      pages,
      fetched: page.fetched,
      failed: deadLetters.length,
    };
    const id = ++this.#commits;
    states.sent(writes, id);
    // What confirming the commit needs: not the page's records, which the store holds meanwhile.
    const written = writes.map((w) => w.key);
    const checkpoint = page.checkpoint;
    // Its own entry, removed when it settles: a commit can fail before one handed over earlier has
    // settled (a store wrapper that throws at once, a commit refused before the one before it
    // applied), and removing the oldest instead would let the run end without waiting for that one.
    const entry: { done: Promise<void> } = { done: Promise.resolve() };
    const settled = (): void => {
      const at = this.#pending.indexOf(entry);
      if (at >= 0) this.#pending.splice(at, 1);
    };
    const done = store
      .commitPage({
        stream: stream.name,
        runId,
        lease: keeper.lease,
        writes,
        deadLetters,
        checkpoint: page.checkpoint,
        newestCursor,
        counters: delta,
        at: nowIso(),
        ...(this.#args.slot === 'backfill' ? { slot: 'backfill' as const } : {}),
        ...(this.#args.reconcile
          ? { slot: 'backfill' as const, scan: { id: SCAN_ID, seenKeys: seenKeys(page) } }
          : {}),
        ...(resolve ? { resolve } : {}),
      })
      .then(
        () => {
          settled();
          states.confirmed(written, id);
          this.#committed(checkpoint, delta, deadLetters);
        },
        (error: unknown) => {
          settled();
          // Requests made for a page that did not commit still happened: keep them for the run record.
          addCounters(this.#report, report);
          // The first failure stops the run; the commits behind it fail with it.
          this.#abort.abort(error);
          queue.fail(error);
          throw error;
        },
      );
    // Observed by whoever waits for it; the run's outcome comes from the abort signal.
    done.catch(() => undefined);
    entry.done = done;
    this.#pending.push(entry);
  }

  /**
   * The dead letters a commit writes (the page's, and the regressions classification kept out) and
   * the open ones it settles: letters of keys it applied (`settled`) and, in a replay, the letters
   * whose records it applied. A key or letter the same commit dead-letters again is not settled.
   */
  #settle(
    page: PreparedPage,
    regressions: readonly DeadLetter[],
    settled: readonly string[] | undefined,
  ): { letters: readonly DeadLetter[]; resolve: DeadLetterResolution | null } {
    let letters: readonly DeadLetter[] = page.deadLetters;
    let replayed = page.replayed;
    if (regressions.length > 0) {
      // In a replay, a regression is the replayed letter's record failing again.
      const origin = new Map(replayed.map((r) => [r.key, r.id]));
      const again = regressions.map((letter) => {
        const id = letter.key === null ? undefined : origin.get(letter.key);
        return id === undefined ? letter : { ...letter, replayOf: id };
      });
      const failedAgain = new Set(again.map((l) => l.replayOf));
      replayed = replayed.filter((r) => !failedAgain.has(r.id));
      letters = [...letters, ...again];
    }
    const known = this.#letterKeys;
    if (known) for (const letter of letters) if (letter.key !== null) known.add(letter.key);
    if (!settled) return { letters, resolve: null };
    const failing = new Set(letters.map((l) => l.key));
    const keys = settled.filter((key) => !failing.has(key) && (known === null || known.has(key)));
    if (known) for (const key of keys) known.delete(key);
    if (keys.length === 0 && replayed.length === 0) return { letters, resolve: null };
    return { letters, resolve: { keys, replayed: replayed.map((r) => r.id) } };
  }

  /** What a confirmed commit changes for the run: its checkpoint, totals and events. */
  #committed(checkpoint: Checkpoint, delta: Partial<RunCounters>, deadLetters: readonly DeadLetter[]): void {
    const { stream, runId, totals, events } = this.#args;
    this.checkpoint = checkpoint;
    addCounters(totals, delta);
    for (const letter of deadLetters) {
      events.emit('record:failed', { stream: stream.name, runId, key: letter.key, reason: letter.reason });
    }
    events.emit('page:committed', { stream: stream.name, runId, page: delta, totals, checkpoint });
  }
}
