import type pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { FatalError } from '../../core/errors.ts';
import { storeError } from './postgres-errors.ts';

/**
 * The ways the store talks to its pool, each turning what pg throws into a typed error that says
 * what was being done (`what`) and on which stream.
 */

/** One statement on any pooled connection; returns its rows. */
export async function pgQuery<R extends QueryResultRow = QueryResultRow>(
  pool: pg.Pool,
  what: string,
  stream: string | undefined,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (error) {
    throw storeError(error, what, stream);
  }
}

async function connect(pool: pg.Pool, what: string, stream: string | undefined): Promise<PoolClient> {
  try {
    return await pool.connect();
  } catch (error) {
    throw storeError(error, what, stream);
  }
}

/**
 * Runs `fn` on one client that manages its own transaction; wraps the error, and drops the
 * connection unless the error was fatal (a transient one may have left it broken).
 */
export async function withPgClient<T>(
  pool: pg.Pool,
  what: string,
  stream: string | undefined,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await connect(pool, what, stream);
  let broken = false;
  try {
    return await fn(client);
  } catch (error) {
    const wrapped = storeError(error, what, stream);
    broken = !(wrapped instanceof FatalError);
    throw wrapped;
  } finally {
    client.release(broken);
  }
}

/** Runs `fn` between BEGIN and COMMIT on one client; rolls back and wraps the error on failure. */
export function pgTransaction<T>(
  pool: pg.Pool,
  what: string,
  stream: string | undefined,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return withPgClient(pool, what, stream, async (client) => {
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
