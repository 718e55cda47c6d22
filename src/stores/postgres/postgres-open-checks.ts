import type { PoolClient } from 'pg';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { StoreOpenOptions } from '../../core/store.ts';
import { foreignTableError } from '../foreign-table-error.ts';
import { schemaVersion } from './postgres-migrations.ts';

/**
 * What `open` checks on a fresh connection before it migrates (so before it creates the schema or
 * any of Syncline's tables): in modes `write` and `read`, that the schema holds a Syncline store;
 * and that no table named like one of `options.streams` is someone else's. Throws
 * `StoreUnavailableError` naming `where` (schema and server, without credentials).
 */
export async function checkBeforeMigrating(
  client: PoolClient,
  schema: string,
  where: string,
  options: StoreOpenOptions,
): Promise<void> {
  if ((options.mode ?? 'create') !== 'create' && (await schemaVersion(client, schema)) === 0) {
    const { rows } = await client.query<{ present: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present',
      [schema],
    );
    const what = rows[0]?.present ? 'the schema has no Syncline tables' : 'the schema does not exist';
    throw new StoreUnavailableError(
      `no Syncline store in ${where}: ${what} (nothing was created); ` +
        'check the store location and its ?schema=, or let a sync create it',
    );
  }
  await refuseForeignTables(client, schema, options.streams ?? [], where);
}

/**
 * Throws `foreignTableError` for the first table (or view) of `schema` named like one of `streams`
 * that lacks a stream table's system columns.
 */
export async function refuseForeignTables(
  client: PoolClient,
  schema: string,
  streams: readonly string[],
  where: string,
): Promise<void> {
  if (streams.length === 0) return;
  const { rows } = await client.query<{ name: string; columns: string[] }>(
    `SELECT c.relname AS name,
            coalesce(array_agg(a.attname::text) FILTER (WHERE a.attname IS NOT NULL), '{}') AS columns
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
      GROUP BY c.relname
      ORDER BY c.relname`,
    [schema, streams],
  );
  for (const row of rows) {
    const error = foreignTableError(row.name, row.columns, where);
    if (error) throw error;
  }
}
