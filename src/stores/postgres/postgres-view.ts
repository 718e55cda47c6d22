import type { PoolClient } from 'pg';
import type { ColumnType, ViewColumn } from '../../core/view-columns.ts';
import { TypedView } from '../typed-view.ts';

/** The relation named like the stream's typed view, and its comment. */
const EXISTING_SQL = `SELECT c.relkind::text AS kind, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class AS c WHERE c.oid = to_regclass($1)`;

/** Whether the stream's typed view is as `columns` want it (nothing to do), read without a lock. */
export async function pgViewCurrent(
  client: PoolClient,
  stream: string,
  columns: readonly ViewColumn[],
): Promise<boolean> {
  const view = new TypedView(stream, columns);
  const { rows } = await client.query<{ kind: string; comment: string | null }>(EXISTING_SQL, [
    `"${view.name}"`,
  ]);
  const row = rows[0];
  if (!row) return columns.length === 0;
  return row.kind === 'v' && row.comment === view.marker;
}

/**
 * Creates, recreates or drops the stream's typed view (`TypedView`) so it has `columns`; call
 * inside the transaction that holds the stream's lock. Each column is cast from `_data` only when
 * the JSON value has a type the cast takes (`jsonb_typeof`), so an object where a number was
 * expected reads as NULL rather than failing the query; the engine dead-letters records whose
 * fields do not fit, so that is a guard, not a rule.
 */
export async function ensurePgView(
  client: PoolClient,
  stream: string,
  columns: readonly ViewColumn[],
  where: string,
): Promise<void> {
  const view = new TypedView(stream, columns);
  const { rows } = await client.query<{ kind: string; comment: string | null }>(EXISTING_SQL, [
    `"${view.name}"`,
  ]);
  const row = rows[0];
  const plan = view.plan(
    row ? { kind: row.kind === 'v' ? 'view' : 'other', marker: row.comment } : null,
    where,
  );
  if (plan === 'keep') return;
  if (plan !== 'create') await client.query(`DROP VIEW "${view.name}"`);
  if (plan === 'drop') return;
  const fields = columns.map((c) => `${expression(c.path, c.type)} AS "${c.name}"`);
  await client.query(
    `CREATE VIEW "${view.name}" AS SELECT _key, ${fields.join(', ')}, _synced_at, _deleted_at
     FROM "${stream}" WHERE _deleted_at IS NULL`,
  );
  await client.query(`COMMENT ON VIEW "${view.name}" IS '${view.marker}'`);
}

/** The column's value from `_data`. Path segments are plain identifiers (`viewColumns` checks). */
function expression(path: readonly string[], type: ColumnType): string {
  const json = `(_data #> '{${path.join(',')}}')`;
  const text = `(_data #>> '{${path.join(',')}}')`;
  const when = (types: string) => `CASE WHEN jsonb_typeof${json} IN (${types}) THEN`;
  switch (type) {
    case 'text':
      return `CASE WHEN jsonb_typeof${json} NOT IN ('object', 'array') THEN ${text} END`;
    case 'integer':
      return `${when("'number', 'string'")} ${text}::numeric::bigint END`;
    case 'numeric':
      return `${when("'number', 'string'")} ${text}::numeric END`;
    case 'boolean':
      return `${when("'boolean'")} ${text}::boolean END`;
    case 'timestamp':
      return `${when("'string'")} ${text}::timestamptz END`;
    case 'date':
      return `${when("'string'")} ${text}::date END`;
    case 'json':
      return json;
  }
}
