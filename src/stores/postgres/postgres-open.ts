import pg, { type PoolClient } from 'pg';
import type { StoreOpenOptions } from '../../core/store.ts';
import { pgTarget } from './pg-target.ts';
import { CONNECT_TIMEOUT_MS, connectError, parsePgUrl, storeError } from './postgres-errors.ts';
import { applyMigrations } from './postgres-migrations.ts';
import { checkBeforeMigrating } from './postgres-open-checks.ts';

/**
 * Opens the store's pool on `url` with `schema` as its search path, checks what `options.mode`
 * asks (`checkBeforeMigrating`) and applies pending migrations. Throws a typed error with one line,
 * the pool ended, when the server cannot be reached or a check refuses. `where` names the store in
 * messages: schema and server, without credentials.
 */
export async function openPostgres(args: {
  readonly url: string;
  readonly schema: string;
  readonly poolSize: number;
  readonly options: StoreOpenOptions;
}): Promise<{ pool: pg.Pool; where: string }> {
  const { schema } = args;
  const url = parsePgUrl(args.url);
  const where = `schema "${schema}" at ${pgTarget(url)}`;
  const pool = new pg.Pool({
    connectionString: args.url,
    options: `-c search_path=${schema}`,
    max: args.poolSize,
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
    await checkBeforeMigrating(client, schema, where, args.options);
    await applyMigrations(client, schema);
  } catch (error) {
    client.release(true);
    await pool.end().catch(() => undefined);
    throw storeError(error, `opening schema "${schema}"`);
  }
  client.release();
  return { pool, where };
}
