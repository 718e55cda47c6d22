import pg, { type PoolClient, type QueryResultRow } from 'pg';
import { ConfigError, FatalError, LeaseLostError } from '../../core/errors.ts';
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
import { assertStreamName } from '../../core/stream-name.ts';
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
import { WriterThread } from '../writer-thread.ts';
import { pgTarget } from './pg-target.ts';
import { applyPgProgram, pgFailure } from './postgres-apply-program.mjs';
import { PostgresChangeFeed } from './postgres-change-feed.ts';
import { PostgresDeadLetters } from './postgres-dead-letters.ts';
import { CONNECT_TIMEOUT_MS, connectError, parsePgUrl, storeError } from './postgres-errors.ts';
import { createHistoryTable, hasHistoryTable } from './postgres-history.ts';
import { acquireLeaseTx, RENEW_LEASE_SQL } from './postgres-lease.ts';
import { applyMigrations, createStreamTable } from './postgres-migrations.ts';
import { checkBeforeMigrating, refuseForeignTables } from './postgres-open-checks.ts';
import {
  commitFacts,
  type PgWriteFailure,
  type PgWriteProgram,
  pageProgram,
  writeError,
} from './postgres-page-commit.ts';
import { pgQuery, pgTransaction, withPgClient } from './postgres-pool.ts';
import {
  counterIncrements,
  counterValues,
  jsonParam,
  type RecordRow,
  type RunRow,
  type StateRow,
  toRunRecord,
  toStoredRecord,
  toStreamState,
} from './postgres-rows.ts';
import { type CompleteScan, completeScanTx, countUnseenTx, DROP_SCAN_SQL } from './postgres-scan.ts';
import { listStreamStatus } from './postgres-status.ts';
import { ensurePgView, pgViewCurrent } from './postgres-view.ts';

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

const STATE_COLUMNS =
  'stream, checkpoint, newest_cursor, lease_holder, lease_epoch, lease_expires_at, updated_at, backfill_checkpoint, approved';

/** The `syncline_state` column of each checkpoint slot. */
const SLOT_COLUMN = { main: 'checkpoint', backfill: 'backfill_checkpoint' } as const satisfies Record<
  CheckpointSlot,
  string
>;

/**
 * The PostgreSQL store. Many processes may share one database (and schema): migrations, stream
 * creation, leases and commits are each safe against concurrent processes, through advisory locks
 * and row locks on `syncline_state`. See `postgres-page-commit.ts` for the page transaction.
 */
export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { kind: 'postgres', bulkInsert: true, storesNul: false };
  readonly #url: string;
  readonly #schema: string;
  readonly #poolSize: number;
  readonly #inlineCommits: boolean;
  #pool: pg.Pool | undefined;
  /** The writer thread: applies commits on its own connection, started by the first commit. */
  #writer: WriterThread<PgWriteFailure> | null = null;
  #opening: Promise<void> | undefined;
  /** The store in messages: schema and server, without credentials. Set by `open`. */
  #where = '';
  /** Per stream: whether it has a history table, looked up once (or set by `ensureStream`). */
  readonly #history = new Map<string, boolean>();

  constructor(options: PostgresStoreOptions) {
    this.#url = options.url;
    this.#schema = options.schema ?? 'public';
    this.#poolSize = options.poolSize ?? 10;
    this.#inlineCommits = options.inlineCommits ?? true;
    if (!SCHEMA_NAME.test(this.#schema)) {
      throw new ConfigError(
        `PostgreSQL schema ${JSON.stringify(this.#schema)} is not valid: use lower-case letters, digits and "_"`,
      );
    }
  }

  async open(options: StoreOpenOptions = {}): Promise<void> {
    if (this.#pool !== undefined) return;
    // Two overlapping open() calls share one attempt instead of building two pools.
    this.#opening ??= this.#connectAndMigrate(options).finally(() => {
      this.#opening = undefined;
    });
    await this.#opening;
  }

  async #connectAndMigrate(options: StoreOpenOptions): Promise<void> {
    const url = parsePgUrl(this.#url);
    this.#where = `schema "${this.#schema}" at ${pgTarget(url)}`;
    const pool = new pg.Pool({
      connectionString: this.#url,
      options: `-c search_path=${this.#schema}`,
      max: this.#poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      // Shown in pg_stat_activity; a URL's own `application_name` wins.
      application_name: 'syncline',
    });
    // An idle connection that dies (server restart) emits here; the pool drops it and the next
    // query opens a fresh one, so there is nothing to do but not crash the process.
    pool.on('error', () => undefined);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw connectError(url, error);
    }
    try {
      await checkBeforeMigrating(client, this.#schema, this.#where, options);
      await applyMigrations(client, this.#schema);
    } catch (error) {
      client.release(true);
      await pool.end().catch(() => undefined);
      throw storeError(error, `opening schema "${this.#schema}"`);
    }
    client.release();
    this.#pool = pool;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    const writer = this.#writer;
    this.#pool = undefined;
    this.#writer = null;
    await writer?.close();
    await pool?.end();
  }

  async ensureStream(stream: string, options: StreamTableOptions = {}): Promise<void> {
    assertStreamName(stream);
    const history =
      (await this.#existingStream(stream, options)) ?? (await this.#createStream(stream, options));
    this.#history.set(stream, history);
    // A stream is ensured to be written: the writer is set up now (its thread starts at once only
    // without inline commits; else once a run outlasts its first commits).
    this.#writerThread();
  }

  /**
   * Whether the stream has a history table, when its table and state row exist and nothing is to
   * be created (every run after the first): read without the stream's lock and transaction. Null
   * when something is missing.
   */
  async #existingStream(stream: string, options: StreamTableOptions): Promise<boolean | null> {
    return this.#withClient(`checking the table of stream "${stream}"`, stream, async (client) => {
      // Holding the pool's connection, so the pool opens another.
      this.#openSpareConnection();
      const { rows } = await client.query<{ ready: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AND EXISTS (SELECT 1 FROM syncline_state WHERE stream = $2) AS ready',
        [`"${stream}"`, stream],
      );
      if (rows[0]?.ready !== true) return null;
      if (!(await pgViewCurrent(client, stream, options.view ?? []))) return null;
      const history = await hasHistoryTable((text, values) => client.query(text, values), stream);
      return history || !options.history ? history : null;
    });
  }

  /** Creates what the stream lacks (table, state row, history table) under its lock. */
  #createStream(stream: string, options: StreamTableOptions): Promise<boolean> {
    return this.#transaction(`creating the table of stream "${stream}"`, stream, async (client) => {
      // A table of that name is adopted only if it is a stream table: else it is the user's own.
      await refuseForeignTables(client, this.#schema, [stream], this.#where);
      await createStreamTable(client, this.#schema, stream);
      if (options.history) await createHistoryTable(client, stream);
      await ensurePgView(client, stream, options.view ?? [], this.#where);
      return (
        options.history === true ||
        (await hasHistoryTable((text, values) => client.query(text, values), stream))
      );
    });
  }

  /**
   * With inline commits, a run's first commit takes a pooled connection while the next page's
   * lookup holds the other: opened here, while the run starts, instead of when that commit waits for
   * it (20-30 ms of an incremental run's ~0.4 s). Call while holding the pool's only connection, so
   * the pool opens a second one.
   */
  #openSpareConnection(): void {
    const pool = this.#pool;
    if (!this.#inlineCommits || pool === undefined || pool.totalCount >= 2) return;
    pool.connect().then(
      (spare) => spare.release(),
      () => undefined,
    );
  }

  /** The writer thread, started on first use. */
  #writerThread(): WriterThread<PgWriteFailure> {
    this.#writer ??= new WriterThread<PgWriteFailure>(
      new URL('./postgres-writer-worker.mjs', import.meta.url),
      { url: this.#url, schema: this.#schema, connectTimeoutMs: CONNECT_TIMEOUT_MS },
      (message) => ({ step: -1, code: null, message, rowCount: null, refused: false }),
      {
        resourceLimits: { maxYoungGenerationSizeMb: 8 },
        // Until the thread is ready, commits run on a pooled connection (a short run's only commit).
        ...(this.#inlineCommits ? { inline: (program: PgWriteProgram) => this.#applyInline(program) } : {}),
      },
    );
    return this.#writer;
  }

  async #applyInline(program: PgWriteProgram): Promise<object | null> {
    let client: PoolClient;
    try {
      client = await this.#openPool().connect();
    } catch (error) {
      return pgFailure(-1, error);
    }
    const { failure, broken } = await applyPgProgram(client, program);
    client.release(broken);
    return failure;
  }

  async hasRecords(stream: string): Promise<boolean> {
    const rows = await this.#query<{ any: boolean }>(
      'checking for records',
      stream,
      `SELECT EXISTS (SELECT 1 FROM ${this.#table(stream)}) AS any`,
    );
    return rows[0]?.any === true;
  }

  async lookup(stream: string, keys: readonly string[]): Promise<Map<string, StoredRecordState>> {
    const found = new Map<string, StoredRecordState>();
    if (keys.length === 0) return found;
    const rows = await this.#query<{
      _key: string;
      _hash: string;
      _version: string | null;
      deleted: boolean;
      _cursor: string | null;
    }>(
      `looking up ${keys.length} keys`,
      stream,
      `SELECT _key, _hash, _version, _deleted_at IS NOT NULL AS deleted, _cursor FROM ${this.#table(stream)}
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
    this.#table(commit.stream);
    this.#openPool();
    // The writer thread builds and sends the page on its own connection while this thread goes on;
    // only what names a failure is kept here meanwhile.
    const program = pageProgram(commit, this.#schema, this.#history.get(commit.stream) ?? null);
    const facts = commitFacts(commit, program);
    return this.#writerThread()
      .apply(program)
      .then((outcome) => {
        if (!outcome.ok) throw writeError(facts, outcome.failure);
      });
  }

  async acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
    return this.#transaction('acquiring the lease', args.stream, (client) => acquireLeaseTx(client, args));
  }

  async renewLease(lease: Lease, ttlMs: number, at: string): Promise<Lease> {
    const rows = await this.#query<{ lease_expires_at: Date }>(
      'renewing the lease',
      lease.stream,
      RENEW_LEASE_SQL,
      [lease.stream, lease.holder, lease.epoch, ttlMs, at],
    );
    if (rows[0] === undefined) throw new LeaseLostError(lease.stream, lease.epoch);
    return { ...lease, expiresAt: rows[0].lease_expires_at.toISOString() };
  }

  async releaseLease(lease: Lease): Promise<void> {
    // The epoch stays: the next grant increments it.
    await this.#query(
      'releasing the lease',
      lease.stream,
      `UPDATE syncline_state SET lease_holder = NULL, lease_expires_at = NULL
      WHERE stream = $1 AND lease_holder = $2 AND lease_epoch = $3::bigint`,
      [lease.stream, lease.holder, lease.epoch],
    );
  }

  async startRun(args: StartRun): Promise<void> {
    const { runId, stream, lease, at, checkpointBefore } = args;
    // Fenced like a commit: a worker that lost its lease cannot record a new run.
    const rows = await this.#query(
      'starting a run',
      stream,
      `INSERT INTO syncline_runs (run_id, stream, mode, status, started_at, checkpoint_before)
      SELECT $1, $2, $7, 'running', $5::timestamptz, $6::jsonb FROM syncline_state
      WHERE stream = $2 AND lease_holder = $3 AND lease_epoch = $4::bigint
      RETURNING run_id`,
      [runId, stream, lease.holder, lease.epoch, at, jsonParam(checkpointBefore), args.mode ?? 'sync'],
    );
    if (rows.length === 0) throw new LeaseLostError(stream, lease.epoch);
  }

  async finishRun(args: FinishRun): Promise<void> {
    await this.#query(
      'finishing a run',
      undefined,
      `UPDATE syncline_runs AS r SET status = $2, ended_at = $3::timestamptz, error = $4, evidence = $5::jsonb,
        checkpoint_after = (SELECT s.${SLOT_COLUMN[args.slot ?? 'main']} FROM syncline_state AS s WHERE s.stream = r.stream),
        ${counterIncrements(6)}
      WHERE run_id = $1`,
      [
        args.runId,
        args.status,
        args.at,
        args.error,
        jsonParam(args.evidence ?? null),
        ...counterValues(args.counters),
      ],
    );
  }

  async closeAbandonedRuns(stream: string, at: string, error: string): Promise<number> {
    const rows = await this.#query(
      'closing abandoned runs',
      stream,
      `UPDATE syncline_runs AS r SET status = 'failed', ended_at = $2::timestamptz, error = $3,
        checkpoint_after = (SELECT s.checkpoint FROM syncline_state AS s WHERE s.stream = r.stream)
      WHERE stream = $1 AND status = 'running' RETURNING run_id`,
      [stream, at, error],
    );
    return rows.length;
  }

  async listRuns(args: ListRuns): Promise<RunRecord[]> {
    const rows = await this.#query<RunRow>(
      'listing runs',
      args.stream,
      `SELECT * FROM syncline_runs WHERE ($1::text IS NULL OR stream = $1) AND ($2::text IS NULL OR mode = $2)
        AND ($3::text IS NULL OR status = $3)
      ORDER BY started_at DESC, run_id DESC LIMIT $4`,
      [args.stream ?? null, args.mode ?? null, args.status ?? null, args.limit],
    );
    return rows.map(toRunRecord);
  }

  async getState(stream: string): Promise<StreamState | null> {
    const rows = await this.#query<StateRow>(
      'reading the state',
      stream,
      `SELECT ${STATE_COLUMNS} FROM syncline_state WHERE stream = $1`,
      [stream],
    );
    return rows[0] === undefined ? null : toStreamState(rows[0]);
  }

  async listStreams(): Promise<StreamStatus[]> {
    return listStreamStatus((what, text) => this.#query(what, undefined, text), STATE_COLUMNS);
  }

  async resetCheckpoint(stream: string, at: string, slot: CheckpointSlot = 'main'): Promise<void> {
    const rows = await this.#query(
      'resetting the checkpoint',
      stream,
      `UPDATE syncline_state SET ${SLOT_COLUMN[slot]} = NULL, updated_at = $2::timestamptz
      WHERE stream = $1 RETURNING stream`,
      [stream, at],
    );
    if (rows.length === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to reset`, { stream });
  }

  async setApproval(stream: string, approved: boolean, at: string): Promise<void> {
    const rows = await this.#query(
      'setting the approval',
      stream,
      `UPDATE syncline_state SET approved = $2, updated_at = $3::timestamptz WHERE stream = $1 RETURNING stream`,
      [stream, approved, at],
    );
    if (rows.length === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to approve`, { stream });
  }

  async countUnseen(stream: string, scanId: string): Promise<{ live: number; unseen: number }> {
    this.#table(stream);
    return this.#transaction('counting rows a scan did not see', stream, (client) =>
      countUnseenTx(client, stream, scanId),
    );
  }

  async completeScan(args: CompleteScan): Promise<{ deleted: number; sample: string[] }> {
    this.#table(args.stream);
    const history = await this.#hasHistory(args.stream);
    return this.#withClient('completing a scan', args.stream, (client) =>
      completeScanTx(client, this.#schema, args, history),
    );
  }

  async dropScan(stream: string, scanId: string): Promise<void> {
    await this.#query('dropping a scan', stream, DROP_SCAN_SQL, [stream, scanId]);
  }

  async listDeadLetters(args: ListDeadLetters): Promise<StoredDeadLetter[]> {
    return this.#deadLetters(args.stream).list(args);
  }

  async openDeadLetters(args: {
    stream: string;
    afterId: number;
    limit: number;
    ids?: readonly number[];
  }): Promise<StoredDeadLetter[]> {
    return this.#deadLetters(args.stream).open(args);
  }

  async openDeadLetterKeys(stream: string, max: number): Promise<string[] | null> {
    return this.#deadLetters(stream).openKeys(stream, max);
  }

  async ignoreDeadLetters(args: { stream?: string; ids?: readonly number[]; at: string }): Promise<number> {
    return this.#deadLetters(args.stream).ignore(args);
  }

  /** Dead-letter statements, errors naming `stream`. */
  #deadLetters(stream: string | undefined): PostgresDeadLetters {
    return new PostgresDeadLetters((what, text, values) => this.#query(what, stream, text, values));
  }

  async scanRecords(stream: string, args: { afterKey?: string; limit: number }): Promise<StoredRecord[]> {
    const rows = await this.#query<RecordRow>(
      'scanning records',
      stream,
      `SELECT * FROM ${this.#table(stream)} WHERE ($1::text IS NULL OR _key > $1 COLLATE "C")
      ORDER BY _key COLLATE "C" LIMIT $2`,
      [args.afterKey ?? null, args.limit],
    );
    return rows.map(toStoredRecord);
  }

  /** The quoted table of a stream, after checking the name is one (it is spliced into SQL). */
  #table(stream: string): string {
    return `"${assertStreamName(stream)}"`;
  }

  #openPool(): pg.Pool {
    if (this.#pool === undefined) {
      throw new FatalError('the PostgreSQL store is not open: call open() first (or it was closed)');
    }
    return this.#pool;
  }

  #query<R extends QueryResultRow = QueryResultRow>(
    what: string,
    stream: string | undefined,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    return pgQuery<R>(this.#openPool(), what, stream, text, values);
  }

  /** Whether the stream keeps history: asked once per stream, then remembered. */
  async #hasHistory(stream: string): Promise<boolean> {
    let has = this.#history.get(stream);
    if (has === undefined) {
      const query = (text: string, values: unknown[]) =>
        this.#query<{ present: boolean }>('looking up the history table', stream, text, values);
      has = await hasHistoryTable(async (text, values) => ({ rows: await query(text, values) }), stream);
      this.#history.set(stream, has);
    }
    return has;
  }

  #withClient<T>(what: string, stream: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return withPgClient(this.#openPool(), what, stream, fn);
  }

  #transaction<T>(
    what: string,
    stream: string | undefined,
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    return pgTransaction(this.#openPool(), what, stream, fn);
  }

  // The change feed (`ChangeFeed`): postgres-change-feed.ts, on pooled connections.

  async readChanges(args: ReadChanges): Promise<ChangeRow[]> {
    return this.#changeFeed(typeof args.stream === 'string' ? args.stream : undefined).read(args);
  }

  async consumerOffset(consumer: string): Promise<ConsumerOffset | null> {
    return this.#changeFeed().offset(consumer);
  }

  async registerConsumer(args: { consumer: string; afterSeq: number; at: string }): Promise<ConsumerOffset> {
    return this.#changeFeed().register(args);
  }

  async ackChanges(args: { consumer: string; seq: number; at: string }): Promise<ConsumerOffset> {
    return this.#changeFeed().ack(args);
  }

  async pruneChanges(args: PruneChanges): Promise<number> {
    return this.#changeFeed().prune(args);
  }

  /** Change-feed statements, errors naming `stream`. */
  #changeFeed(stream?: string): PostgresChangeFeed {
    return new PostgresChangeFeed((what, text, values) => this.#query(what, stream, text, values));
  }
}
