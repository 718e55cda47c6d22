import type BetterSqlite3 from 'better-sqlite3';
import { assertStreamName } from '../../core/stream-name.ts';
import { assertNoStreamNamed, historyTableName } from '../history-table.ts';

type Db = BetterSqlite3.Database;
type Statement<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/** The history table of a stream (`<stream>_history`), validated and double-quoted. */
export function quoteHistory(stream: string): string {
  return `"${assertStreamName(stream)}_history"`;
}

/**
 * A stream's history table (`history: true`): every version of every record, with the interval it
 * was current (`_valid_from` inclusive, `_valid_to` exclusive, NULL for the current one), the run
 * that wrote it, and whether that version is a soft delete. Each write closes the key's open row
 * and opens a new one, in the page's transaction.
 */
export class SqliteHistory {
  readonly table: string;
  /** `_valid_to` then `_key`. */
  private readonly close: Statement<[string, string]>;
  /** `_key, _data, _hash, _version, _valid_from, _run_id, _deleted` */
  private readonly open: Statement<[string, string, string, string | null, string, string, number]>;

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

  /** Prepares statements on an existing history table. */
  constructor(db: Db, stream: string) {
    this.table = quoteHistory(stream);
    this.close = db.prepare(`UPDATE ${this.table} SET _valid_to = ? WHERE _key = ? AND _valid_to IS NULL`);
    this.open = db.prepare(
      `INSERT INTO ${this.table} (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`,
    );
  }

  /** Closes the key's open version at `at` and opens the new one. */
  record(
    key: string,
    data: string,
    hash: string,
    version: string | null,
    deleted: boolean,
    runId: string,
    at: string,
  ): void {
    this.close.run(at, key);
    this.open.run(key, data, hash, version, at, runId, deleted ? 1 : 0);
  }
}
