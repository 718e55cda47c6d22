import type BetterSqlite3 from 'better-sqlite3';
import type { ColumnType, ViewColumn } from '../../core/view-columns.ts';
import { TypedView } from '../typed-view.ts';

type Db = BetterSqlite3.Database;

/**
 * Creates, recreates or drops the stream's typed view (`TypedView`) so it has `columns`; call
 * inside the transaction that ensures the stream. The view reads `_data` with `json_extract`;
 * SQLite's types are loose, so integers and numerics are cast and the rest read as JSON gives them
 * (booleans as 1/0, timestamps and dates as ISO text).
 */
export function ensureSqliteView(
  db: Db,
  stream: string,
  columns: readonly ViewColumn[],
  where: string,
): void {
  const view = new TypedView(stream, columns);
  const row = db
    .prepare<[string], { type: string; sql: string | null }>(
      'SELECT type, sql FROM sqlite_master WHERE name = ?',
    )
    .get(view.name);
  const existing = row
    ? { kind: row.type === 'view' ? ('view' as const) : ('other' as const), marker: markerOf(row.sql) }
    : null;
  const plan = view.plan(existing, `"${where}"`);
  if (plan === 'keep') return;
  if (plan !== 'create') db.exec(`DROP VIEW "${view.name}"`);
  if (plan === 'drop') return;
  const fields = columns.map((c) => `${expression(c.path, c.type)} AS "${c.name}"`);
  db.exec(
    `CREATE VIEW "${view.name}" /* ${view.marker} */ AS SELECT _key, ${fields.join(', ')}, _synced_at, _deleted_at
     FROM "${stream}" WHERE _deleted_at IS NULL`,
  );
}

/** The marker in a view's SQL, from the comment `ensureSqliteView` writes into it. */
function markerOf(sql: string | null): string | null {
  return /\/\* (syncline:view [0-9a-f]+) \*\//.exec(sql ?? '')?.[1] ?? null;
}

/** The column's value from `_data`. Path segments are plain identifiers (`viewColumns` checks). */
function expression(path: readonly string[], type: ColumnType): string {
  const at = `'$.${path.map((p) => `"${p}"`).join('.')}'`;
  switch (type) {
    case 'integer':
      return `CAST(json_extract(_data, ${at}) AS INTEGER)`;
    case 'numeric':
      return `CAST(json_extract(_data, ${at}) AS NUMERIC)`;
    case 'json':
      return `(_data -> ${at})`;
    default:
      return `json_extract(_data, ${at})`;
  }
}
