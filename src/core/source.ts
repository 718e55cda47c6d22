/**
 * The source contract: what a stream's source is given when a run starts (`SourceArgs`) and what it
 * hands back (`Page`s of records and `Tombstone`s). Every kind of source (HTTP, file, custom) and
 * every wrapper the engine puts around one (range backfills, replays) speaks it. The words are
 * those of the glossary in `types.ts`.
 */

import type { InboxReader } from './push.ts';
import type { Checkpoint, Logger, RunRequest } from './types.ts';

/** A batch of records plus the checkpoint that resumes just after its last record. */
export interface Page<R = unknown> {
  readonly records: readonly R[];
  /** Records the source says were deleted, applied after `records`. Default none. */
  readonly tombstones?: readonly Tombstone[];
  /** The position just after the last record of this page. */
  readonly checkpoint: Checkpoint;
  /**
   * What the source read but could not make into a record (a malformed CSV row, a message that is
   * not JSON): each is dead-lettered with its reason (say where it was: file and line, subject and
   * sequence) and its payload, and the run goes on. Default none.
   */
  readonly rejects?: readonly Reject[];
}

/** An item a source could not read as a record (see `Page.rejects`). */
export interface Reject {
  /** Why, and where: e.g. `orders.csv line 12: 5 fields where the header has 6`. */
  readonly reason: string;
  /** What was read, as the dead letter keeps it (the raw text, or what could be parsed). */
  readonly payload: unknown;
}

/** A record the source deleted, known only by its key. */
export interface Tombstone {
  /** An object holding the stream's key fields at the same paths as in a record, e.g. `{ id: 'cus_1' }`. */
  readonly key: unknown;
  /**
   * When the source deleted it, as a cursor value (e.g. an ISO time), or null when unknown. A stored
   * copy whose cursor is newer than this survives: the record came back after the delete.
   */
  readonly deletedAt: string | null;
}

/** Counters a source reports about its own I/O; they are added to the run record. */
export interface SourceReport {
  apiCalls?: number;
  retries?: number;
  bytes?: number;
  /** Responses that said "slow down" (HTTP 429 and similar). */
  throttled?: number;
  /** Milliseconds spent waiting on rate limits and backoff. */
  waitMs?: number;
  /**
   * Not a counter: how many records the source expects this run to read in all (an API's
   * `total_count`), when it knows. The latest report replaces earlier ones; it is shown as
   * progress and an ETA on the live line (`run:estimated`) and not stored. Default: unknown.
   */
  total?: number;
}

/** What a source receives when a run starts. One readonly object, so fields can be added. */
export interface SourceArgs {
  /** The stream being read. */
  readonly stream: string;
  /** The last committed checkpoint, or `null` for a first run / after `syncline reset`. */
  readonly checkpoint: Checkpoint;
  /** Aborted when the run must stop (signal, fatal error elsewhere, deadline). */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Add I/O counters to the run record. */
  readonly report: (report: SourceReport) => void;
  /**
   * Runs one operation (one request) under the run's retry policy and a rate limiter: waits for a
   * token, calls `op(attempt)`, and on a `TransientError` backs off (full jitter, or the
   * `retryAfterMs` it carries, never less than a floor) and tries again, within per-operation and
   * per-run retry budgets. Retries, throttling and waits are counted in the run record. Throws the
   * error when it is not transient, `FatalError` when a budget is spent, and `RunDeadlineError`
   * when a wait would overrun the run's deadline.
   */
  readonly attempt: <T>(
    op: (attempt: number, state: AttemptState) => Promise<T>,
    options: AttemptOptions,
  ) => Promise<T>;
  /** Tells a rate limiter what the API said about its budget (`X-RateLimit-*`). */
  readonly observeLimit: (limiter: string, budget: RateBudget) => void;
  /**
   * Tells the engine about one request the source made, answered or not (it becomes a
   * `request:completed` event, for metrics). The engine always gives it; optional so that args
   * built by hand (a custom source's own tests) need not. Counters still go through `report`.
   */
  readonly observeRequest?: (request: RequestReport) => void;
  /** Epoch ms by which the run must stop, or null when it has no maximum duration. */
  readonly deadline: number | null;
  /** Reads a secret (an environment variable); throws `ConfigError` naming it when unset. */
  readonly secret: (name: string) => string;
  /** The store's inbox of pushed events, for push sources (webhook streams) to apply. */
  readonly inbox?: InboxReader;
  /**
   * Registers a listener called after each commit of the run is durable, with the checkpoint it
   * committed (the last page's of the commit). A source that must tell its origin what it has
   * safely stored (a broker's acknowledgement, a replication slot's confirmed position) does it
   * here, never earlier: a kill before the call re-reads at most uncommitted work. Listeners must
   * not throw; an error they throw is logged and ignored. Optional so that args built by hand need
   * not give it; the engine always does.
   */
  readonly onCommitted?: (listener: (checkpoint: Checkpoint) => void) => void;
  /**
   * What the run was asked to do, and so what to read:
   * - `sync`: from `checkpoint` on (incrementally, when the source can);
   * - `reconcile`: every record the source has (`checkpoint` is null, or the scan's own position
   *   when one resumes); side reads such as a deleted-records feed may be skipped;
   * - `backfill`: only records whose cursor lies in `request.range`, `[from, to)` in ISO times (one
   *   window of the backfill), starting at `from` whatever `checkpoint` says of the main position;
   * - `refresh`: only for `StreamDefinition.fetchByKey`: the records with `request.keys`;
   * - `replay`: never given to a source (the engine reads the stored dead letters).
   * A source that cannot serve the mode it is given (a backfill from a source that cannot start at
   * a time) must throw a `FatalError` saying why and what to do instead, rather than read something
   * else: the run fails (exit 1) and nothing moves.
   */
  readonly request: RunRequest;
}

/** One request a source made, as `observeRequest` takes it. */
export interface RequestReport {
  /** Method and URL without secrets, the same text as `AttemptOptions.what`. */
  readonly what: string;
  /** The answer's status, or null when none came (a reset, a timeout, a refused connection). */
  readonly status: number | null;
  /** Bytes of the response body read. */
  readonly bytes: number;
  readonly durationMs: number;
}

/** What `attempt` tells the operation about the try it is making. */
export interface AttemptState {
  /** 1 for the first try. */
  readonly attempt: number;
  /** Attempts allowed for the operation (`retry.maxAttempts`, the first try included). */
  readonly maxAttempts: number;
  /**
   * A transient failure of this try will not be retried: the operation's attempts or the run's
   * retry budget are spent. (A retry may still stop at the run's deadline.)
   */
  readonly last: boolean;
}

export interface AttemptOptions {
  /** What is being done, for error messages: e.g. `GET https://api.example.com/v1/customers`. */
  readonly what: string;
  /** The rate limiter to take a token from (usually the host), and its configured rate. */
  readonly limiter?: { readonly key: string; readonly rate?: RateLimit };
}

/** A token bucket's settings. */
export interface RateLimit {
  /** Sustained requests per second. */
  readonly requestsPerSecond: number;
  /** Requests that may go at once after a quiet spell. Default: one second's worth (at least 1). */
  readonly burst?: number;
  /**
   * Whether the bucket is the cluster's rather than this process's: with a store that keeps shared
   * buckets (PostgreSQL), every process using the store draws from one bucket per host, so the
   * host sees the rate once however many workers run. Default false: each process paces itself.
   * A store without shared buckets (SQLite, one machine) keeps the bucket in the process.
   */
  readonly shared?: boolean;
}

/** What an API said about its remaining budget. */
export interface RateBudget {
  readonly limit?: number;
  readonly remaining?: number;
  /** When the budget refills, epoch ms. */
  readonly resetAtMs?: number;
}

/** A source for one stream: an async generator of pages. */
export type StreamSource<R = unknown> = (args: SourceArgs) => AsyncIterable<Page<R>>;
