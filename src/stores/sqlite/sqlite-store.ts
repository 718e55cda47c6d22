import type {
  PageCommit,
  Store,
  StoreCapabilities,
  StoreOpenOptions,
  StreamTableOptions,
} from '../../core/store.ts';
import type { StoredRecordState } from '../../core/types.ts';
import { StoreRoles } from '../store-roles.ts';
import { StoreRuntime } from '../store-runtime.ts';
import { WriterThread } from '../writer-thread.ts';
import { SqliteActions } from './sqlite-actions.ts';
import { programApplier } from './sqlite-apply-program.mjs';
import { SqliteChanges } from './sqlite-change-feed.ts';
import { SqliteDeadLetters } from './sqlite-dead-letters.ts';
import { SqliteDestinationMap } from './sqlite-destination-map.ts';
import { toSyncError } from './sqlite-errors.ts';
import { SqliteInbox } from './sqlite-inbox.ts';
import { SqliteInspector } from './sqlite-inspector.ts';
import { SqliteLeases } from './sqlite-leases.ts';
import { openSqlite, refuseForeignTable } from './sqlite-open.ts';
import { SqliteRunLog } from './sqlite-run-log.ts';
import { SqliteScans } from './sqlite-scans.ts';
import { SqliteSession } from './sqlite-session.ts';
import { SqliteStreamStates } from './sqlite-stream-states.ts';
import { SqliteStreamTable } from './sqlite-stream-table.ts';
import { ensureSqliteView } from './sqlite-view.ts';
import {
  commitFacts,
  pageProgram,
  type WriteFailure,
  type WriteProgram,
  writeError,
} from './sqlite-write-program.ts';

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

/**
 * The SQLite store: one file, WAL mode, one connection per instance. better-sqlite3 is synchronous;
 * methods still return promises to implement `Store`. Every write that must be atomic runs in one
 * `BEGIN IMMEDIATE` transaction, so two processes on the same file serialize on the write lock
 * (waiting up to `busyTimeoutMs`) instead of deadlocking on a read lock upgraded too late.
 *
 * This class is the lifecycle and the records (the commit path and lookups, kept here because they
 * are hot); each other role is a module of its own on the same `StoreRuntime`, to which `StoreRoles`
 * delegates.
 */
export class SqliteStore extends StoreRoles implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'sqlite', bulkInsert: true, storesNul: true };
  readonly path: string;
  readonly #busyTimeoutMs: number;
  readonly #cacheSizeKiB: number;
  readonly #inlineCommits: boolean;
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(options: SqliteStoreOptions) {
    super();
    this.path = options.path;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#cacheSizeKiB = options.cacheSizeKiB ?? 16_384;
    this.#inlineCommits = options.inlineCommits ?? true;
    const runtime = new StoreRuntime<SqliteSession>({
      name: `the SQLite store at "${this.path}"`,
      connect: async (openOptions) =>
        new SqliteSession(
          await openSqlite({
            path: this.path,
            busyTimeoutMs: this.#busyTimeoutMs,
            cacheSizeKiB: MAIN_CACHE_KIB,
            options: openOptions,
          }),
        ),
      disconnect: async (session) => {
        await session.writer?.close();
        session.db.close();
      },
      toSyncError,
    });
    this.#runtime = runtime;
    this.useRoles({
      leases: new SqliteLeases(runtime),
      runLog: new SqliteRunLog(runtime),
      scans: new SqliteScans(runtime),
      states: new SqliteStreamStates(runtime),
      deadLetters: new SqliteDeadLetters(runtime),
      inspector: new SqliteInspector(runtime),
      changes: new SqliteChanges(runtime),
      destinations: new SqliteDestinationMap(runtime),
      inbox: new SqliteInbox(runtime),
      actions: new SqliteActions(runtime),
    });
  }

  open(options: StoreOpenOptions = {}): Promise<void> {
    return this.#runtime.open(options);
  }

  close(): Promise<void> {
    return this.#runtime.close();
  }

  async ensureStream(stream: string, options: StreamTableOptions = {}): Promise<void> {
    const session = this.#runtime.connection;
    const { db } = session;
    const create = db.transaction((): SqliteStreamTable => {
      // A table without a state row is adopted only if it is a stream table: else it is the user's.
      if (!session.stateRow(stream)) refuseForeignTable(db, stream, this.path);
      const table = SqliteStreamTable.ensure(db, stream, options.history === true);
      ensureSqliteView(db, stream, options.view ?? [], this.path);
      // `ensureStream` takes no time from the caller; the row's `updated_at` is the clock's.
      const insert = session.sql<[string, string]>(
        'INSERT OR IGNORE INTO syncline_state (stream, updated_at) VALUES (?, ?)',
      );
      insert.run(stream, new Date().toISOString());
      return table;
    });
    session.addTable(this.#runtime.guard('create the stream table', stream, () => create.immediate()));
    // A stream is ensured to be written: the writer is set up now (its thread starts at once only
    // without inline commits; else once a run outlasts its first commits).
    this.#writerThread(session);
  }

  /** The writer thread of the open connection, started on first use. */
  #writerThread(session: SqliteSession): WriterThread<WriteFailure> {
    session.writer ??= new WriterThread<WriteFailure>(
      new URL('./sqlite-writer-worker.mjs', import.meta.url),
      { path: this.path, busyTimeoutMs: this.#busyTimeoutMs, cacheSizeKiB: this.#cacheSizeKiB },
      (message) => ({ step: -1, row: -1, key: null, code: null, message, noChange: false, refused: false }),
      {
        // The thread holds only the programs in flight; a small young generation keeps its heap small.
        resourceLimits: { maxYoungGenerationSizeMb: 8 },
        // Until the thread is ready, commits run on this connection (a short run's only commit).
        ...(this.#inlineCommits ? { inline: programApplier(() => this.#runtime.connection.db) } : {}),
      },
    );
    return session.writer;
  }

  async lookup(stream: string, keys: readonly string[]): Promise<Map<string, StoredRecordState>> {
    const table = this.#runtime.connection.table(stream);
    return this.#runtime.guard('look up keys', stream, () => table.lookup(keys));
  }

  async hasRecords(stream: string): Promise<boolean> {
    const table = this.#runtime.connection.table(stream);
    return this.#runtime.guard('check for records', stream, () => table.hasRecords());
  }

  commitPage(commit: PageCommit): Promise<void> {
    let session: SqliteSession;
    let program: WriteProgram;
    try {
      session = this.#runtime.connection;
      program = pageProgram(commit, session.table(commit.stream));
    } catch (error) {
      return Promise.reject(toSyncError(error, 'prepare a page', commit.stream));
    }
    const writer = this.#writerThread(session);
    // Only what names a failure is kept while the thread works: the rows are its own now (not an
    // async function, whose suspended frame would keep the commit and its data alive).
    const facts = commitFacts(commit, program);
    return writer.apply(program).then((outcome) => {
      if (!outcome.ok) throw writeError(facts, outcome.failure);
    });
  }
}
