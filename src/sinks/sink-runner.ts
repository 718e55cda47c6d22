import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, TransientError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import { type FeedEvent, feedEvent } from '../core/feed-change.ts';
import type { DeliveryResult, Sink, SinkEventKind, SinkStatus } from '../core/sink.ts';
import type { ChangeFeed, DestinationWrite } from '../core/store.ts';
import type { Logger } from '../core/types.ts';

/** What a sink delivers without a `kinds` filter: the record changes, not the run events. */
const RECORD_KINDS = ['insert', 'update', 'delete'] as const;

/** Rows read from the change log at once: several batches' worth, filtered rows included. */
const READ_ROWS = 500;

/** A change the sink's target refused for good, with why. */
export interface RejectedEvent {
  readonly event: FeedEvent;
  readonly reason: string;
}

export interface RunSinkOptions {
  readonly feed: ChangeFeed;
  readonly sink: Sink;
  /** Its consumer name in the change log (`sinkConsumer(sink.name)`). */
  readonly consumer: string;
  /**
   * Only these streams / kinds are delivered; the others still move the offset. Default: every
   * stream, and the record changes (every kind but `run`).
   */
  readonly filter: { readonly streams?: readonly string[]; readonly kinds?: readonly SinkEventKind[] };
  /** Read each change with its key's data (`FeedEvent.data`); false leaves `data` out of events. */
  readonly data: boolean;
  /** Events per `deliver` call, at most. */
  readonly batchSize: number;
  /** Resolves when there may be new changes (a commit in this process, or a poll interval passed). */
  wake(): Promise<void>;
  /** Aborting ends the runner after the delivery in flight is cancelled; its batch comes again next time. */
  readonly stop: AbortSignal;
  /** Backoff of a failing delivery: full jitter over `min(maxMs, baseMs * 2^(attempt-1))`. */
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  /** A sink failing for longer than this pauses until `resume()`. */
  readonly pauseAfterMs: number;
  readonly events?: SyncEventBus;
  readonly log: Logger;
  /**
   * Where rejected events go (delivery dead letters). Default: each is logged at `error` with its
   * id and reason. Called before the offset moves past them, so a crash repeats, never loses them.
   */
  readonly onRejected?: (rejected: readonly RejectedEvent[]) => Promise<void>;
  /**
   * How a confirmed batch moves the offset. Default `feed.ackChanges`; a destination stores its
   * external-ID map rows (`DeliveryResult.writes`) with the offset, in one transaction.
   */
  readonly confirm?: (args: {
    readonly seq: number;
    readonly writes: readonly DestinationWrite[];
    readonly at: string;
  }) => Promise<{ readonly seq: number }>;
  /** Epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Default `Math.random` (the backoff's jitter). */
  readonly random?: () => number;
}

/** A running sink: what it does, and the operator's lever on a paused one. */
export interface SinkRunner {
  status(): SinkStatus;
  /** A paused sink tries its batch again now; elsewhere nothing happens. */
  resume(): void;
  /**
   * Resolves when the runner stopped on `stop`; rejects with the error that was fatal for the sink
   * (then its state is `stopped` and `lastError` says why).
   */
  readonly done: Promise<void>;
}

/**
 * Tails the change log for one sink: registers its consumer (at the oldest row kept, for a new
 * one), reads after its offset, filters, delivers in seq order in batches and acknowledges each
 * batch once the target confirmed it, so a restart resumes after the last confirmed event and
 * nothing is skipped (at least once: the batch in flight at a crash comes again). A transient
 * failure retries the same batch with backoff; failing past `pauseAfterMs` pauses the sink.
 */
export function runSink(options: RunSinkOptions): SinkRunner {
  const { feed, sink, consumer, stop, log } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const kinds = new Set<string>(options.filter.kinds?.length ? options.filter.kinds : RECORD_KINDS);
  const streams = options.filter.streams?.length ? new Set(options.filter.streams) : null;
  let state: SinkStatus['state'] = 'running';
  let offset = 0;
  let lastError: string | null = null;
  let failingSince: number | null = null;
  let resumed: (() => void) | null = null;

  const wanted = (c: FeedEvent) => (!streams || streams.has(c.stream)) && kinds.has(c.kind);
  const onRejected =
    options.onRejected ??
    (async (rejected: readonly RejectedEvent[]) => {
      for (const { event, reason } of rejected) {
        log.error({ sink: sink.name, id: event.id, reason }, 'sink: the target refused an event for good');
      }
    });

  const ack = async (seq: number, writes: readonly DestinationWrite[] = []) => {
    if (seq <= offset) return;
    const at = new Date(now()).toISOString();
    offset = (
      options.confirm
        ? await options.confirm({ seq, writes, at })
        : await feed.ackChanges({ consumer, seq, at })
    ).seq;
  };

  /** Until the target confirms `batch`: its result, or null when stopped. Throws what is fatal. */
  const deliver = async (batch: readonly FeedEvent[]): Promise<DeliveryResult | null> => {
    let attempt = 0;
    for (;;) {
      if (stop.aborted) return null;
      try {
        const result = await options.sink.deliver(batch, stop);
        state = 'running';
        lastError = null;
        failingSince = null;
        if (result.rejected.length > 0) {
          await onRejected(
            result.rejected.map(({ event, reason }) => ({
              event,
              reason: `${options.confirm ? 'destination' : 'sink'} ${sink.name}: ${reason}`,
            })),
          );
        }
        return result;
      } catch (error) {
        if (stop.aborted) return null;
        if (!(error instanceof TransientError)) throw error;
        attempt += 1;
        lastError = describeError(error);
        failingSince ??= now();
        if (now() - failingSince >= options.pauseAfterMs) {
          state = 'paused';
          options.events?.emit('sink:failed', { sink: sink.name, reason: lastError, attempt, delayMs: 0 });
          log.error(
            { sink: sink.name, err: lastError, failingSinceMs: now() - failingSince },
            'sink paused: its target has been failing for longer than pauseAfter; resume it once the target is back',
          );
          if (!(await untilResumed())) return null;
          attempt = 0;
          failingSince = null;
          state = 'running';
          continue;
        }
        const delayMs = backoff(attempt, error);
        state = 'retrying';
        options.events?.emit('sink:failed', { sink: sink.name, reason: lastError, attempt, delayMs });
        log.warn({ sink: sink.name, err: lastError, attempt, delayMs }, 'sink delivery failed; retrying');
        try {
          await sleep(delayMs, undefined, { signal: stop });
        } catch {
          return null;
        }
      }
    }
  };

  const backoff = (attempt: number, error: TransientError): number => {
    if (error.retryAfterMs !== undefined && Number.isFinite(error.retryAfterMs)) {
      return Math.min(options.retry.maxMs, Math.max(0, error.retryAfterMs));
    }
    const ceiling = Math.min(options.retry.maxMs, options.retry.baseMs * 2 ** Math.min(30, attempt - 1));
    return Math.floor(random() * ceiling);
  };

  const untilResumed = () =>
    new Promise<boolean>((resolve) => {
      const onAbort = () => resolve(false);
      stop.addEventListener('abort', onAbort, { once: true });
      resumed = () => {
        stop.removeEventListener('abort', onAbort);
        resolve(true);
      };
    });

  /** One read of the log and its delivery; returns whether there were rows. */
  const step = async (): Promise<boolean> => {
    const rows = await feed.readEvents({ afterSeq: offset, limit: READ_ROWS, withData: options.data });
    const lastRow = rows.at(-1);
    options.events?.emit('sink:read', { sink: sink.name, offset, lag: rows.length });
    if (lastRow === undefined) return false;
    let batch: FeedEvent[] = [];
    for (const row of rows) {
      const event = feedEvent(row);
      if (event !== null && wanted(event)) batch.push(options.data ? event : withoutData(event));
      if (batch.length === options.batchSize) {
        const result = await deliver(batch);
        if (!result) return false;
        await ack(row.seq, result.writes);
        options.events?.emit('sink:delivered', { sink: sink.name, events: batch.length, lastSeq: row.seq });
        batch = [];
      }
    }
    let writes: readonly DestinationWrite[] = [];
    if (batch.length > 0) {
      const result = await deliver(batch);
      if (!result) return false;
      writes = result.writes ?? [];
      options.events?.emit('sink:delivered', {
        sink: sink.name,
        events: batch.length,
        lastSeq: lastRow.seq,
      });
    }
    await ack(lastRow.seq, writes); // filtered rows after the last delivered event move the offset too
    return true;
  };

  const loop = async () => {
    const registered = await feed.registerConsumer({
      consumer,
      afterSeq: 0,
      at: new Date(now()).toISOString(),
    });
    offset = registered.seq;
    const stopped = aborted(stop);
    let storeFailures = 0;
    while (!stop.aborted) {
      let more: boolean;
      try {
        more = await step();
        storeFailures = 0;
      } catch (error) {
        // The target's transient failures are retried inside `deliver`: this one is the store's
        // (a dropped connection). Wait and read again from the offset; anything else is fatal.
        if (!(error instanceof TransientError) || stop.aborted) throw error;
        storeFailures += 1;
        lastError = describeError(error);
        const delayMs = backoff(storeFailures, error);
        log.warn({ sink: sink.name, err: lastError, delayMs }, 'sink: the store failed; reading again');
        await sleep(delayMs, undefined, { signal: stop }).catch(() => undefined);
        continue;
      }
      if (more) continue;
      if (stop.aborted) break;
      await Promise.race([options.wake(), stopped]);
    }
  };

  const done = loop().then(
    () => {
      state = 'stopped';
    },
    (error: unknown) => {
      state = 'stopped';
      lastError = describeError(error);
      throw error;
    },
  );

  return {
    status: () => ({
      name: sink.name,
      state,
      offset,
      lastError,
      failingSince: failingSince === null ? null : new Date(failingSince).toISOString(),
    }),
    resume() {
      const go = resumed;
      resumed = null;
      go?.();
    },
    done,
  };
}

/** A change without its data: `data: false` sinks never read it. A run event has none. */
function withoutData(event: FeedEvent): FeedEvent {
  if (event.kind === 'run') return event;
  const { data: _data, ...rest } = event;
  return rest as FeedEvent;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * A `wake` for `runSink` and the followed change feed: resolves at the next `page:committed` or
 * `run:finished` on `events` (a commit in this process), at a commit of another process that
 * `otherCommits` reports (PostgreSQL's NOTIFY), after `pollMs` (a commit by another process the
 * store cannot report: SQLite), or when `signal` aborts; whichever comes first, leaving no timer or
 * listener.
 */
export function wakeOnCommit(
  events: SyncEventBus | undefined,
  pollMs = 500,
  /** Commits of other processes, when the store hears of them (`CommitWatcher`): subscribe, get `off`. */
  otherCommits?: (listener: () => void) => () => void,
): (signal?: AbortSignal) => Promise<void> {
  return (signal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        offCommit?.();
        offRun?.();
        offOther?.();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      // A run's end can be a row of the log too (RunLogRow), written after its last page.
      const offCommit = events?.on('page:committed', done);
      const offRun = events?.on('run:finished', done);
      const offOther = otherCommits?.(done);
      if (signal?.aborted) done();
      else signal?.addEventListener('abort', done, { once: true });
    });
}
