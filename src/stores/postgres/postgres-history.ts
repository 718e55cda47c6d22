import type { PoolClient } from 'pg';
import type { PageCommit } from '../../core/store.ts';
import { assertNoStreamNamed, historyTableName } from '../history-table.ts';

/**
 * A stream's history table (`history: true`), `"<stream>_history"`: every version of every record
 * with the interval it was current (`_valid_from` inclusive, `_valid_to` exclusive, NULL for the
 * current one), the run that wrote it, and whether that version is a soft delete. Each write closes
 * the key's open row and opens a new one, in the page's transaction.
 */

/**
 * Whether the stream has a history table (in the connection's `search_path` schema): a table
 * `<stream>_history` with `_valid_from`, so the table of a stream that happens to be named
 * `<stream>_history` is not taken for one. Its first row's `present` says.
 */
export function historyTableQuery(stream: string): { sql: string; params: unknown[] } {
  return {
    sql: `SELECT EXISTS (SELECT 1 FROM pg_attribute
      WHERE attrelid = to_regclass($1) AND attname = '_valid_from' AND NOT attisdropped) AS present`,
    params: [`"${stream}_history"`],
  };
}

export async function hasHistoryTable(
  query: (text: string, values: unknown[]) => Promise<{ rows: { present: boolean }[] }>,
  stream: string,
): Promise<boolean> {
  const { sql, params } = historyTableQuery(stream);
  const { rows } = await query(sql, params);
  return rows[0]?.present === true;
}

/**
 * Creates the history table if missing, inside the caller's transaction (which holds the stream's
 * advisory lock). A stream that already has records gets one open row per record, valid from its
 * `_synced_at`, so each key's history starts with the version stored when history was turned on.
 */
export async function createHistoryTable(client: PoolClient, stream: string): Promise<void> {
  const name = historyTableName(stream);
  if (await hasHistoryTable((text, values) => client.query(text, values), stream)) return;
  const taken = await client.query(
    'SELECT 1 FROM syncline_state WHERE stream = $1 UNION ALL SELECT 1 WHERE to_regclass($2) IS NOT NULL',
    [name, `"${name}"`],
  );
  assertNoStreamNamed(name, taken.rows.length > 0, stream);
  await client.query(`CREATE TABLE "${name}" (
      _key text COLLATE "C" NOT NULL,
      _data jsonb NOT NULL,
      _hash text NOT NULL,
      _version text,
      _valid_from timestamptz NOT NULL,
      _valid_to timestamptz,
      _run_id text NOT NULL,
      _deleted boolean NOT NULL
    )`);
  await client.query(`CREATE INDEX "${name}__key" ON "${name}" (_key, _valid_from)`);
  await client.query(
    `INSERT INTO "${name}" (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
    SELECT _key, _data, _hash, _version, _synced_at, NULL, _run_id, _deleted_at IS NOT NULL FROM "${stream}"`,
  );
}

/**
 * After a page's rows are written: closes the open history row of each written key and opens one
 * with the row as it now is. A key written twice in one page gets one new version (its last state).
 * One statement: the UPDATE and the INSERT see the same snapshot, so the new rows stay open.
 */
export function pageHistoryStatement(commit: PageCommit): { sql: string; params: unknown[] } {
  const h = `"${commit.stream}_history"`;
  return {
    sql: `WITH k AS (SELECT DISTINCT unnest($1::text[]) AS key),
    closed AS (
      UPDATE ${h} AS h SET _valid_to = $2::timestamptz FROM k WHERE h._key = k.key AND h._valid_to IS NULL
    )
    INSERT INTO ${h} (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
    SELECT t._key, t._data, t._hash, t._version, $2::timestamptz, NULL, $3, t._deleted_at IS NOT NULL
    FROM "${commit.stream}" AS t JOIN k ON t._key = k.key`,
    params: [commit.writes.map((w) => w.key), commit.at, commit.runId],
  };
}
