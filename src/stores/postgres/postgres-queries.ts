import type pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { FatalError } from '../../core/errors.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import type { WriterThread } from '../writer-thread.ts';
import type { PgWriteFailure } from './postgres-page-commit.ts';

/** What the PostgreSQL store holds while it is open; `close` ends all of it. */
export interface PostgresSession {
  readonly pool: pg.Pool;
  /** The store in messages: schema and server, without credentials. */
  readonly where: string;
  /** The writer thread: applies commits on its own connection, set up by the first `ensureStream`. */
  writer: WriterThread<PgWriteFailure> | null;
}

/**
 * The ways the store's role modules talk to the open pool, each turning what pg throws into a
 * typed error (the runtime's translation) that says what was being done (`what`) and on which
 * stream. Each is refused with a `FatalError` while the store is not open.
 */
export class PostgresQueries {
  readonly #runtime: StoreRuntime<PostgresSession>;

  constructor(runtime: StoreRuntime<PostgresSession>) {
    this.#runtime = runtime;
  }

  /** One statement on any pooled connection; returns its rows. */
  async query<R extends QueryResultRow = QueryResultRow>(
    what: string,
    stream: string | undefined,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    const { pool } = this.#runtime.connection;
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw this.#runtime.toSyncError(error, what, stream);
    }
  }

  /**
   * Runs `fn` on one client that manages its own transaction; wraps the error, and drops the
   * connection unless the error was fatal (a transient one may have left it broken).
   */
  async withClient<T>(
    what: string,
    stream: string | undefined,
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    const { pool } = this.#runtime.connection;
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw this.#runtime.toSyncError(error, what, stream);
    }
    let broken = false;
    try {
      return await fn(client);
    } catch (error) {
      const wrapped = this.#runtime.toSyncError(error, what, stream);
      broken = !(wrapped instanceof FatalError);
      throw wrapped;
    } finally {
      client.release(broken);
    }
  }

  /** Runs `fn` between BEGIN and COMMIT on one client; rolls back and wraps the error on failure. */
  transaction<T>(
    what: string,
    stream: string | undefined,
    fn: (client: PoolClient) => Promise<T>,
  ): Promise<T> {
    return this.withClient(what, stream, async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }
}
