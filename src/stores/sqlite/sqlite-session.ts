import type BetterSqlite3 from 'better-sqlite3';
import type { WriterThread } from '../writer-thread.ts';
import { toSyncError } from './sqlite-errors.ts';
import type { StateRow } from './sqlite-rows.ts';
import { SqliteStreamTable } from './sqlite-stream-table.ts';
import type { WriteFailure } from './sqlite-write-program.ts';

type Db = BetterSqlite3.Database;
type Statement<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/** A prepared statement by its SQL text, prepared once per connection. */
export type SqlCache = <P extends unknown[] = unknown[], R = unknown>(source: string) => Statement<P, R>;

/**
 * What the SQLite store holds while it is open: its main connection, everything prepared on it, and
 * the writer thread it started. One per `open`; `close` drops all of it at once, so nothing prepared
 * on a closed connection is used after a reopen.
 */
export class SqliteSession {
  readonly db: Db;
  /** The writer thread: applies commits on its own connection, set up by the first `ensureStream`. */
  writer: WriterThread<WriteFailure> | null = null;
  /** Whether the scans' temporary table exists on this connection (`SqliteScans`). */
  unseenTableReady = false;
  readonly #statements = new Map<string, Statement<unknown[]>>();
  /** Per stream: its table's prepared statements. */
  readonly #tables = new Map<string, SqliteStreamTable>();

  constructor(db: Db) {
    this.db = db;
  }

  /** A prepared statement, prepared once per connection. */
  readonly sql: SqlCache = <P extends unknown[] = unknown[], R = unknown>(source: string) => {
    let statement = this.#statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement as unknown as Statement<P, R>;
  };

  /** The stream's table statements; the table must exist (created by `ensureStream`, maybe by another process). */
  table(stream: string): SqliteStreamTable {
    let table = this.#tables.get(stream);
    if (!table) {
      try {
        table = new SqliteStreamTable(this.db, stream);
      } catch (error) {
        throw toSyncError(error, 'open the stream table (ensure the stream first)', stream);
      }
      this.#tables.set(stream, table);
    }
    return table;
  }

  /** Keeps the statements `ensureStream` prepared while it created the table. */
  addTable(table: SqliteStreamTable): void {
    this.#tables.set(table.stream, table);
  }

  stateRow(stream: string): StateRow | undefined {
    return this.sql<[string], StateRow>('SELECT * FROM syncline_state WHERE stream = ?').get(stream);
  }
}
