/**
 * The words Syncline uses, and only these (no synonyms anywhere in the code or docs):
 *
 * - **source**: a system we do not control (an HTTP API, a webhook inbox, a database, a file).
 * - **stream**: one named collection read from a source into one table, e.g. `customers`.
 * - **record**: one JSON object of a stream as the source gave it.
 * - **page**: a batch of records plus the checkpoint to resume after it.
 * - **key**: the field (or fields) that identify a record; encoded to one text value (`_key`).
 * - **version**: an optional field that orders the states of one record (higher is newer).
 * - **hash**: the content hash of a record's canonical JSON; equal hash means nothing changed.
 * - **cursor**: the field of a record that orders the stream for incremental reads (e.g. `updated_at`).
 * - **checkpoint**: a stream's own JSON state meaning "everything up to and including this page has
 *   been handed over"; committed in the same transaction as the page's rows.
 * - **watermark**: the tuple `(cursor value, key)` of the last record handed over, compared with `>`.
 * - **change**: what applying a record did: insert, update, delete (unchanged and stale write nothing).
 * - **run**: one execution of one stream, recorded with its status and counters.
 * - **lease**: the right of one worker to write a stream; every commit is fenced by its epoch.
 * - **dead letter**: a record that could not be applied, kept with its reason and raw payload.
 * - **tombstone**: the source's word that a record was deleted, carrying only its key (a deleted-
 *   records feed, a 404/410 on fetch-by-id); it soft-deletes the stored row and keeps its last data.
 * - **sink**: a consumer of the change log; **destination**: a sink that writes to another API.
 *
 * The contract between a source and the engine (`SourceArgs`, `Page`, `Tombstone`) is in `source.ts`.
 */

/** Any JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A stream's resume state; `null` means "start from the beginning". */
export type Checkpoint = Json;

/**
 * Kept importable from here for `config/define-config.ts` (owned elsewhere); new code imports it
 * from `retry-settings.ts`, where it lives.
 */
export type { RetrySettings } from './retry-settings.ts';

/** Minimal structured logger (pino's shape), so sources can log without importing pino. */
export interface Logger {
  /** The finest level, when the logger has it (pino does): what only a deep look needs. */
  trace?(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  /**
   * The lowest level written (`trace`, `debug`, `info`...), when the logger says (pino does), so a
   * caller can add what only that level wants to one line instead of writing two.
   */
  readonly level?: string;
}

/** A logger that writes nothing: the default where no one asked for logs (the library, tests). */
export const SILENT_LOGGER: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/** The value of a version or cursor field as stored: numbers and strings, as text. */
export type ScalarText = string;

/** How one stored record looks to the engine when it classifies an incoming one. */
export interface StoredRecordState {
  readonly hash: string;
  /** The stored version, as text (`String(value)`), or null when the stream has no version field. */
  readonly version: string | null;
  readonly deleted: boolean;
  /** The stored cursor value, when the store returns it (it tells a regression from an old copy). */
  readonly cursor?: string | null;
}

/** The kinds of change a record can cause. Unchanged and stale records cause none. */
export type ChangeKind = 'insert' | 'update' | 'delete';

/** One row the engine asks a store to write. */
export interface RecordWrite {
  readonly kind: ChangeKind;
  /**
   * Whether the key is already in the table. `false` lets a store use a plain insert (or COPY):
   * under the lease, the engine knows which keys are absent.
   */
  readonly existed: boolean;
  /** Encoded key (see `encodeKey`). */
  readonly key: string;
  /** Canonical JSON text of the record. */
  readonly data: string;
  readonly hash: string;
  readonly version: string | null;
  readonly cursor: string | null;
  /** True writes `_deleted_at` (a soft delete); false clears it. */
  readonly deleted: boolean;
  /**
   * A tombstone's delete: the row keeps its stored `_data`, `_hash`, `_version` and `_cursor` (`data`
   * is empty; `hash` and `version` repeat the stored ones for the change log); only `_deleted_at`,
   * `_synced_at` and `_run_id` change. Always with `kind: 'delete'` and `existed: true`.
   */
  readonly keepData?: boolean;
}

/** A record that could not be applied. */
export interface DeadLetter {
  /** Encoded key when one could be extracted. */
  readonly key: string | null;
  /** One line: what is wrong and where (field path). */
  readonly reason: string;
  /** The raw record as received (JSON text). */
  readonly payload: string;
  /** The letter is a tombstone whose key could not be read (its payload is the tombstone). Default false. */
  readonly tombstone?: boolean;
  /**
   * Set when the record was read back from this stored dead letter by a replay and failed again:
   * that letter is updated (one more occurrence, the new reason) instead of a new one added.
   */
  readonly replayOf?: number;
}

/** Counters of one run. Every field is a count unless its name says otherwise. */
export interface RunCounters {
  pages: number;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Records older than the stored version: skipped. */
  stale: number;
  /** Records with the stored version but different content: applied and flagged. */
  flagged: number;
  /** Version regressions applied (`onVersionRegression: 'accept'`); also in `updated` or `deleted`. */
  regressed: number;
  deleted: number;
  /** Records dead-lettered. */
  failed: number;
  retries: number;
  apiCalls: number;
  bytes: number;
  throttled: number;
  waitMs: number;
}

export const COUNTER_NAMES = [
  'pages',
  'fetched',
  'inserted',
  'updated',
  'unchanged',
  'stale',
  'flagged',
  'regressed',
  'deleted',
  'failed',
  'retries',
  'apiCalls',
  'bytes',
  'throttled',
  'waitMs',
] as const satisfies readonly (keyof RunCounters)[];

export function emptyCounters(): RunCounters {
  return {
    pages: 0,
    fetched: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    stale: 0,
    flagged: 0,
    regressed: 0,
    deleted: 0,
    failed: 0,
    retries: 0,
    apiCalls: 0,
    bytes: 0,
    throttled: 0,
    waitMs: 0,
  };
}

/** Adds `delta` into `into` (mutates and returns `into`); absent counters count as 0. */
export function addCounters<T extends Partial<RunCounters>>(into: T, delta: Partial<RunCounters>): T {
  for (const name of COUNTER_NAMES) {
    const add = delta[name];
    if (add) into[name] = ((into[name] ?? 0) + add) as T[typeof name];
  }
  return into;
}

/**
 * - `running`: in progress (or its process died; the next run of the stream closes it as `failed`);
 * - `ok`: the source was read to its end;
 * - `failed`: stopped by an error; committed pages stay committed;
 * - `interrupted`: stopped by SIGINT/SIGTERM after finishing the page in progress;
 * - `partial`: stopped at a checkpoint by the maximum run duration;
 * - `paused_backfill`: the backfill breaker stopped the run before a page that looked like a mass
 *   retroactive change (or a reconciliation that would delete too much); `syncline approve` lets
 *   the next run proceed. The run's `evidence` says why.
 */
export type RunStatus = 'running' | 'ok' | 'failed' | 'interrupted' | 'partial' | 'paused_backfill';

/**
 * What a run does, recorded with it:
 * - `sync`: read from the last checkpoint;
 * - `reconcile`: a full scan that soft-deletes what the source no longer has and reports drift;
 * - `backfill`: re-read a time range in windows, with its own checkpoint;
 * - `refresh`: read given keys again through the stream's `fetchByKey`;
 * - `replay`: apply the stored payloads of open dead letters again.
 * The last two leave the checkpoint where it is.
 */
export type RunMode = RunRequest['mode'];

/** A half-open time range `[from, to)`, ISO-8601 strings. */
export interface TimeRange {
  readonly from: string;
  readonly to: string;
}

/**
 * What a run is asked to do: its mode and what that mode needs. The engine looks each mode up in
 * one table (what it reads from, which checkpoint it moves, whether the backfill breaker judges it);
 * a source receives it as `SourceArgs.request`.
 */
export type RunRequest =
  | { readonly mode: 'sync' }
  | { readonly mode: 'reconcile' }
  /** Re-read `range` in windows of `windowMs` (default 7 days). */
  | { readonly mode: 'backfill'; readonly range: TimeRange; readonly windowMs?: number }
  /** Read these `_key` values again through the stream's `fetchByKey`. */
  | { readonly mode: 'refresh'; readonly keys: readonly string[] }
  /** Apply open dead letters again: these ids, or all of the stream's when absent. */
  | { readonly mode: 'replay'; readonly letters?: readonly number[] };

export interface RunRecord {
  readonly runId: string;
  readonly stream: string;
  readonly mode: RunMode;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly checkpointBefore: Checkpoint;
  readonly checkpointAfter: Checkpoint;
  readonly error: string | null;
  readonly counters: RunCounters;
  /** What the run found worth keeping beyond counters (backfill evidence, reconciliation drift). */
  readonly evidence: Json | null;
}

/** A granted lease. Every commit is fenced by `epoch`. */
export interface Lease {
  readonly stream: string;
  readonly holder: string;
  readonly epoch: number;
  readonly expiresAt: string;
}

/** Returned when another holder's lease is live. */
export interface LeaseConflict {
  readonly stream: string;
  readonly holder: string;
  readonly expiresAt: string;
}

/** A stream's row in `syncline_state`. */
export interface StreamState {
  readonly stream: string;
  readonly checkpoint: Checkpoint;
  /** The newest cursor value ever committed (text), for lag. */
  readonly newestCursor: string | null;
  readonly leaseHolder: string | null;
  readonly leaseEpoch: number;
  readonly leaseExpiresAt: string | null;
  readonly updatedAt: string;
  /** The checkpoint of a range backfill in progress (`syncline backfill`), kept apart from the main one. */
  readonly backfillCheckpoint: Checkpoint;
  /** An operator approved the next run past the backfill breaker (`syncline approve`). */
  readonly approved: boolean;
}

/** One line of `syncline status`. */
export interface StreamStatus {
  readonly stream: string;
  readonly checkpoint: Checkpoint;
  readonly newestCursor: string | null;
  /** Live (not soft-deleted) records. */
  readonly records: number;
  /** Dead letters with status `open`. */
  readonly openFailures: number;
  readonly lastRun: RunRecord | null;
}

/**
 * - `open`: not applied yet; counted in `syncline status`;
 * - `resolved`: the key committed fine later (a newer record, or the source put it right);
 * - `replayed`: `syncline failed replay` applied the stored payload;
 * - `ignored`: an operator said to leave it (`syncline failed ignore`).
 */
export type DeadLetterStatus = 'open' | 'resolved' | 'replayed' | 'ignored';

/**
 * A dead letter as stored. One open letter per (stream, key, payload): the same record failing
 * again (each run re-reading a record the source rolled back) adds an occurrence, not a letter.
 */
export interface StoredDeadLetter extends DeadLetter {
  readonly id: number;
  readonly stream: string;
  /** The run that last dead-lettered it. */
  readonly runId: string;
  readonly status: DeadLetterStatus;
  readonly createdAt: string;
  /** How many times the record failed this way while the letter was open (1 at first). */
  readonly occurrences: number;
  readonly lastSeenAt: string;
  /** When it stopped being open, and by which run (null for `ignored`). */
  readonly resolvedAt: string | null;
  readonly resolvedRunId: string | null;
  /** Set on an event a sink's target refused (its payload is the event): the sink's name. */
  readonly sink?: string;
}

/** A row of a stream table as read back. */
export interface StoredRecord {
  readonly key: string;
  readonly data: Json;
  readonly hash: string;
  readonly version: string | null;
  readonly cursor: string | null;
  readonly firstSyncedAt: string;
  readonly syncedAt: string;
  readonly deletedAt: string | null;
  readonly runId: string;
}

/** A row of the change log (`syncline_changes`). `seq` increases strictly with each change. */
/**
 * A change-log row that records a finished run (kind `run`), written by `finishRun` in the same
 * transaction as the run's end, after every change of the run: sinks that ask for `run` events get
 * it in seq order with the rest. Only runs that changed something or did not end `ok` leave one (a
 * service polling quiet streams every few seconds would otherwise fill the log).
 */
export interface RunLogRow {
  readonly seq: number;
  readonly stream: string;
  readonly kind: 'run';
  readonly runId: string;
  /** When the run finished. */
  readonly at: string;
  /** The run as the run log holds it; null if its record is gone (a reset stream). */
  readonly run: RunRecord | null;
}

/** A row of the change log as sinks read it: a record's change, or a finished run. */
export type LogRow = ChangeRow | RunLogRow;

export interface ChangeRow {
  readonly seq: number;
  readonly stream: string;
  readonly key: string;
  readonly kind: ChangeKind;
  /** The record's hash and version as this change wrote them. */
  readonly hash: string;
  readonly version: string | null;
  readonly runId: string;
  /** The commit's time. */
  readonly at: string;
  /**
   * Only when read `withData`: the key's latest data when the row was read, which a later change of
   * the key may already have replaced (its row then follows in the log); null when the key is
   * deleted now, or its stream's table is gone.
   */
  readonly data?: Json | null;
}
