import type { PoolClient } from 'pg';
import { ConfigError } from '../../core/errors.ts';
import type {
  ClusterStore,
  CommitWatcher,
  PageCommit,
  SharedRateBuckets,
  Store,
  StoreCapabilities,
  StoreOpenOptions,
  StreamTableOptions,
} from '../../core/store.ts';
import { assertStreamName } from '../../core/stream-name.ts';
import type { StoredRecordState } from '../../core/types.ts';
import { StoreRoles } from '../store-roles.ts';
import { StoreRuntime } from '../store-runtime.ts';
import { WriterThread } from '../writer-thread.ts';
import { PostgresActions } from './postgres-actions.ts';
import { applyPgProgram, pgFailure } from './postgres-apply-program.mjs';
import { PostgresChangeFeed } from './postgres-change-feed.ts';
import { type CommitWatch, watchPgCommits } from './postgres-commit-watch.ts';
import { PostgresDeadLetters } from './postgres-dead-letters.ts';
import { PostgresDestinationMap } from './postgres-destination-map.ts';
import { CONNECT_TIMEOUT_MS, storeError } from './postgres-errors.ts';
import { PostgresInbox } from './postgres-inbox.ts';
import { PostgresInspector } from './postgres-inspector.ts';
import { PostgresLeases } from './postgres-leases.ts';
import { openPostgres } from './postgres-open.ts';
import {
  commitFacts,
  type PgWriteFailure,
  type PgWriteProgram,
  pageProgram,
  writeError,
} from './postgres-page-commit.ts';
import { PostgresQueries, type PostgresSession } from './postgres-queries.ts';
import { PostgresRateBuckets } from './postgres-rate-buckets.ts';
import { PostgresRunLog } from './postgres-run-log.ts';
import { PostgresScans } from './postgres-scans.ts';
import { PostgresStreamStates } from './postgres-stream-states.ts';
import { PostgresStreamTables } from './postgres-stream-tables.ts';
import { jobQueueSchema, PostgresWorkers } from './postgres-workers.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly url: string;
  /** Schema holding the system and stream tables, created if missing when opened in mode `create`. Default `public`. */
  readonly schema?: string;
  /** Most connections this process opens. Default 10 (pg's default). */
  readonly poolSize?: number;
  /**
   * Applies commits on the store's own connection while its writer thread is still starting
   * (default true): starting the thread and loading its driver takes 70-250 ms, and a short run (an
   * incremental one, a few pages) would wait that long for its first commit. False: every commit
   * waits for the thread.
   */
  readonly inlineCommits?: boolean;
}

/** Schema names we accept: plain identifiers, so they need no quoting in `search_path`. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The PostgreSQL store. Many processes may share one database (and schema): migrations, stream
 * creation, leases and commits are each safe against concurrent processes, through advisory locks
 * and row locks on `syncline_state`. See `postgres-page-commit.ts` for the page transaction.
 *
 * This class is the lifecycle and the records (the commit path and lookups, kept here because they
 * are hot); each other role is a module of its own on the same `StoreRuntime` (through
 * `PostgresQueries`), to which `StoreRoles` delegates.
 */
export class PostgresStore extends StoreRoles implements Store, CommitWatcher, SharedRateBuckets {
  readonly capabilities: StoreCapabilities = { kind: 'postgres', bulkInsert: true, storesNul: false };
  readonly #url: string;
  readonly #schema: string;
  readonly #inlineCommits: boolean;
  readonly #runtime: StoreRuntime<PostgresSession>;
  readonly #db: PostgresQueries;
  readonly #tables: PostgresStreamTables;
  readonly #rateBuckets: PostgresRateBuckets;

  constructor(options: PostgresStoreOptions) {
    super();
    this.#url = options.url;
    this.#schema = options.schema ?? 'public';
    this.#inlineCommits = options.inlineCommits ?? true;
    if (!SCHEMA_NAME.test(this.#schema)) {
      throw new ConfigError(
        `PostgreSQL schema ${JSON.stringify(this.#schema)} is not valid: use lower-case letters, digits and "_"`,
      );
    }
    const poolSize = options.poolSize ?? 10;
    this.#runtime = new StoreRuntime<PostgresSession>({
      name: `the PostgreSQL store (schema "${this.#schema}")`,
      connect: async (openOptions) => ({
        ...(await openPostgres({ url: this.#url, schema: this.#schema, poolSize, options: openOptions })),
        writer: null,
      }),
      disconnect: async (session) => {
        await session.writer?.close();
        await session.pool.end();
      },
      toSyncError: storeError,
    });
    const db = new PostgresQueries(this.#runtime);
    this.#db = db;
    const tables = new PostgresStreamTables({
      runtime: this.#runtime,
      db,
      schema: this.#schema,
      inlineCommits: this.#inlineCommits,
    });
    this.#tables = tables;
    this.#rateBuckets = new PostgresRateBuckets(db);
    this.useRoles({
      leases: new PostgresLeases(db),
      runLog: new PostgresRunLog(db, this.#schema),
      scans: new PostgresScans(db, this.#schema, (stream) => tables.hasHistory(stream)),
      states: new PostgresStreamStates(db),
      deadLetters: new PostgresDeadLetters(db),
      inspector: new PostgresInspector(db),
      changes: new PostgresChangeFeed(db, this.#schema),
      destinations: new PostgresDestinationMap(db),
      inbox: new PostgresInbox(db, this.#schema),
      actions: new PostgresActions(db),
    });
  }

  open(options: StoreOpenOptions = {}): Promise<void> {
    return this.#runtime.open(options);
  }

  close(): Promise<void> {
    return this.#runtime.close();
  }

  /**
   * The cluster role (`ClusterStore`): the job queue beside this schema and the workers' table,
   * for `syncline run` processes sharing this store.
   */
  cluster(): ClusterStore {
    const url = new URL(this.#url);
    const queueSchema = jobQueueSchema(this.#schema);
    const workers = new PostgresWorkers(this.#db, queueSchema);
    return {
      jobQueue: { connectionString: url.toString(), schema: queueSchema },
      registerWorker: (worker) => workers.registerWorker(worker),
      heartbeat: (id, state) => workers.heartbeat(id, state),
      takeDeadWorkers: (gone) => workers.takeDeadWorkers(gone),
      removeWorker: (id) => workers.removeWorker(id),
      listWorkers: () => workers.listWorkers(),
    };
  }

  /** Commits of every process to this schema's change log, by `LISTEN` (see CommitWatcher). */
  watchCommits(onCommit: () => void): CommitWatch {
    return watchPgCommits({ url: this.#url, schema: this.#schema, onCommit });
  }

  /** A token of the shared bucket `key`, for every process of this schema (see SharedRateBuckets). */
  reserveRateToken(key: string, requestsPerSecond: number, burst: number): Promise<number> {
    return this.#rateBuckets.reserveRateToken(key, requestsPerSecond, burst);
  }

  async ensureStream(stream: string, options: StreamTableOptions = {}): Promise<void> {
    await this.#tables.ensure(stream, options);
    // A stream is ensured to be written: the writer is set up now (its thread starts at once only
    // without inline commits; else once a run outlasts its first commits).
    this.#writerThread(this.#runtime.connection);
  }

  /** The writer thread of the open pool, started on first use. */
  #writerThread(session: PostgresSession): WriterThread<PgWriteFailure> {
    session.writer ??= new WriterThread<PgWriteFailure>(
      new URL('./postgres-writer-worker.mjs', import.meta.url),
      { url: this.#url, schema: this.#schema, connectTimeoutMs: CONNECT_TIMEOUT_MS },
      (message) => ({ step: -1, code: null, message, rowCount: null, refused: false }),
      {
        resourceLimits: { maxYoungGenerationSizeMb: 8 },
        // Until the thread is ready, commits run on a pooled connection (a short run's only commit).
        ...(this.#inlineCommits ? { inline: (program: PgWriteProgram) => this.#applyInline(program) } : {}),
      },
    );
    return session.writer;
  }

  async #applyInline(program: PgWriteProgram): Promise<object | null> {
    let client: PoolClient;
    try {
      client = await this.#runtime.connection.pool.connect();
    } catch (error) {
      return pgFailure(-1, error);
    }
    const { failure, broken } = await applyPgProgram(client, program);
    client.release(broken);
    return failure;
  }

  async hasRecords(stream: string): Promise<boolean> {
    const rows = await this.#db.query<{ any: boolean }>(
      'checking for records',
      stream,
      `SELECT EXISTS (SELECT 1 FROM ${table(stream)}) AS any`,
    );
    return rows[0]?.any === true;
  }

  async lookup(stream: string, keys: readonly string[]): Promise<Map<string, StoredRecordState>> {
    const found = new Map<string, StoredRecordState>();
    if (keys.length === 0) return found;
    const rows = await this.#db.query<{
      _key: string;
      _hash: string;
      _version: string | null;
      deleted: boolean;
      _cursor: string | null;
    }>(
      `looking up ${keys.length} keys`,
      stream,
      `SELECT _key, _hash, _version, _deleted_at IS NOT NULL AS deleted, _cursor FROM ${table(stream)}
      WHERE _key = ANY($1::text[])`,
      [keys],
    );
    for (const row of rows)
      found.set(row._key, {
        hash: row._hash,
        version: row._version,
        deleted: row.deleted,
        cursor: row._cursor,
      });
    return found;
  }

  commitPage(commit: PageCommit): Promise<void> {
    let session: PostgresSession;
    let program: PgWriteProgram;
    try {
      assertStreamName(commit.stream);
      session = this.#runtime.connection;
      // The writer thread builds and sends the page on its own connection while this thread goes
      // on; only what names a failure is kept here meanwhile.
      program = pageProgram(commit, this.#schema, this.#tables.knownHistory(commit.stream));
    } catch (error) {
      return Promise.reject(storeError(error, 'preparing a page', commit.stream));
    }
    const facts = commitFacts(commit, program);
    return this.#writerThread(session)
      .apply(program)
      .then((outcome) => {
        if (!outcome.ok) throw writeError(facts, outcome.failure);
      });
  }
}

/** The quoted table of a stream, after checking the name is one (it is spliced into SQL). */
function table(stream: string): string {
  return `"${assertStreamName(stream)}"`;
}
