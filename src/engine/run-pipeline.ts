import { nowIso } from '../core/clock.ts';
import { compareCursorText } from '../core/cursor-time.ts';
import {
  describeError,
  FatalError,
  InterruptedError,
  RunDeadlineError,
  TransientError,
} from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import type { RetrySettings } from '../core/retry-settings.ts';
import type { SourceReport, StreamSource } from '../core/source.ts';
import type { CheckpointSlot, RunStore } from '../core/store.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import {
  addCounters,
  type Checkpoint,
  type DeadLetter,
  type Logger,
  type RunCounters,
  type RunRequest,
  type RunStatus,
} from '../core/types.ts';
import { type BackfillGuard, BackfillPausedError } from './backfill-guard.ts';
import { BoundedQueue } from './bounded-queue.ts';
import { classify } from './classifier.ts';
import { DeadLetterSettler } from './dead-letter-settler.ts';
import type { LeaseKeeper } from './lease-keeper.ts';
import { PageJudge } from './page-judge.ts';
import { canFollow, mergePages, PagePreparer, type PreparedPage } from './page-preparer.ts';
import type { RateLimiters } from './rate-limiter.ts';
import { SCAN_ID, seenKeys } from './reconcile-scan.ts';
import type { ReplayPage } from './replay-source.ts';
import { RetryPolicy } from './retry-policy.ts';
import { sourceServices } from './source-services.ts';
import { StoredStates } from './stored-states.ts';

/** What one run's pipeline works with: the run's services, resolved, and what its mode asks. */
export interface PipelineArgs {
  readonly store: RunStore;
  readonly stream: AnyStreamDefinition;
  readonly events: SyncEventBus;
  readonly log: Logger;
  /** Aborting asks the run to stop after the page it is committing: status `interrupted`. */
  readonly stop?: AbortSignal;
  readonly keeper: LeaseKeeper;
  readonly runId: string;
  /** The run's totals, added to as commits are confirmed. */
  readonly totals: RunCounters;
  /** The newest cursor value the stream has committed, or null. */
  readonly newestCursor: string | null;
  readonly guard: BackfillGuard | null;
  /** Pages fetched and prepared ahead of the one being committed (see `RunOptions`). */
  readonly maxPagesInFlight: number;
  /** The longest the run may take, or null for no limit (see `RunOptions`). */
  readonly maxDurationMs: number | null;
  readonly retry: RetrySettings | undefined;
  readonly limiters: RateLimiters;
  readonly secret: (name: string) => string;
  /** What the run was asked for; the source receives it as `SourceArgs.request`. */
  readonly request: RunRequest;
  /** What the pipeline reads (`RunModeEntry.source`). */
  readonly source: StreamSource<unknown>;
  /** Which checkpoint the pages move (`RunModeEntry.slot`). */
  readonly slot: CheckpointSlot;
  /** Each commit records the keys its page saw (`RunModeEntry.scans`). */
  readonly scans: boolean;
  /** Fail the run at a page whose every record failed the same way (`RunModeEntry.judgesPages`). */
  readonly judgesPages: boolean;
}

/** How a pipeline ended; the run records it. */
export interface PipelineOutcome {
  readonly status: Exclude<RunStatus, 'running'>;
  readonly error: unknown;
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

/** The producer (source -> prepare) and consumer (classify -> commit) of one run. */
export class RunPipeline {
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
  readonly #judge: PageJudge;
  /** What sources registered with `SourceArgs.onCommitted`. */
  readonly #commitListeners: ((checkpoint: Checkpoint) => void)[] = [];

  constructor(args: PipelineArgs) {
    this.#args = args;
    this.#newestCursor = args.newestCursor;
    this.#judge = new PageJudge({ stream: args.stream, log: args.log, judgesFailures: args.judgesPages });
  }

  /** What the run should say beside its counters (kept in its evidence, shown by `syncline status`). */
  warnings(): string[] {
    return this.#judge.warnings();
  }

  /** Hands over the counters not yet committed (and forgets them). */
  takeReport(): Partial<RunCounters> {
    const report = this.#report;
    this.#report = {};
    return report;
  }

  async run(from: Checkpoint): Promise<PipelineOutcome> {
    const { stream, log, stop, keeper, runId } = this.#args;
    const inFlight = this.#args.maxPagesInFlight;
    const queue = new BoundedQueue<PreparedPage>(inFlight);
    const onStop = () =>
      this.#abort.abort(new InterruptedError('stopped by signal', { stream: stream.name }));
    stop?.addEventListener('abort', onStop, { once: true });
    if (stop?.aborted) onStop();
    keeper.keepAlive((lost) => {
      this.#abort.abort(lost);
      queue.fail(lost);
    });
    const maxDuration = this.#args.maxDurationMs;
    const deadlineTimer =
      maxDuration === null
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
      const settler = await DeadLetterSettler.open(this.#args.store, stream.name);
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
        await this.#commit(mergePages(batch), batch.length, states, settler, queue);
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
      const maxDuration = this.#args.maxDurationMs;
      const deadline = maxDuration === null ? null : this.#startedAt + maxDuration;
      const { attempt, observeLimit, observeRequest, backOff } = sourceServices({
        stream: stream.name,
        policy: new RetryPolicy(this.#args.retry),
        limiters: this.#args.limiters,
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
            observeRequest,
            deadline,
            secret: this.#args.secret,
            request: this.#args.request,
            inbox: this.#args.store,
            onCommitted: (listener) => this.#commitListeners.push(listener),
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
            this.#judge.judge(prepared);
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
   * Classifies `page` (`pages` source pages merged) and hands it to the store as one transaction,
   * without waiting for the commits handed over before it (at most `MAX_COMMITS_IN_FLIGHT` are).
   * Their writes are what classification sees for their keys (`StoredStates`).
   */
  async #commit(
    page: PreparedPage,
    pages: number,
    states: StoredStates,
    settler: DeadLetterSettler,
    queue: BoundedQueue<PreparedPage>,
  ): Promise<void> {
    const { store, stream, keeper, runId } = this.#args;
    const keys = page.records.map((r) => r.key);
    for (const tombstone of page.tombstones) keys.push(tombstone.key);
    const stored = keys.length > 0 ? await states.of(keys) : new Map();
    // Keys applied without fault are collected only when some may have open dead letters.
    const applied = settler.collectsApplied(page) ? [] : undefined;
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
    const { letters: deadLetters, resolve } = settler.settle(page, regressions, applied);
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
    // The stream's newest cursor once this commit lands (commits are confirmed in order).
    const newestSoFar = this.#newestCursor;
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
        ...(this.#args.scans ? { scan: { id: SCAN_ID, seenKeys: seenKeys(page) } } : {}),
        ...(resolve ? { resolve } : {}),
      })
      .then(
        () => {
          settled();
          states.confirmed(written, id);
          this.#committed(checkpoint, delta, deadLetters, newestSoFar);
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

  /** What a confirmed commit changes for the run: its checkpoint, totals and events. */
  #committed(
    checkpoint: Checkpoint,
    delta: Partial<RunCounters>,
    deadLetters: readonly DeadLetter[],
    newestCursor: string | null,
  ): void {
    const { stream, runId, totals, events } = this.#args;
    this.checkpoint = checkpoint;
    for (const listener of this.#commitListeners) {
      try {
        listener(checkpoint);
      } catch (error) {
        this.#args.log.warn(
          { stream: stream.name, runId, err: describeError(error) },
          'a source failed to take note of a commit',
        );
      }
    }
    addCounters(totals, delta);
    for (const letter of deadLetters) {
      events.emit('record:failed', { stream: stream.name, runId, key: letter.key, reason: letter.reason });
    }
    events.emit('page:committed', {
      stream: stream.name,
      runId,
      page: delta,
      totals,
      checkpoint,
      newestCursor,
    });
  }
}
