import type Database from 'better-sqlite3';
import { FatalError } from '../../core/errors.ts';
import type {
  AcquireLease,
  CheckpointSlot,
  ConsumerOffset,
  FinishRun,
  ListDeadLetters,
  ListRuns,
  PageCommit,
  PruneChanges,
  ReadChanges,
  StartRun,
  Store,
  StoreCapabilities,
  StoreOpenOptions,
  StreamTableOptions,
} from '../../core/store.ts';
import type {
  ChangeRow,
  Lease,
  LeaseConflict,
  RunRecord,
  StoredDeadLetter,
  StoredRecord,
  StoredRecordState,
  StreamState,
  StreamStatus,
} from '../../core/types.ts';
import { counterValues } from '../../core/types.ts';
import { WriterThread } from '../writer-thread.ts';
import { programApplier } from './sqlite-apply-program.mjs';
import { SqliteChangeFeed } from './sqlite-change-feed.ts';
import { SqliteDeadLetters } from './sqlite-dead-letters.ts';
import { toSyncError } from './sqlite-errors.ts';
import { acquireLeaseSqlite, releaseLeaseSqlite, renewLeaseSqlite } from './sqlite-lease.ts';
import { openSqlite, refuseForeignTable } from './sqlite-open.ts';
import {
  ADD_COUNTERS_SQL,
  checkpointText,
  type RunRow,
  type StateRow,
  toRunRecord,
  toStoredRecord,
  toStreamState,
} from './sqlite-rows.ts';
import { SqliteScans } from './sqlite-scan.ts';
import { SqliteStreamTable } from './sqlite-stream-table.ts';
import { ensureSqliteView } from './sqlite-view.ts';
import {
  commitFacts,
  pageProgram,
  SLOT_COLUMN,
  type WriteFailure,
  type WriteProgram,
  writeError,
} from './sqlite-write-program.ts';

type Db = Database.Database;
type Statement<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export interface SqliteStoreOptions {
  /**
   * The database file, created if missing when opened in mode `create` (its directory must exist).
   * The CLI's default is `syncline.db`.
   */
  readonly path: string;
  /** How long a connection waits for another process's write lock before giving up. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * Page cache of the writer thread's connection, in KiB. Default 16384 (16 MiB): SQLite's 2 MiB
   * default keeps too little of a large table's key index in memory and lookups of random keys got
   * ~6x slower, while 64 MiB wrote 1M random keys no faster than 16 (the OS's file cache holds the
   * rest) and cost 48 MB more of resident memory. The main connection (lookups, run records, a short
   * run's commits) has `MAIN_CACHE_KIB`.
   */
  readonly cacheSizeKiB?: number;
  /**
   * Applies commits on the store's own connection while its writer thread is still starting
   * (default true): starting the thread and loading its driver takes 70-250 ms, and a short run (an
   * incremental one, a few pages) would wait that long for its first commit. False: every commit
   * waits for the thread.
   */
  readonly inlineCommits?: boolean;
}

/**
 * Page cache of the store's main connection, in KiB: it holds the B-tree's upper levels for
 * lookups, not the tables. With 16 MiB, like the writer's, a 5M-record full sync peaked at 197-205
 * MB resident (target: 200): past ~4M keys the run's key filter is full and every key is looked up
 * on this connection, which filled its cache; with 4 MiB, 186-189 MB, and incremental runs at 1M
 * (lookups of 1,000 keys, then commits on this connection) took 0.34-0.53 s with either.
 */
const MAIN_CACHE_KIB = 4096;

/** A slot's checkpoint at this moment, for `checkpoint_after` in UPDATEs of `syncline_runs`. */
function stateCheckpoint(slot: CheckpointSlot = 'main'): string {
  return `(SELECT s.${SLOT_COLUMN[slot]} FROM syncline_state s WHERE s.stream = syncline_runs.stream)`;
}

/**
 * The SQLite store: one file, WAL mode, one connection per instance. better-sqlite3 is synchronous;
 * methods still return promises to implement `Store`. Every write that must be atomic runs in one
 * `BEGIN IMMEDIATE` transaction, so two processes on the same file serialize on the write lock
 * (waiting up to `busyTimeoutMs`) instead of deadlocking on a read lock upgraded too late.
 */
export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'sqlite', bulkInsert: true, storesNul: true };
  readonly path: string;
  private readonly busyTimeoutMs: number;
  private readonly cacheSizeKiB: number;
  private readonly inlineCommits: boolean;
  private db: Db | null = null;
  /** Per stream: its table's prepared statements. */
  private readonly tables = new Map<string, SqliteStreamTable>();
  /** Prepared statements by SQL text, for this connection. */
  private readonly statements = new Map<string, Statement<unknown[]>>();
  /** The writer thread: applies commits on its own connection, started by the first commit. */
  private writer: WriterThread<WriteFailure> | null = null;
  /** Full scans' statements, for this connection. */
  private scans: SqliteScans | null = null;
  /** Dead letters' statements, for this connection. */
  private letters: SqliteDeadLetters | null = null;

  constructor(options: SqliteStoreOptions) {
    this.path = options.path;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.cacheSizeKiB = options.cacheSizeKiB ?? 16_384;
    this.inlineCommits = options.inlineCommits ?? true;
  }

  async open(options: StoreOpenOptions = {}): Promise<void> {
    if (this.db) return;
    this.db = await openSqlite({
      path: this.path,
      busyTimeoutMs: this.busyTimeoutMs,
      cacheSizeKiB: MAIN_CACHE_KIB,
      options,
    });
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.tables.clear();
    this.statements.clear();
    this.scans = null;
    this.letters = null;
    const writer = this.writer;
    this.writer = null;
    await writer?.close();
    db?.close();
  }

  async ensureStream(stream: string, options: StreamTableOptions = {}): Promise<void> {
    const db = this.conn();
    const create = db.transaction((): SqliteStreamTable => {
      // A table without a state row is adopted only if it is a stream table: else it is the user's.
      if (!this.stateRow(stream)) refuseForeignTable(db, stream, this.path);
      const table = SqliteStreamTable.ensure(db, stream, options.history === true);
      ensureSqliteView(db, stream, options.view ?? [], this.path);
      // `ensureStream` takes no time from the caller; the row's `updated_at` is the clock's.
      const insert = this.sql<[string, string]>(
        'INSERT OR IGNORE INTO syncline_state (stream, updated_at) VALUES (?, ?)',
      );
      insert.run(stream, new Date().toISOString());
      return table;
    });
    const table = this.guard('create the stream table', stream, () => create.immediate());
    this.tables.set(stream, table);
    // A stream is ensured to be written: the writer is set up now (its thread starts at once only
    // without inline commits; else once a run outlasts its first commits).
    this.writerThread();
  }

  /** The writer thread, started on first use. */
  private writerThread(): WriterThread<WriteFailure> {
    this.writer ??= new WriterThread<WriteFailure>(
      new URL('./sqlite-writer-worker.mjs', import.meta.url),
      { path: this.path, busyTimeoutMs: this.busyTimeoutMs, cacheSizeKiB: this.cacheSizeKiB },
      (message) => ({ step: -1, row: -1, key: null, code: null, message, noChange: false, refused: false }),
      {
        // The thread holds only the programs in flight; a small young generation keeps its heap small.
        resourceLimits: { maxYoungGenerationSizeMb: 8 },
        // Until the thread is ready, commits run on this connection (a short run's only commit).
        ...(this.inlineCommits ? { inline: programApplier(() => this.conn()) } : {}),
      },
    );
    return this.writer;
  }

  async lookup(stream: string, keys: readonly string[]): Promise<Map<string, StoredRecordState>> {
    const table = this.table(stream);
    return this.guard('look up keys', stream, () => table.lookup(keys));
  }

  async hasRecords(stream: string): Promise<boolean> {
    const table = this.table(stream);
    return this.guard('check for records', stream, () => table.hasRecords());
  }

  commitPage(commit: PageCommit): Promise<void> {
    let program: WriteProgram;
    try {
      program = pageProgram(commit, this.table(commit.stream));
    } catch (error) {
      return Promise.reject(toSyncError(error, 'prepare a page', commit.stream));
    }
    const writer = this.writerThread();
    // Only what names a failure is kept while the thread works: the rows are its own now (not an
    // async function, whose suspended frame would keep the commit and its data alive).
    const facts = commitFacts(commit, program);
    return writer.apply(program).then((outcome) => {
      if (!outcome.ok) throw writeError(facts, outcome.failure);
    });
  }

  async acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
    const acquire = this.conn().transaction(() => acquireLeaseSqlite(this.sql.bind(this), args));
    return this.guard('acquire the lease', args.stream, () => acquire.immediate());
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    return this.guard('renew the lease', lease.stream, () =>
      renewLeaseSqlite(this.sql.bind(this), lease, ttlMs),
    );
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.guard('release the lease', lease.stream, () => releaseLeaseSqlite(this.sql.bind(this), lease));
  }

  async startRun(args: StartRun): Promise<void> {
    this.guard('start a run', args.stream, () =>
      this.sql<[string, string, string, string, string | null]>(
        `INSERT INTO syncline_runs (run_id, stream, mode, status, started_at, checkpoint_before)
         VALUES (?, ?, ?, 'running', ?, ?)`,
      ).run(args.runId, args.stream, args.mode ?? 'sync', args.at, checkpointText(args.checkpointBefore)),
    );
  }

  async finishRun(args: FinishRun): Promise<void> {
    const finished = this.guard('finish a run', undefined, () =>
      this.sql(
        `UPDATE syncline_runs SET status = ?, ended_at = ?, error = ?, evidence = ?,
         checkpoint_after = ${stateCheckpoint(args.slot)}, ${ADD_COUNTERS_SQL} WHERE run_id = ?`,
      ).run(
        args.status,
        args.at,
        args.error,
        checkpointText(args.evidence ?? null),
        ...counterValues(args.counters),
        args.runId,
      ),
    );
    if (finished.changes === 0)
      throw new FatalError(`run "${args.runId}" is not recorded; it cannot be finished`);
  }

  async closeAbandonedRuns(stream: string, at: string, error: string): Promise<number> {
    const closed = this.guard('close abandoned runs', stream, () =>
      this.sql<[string, string, string]>(
        `UPDATE syncline_runs SET status = 'failed', ended_at = ?, error = ?, checkpoint_after = ${stateCheckpoint()}
         WHERE stream = ? AND status = 'running'`,
      ).run(at, error, stream),
    );
    return closed.changes;
  }

  async listRuns(args: ListRuns): Promise<RunRecord[]> {
    return this.guard('list runs', args.stream, () => this.runs(args)).map(toRunRecord);
  }

  async getState(stream: string): Promise<StreamState | null> {
    const row = this.guard('read the state', stream, () => this.stateRow(stream));
    return row ? toStreamState(row) : null;
  }

  async listStreams(): Promise<StreamStatus[]> {
    const db = this.conn();
    // One read transaction: every line of the status comes from the same snapshot.
    const read = db.transaction((): StreamStatus[] =>
      this.sql<[], StateRow>('SELECT * FROM syncline_state ORDER BY stream')
        .all()
        .map((row) => {
          const [lastRun] = this.runs({ stream: row.stream, limit: 1 });
          return {
            stream: row.stream,
            checkpoint: toStreamState(row).checkpoint,
            newestCursor: row.newest_cursor,
            records: this.table(row.stream).countLive(),
            openFailures:
              this.sql<[string], number>(
                "SELECT count(*) FROM syncline_failed WHERE stream = ? AND status = 'open'",
              )
                .pluck()
                .get(row.stream) ?? 0,
            lastRun: lastRun ? toRunRecord(lastRun) : null,
          };
        }),
    );
    return this.guard('list streams', undefined, () => read.deferred());
  }

  async resetCheckpoint(stream: string, at: string, slot: CheckpointSlot = 'main'): Promise<void> {
    const reset = this.guard('reset the checkpoint', stream, () =>
      this.sql<[string, string]>(
        `UPDATE syncline_state SET ${SLOT_COLUMN[slot]} = NULL, updated_at = ? WHERE stream = ?`,
      ).run(at, stream),
    );
    if (reset.changes === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to reset`, { stream });
  }

  async setApproval(stream: string, approved: boolean, at: string): Promise<void> {
    const set = this.guard('set the approval', stream, () =>
      this.sql<[number, string, string]>(
        'UPDATE syncline_state SET approved = ?, updated_at = ? WHERE stream = ?',
      ).run(approved ? 1 : 0, at, stream),
    );
    if (set.changes === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to approve`, { stream });
  }

  async countUnseen(stream: string, scanId: string): Promise<{ live: number; unseen: number }> {
    const table = this.table(stream);
    return this.guard('count rows a scan did not see', stream, () =>
      this.scanStore().countUnseen(table, scanId),
    );
  }

  async completeScan(args: {
    stream: string;
    scanId: string;
    runId: string;
    lease: Lease;
    at: string;
  }): Promise<{ deleted: number; sample: string[] }> {
    const table = this.table(args.stream);
    return this.guard('complete a scan', args.stream, () => this.scanStore().complete(table, args));
  }

  async dropScan(stream: string, scanId: string): Promise<void> {
    this.guard('drop a scan', stream, () => this.scanStore().drop(stream, scanId));
  }

  async listDeadLetters(args: ListDeadLetters): Promise<StoredDeadLetter[]> {
    return this.guard('list dead letters', args.stream, () => this.deadLetters().list(args));
  }

  async openDeadLetters(args: {
    stream: string;
    afterId: number;
    limit: number;
    ids?: readonly number[];
  }): Promise<StoredDeadLetter[]> {
    return this.guard('read open dead letters', args.stream, () => this.deadLetters().open(args));
  }

  async openDeadLetterKeys(stream: string, max: number): Promise<string[] | null> {
    return this.guard('read the keys of open dead letters', stream, () =>
      this.deadLetters().openKeys(stream, max),
    );
  }

  async ignoreDeadLetters(args: { stream?: string; ids?: readonly number[]; at: string }): Promise<number> {
    return this.guard('ignore dead letters', args.stream, () => this.deadLetters().ignore(args));
  }

  async scanRecords(stream: string, args: { afterKey?: string; limit: number }): Promise<StoredRecord[]> {
    const table = this.table(stream);
    return this.guard('scan records', stream, () => table.scan(args.afterKey, args.limit)).map(
      toStoredRecord,
    );
  }

  private conn(): Db {
    if (!this.db) throw new FatalError(`the SQLite store at "${this.path}" is not open; call open() first`);
    return this.db;
  }

  private deadLetters(): SqliteDeadLetters {
    this.letters ??= new SqliteDeadLetters(this.sql.bind(this));
    return this.letters;
  }

  private scanStore(): SqliteScans {
    this.scans ??= new SqliteScans(this.conn(), this.sql.bind(this));
    return this.scans;
  }

  /** A prepared statement, prepared once per connection. */
  private sql<P extends unknown[] = unknown[], R = unknown>(source: string): Statement<P, R> {
    let statement = this.statements.get(source);
    if (!statement) {
      statement = this.conn().prepare(source);
      this.statements.set(source, statement);
    }
    return statement as unknown as Statement<P, R>;
  }

  /** The stream's table statements; the table must exist (created by `ensureStream`, maybe by another process). */
  private table(stream: string): SqliteStreamTable {
    let table = this.tables.get(stream);
    if (!table) {
      const db = this.conn();
      table = this.guard(
        'open the stream table (ensure the stream first)',
        stream,
        () => new SqliteStreamTable(db, stream),
      );
      this.tables.set(stream, table);
    }
    return table;
  }

  private stateRow(stream: string): StateRow | undefined {
    return this.sql<[string], StateRow>('SELECT * FROM syncline_state WHERE stream = ?').get(stream);
  }

  private runs(args: ListRuns): RunRow[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    for (const [column, value] of [
      ['stream', args.stream],
      ['mode', args.mode],
      ['status', args.status],
    ] as const) {
      if (value === undefined) continue;
      where.push(`${column} = ?`);
      params.push(value);
    }
    return this.sql<(string | number)[], RunRow>(
      `SELECT * FROM syncline_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY started_at DESC, run_id DESC LIMIT ?`,
    ).all(...params, args.limit);
  }

  /** Runs `fn`, turning what SQLite throws into a typed error that says what failed. */
  private guard<T>(what: string, stream: string | undefined, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw toSyncError(error, what, stream);
    }
  }

  // The change feed (`ChangeFeed`): sqlite-change-feed.ts, on this connection and statement cache.

  async readChanges(args: ReadChanges): Promise<ChangeRow[]> {
    const stream = typeof args.stream === 'string' ? args.stream : undefined;
    return this.guard('read the change log', stream, () => this.changeFeed().read(args));
  }

  async consumerOffset(consumer: string): Promise<ConsumerOffset | null> {
    return this.guard(`read the offset of consumer "${consumer}"`, undefined, () =>
      this.changeFeed().offset(consumer),
    );
  }

  async registerConsumer(args: { consumer: string; afterSeq: number; at: string }): Promise<ConsumerOffset> {
    return this.guard(`register consumer "${args.consumer}"`, undefined, () =>
      this.changeFeed().register(args),
    );
  }

  async ackChanges(args: { consumer: string; seq: number; at: string }): Promise<ConsumerOffset> {
    return this.guard(`acknowledge changes for consumer "${args.consumer}"`, undefined, () =>
      this.changeFeed().ack(args),
    );
  }

  async pruneChanges(args: PruneChanges): Promise<number> {
    return this.guard('prune the change log', undefined, () => this.changeFeed().prune(args));
  }

  private changeFeed(): SqliteChangeFeed {
    return new SqliteChangeFeed(this.conn(), this.sql.bind(this));
  }
}
