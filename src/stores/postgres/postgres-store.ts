import pg, { type PoolClient, type QueryResultRow } from 'pg';
import { ConfigError, FatalError, LeaseLostError } from '../../core/errors.ts';
import type {
  AcquireLease,
  FinishRun,
  PageCommit,
  StartRun,
  Store,
  StoreCapabilities,
} from '../../core/store.ts';
import { assertStreamName, STREAM_NAME } from '../../core/stream-name.ts';
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
import { CONNECT_TIMEOUT_MS, connectError, parsePgUrl, storeError } from './postgres-errors.ts';
import { acquireLeaseTx } from './postgres-lease.ts';
import { applyMigrations, createStreamTable } from './postgres-migrations.ts';
import { commitPageTx } from './postgres-page-commit.ts';
import {
  type ChangeLogRow,
  counterIncrements,
  counterValues,
  type DeadLetterRow,
  jsonParam,
  type RecordRow,
  type RunRow,
  type StateRow,
  toChangeRow,
  toDeadLetter,
  toRunRecord,
  toStoredRecord,
  toStreamState,
} from './postgres-rows.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  readonly url: string;
  /** Schema holding the system and stream tables, created if missing. Default `public`. */
  readonly schema?: string;
  /** Most connections this process opens. Default 10 (pg's default). */
  readonly poolSize?: number;
}

/** Schema names we accept: plain identifiers, so they need no quoting in `search_path`. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const STATE_COLUMNS =
  'stream, checkpoint, newest_cursor, lease_holder, lease_epoch, lease_expires_at, updated_at';

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
  #pool: pg.Pool | undefined;
  #opening: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    this.#url = options.url;
    this.#schema = options.schema ?? 'public';
    this.#poolSize = options.poolSize ?? 10;
    if (!SCHEMA_NAME.test(this.#schema)) {
      throw new ConfigError(
        `PostgreSQL schema ${JSON.stringify(this.#schema)} is not valid: use lower-case letters, digits and "_"`,
      );
    }
  }

  async open(): Promise<void> {
    if (this.#pool !== undefined) return;
    // Two overlapping open() calls share one attempt instead of building two pools.
    this.#opening ??= this.#connectAndMigrate().finally(() => {
      this.#opening = undefined;
    });
    await this.#opening;
  }

  async #connectAndMigrate(): Promise<void> {
    const url = parsePgUrl(this.#url);
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
    this.#pool = undefined;
    await pool?.end();
  }

  async ensureStream(stream: string): Promise<void> {
    assertStreamName(stream);
    await this.#transaction(`creating the table of stream "${stream}"`, stream, async (client) => {
      await createStreamTable(client, this.#schema, stream);
    });
  }

  async lookup(stream: string, keys: readonly string[]): Promise<Map<string, StoredRecordState>> {
    const found = new Map<string, StoredRecordState>();
    if (keys.length === 0) return found;
    const rows = await this.#query<{
      _key: string;
      _hash: string;
      _version: string | null;
      deleted: boolean;
    }>(
      `looking up ${keys.length} keys`,
      stream,
      `SELECT _key, _hash, _version, _deleted_at IS NOT NULL AS deleted FROM ${this.#table(stream)}
      WHERE _key = ANY($1::text[])`,
      [keys],
    );
    for (const row of rows)
      found.set(row._key, { hash: row._hash, version: row._version, deleted: row.deleted });
    return found;
  }

  async commitPage(commit: PageCommit): Promise<void> {
    this.#table(commit.stream);
    const client = await this.#connect('committing a page', commit.stream);
    let broken = false;
    try {
      await commitPageTx(client, this.#schema, commit);
    } catch (error) {
      const wrapped = storeError(error, 'committing a page', commit.stream);
      broken = !(wrapped instanceof FatalError);
      throw wrapped;
    } finally {
      client.release(broken);
    }
  }

  async acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
    return this.#transaction('acquiring the lease', args.stream, (client) => acquireLeaseTx(client, args));
  }

  async renewLease(lease: Lease, ttlMs: number, at: string): Promise<Lease> {
    const expiresAt = new Date(Date.parse(at) + ttlMs).toISOString();
    const rows = await this.#query(
      'renewing the lease',
      lease.stream,
      `UPDATE syncline_state SET lease_expires_at = $4::timestamptz, updated_at = $5::timestamptz
      WHERE stream = $1 AND lease_holder = $2 AND lease_epoch = $3::bigint RETURNING stream`,
      [lease.stream, lease.holder, lease.epoch, expiresAt, at],
    );
    if (rows.length === 0) throw new LeaseLostError(lease.stream, lease.epoch);
    return { ...lease, expiresAt };
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
      `INSERT INTO syncline_runs (run_id, stream, status, started_at, checkpoint_before)
      SELECT $1, $2, 'running', $5::timestamptz, $6::jsonb FROM syncline_state
      WHERE stream = $2 AND lease_holder = $3 AND lease_epoch = $4::bigint
      RETURNING run_id`,
      [runId, stream, lease.holder, lease.epoch, at, jsonParam(checkpointBefore)],
    );
    if (rows.length === 0) throw new LeaseLostError(stream, lease.epoch);
  }

  async finishRun(args: FinishRun): Promise<void> {
    await this.#query(
      'finishing a run',
      undefined,
      `UPDATE syncline_runs AS r SET status = $2, ended_at = $3::timestamptz, error = $4,
        checkpoint_after = (SELECT s.checkpoint FROM syncline_state AS s WHERE s.stream = r.stream),
        ${counterIncrements(5)}
      WHERE run_id = $1`,
      [args.runId, args.status, args.at, args.error, ...counterValues(args.counters)],
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

  async listRuns(args: { stream?: string; limit: number }): Promise<RunRecord[]> {
    const rows = await this.#query<RunRow>(
      'listing runs',
      args.stream,
      `SELECT * FROM syncline_runs WHERE ($1::text IS NULL OR stream = $1)
      ORDER BY started_at DESC, run_id DESC LIMIT $2`,
      [args.stream ?? null, args.limit],
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
    const states = await this.#query<StateRow & { open_failures: string }>(
      'listing streams',
      undefined,
      `SELECT ${STATE_COLUMNS},
        (SELECT count(*) FROM syncline_failed AS f WHERE f.stream = s.stream AND f.status = 'open') AS open_failures
      FROM syncline_state AS s ORDER BY stream COLLATE "C"`,
    );
    if (states.length === 0) return [];
    const tables = states.filter((s) => STREAM_NAME.test(s.stream));
    const counts = new Map<string, number>();
    if (tables.length > 0) {
      const rows = await this.#query<{ stream: string; records: string }>(
        'counting records',
        undefined,
        tables
          .map(
            (s) =>
              `SELECT '${s.stream}' AS stream, count(*) AS records FROM "${s.stream}" WHERE _deleted_at IS NULL`,
          )
          .join(' UNION ALL '),
      );
      for (const row of rows) counts.set(row.stream, Number(row.records));
    }
    const runs = await this.#query<RunRow>(
      'listing last runs',
      undefined,
      'SELECT DISTINCT ON (stream) * FROM syncline_runs ORDER BY stream, started_at DESC, run_id DESC',
    );
    const lastRuns = new Map(runs.map((row) => [row.stream, toRunRecord(row)]));
    return states.map((s) => ({
      stream: s.stream,
      checkpoint: s.checkpoint,
      newestCursor: s.newest_cursor,
      records: counts.get(s.stream) ?? 0,
      openFailures: Number(s.open_failures),
      lastRun: lastRuns.get(s.stream) ?? null,
    }));
  }

  async resetCheckpoint(stream: string, at: string): Promise<void> {
    await this.#query(
      'resetting the checkpoint',
      stream,
      'UPDATE syncline_state SET checkpoint = NULL, updated_at = $2::timestamptz WHERE stream = $1',
      [stream, at],
    );
  }

  async listDeadLetters(args: {
    stream?: string;
    limit: number;
    all?: boolean;
  }): Promise<StoredDeadLetter[]> {
    const rows = await this.#query<DeadLetterRow>(
      'listing dead letters',
      args.stream,
      `SELECT id, stream, run_id, key, reason, payload, status, created_at FROM syncline_failed
      WHERE ($1::text IS NULL OR stream = $1) AND ($2 OR status = 'open')
      ORDER BY id DESC LIMIT $3`,
      [args.stream ?? null, args.all === true, args.limit],
    );
    return rows.map(toDeadLetter);
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

  async readChanges(args: { afterSeq: number; limit: number; stream?: string }): Promise<ChangeRow[]> {
    const rows = await this.#query<ChangeLogRow>(
      'reading the change log',
      args.stream,
      `SELECT seq, stream, key, kind, hash, version, run_id, at FROM syncline_changes
      WHERE seq > $1::bigint AND ($3::text IS NULL OR stream = $3) ORDER BY seq LIMIT $2`,
      [args.afterSeq, args.limit, args.stream ?? null],
    );
    return rows.map(toChangeRow);
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

  async #query<R extends QueryResultRow = QueryResultRow>(
    what: string,
    stream: string | undefined,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    const pool = this.#openPool();
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw storeError(error, what, stream);
    }
  }

  async #connect(what: string, stream: string | undefined): Promise<PoolClient> {
    try {
      return await this.#openPool().connect();
    } catch (error) {
      throw storeError(error, what, stream);
    }
  }

  /** Runs `fn` between BEGIN and COMMIT on one client; rolls back and wraps the error on failure. */
  async #transaction<T>(
    what: string,
    stream: string | undefined,
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    const client = await this.#connect(what, stream);
    let broken = false;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } catch (error) {
      const wrapped = storeError(error, what, stream);
      broken = !(wrapped instanceof FatalError);
      throw wrapped;
    } finally {
      client.release(broken);
    }
  }
}
