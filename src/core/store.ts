import type {
  ChangeRow,
  Checkpoint,
  DeadLetter,
  Json,
  Lease,
  LeaseConflict,
  LogRow,
  RecordWrite,
  RunCounters,
  RunMode,
  RunRecord,
  RunStatus,
  StoredDeadLetter,
  StoredRecord,
  StoredRecordState,
  StreamState,
  StreamStatus,
} from './types.ts';
import type { ViewColumn } from './view-columns.ts';

/**
 * The store keeps the synced records and everything needed to resume: state, runs, the change log
 * and dead letters. SQLite and PostgreSQL implement it; both pass `stores/store.contract.ts`.
 *
 * It is the union of narrow roles, so each caller depends on what it uses: a run of a stream
 * (`engine/`) on `RunStore` (records, leases, the run log, scans, the stream's state, dead letters);
 * a function that only looks records up on `RecordStore`; a replay's source on `DeadLetterStore`;
 * the CLI's status and listings on `StoreInspector`; consumers of the change log read and
 * acknowledge through `ChangeFeed`; destinations keep their external ids in `DestinationMapStore`; push sources keep accepted events
 * in `InboxStore`. Only the composition root (`runtime/`) opens
 * and closes a store (`StoreLifecycle`) and hands out the whole `Store`.
 *
 * Layout (both stores): one table per stream, named after it, with `_key` (primary key), `_data`,
 * `_hash`, `_version`, `_cursor`, `_first_synced_at`, `_synced_at`, `_deleted_at`, `_run_id`; and
 * `syncline_state`, `syncline_runs`, `syncline_changes`, `syncline_consumers`, `syncline_failed` (the dead
 * letters), `syncline_destination_map`, `syncline_inbox`, `syncline_actions` (the operator's actions),
 * `syncline_schema`.
 *
 * Timestamps are ISO-8601 UTC strings chosen by the caller (`at`), so both stores agree in tests;
 * except lease expiry, which is the database's clock (see `LeaseStore`).
 */
export interface Store
  extends StoreLifecycle,
    RecordStore,
    LeaseStore,
    RunLog,
    ScanStore,
    StreamStateStore,
    DeadLetterStore,
    StoreInspector,
    ChangeFeed,
    DestinationMapStore,
    InboxStore,
    ActionLog {
  readonly capabilities: StoreCapabilities;
  /** Present on a store many `syncline run` processes can share as one cluster (PostgreSQL). */
  cluster?(): ClusterStore;
}

/** What one run of a stream uses: every role but opening, closing and the operator's inspection. */
export interface RunStore
  extends RecordStore,
    LeaseStore,
    RunLog,
    ScanStore,
    StreamStateStore,
    DeadLetterStore,
    Pick<InboxStore, 'readInbox' | 'addInboxEvent'>,
    Pick<StoreInspector, 'scanRecords'> {
  readonly capabilities: StoreCapabilities;
}

/**
 * A store that hears of commits by other processes (PostgreSQL: `LISTEN`/`NOTIFY`), so readers of
 * the change log (sinks) wake at once rather than at their next poll. Optional: a store without it
 * (SQLite) is polled. A watch may miss a commit while its connection is down; readers keep a slow
 * poll as the net under it.
 */
export interface CommitWatcher {
  /** Calls `onCommit` soon after any process commits to the change log; `close()` stops it. */
  watchCommits(onCommit: () => void): { close(): Promise<void> };
}

/**
 * A store that many `syncline run` processes (workers) share as one cluster (PostgreSQL): where the
 * job queue lives that spreads their runs, and the table of live workers. Optional: a store without
 * it (SQLite, one machine) keeps the in-process scheduler. Liveness is judged by the database's
 * clock, never a worker's.
 */
export interface ClusterStore {
  /** The job queue: a connection string (credentials included: never log it) and its schema. */
  readonly jobQueue: { readonly connectionString: string; readonly schema: string };
  /** Adds this worker (or replaces a row of the same id), its heartbeat now. */
  registerWorker(worker: WorkerRegistration): Promise<void>;
  /**
   * Beats this worker's heartbeat and records what it runs. False when its row is gone: the others
   * took it for dead (it went longer than its timeout without a heartbeat) and handed its jobs on.
   */
  heartbeat(id: string, state: WorkerBeat): Promise<boolean>;
  /**
   * Takes the workers whose heartbeat is older than their timeout, in one transaction: removes
   * their rows, releases their streams' leases (the next grant fences them off) and unlocks their
   * jobs in the queue, so other workers run them now. `gone`: workers known dead otherwise (their
   * process certainly ended, on this machine), taken whatever their heartbeat. Returns the ids taken.
   */
  takeDeadWorkers(gone?: readonly string[]): Promise<string[]>;
  /** Removes this worker's row (a clean stop). */
  removeWorker(id: string): Promise<void>;
  /** The workers with a row, oldest first, each with whether its heartbeat is within its timeout. */
  listWorkers(): Promise<WorkerView[]>;
}

export interface WorkerRegistration {
  /** Its lease holder id. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  /** Runs at once. */
  readonly concurrency: number;
  /** Without a heartbeat for this long, the others take it for dead. */
  readonly timeoutMs: number;
}

/** What a worker does, as its heartbeat records it. */
export interface WorkerBeat {
  /** The queue's ids of its job runners. */
  readonly queueWorkers: readonly string[];
  readonly running: readonly RunningJob[];
}

/** One job a worker runs: `sync:orders` (mode `sync` or `reconcile`...), `deliver:crm`. */
export interface RunningJob {
  readonly job: string;
  readonly mode: string | null;
  readonly startedAt: string;
}

export interface WorkerView extends WorkerRegistration {
  readonly schemaVersion: number;
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** Heartbeat within its timeout, by the database's clock now. */
  readonly live: boolean;
  readonly running: readonly RunningJob[];
}

/**
 * A store that keeps token buckets which every process using it draws from (PostgreSQL's
 * `syncline_rate_buckets`), so a source host's `rateLimit: { shared: true }` holds for the whole
 * cluster rather than for each process. Optional: a store without it (SQLite, one machine) leaves
 * shared limits to each process's own bucket.
 */
export interface SharedRateBuckets {
  /**
   * Takes one token from the bucket `key` (a host), refilled at `requestsPerSecond` up to `burst`
   * by the store's clock, and returns how long the caller must wait before its request may go, in
   * ms (0 = now). Like the in-process bucket's `reserve()`, a caller may take a token the bucket
   * does not have yet: it goes into debt, and the wait is the debt over the rate, so callers of
   * every process are served in turn. One round trip to the store.
   */
  reserveRateToken(key: string, requestsPerSecond: number, burst: number): Promise<number>;
}

/** The store's shared rate buckets, or null when it keeps none (SQLite): see `SharedRateBuckets`. */
export function sharedRateBuckets(store: object): SharedRateBuckets | null {
  const candidate = store as Partial<SharedRateBuckets>;
  return typeof candidate.reserveRateToken === 'function' ? (candidate as SharedRateBuckets) : null;
}

export interface StoreCapabilities {
  /** 'sqlite' | 'postgres' */
  readonly kind: string;
  /** Inserts of keys known absent use a bulk path (COPY) rather than upserts. */
  readonly bulkInsert: boolean;
  /**
   * Whether record text may contain NUL (`\u0000`). PostgreSQL's jsonb cannot: the engine
   * dead-letters such records instead of letting them fail the whole page.
   */
  readonly storesNul: boolean;
}

export interface StoreLifecycle {
  /**
   * Connects and applies pending migrations. Throws `StoreUnavailableError` with one clear line, and
   * creates or changes nothing then: when the store is missing and `mode` does not create it, when
   * it cannot be written and `mode` writes, or when a table of `streams` is not a stream table.
   */
  open(options?: StoreOpenOptions): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the caller of `open` will do with the store, checked before anything is created or migrated.
 * Open-time options, not constructor ones, so every kind of store reads them the same way.
 */
export interface StoreOpenOptions {
  /**
   * `create` (default): create the store when it is missing (a SQLite file, a PostgreSQL schema, and
   * Syncline's tables), and check that it can be written. `write`: the store must exist (a Syncline
   * store: its `syncline_schema` table is there) and be writable. `read`: it must exist, and need not
   * be writable. In every mode an existing store whose schema is older is migrated, as any open does.
   */
  readonly mode?: 'create' | 'write' | 'read';
  /**
   * The streams the caller will run (the config's). A table of that name that exists but lacks a
   * stream table's system columns (a user's own table) is refused, before Syncline's tables are
   * created or migrated beside it. Default: none checked at open (`ensureStream` still checks).
   */
  readonly streams?: readonly string[];
}

export interface PageCommit {
  readonly stream: string;
  readonly runId: string;
  /** Fencing: the commit is refused with `LeaseLostError` unless this epoch is still current. */
  readonly lease: Lease;
  /** Rows to write. The change log gets one row per write, in this order. */
  readonly writes: readonly RecordWrite[];
  readonly deadLetters: readonly DeadLetter[];
  /** The stream's checkpoint after this page. */
  readonly checkpoint: Checkpoint;
  /** The newest cursor value seen so far, if it moved; `null` leaves the stored one. */
  readonly newestCursor: string | null;
  /** Added to the run's counters. */
  readonly counters: Partial<RunCounters>;
  /** Commit time: `_synced_at`, `_first_synced_at` for inserts, `_deleted_at` for deletes. */
  readonly at: string;
  /** Which checkpoint the page moves: the stream's main one (default) or its range-backfill one. */
  readonly slot?: CheckpointSlot;
  /**
   * When the run is a full scan (a reconciliation): every key of the page, written or not, is
   * recorded as seen by scan `id`, in the same transaction.
   */
  readonly scan?: { readonly id: string; readonly seenKeys: readonly string[] };
  /** Dead letters this commit settles, after adding its own `deadLetters`. Default none. */
  readonly resolve?: DeadLetterResolution;
}

/**
 * Open dead letters a commit settles, in its transaction. The engine never names a key or letter
 * that the same commit dead-letters again.
 */
export interface DeadLetterResolution {
  /** Open letters of these keys become `resolved`: a record of the key committed fine. */
  readonly keys: readonly string[];
  /** These letters become `replayed`: a replay applied their payloads. */
  readonly replayed: readonly number[];
}

/** `main`: the stream's incremental position; `backfill`: a range backfill's own position. */
export type CheckpointSlot = 'main' | 'backfill';

/** Options of a stream's table. */
export interface StreamTableOptions {
  /**
   * Keep every version of every record in `<stream>_history` (`_key`, `_data`, `_hash`,
   * `_version`, `_valid_from`, `_valid_to` (null for the current one), `_run_id`, `_deleted`):
   * each write closes the key's open history row and opens a new one. Default false.
   */
  readonly history?: boolean;
  /**
   * The stream's typed view `<stream>_v` (live rows: `_key`, these columns, `_synced_at`,
   * `_deleted_at`): created, or recreated when the columns changed. Empty or absent: a typed view
   * the store made earlier is dropped. A table or view of that name that is not Syncline's is
   * refused (`StoreUnavailableError`).
   */
  readonly view?: readonly ViewColumn[];
}

export interface RecordStore {
  /**
   * Creates the stream's table (and history table) and its `syncline_state` row if missing. Idempotent.
   * A table of that name without a state row must have the system columns (it is adopted only then):
   * else `StoreUnavailableError`, and nothing is created.
   */
  ensureStream(stream: string, options?: StreamTableOptions): Promise<void>;
  /** The stored hash/version/deleted state of those keys that exist. Keys absent are not in the map. */
  lookup(stream: string, keys: readonly string[]): Promise<Map<string, StoredRecordState>>;
  /** Whether the stream's table holds any row, soft-deleted ones included. */
  hasRecords(stream: string): Promise<boolean>;
  /**
   * In ONE transaction: check the lease epoch, write the rows, append the change-log rows, insert the
   * dead letters, set the checkpoint (and newest cursor), add the counters to the run.
   * Nothing is written when any part fails.
   *
   * The engine may call it again before the last call resolved, so the store can apply one commit
   * while it receives the next. Commits are applied in call order, one transaction each, and
   * resolve in that order; a commit called while an earlier one was still unresolved is applied
   * only if that one succeeded: otherwise it rejects too, writing nothing.
   */
  commitPage(commit: PageCommit): Promise<void>;
}

export interface AcquireLease {
  readonly stream: string;
  /** Who asks: `newHolderId()`, `host:pid:random:pidns=…:boot=…:start=…` (see `ProcessIdentity`). */
  readonly holder: string;
  /** The lease lives this long after the grant, by the database's clock. */
  readonly ttlMs: number;
  /** The caller's time, recorded where the store keeps an update time; it does not decide expiry. */
  readonly at: string;
  /** Take the lease even if this holder still has it live (its process is known to be dead). */
  readonly takeOverFrom?: string;
}

/**
 * A lease is live up to and including its `expiresAt`; it can be taken only after that. Expiry is
 * judged, and `expiresAt` set, by the database's clock when the statement runs (PostgreSQL: the
 * server's `clock_timestamp()`; SQLite: the clock of the machine the file is on), never by a
 * caller's `at`: a worker whose clock runs ahead cannot take a live lease, and one whose clock is
 * behind does not get a lease that has already expired.
 */
export interface LeaseStore {
  /**
   * Grants the lease when it is free, expired, already ours, or held by `takeOverFrom`; each grant to
   * a different holder (or after expiry) increments the epoch. Otherwise returns the conflict.
   */
  acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }>;
  /**
   * Extends the lease to `ttlMs` from the database's clock now. Throws `LeaseLostError` if the epoch is
   * no longer current. `at`, the caller's time, is only recorded, as in `AcquireLease`.
   */
  renewLease(lease: Lease, ttlMs: number, at: string): Promise<Lease>;
  /** Frees the lease if still ours (no error otherwise). */
  releaseLease(lease: Lease): Promise<void>;
}

export interface StartRun {
  readonly runId: string;
  readonly stream: string;
  /** Default `sync`. */
  readonly mode?: RunMode;
  readonly lease: Lease;
  readonly at: string;
  readonly checkpointBefore: Checkpoint;
}

export interface FinishRun {
  readonly runId: string;
  readonly status: Exclude<RunStatus, 'running'>;
  readonly at: string;
  readonly error: string | null;
  /** Counters not yet committed with a page (e.g. requests of a final empty page). */
  readonly counters: Partial<RunCounters>;
  /** Kept with the run (backfill evidence, reconciliation drift). Default null. */
  readonly evidence?: Json | null;
  /** Sets `checkpointAfter` from this slot's checkpoint. Default `main`. */
  readonly slot?: CheckpointSlot;
  /**
   * Also appends the run's row to the change log (`RunLogRow`), in the same transaction, when the
   * run changed something or did not end `ok`. Set when a sink of the config asks for `run` events.
   * Default false.
   */
  readonly logRun?: boolean;
}

export interface ListRuns {
  readonly stream?: string;
  readonly limit: number;
  readonly mode?: RunMode;
  readonly status?: RunStatus;
}

export interface RunLog {
  startRun(args: StartRun): Promise<void>;
  /** Sets the end status; `checkpointAfter` is read from the stream's state at that moment. */
  finishRun(args: FinishRun): Promise<void>;
  /**
   * Closes the stream's runs still marked `running` (their process died) as `failed` with `error`.
   * Called by the lease holder, who knows no other run of the stream is alive. Returns how many.
   */
  closeAbandonedRuns(stream: string, at: string, error: string): Promise<number>;
  /** Newest first; only runs of `mode` / with `status` when given. */
  listRuns(args: ListRuns): Promise<RunRecord[]>;
}

/**
 * Full scans (reconciliation): pages record the keys they saw (`PageCommit.scan`); when the scan
 * completed, the live rows it did not see are what the source no longer has.
 */
export interface ScanStore {
  /** Live rows of the stream, and how many of them scan `scanId` did not see. */
  countUnseen(stream: string, scanId: string): Promise<{ readonly live: number; readonly unseen: number }>;
  /**
   * In one transaction, fenced by the lease: soft-deletes every live row scan `scanId` did not see
   * (`_deleted_at = at`, a `delete` change-log row each, counted as `deleted` in run `runId`), then
   * forgets the scan's keys. Returns how many, and up to 10 of their keys.
   */
  completeScan(args: CompleteScan): Promise<{ readonly deleted: number; readonly sample: readonly string[] }>;
  /** Forgets a scan's keys without deleting anything (a failed, partial or paused scan). */
  dropScan(stream: string, scanId: string): Promise<void>;
}

export interface CompleteScan {
  readonly stream: string;
  readonly scanId: string;
  /** The reconciliation run: its `deleted` counter counts the rows deleted. */
  readonly runId: string;
  /** Fencing, as in `PageCommit`. */
  readonly lease: Lease;
  /** `_deleted_at` of the rows deleted. */
  readonly at: string;
}

export interface ListDeadLetters {
  readonly stream?: string;
  readonly limit: number;
  /** Every status, not only `open`. */
  readonly all?: boolean;
  readonly ids?: readonly number[];
}

export interface OpenDeadLetters {
  readonly stream: string;
  readonly afterId: number;
  readonly limit: number;
  readonly ids?: readonly number[];
}

/** An event a sink's target refused for good, as a dead letter of the event's stream. */
export interface SinkDeadLetter {
  readonly stream: string;
  readonly key: string;
  /** The event's id (`<stream>:<seq>`): one open letter per sink and event. */
  readonly eventId: string;
  /** The run that committed the change. */
  readonly runId: string;
  /** One line: `sink <name>: <why>`. */
  readonly reason: string;
  /** The event as JSON. */
  readonly payload: string;
}

export interface AddSinkDeadLetters {
  readonly sink: string;
  readonly letters: readonly SinkDeadLetter[];
  readonly at: string;
}

export interface OpenSinkDeadLetters {
  readonly sink: string;
  readonly afterId: number;
  readonly limit: number;
  readonly ids?: readonly number[];
}

export interface RedeliveredSinkDeadLetters {
  readonly sink: string;
  readonly ids: readonly number[];
  readonly at: string;
}

export interface IgnoreDeadLetters {
  readonly stream?: string;
  readonly ids?: readonly number[];
  readonly at: string;
}

/**
 * Dead letters outside commits: listing them (`syncline failed`), reading them back for a replay,
 * and letting an operator ignore them. Letters are written and settled by `commitPage`
 * (`PageCommit.deadLetters`, `PageCommit.resolve`), in the page's transaction. They are kept in
 * `syncline_failed`.
 */
export interface DeadLetterStore {
  /** Newest first; only `open` ones unless `all`; only those with `ids` when given. */
  listDeadLetters(args: ListDeadLetters): Promise<StoredDeadLetter[]>;
  /**
   * Open dead letters of one stream with `id > afterId`, oldest first (what a replay reads), only
   * those with `ids` when given.
   */
  openDeadLetters(args: OpenDeadLetters): Promise<StoredDeadLetter[]>;
  /**
   * The distinct keys of the stream's open dead letters, or `null` when there are more than `max`
   * (then the engine asks to resolve every key it commits).
   */
  openDeadLetterKeys(stream: string, max: number): Promise<string[] | null>;
  /**
   * Marks open dead letters `ignored`: those with `ids`, else every open one of `stream` (one of the
   * two is required). Returns how many.
   */
  ignoreDeadLetters(args: IgnoreDeadLetters): Promise<number>;
  /**
   * Dead-letters events a sink's target refused (`StoredDeadLetter.sink` names the sink). Idempotent
   * per sink and event: the same event refused again adds an occurrence to its open letter. Replays
   * (`openDeadLetters`) and resolution by key (`openDeadLetterKeys`, a commit's `resolve.keys`) leave
   * these letters alone: they hold events, not records.
   */
  addSinkDeadLetters(args: AddSinkDeadLetters): Promise<void>;
  /**
   * Open dead letters of sink `args.sink` with `id > afterId`, oldest first (what `syncline sinks
   * replay` redelivers), only those with `ids` when given.
   */
  openSinkDeadLetters(args: OpenSinkDeadLetters): Promise<StoredDeadLetter[]>;
  /**
   * Marks open letters of the sink whose events its target has now confirmed `replayed`, at `at`
   * (no run: `resolvedRunId` stays null). A letter refused again stays open: `addSinkDeadLetters`
   * counts it. Returns how many were marked.
   */
  markSinkDeadLettersRedelivered(args: RedeliveredSinkDeadLetters): Promise<number>;
}

/** A stream's row in `syncline_state`, and the operator's controls over it. */
export interface StreamStateStore {
  getState(stream: string): Promise<StreamState | null>;
  /** Sets the checkpoint of `slot` (default `main`) to null (the next run starts from the beginning). Records stay. */
  resetCheckpoint(stream: string, at: string, slot?: CheckpointSlot): Promise<void>;
  /** Sets or clears the operator's approval for the next run past the backfill breaker. */
  setApproval(stream: string, approved: boolean, at: string): Promise<void>;
}

/** Reading what the store holds, for the CLI and the server: nothing here is written. */
export interface StoreInspector {
  /** Every stream with a state row, by name. */
  listStreams(): Promise<StreamStatus[]>;
  /** Rows of a stream table ordered by `_key`, after `afterKey`, including soft-deleted ones. */
  scanRecords(stream: string, args: { afterKey?: string; limit: number }): Promise<StoredRecord[]>;
  /**
   * The versions of `key` in the stream's history table (`history: true`), newest first (the
   * current one, if any, first), at most `limit`; empty when the key has none. Null when the stream
   * keeps no history (or has no table).
   */
  readHistory(stream: string, key: string, limit: number): Promise<RecordVersion[] | null>;
}

/** One version of a record, as its stream's history table keeps it. */
export interface RecordVersion {
  /** When this version became current (inclusive), ISO-8601 UTC. */
  readonly validFrom: string;
  /** When the next version replaced it (exclusive); null for the current one. */
  readonly validTo: string | null;
  readonly data: Json;
  readonly hash: string;
  readonly version: string | null;
  /** The run that wrote it. */
  readonly runId: string;
  /** This version is a soft delete (the record as it was when deleted). */
  readonly deleted: boolean;
}

export interface ReadChanges {
  /** Rows with `seq > afterSeq`; 0 reads from the oldest row kept. */
  readonly afterSeq: number;
  /** At most this many rows. */
  readonly limit: number;
  /** Only the rows of this stream, or of these streams. Default every stream. */
  readonly stream?: string | readonly string[];
  /**
   * Adds each row's `data`: its key's latest state, read from the stream's table when the rows are
   * read (the change log itself holds no record data). Default false.
   */
  readonly withData?: boolean;
}

/** A named consumer's place in the change log. */
export interface ConsumerOffset {
  readonly consumer: string;
  /** The highest `seq` the consumer acknowledged: it has handled every row up to it. */
  readonly seq: number;
  readonly registeredAt: string;
  /** When `seq` last moved (at registration, `registeredAt`). */
  readonly updatedAt: string;
}

/** Where the change log starts and ends now. */
export interface ChangeLogBounds {
  /** The oldest row's seq the log still holds (retention deletes a prefix); null when it is empty. */
  readonly oldestSeq: number | null;
  /** The newest committed row's seq; null when the log is empty. */
  readonly newestSeq: number | null;
  /**
   * The highest seq ever assigned, kept when rows are pruned (0 before the first). On PostgreSQL it
   * may include commits still in flight or rolled back: seqs have gaps there.
   */
  readonly highestSeq: number;
}

export interface PruneChanges {
  /** Only rows committed before this time (`at < olderThan`, the retention window's start). */
  readonly olderThan: string;
  /** At most this many rows, so one call holds its lock briefly. */
  readonly limit: number;
}

/**
 * The change log (`syncline_changes`) as the outbox: one row per insert, update or delete, with a
 * `seq` that is strictly increasing in commit order (a reader tailing `seq > offset` never skips a
 * row that commits late) and never reused. Named consumers keep their offset in
 * `syncline_consumers`, moved only by an acknowledgement, so delivery is at least once.
 */
export interface ChangeFeed {
  /** Change-log rows with `seq > afterSeq`, ascending. */
  readChanges(args: ReadChanges): Promise<ChangeRow[]>;
  /**
   * The same rows with the finished runs' rows among them (`RunLogRow`, kind `run`), in seq order:
   * what sinks deliver. `readChanges` leaves the run rows out.
   */
  readEvents(args: ReadChanges): Promise<LogRow[]>;
  /** The log's oldest and newest row and the highest seq it assigned, in index steps. */
  changeLogBounds(): Promise<ChangeLogBounds>;
  /** The consumer's offset, or null when no consumer of that name is registered. */
  consumerOffset(consumer: string): Promise<ConsumerOffset | null>;
  /**
   * Registers the consumer at `afterSeq` (it will read the rows after it) unless it is registered
   * already, and returns its offset: the stored one for a consumer that exists. A registered
   * consumer holds back retention from the rows it has not passed.
   */
  registerConsumer(args: {
    readonly consumer: string;
    readonly afterSeq: number;
    readonly at: string;
  }): Promise<ConsumerOffset>;
  /**
   * Records that the consumer handled every row up to `seq`, and returns its offset. An offset
   * never moves backwards: a lower `seq` changes nothing. Throws `FatalError` for a consumer that is
   * not registered, or a `seq` past the highest the log ever assigned (a typo that would skip the
   * rows still to come).
   */
  ackChanges(args: {
    readonly consumer: string;
    readonly seq: number;
    readonly at: string;
  }): Promise<ConsumerOffset>;
  /**
   * Deletes the oldest rows that every registered consumer has passed (all of them, when none is
   * registered) and that were committed before `olderThan`, up to `limit`; returns how many. It
   * deletes a prefix of the log: a row too young stops it, even if rows behind it are old enough.
   */
  pruneChanges(args: PruneChanges): Promise<number>;
}

/** What a destination knows of one record it wrote: the external record's id and what was sent. */
export interface DestinationMapping {
  /** The id the external API gave the record. */
  readonly externalId: string;
  /** The hash of the payload last confirmed. */
  readonly payloadHash: string;
  /** `synced`: the external record exists; `deleted`: the destination deleted it. */
  readonly status: DestinationMappingStatus;
  /** The first confirmed write of the key, kept by later ones. */
  readonly firstSyncedAt: string;
  /** The latest confirmed write. */
  readonly syncedAt: string;
}

export type DestinationMappingStatus = 'synced' | 'deleted';

/** One write the external API confirmed (2xx), to record with the destination's checkpoint. */
export interface DestinationWrite {
  readonly stream: string;
  readonly key: string;
  readonly externalId: string;
  readonly payloadHash: string;
  readonly status: DestinationMappingStatus;
}

export interface ConfirmDestinationWrites {
  readonly destination: string;
  /** The destination's consumer of the change log (`destination:<name>`). */
  readonly consumer: string;
  /** The seq the consumer's offset moves to, as `ChangeFeed.ackChanges` moves it. */
  readonly seq: number;
  /** `synced_at` of the writes (and `first_synced_at` of new keys), and the offset's update time. */
  readonly at: string;
  /** At most one per stream and key; when a key repeats, its last write is kept. */
  readonly writes: readonly DestinationWrite[];
}

export interface StoreDestinationMappings {
  readonly destination: string;
  /** `synced_at` of the writes (and `first_synced_at` of new keys). */
  readonly at: string;
  /** When a key repeats, its last write is kept. */
  readonly writes: readonly DestinationWrite[];
}

/**
 * Destinations (issue 22) write records into an external API; per destination, stream and key they
 * keep the external record's id and the hash of what was sent, in `syncline_destination_map`. The
 * rule is "confirm then checkpoint": the destination's offset in the change log moves only with the
 * mappings of the writes the API confirmed, in ONE transaction, so a crash between the two never
 * loses an external id (which would create the record twice) nor skips a change.
 */
export interface DestinationMapStore {
  /** The mappings of those `keys` of the destination's stream that have one (one query for the batch). */
  lookupMappings(args: {
    readonly destination: string;
    readonly stream: string;
    readonly keys: readonly string[];
  }): Promise<Map<string, DestinationMapping>>;
  /**
   * In ONE transaction: upserts every write (an existing key keeps its `firstSyncedAt`) and moves the
   * consumer's offset to `seq` exactly as `ackChanges` does (never backwards; `FatalError` for a
   * consumer that is not registered or a `seq` past the highest the log assigned). Returns the
   * offset. When any part fails, neither the mappings nor the offset move.
   */
  confirmDestinationWrites(args: ConfirmDestinationWrites): Promise<ConsumerOffset>;
  /**
   * Upserts the writes (in one transaction, as `confirmDestinationWrites` does) without touching any
   * consumer's offset: for writes of old changes, such as a redelivery of the destination's dead
   * letters (`syncline sinks replay <destination>`), which the live consumer has long passed.
   */
  storeDestinationMappings(args: StoreDestinationMappings): Promise<void>;
  /**
   * Deletes the destination's mappings (of one stream, when given), for a reset: the next writes
   * create the external records again. Returns how many. The offset is left alone.
   */
  forgetMappings(args: { readonly destination: string; readonly stream?: string }): Promise<number>;
}

/** A pushed event as the receiver accepted it: verified, before it is applied. */
export interface InboxEvent {
  /** The stream it feeds (a webhook source is one stream: `POST /v1/webhooks/<stream>`). */
  readonly stream: string;
  /** The provider's id of the event (a header, a body field) or, without one, the body's hash. */
  readonly eventId: string;
  /** When the receiver accepted it (ISO-8601 UTC). */
  readonly receivedAt: string;
  /** The request headers the source needs later (the event type, a timestamp), lower-case names; never a signature or a credential. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body, as UTF-8 text. */
  readonly body: string;
}

/** An inbox row: the event, and its position in the inbox (increasing in commit order per store). */
export interface StoredInboxEvent extends InboxEvent {
  readonly id: number;
}

/**
 * The durable inbox of push sources (`syncline_inbox`, issue 23): a webhook is written here before
 * it is answered 2xx, so an accepted event is never lost, and is applied later by an ordinary run of
 * its stream, which reads the inbox after its checkpoint (the last applied id) and commits records
 * and checkpoint in one transaction. `(stream, eventId)` is unique: a redelivery is a duplicate.
 */
export interface InboxStore {
  /**
   * Appends the event unless the inbox has `(stream, eventId)` already (a redelivery, or a replay
   * within the dedupe window); durable when it resolves. Returns its id (the existing row's for a
   * duplicate) and whether it was one.
   */
  addInboxEvent(event: InboxEvent): Promise<{ readonly id: number; readonly duplicate: boolean }>;
  /** Events of `stream` with `id > afterId`, oldest first, at most `limit`. */
  readInbox(args: {
    readonly stream: string;
    readonly afterId: number;
    readonly limit: number;
  }): Promise<StoredInboxEvent[]>;
  /** How many events of `stream` have `id > afterId` (not applied yet), counted up to `limit`. */
  inboxBacklog(args: {
    readonly stream: string;
    readonly afterId: number;
    readonly limit: number;
  }): Promise<number>;
  /**
   * Deletes events of `stream` already applied (`id <= appliedUpTo`) and received before
   * `receivedBefore` (their ids stay deduplicated until then). Returns how many.
   */
  pruneInbox(args: {
    readonly stream: string;
    readonly appliedUpTo: number;
    readonly receivedBefore: string;
  }): Promise<number>;
}

/** What an operator did: the actions of the API, the dashboard and the CLI. */
export type OperatorActionName =
  | 'sync'
  | 'reconcile'
  | 'approve'
  | 'reset'
  | 'replay'
  | 'ignore'
  | 'resume_sink'
  | 'replay_sink';

/** Through which door an operator acted. */
export type ActionOrigin = 'api' | 'dashboard' | 'cli';

/** One operator action, as `recordAction` is given it. */
export interface OperatorAction {
  /** ISO-8601 UTC. */
  readonly at: string;
  /** The stream acted on; null for an action on a sink or destination (or on every stream). */
  readonly stream: string | null;
  /** The sink or destination acted on, null otherwise. */
  readonly target: string | null;
  readonly action: OperatorActionName;
  readonly origin: ActionOrigin;
  /** One line: what the action answered. */
  readonly detail: string;
}

/** A recorded action, with its id (increasing in the order actions were recorded). */
export interface RecordedAction extends OperatorAction {
  readonly id: number;
}

export interface ListActions {
  /** Only the actions on this stream; every action without it. */
  readonly stream?: string;
  readonly limit: number;
}

/**
 * The history of what operators did (`syncline_actions`): each action of the API, the dashboard and
 * the CLI that changed something (a triggered run, an approval, a reset, a replay, an ignore, a
 * sink resumed or replayed), beside the runs it led to.
 */
export interface ActionLog {
  recordAction(action: OperatorAction): Promise<void>;
  /** Newest first. */
  listActions(args: ListActions): Promise<RecordedAction[]>;
}
