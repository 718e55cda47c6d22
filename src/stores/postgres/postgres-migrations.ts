import { readdir, readFile } from 'node:fs/promises';
import type { PoolClient } from 'pg';
import { FatalError } from '../../core/errors.ts';
import { olderLiveWorkers } from './postgres-workers.ts';

/** Where the numbered SQL files live: `001-initial.sql`, `002-….sql`, applied in order, never edited. */
const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The migration files, ordered by their number. */
export async function loadMigrations(): Promise<Migration[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => /^\d+-.+\.sql$/.test(name));
  const migrations = await Promise.all(
    names.map(async (name) => ({
      version: Number.parseInt(name, 10),
      name,
      sql: await readFile(new URL(name, MIGRATIONS_DIR), 'utf8'),
    })),
  );
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new FatalError(
        `two PostgreSQL migrations share number ${migrations[i]!.version}: fix the file names`,
      );
    }
  }
  return migrations;
}

/**
 * Creates `schema` if missing and applies the migrations it lacks, all in one transaction under an
 * advisory lock keyed on the schema, so processes opening the same schema at once migrate it once
 * (the others wait, then find nothing to do). Returns the versions applied.
 */
export async function applyMigrations(client: PoolClient, schema: string): Promise<number[]> {
  const migrations = await loadMigrations();
  // Most opens find the schema current: two reads say so, without the lock and the transaction
  // (five round trips and a commit less in every run's start). Migrations only add versions, so a
  // current schema stays current.
  const newest = migrations.at(-1)?.version ?? 0;
  if ((await schemaVersion(client, schema)) >= newest) return [];
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      `syncline:migrate:${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    // The pool's search_path named a schema that may not have existed when it connected.
    await client.query(`SET LOCAL search_path TO "${schema}"`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS syncline_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM syncline_schema',
    );
    const current = rows[0]?.version ?? 0;
    if (current < newest) await refuseBesideOlderWorkers(client, schema, current, newest);
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      try {
        await client.query(migration.sql);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new FatalError(
          `PostgreSQL migration ${migration.name} failed in schema "${schema}": ${message}; nothing was applied`,
          { cause: error },
        );
      }
      await client.query('INSERT INTO syncline_schema (version) VALUES ($1)', [migration.version]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return applied;
}

/**
 * A rolling upgrade's guard: live workers of an older Syncline (`syncline run` processes of a
 * cluster) would go on writing tables whose new shape they do not know, so the store is not
 * migrated beside them. The error names them; stopping them (or letting them be replaced after
 * this one's start) is the operator's move.
 */
async function refuseBesideOlderWorkers(
  client: PoolClient,
  schema: string,
  current: number,
  newest: number,
): Promise<void> {
  const older = await olderLiveWorkers(client, schema, newest);
  if (older.length === 0) return;
  const named = older
    .slice(0, 5)
    .map((w) => `${w.host} pid ${w.pid} (Syncline ${w.version}, schema ${w.schemaVersion})`)
    .join(', ');
  throw new FatalError(
    `schema "${schema}" is at version ${current} and this Syncline migrates it to ${newest}, but ` +
      `${older.length} live worker${older.length === 1 ? '' : 's'} of an older version use${older.length === 1 ? 's' : ''} it: ${named}` +
      `${older.length > 5 ? ', ...' : ''}; stop them first (syncline workers lists them), then start this version`,
  );
}

/** The newest store schema version this Syncline knows (its last migration's number). */
export async function newestSchemaVersion(): Promise<number> {
  return (await loadMigrations()).at(-1)?.version ?? 0;
}

/** Whether the table (or index, view...) `name` exists; `name` is quoted as SQL would be. */
async function relationExists(client: PoolClient, name: string): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
    name,
  ]);
  return rows[0]?.present === true;
}

/** The schema's migration version; 0 when it has none yet (no schema, or no version table). */
export async function schemaVersion(client: PoolClient, schema: string): Promise<number> {
  const table = `"${schema}".syncline_schema`;
  if (!(await relationExists(client, table))) return 0;
  const current = await client.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${table}`,
  );
  return current.rows[0]?.version ?? 0;
}

/**
 * The statements that create a stream's table and its cursor index if missing (`stream` is spliced
 * in: it must be a valid stream name). Exported so the benchmark's raw ingest writes the same table.
 */
export function pgStreamTableDdl(stream: string): string[] {
  // _key uses the "C" collation: byte order, like SQLite, so scans page in the same order and the
  // primary key index serves them.
  return [
    `CREATE TABLE IF NOT EXISTS "${stream}" (
      _key text COLLATE "C" PRIMARY KEY,
      _data jsonb NOT NULL,
      _hash text NOT NULL,
      _version text,
      _cursor text,
      _first_synced_at timestamptz NOT NULL,
      _synced_at timestamptz NOT NULL,
      _deleted_at timestamptz,
      _run_id text NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS "${stream}__cursor" ON "${stream}" (_cursor)`,
  ];
}

/**
 * Creates a stream's table, its cursor index and its `syncline_state` row if missing, inside the
 * caller's transaction. `stream` must already be a valid stream name (it is spliced into SQL).
 */
export async function createStreamTable(client: PoolClient, schema: string, stream: string): Promise<void> {
  // Two processes creating the same table at once can both pass IF NOT EXISTS and then collide
  // on pg_type; the lock makes the second wait and find the table.
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    `syncline:stream:${schema}.${stream}`,
  ]);
  // Only when it is missing: even with IF NOT EXISTS, CREATE INDEX takes a share lock on an
  // existing table, which waits for a commit in flight in another process; that commit then waited
  // for this transaction's state row below: a deadlock (seen in CI with two CLI processes).
  if (!(await relationExists(client, `"${stream}"`))) {
    for (const statement of pgStreamTableDdl(stream)) await client.query(statement);
  }
  await client.query('INSERT INTO syncline_state (stream) VALUES ($1) ON CONFLICT (stream) DO NOTHING', [
    stream,
  ]);
}
