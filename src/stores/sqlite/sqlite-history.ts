import type BetterSqlite3 from 'better-sqlite3';
import { assertStreamName } from '../../core/stream-name.ts';
import { assertNoStreamNamed, historyTableName } from '../history-table.ts';

type Db = BetterSqlite3.Database;

/** The history table of a stream (`<stream>_history`), validated and double-quoted. */
export function quoteHistory(stream: string): string {
  return `"${assertStreamName(stream)}_history"`;
}

/**
 * A stream's history table (`history: true`): every version of every record, with the interval it
 * was current (`_valid_from` inclusive, `_valid_to` exclusive, NULL for the current one), the run
 * that wrote it, and whether that version is a soft delete. Each write closes the key's open row
 * and opens a new one, in the page's transaction (`pageProgram`).
 */
export class SqliteHistory {
  readonly table: string;
  /** Closes a key's open version: `_valid_to` then `_key`. */
  readonly closeSql: string;
  /**
   * Opens the version a write just stored, read from the stream table (so a tombstone's row keeps
   * its data): `_valid_from`, `_run_id`, then `_key`.
   */
  readonly openSql: string;

  /**
   * Whether the stream has a history table: a table `<stream>_history` with `_valid_from`, so the
   * table of a stream that happens to be named `<stream>_history` is not taken for one.
   */
  static exists(db: Db, stream: string): boolean {
    const found = db
      .prepare<[string], number>("SELECT count(*) FROM pragma_table_info(?) WHERE name = '_valid_from'")
      .pluck()
      .get(`${assertStreamName(stream)}_history`);
    return (found ?? 0) > 0;
  }

  /**
   * Creates the history table if missing, inside the caller's transaction. A stream that already
   * has records gets one open row per record (valid from its `_synced_at`), so each key's history
   * starts with the version stored when history was turned on.
   */
  static ensure(db: Db, stream: string, streamTable: string): void {
    if (SqliteHistory.exists(db, stream)) return;
    const name = historyTableName(stream);
    const taken = db
      .prepare<[string, string], number>(
        'SELECT (SELECT count(*) FROM syncline_state WHERE stream = ?) + (SELECT count(*) FROM sqlite_schema WHERE name = ?)',
      )
      .pluck();
    assertNoStreamNamed(name, (taken.get(name, name) ?? 0) > 0, stream);
    const table = `"${name}"`;
    db.exec(
      `CREATE TABLE ${table} (
        _key TEXT NOT NULL,
        _data TEXT NOT NULL,
        _hash TEXT NOT NULL,
        _version TEXT,
        _valid_from TEXT NOT NULL,
        _valid_to TEXT,
        _run_id TEXT NOT NULL,
        _deleted INTEGER NOT NULL
      );
      CREATE INDEX "${stream}_history__key" ON ${table} (_key, _valid_from);
      INSERT INTO ${table} (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
        SELECT _key, _data, _hash, _version, _synced_at, NULL, _run_id, _deleted_at IS NOT NULL
        FROM ${streamTable};`,
    );
  }

  /** The statements of an existing history table (applied by the writer thread). */
  constructor(stream: string) {
    this.table = quoteHistory(stream);
    this.closeSql = `UPDATE ${this.table} SET _valid_to = ? WHERE _key = ? AND _valid_to IS NULL`;
    this.openSql = `INSERT INTO ${this.table} (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
       SELECT _key, _data, _hash, _version, ?, NULL, ?, _deleted_at IS NOT NULL FROM "${assertStreamName(stream)}" WHERE _key = ?`;
  }
}
