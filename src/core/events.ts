import { EventEmitter } from 'node:events';
import type { Checkpoint, RunCounters, RunMode, RunStatus } from './types.ts';

/**
 * What the engine tells the world, `noun:verb`, one payload object each. Logs, progress lines and
 * (later) metrics and the dashboard observe runs only through these.
 */
export interface SyncEvents {
  /** `mode`: what the run was asked to do (`RunRequest.mode`), so observers can tell syncs from reconciliations. */
  'run:started': { stream: string; runId: string; mode: RunMode; checkpoint: Checkpoint };
  /** A page was committed. `page` are this page's counters, `totals` the run's so far. */
  'page:committed': {
    stream: string;
    runId: string;
    page: Partial<RunCounters>;
    totals: RunCounters;
    checkpoint: Checkpoint;
    /**
     * The newest cursor value the stream has committed so far (this commit included), by
     * `compareCursorText`: what `StreamStatus.newestCursor` says after this commit, known to the
     * engine without reading the store. Null when the stream has no cursor or none was seen yet.
     * Lag (now minus it) is watched from here.
     */
    newestCursor: string | null;
  };
  'record:failed': { stream: string; runId: string; key: string | null; reason: string };
  /**
   * An operation (a request, or reading a custom source again) failed with a transient error and
   * will be tried again after `delayMs`. Emitted before the wait; a failure that is not retried
   * (attempts or the run's retry budget spent) ends the run instead.
   */
  'request:retrying': {
    stream: string;
    runId: string;
    /** What is retried: `GET https://api.example.com/v1/customers?limit=100` (no secrets), `reading the source`. */
    what: string;
    /** The attempt that failed, 1 for the first try: this is retry number `attempt`. */
    attempt: number;
    /** Attempts allowed per operation (`retry.maxAttempts`, the first try included). */
    maxAttempts: number;
    delayMs: number;
    /** What failed, in a few words: `503 from api.example.com` (the error's summary, else its message). */
    reason: string;
    /** The wait is the one the other side asked for (`Retry-After`). */
    retryAfter: boolean;
    /** The other side said "slow down" (HTTP 429). */
    throttled: boolean;
  };
  /**
   * A source's request got its answer, or failed without one (`status` null: a reset, a timeout).
   * Every request is told, the ones that will be retried included, so API calls and bytes can be
   * counted as they happen rather than read from run records. Told by the source through
   * `SourceArgs.observeRequest` (the HTTP source does); a request refused before it was sent (a bad
   * URL) is not told.
   */
  'request:completed': {
    stream: string;
    runId: string;
    /** Method and URL without secrets, as `request:retrying` names it: `GET https://api.example.com/v1/customers?limit=100`. */
    what: string;
    /** The HTTP status, or null when no answer came. */
    status: number | null;
    /** Bytes of the response body read (0 without an answer). */
    bytes: number;
    durationMs: number;
  };
  /** A request waits for a rate limiter before it goes. */
  'rate:waiting': {
    stream: string;
    runId: string;
    /** The request that waits. */
    what: string;
    /** The limiter's key: the API's host. */
    limiter: string;
    delayMs: number;
    /**
     * `budget`: the API said its budget is spent until its reset (`X-RateLimit-Remaining: 0`);
     * `rate`: pacing to the configured `rateLimit`, or the rate learned from `X-RateLimit-*`.
     */
    cause: 'budget' | 'rate';
    /** The same in words: `the rate limit of api.example.com (5 requests/s)`. */
    reason: string;
  };
  /**
   * The source said how many records it expects this run to read (`report({ total })`; HTTP
   * streams with `totalPath`). An estimate, for progress and an ETA; a later one replaces it.
   */
  'run:estimated': { stream: string; runId: string; total: number };
  'lease:waiting': { stream: string; holder: string; expiresAt: string };
  /**
   * The run found its lease taken over by another worker (a renewal or a commit's fence failed,
   * `LeaseLostError`): it stops without writing its last page. Told once per run, before
   * `run:finished` (status `failed`).
   */
  'lease:lost': {
    stream: string;
    runId: string;
    /** This worker's lease holder id: the one that lost the lease. */
    holder: string;
    /** The error's message, one line. */
    reason: string;
  };
  'run:finished': {
    stream: string;
    runId: string;
    mode: RunMode;
    status: Exclude<RunStatus, 'running'>;
    totals: RunCounters;
    error: string | null;
    durationMs: number;
  };
  /** A sink's target confirmed a batch of events: its offset moved to `lastSeq`. */
  'sink:delivered': { sink: string; events: number; lastSeq: number };
  /**
   * A sink's delivery failed with a transient error and is tried again after `delayMs` (or the sink
   * pauses, `delayMs` 0). `attempt`: the failure's number in the current run of failures.
   */
  'sink:failed': { sink: string; reason: string; attempt: number; delayMs: number };
  /** A sink read the change log: `lag` rows of its streams lie beyond its offset, at least. */
  'sink:read': { sink: string; offset: number; lag: number };
  /**
   * A destination's batch came back: `count` of its records went `outcome` (`ok`: written;
   * `unchanged`: nothing to send; `skipped`; `retry`; `fail`: refused, dead-lettered).
   */
  'destination:written': {
    destination: string;
    outcome: 'ok' | 'unchanged' | 'skipped' | 'retry' | 'fail';
    count: number;
  };
  /**
   * A replication slot's state as the service last read it (every 15 s): `lagBytes` of WAL it keeps
   * on the source (null when it could not be read), and one line when past its `maxSlotLag`.
   */
  'capture:slot': { slot: string; lagBytes: number | null; active: boolean; warning: string | null };
}

/** A typed event emitter over `SyncEvents`. */
export class SyncEventBus {
  readonly #emitter = new EventEmitter();

  on<E extends keyof SyncEvents>(event: E, listener: (payload: SyncEvents[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  emit<E extends keyof SyncEvents>(event: E, payload: SyncEvents[E]): void {
    this.#emitter.emit(event, payload);
  }
}
