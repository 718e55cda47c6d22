import type BetterSqlite3 from 'better-sqlite3';
import { FatalError } from '../../core/errors.ts';
import { assertStreamName } from '../../core/stream-name.ts';
import type { RecordWrite, StoredRecordState } from '../../core/types.ts';
import { isKeyConflict } from './sqlite-errors.ts';
import { SqliteHistory } from './sqlite-history.ts';
import type { RecordRow } from './sqlite-rows.ts';

type Db = BetterSqlite3.Database;
type Statement<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/** `[_key, _hash, _version, deleted 0/1]`, read in raw mode: no object per row. */
type LookupRow = [string, string, string | null, number, string | null];

/**
 * One stream's table and its prepared statements, prepared once per store connection.
 *
 * The table is an ordinary rowid table with a unique index on `_key`, not `WITHOUT ROWID`: with
 * ~300-byte rows and random keys, `WITHOUT ROWID` splits pages of full rows all over the file and
 * committed 1,000-row pages 2-3x slower (8k vs 19-24k rows/s), while lookups by key were about even.
 */
export class SqliteStreamTable {
  readonly stream: string;
  /** The quoted table name, safe to splice into SQL (the stream name is a plain identifier). */
  readonly table: string;
  /** The history table's statements when the stream keeps history (looked up once, when prepared). */
  readonly history: SqliteHistory | null;
  private readonly lookupStmt: Statement<[string], LookupRow>;
  /** `_key, _data, _hash, _version, _cursor, _first_synced_at, _synced_at, _deleted_at, _run_id` */
  private readonly insert: Statement<
    [string, string, string, string | null, string | null, string, string, string | null, string]
  >;
  /** `_data, _hash, _version, _cursor, _synced_at, _deleted_at, _run_id` then `_key` */
  private readonly update: Statement<
    [string, string, string | null, string | null, string, string | null, string, string]
  >;
  /** A tombstone's delete: `_synced_at, _deleted_at, _run_id` then `_key`; returns the kept `_data`. */
  private readonly tombstone: Statement<[string, string, string, string], string>;
  /** `stream, key, kind, hash, version, run_id, at` */
  private readonly change: Statement<[string, string, string, string, string | null, string, string]>;
  private readonly scanFirst: Statement<[number], RecordRow>;
  private readonly scanAfter: Statement<[string, number], RecordRow>;
  private readonly countLiveStmt: Statement<[], number>;
  private readonly anyRowStmt: Statement<[], number>;

  /** Creates the table and its cursor index (and the history table) if missing, then prepares. */
  static ensure(db: Db, stream: string, history = false): SqliteStreamTable {
    const table = quoteStream(stream);
    db.exec(sqliteStreamTableDdl(stream));
    if (history) SqliteHistory.ensure(db, stream, table);
    return new SqliteStreamTable(db, stream);
  }

  /** Prepares statements on an existing table; throws (SQLite "no such table") when it is missing. */
  constructor(db: Db, stream: string) {
    this.stream = stream;
    this.table = quoteStream(stream);
    const t = this.table;
    // One JSON array parameter rather than chunks of `IN (?, ?, ...)`: as fast for 1,000 keys in a
    // 1M-row table (measured), no variable limit, and one statement for any number of keys.
    this.lookupStmt = db
      .prepare<[string], LookupRow>(
        `SELECT _key, _hash, _version, _deleted_at IS NOT NULL, _cursor FROM ${t}
         WHERE _key IN (SELECT value FROM json_each(?))`,
      )
      .raw(true);
    this.insert = db.prepare(
      `INSERT INTO ${t} (_key, _data, _hash, _version, _cursor, _first_synced_at, _synced_at, _deleted_at, _run_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.update = db.prepare(
      `UPDATE ${t} SET _data = ?, _hash = ?, _version = ?, _cursor = ?, _synced_at = ?, _deleted_at = ?, _run_id = ?
       WHERE _key = ?`,
    );
    this.tombstone = db
      .prepare<[string, string, string, string], string>(
        `UPDATE ${t} SET _synced_at = ?, _deleted_at = ?, _run_id = ? WHERE _key = ? RETURNING _data`,
      )
      .pluck();
    this.change = db.prepare(
      'INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const columns =
      '_key, _data, _hash, _version, _cursor, _first_synced_at, _synced_at, _deleted_at, _run_id';
    this.scanFirst = db.prepare(`SELECT ${columns} FROM ${t} ORDER BY _key LIMIT ?`);
    this.scanAfter = db.prepare(`SELECT ${columns} FROM ${t} WHERE _key > ? ORDER BY _key LIMIT ?`);
    this.countLiveStmt = db
      .prepare<[], number>(`SELECT count(*) FROM ${t} WHERE _deleted_at IS NULL`)
      .pluck();
    this.anyRowStmt = db.prepare<[], number>(`SELECT EXISTS (SELECT 1 FROM ${t})`).pluck();
    this.history = SqliteHistory.exists(db, stream) ? new SqliteHistory(db, stream) : null;
  }

  lookup(keys: readonly string[]): Map<string, StoredRecordState> {
    const found = new Map<string, StoredRecordState>();
    if (keys.length === 0) return found;
    for (const [key, hash, version, deleted, cursor] of this.lookupStmt.all(JSON.stringify(keys))) {
      found.set(key, { hash, version, deleted: deleted === 1, cursor });
    }
    return found;
  }

  /**
   * Writes the rows and one change-log row each, in order; call inside the page's transaction.
   * `existed: false` is a plain INSERT, so a key already stored aborts the page rather than being
   * overwritten; `existed: true` is an UPDATE that keeps `_first_synced_at`, and a key not stored
   * aborts it too: either means the engine's view of the table is wrong.
   */
  writeRows(writes: readonly RecordWrite[], runId: string, at: string): void {
    const stream = this.stream;
    let w: RecordWrite | undefined;
    try {
      for (w of writes) {
        const deletedAt = w.deleted ? at : null;
        let data: string | undefined = w.data;
        if (!w.existed) {
          this.insert.run(w.key, w.data, w.hash, w.version, w.cursor, at, at, deletedAt, runId);
        } else if (w.keepData) {
          data = this.tombstone.get(at, at, runId, w.key);
        } else if (
          this.update.run(w.data, w.hash, w.version, w.cursor, at, deletedAt, runId, w.key).changes === 0
        ) {
          data = undefined;
        }
        if (data === undefined) {
          throw new FatalError(
            `stream "${stream}": key ${JSON.stringify(w.key)} was written as stored but is not in the table; ` +
              'the page was not committed',
            { stream },
          );
        }
        this.change.run(stream, w.key, w.kind, w.hash, w.version, runId, at);
        this.history?.record(w.key, data, w.hash, w.version, w.deleted, runId, at);
      }
    } catch (error) {
      if (w && isKeyConflict(error)) {
        throw new FatalError(
          `stream "${stream}": key ${JSON.stringify(w.key)} was written as new but is already stored; ` +
            'the page was not committed',
          { stream, cause: error },
        );
      }
      throw error;
    }
  }

  scan(afterKey: string | undefined, limit: number): RecordRow[] {
    return afterKey === undefined ? this.scanFirst.all(limit) : this.scanAfter.all(afterKey, limit);
  }

  hasRecords(): boolean {
    return this.anyRowStmt.get() === 1;
  }

  countLive(): number {
    return this.countLiveStmt.get() ?? 0;
  }
}

/**
 * The SQL that creates a stream's table and its cursor index if missing. Exported so the
 * benchmark's raw ingest writes the same table.
 */
export function sqliteStreamTableDdl(stream: string): string {
  const table = quoteStream(stream);
  return `CREATE TABLE IF NOT EXISTS ${table} (
      _key TEXT PRIMARY KEY,
      _data TEXT NOT NULL,
      _hash TEXT NOT NULL,
      _version TEXT,
      _cursor TEXT,
      _first_synced_at TEXT NOT NULL,
      _synced_at TEXT NOT NULL,
      _deleted_at TEXT,
      _run_id TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS "${stream}__cursor" ON ${table} (_cursor);`;
}

/** The stream's table name, validated and double-quoted. */
export function quoteStream(stream: string): string {
  return `"${assertStreamName(stream)}"`;
}
