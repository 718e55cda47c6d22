import type BetterSqlite3 from 'better-sqlite3';
import { FatalError, LeaseLostError } from '../../core/errors.ts';
import type { Lease } from '../../core/types.ts';
import type { SqliteStreamTable } from './sqlite-stream-table.ts';

type Db = BetterSqlite3.Database;
type Statement<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;
/** The store's prepared-statement cache (one statement per SQL text and connection). */
export type SqlCache = <P extends unknown[] = unknown[], R = unknown>(source: string) => Statement<P, R>;

/** How many keys of the rows a completed scan deleted are returned as a sample. */
const SAMPLE_SIZE = 10;

/** Whether row `t` of a stream table was seen by scan (`?` stream, `?` scan id). */
const SEEN = `EXISTS (
  SELECT 1 FROM syncline_scan_keys AS k WHERE k.stream = ? AND k.scan_id = ? AND k.key = t._key)`;

/** Records the keys (a JSON array, `?3`) as seen by a scan (`?1` stream, `?2` scan id); duplicates are ignored. */
export const RECORD_SEEN_SQL = `INSERT OR IGNORE INTO syncline_scan_keys (stream, scan_id, key)
  SELECT ?, ?, value FROM json_each(?)`;

/**
 * Full scans (reconciliation) in SQLite: pages record the keys they saw in `syncline_scan_keys`;
 * completing the scan soft-deletes the live rows it did not see, set-based, without reading keys
 * into JavaScript. The unseen keys are first collected in a connection-local temporary table, so
 * the anti-join runs once and the delete, the change log and the history join on that small set.
 */
export class SqliteScans {
  private tempReady = false;

  constructor(
    private readonly db: Db,
    private readonly sql: SqlCache,
  ) {}

  countUnseen(table: SqliteStreamTable, scanId: string): { live: number; unseen: number } {
    const row = this.sql<[string, string], [number, number]>(
      `SELECT count(*), total(NOT ${SEEN}) FROM ${table.table} AS t WHERE t._deleted_at IS NULL`,
    )
      .raw(true)
      .get(table.stream, scanId);
    return { live: row?.[0] ?? 0, unseen: row?.[1] ?? 0 };
  }

  /** `completeScan`: one `BEGIN IMMEDIATE` transaction, fenced by the lease like a page. */
  complete(
    table: SqliteStreamTable,
    args: { scanId: string; runId: string; lease: Lease; at: string },
  ): { deleted: number; sample: string[] } {
    if (!this.tempReady) {
      // Outside the transaction: a rollback would drop it again while we think it exists.
      this.db.exec('CREATE TEMP TABLE IF NOT EXISTS syncline_unseen (key TEXT PRIMARY KEY) WITHOUT ROWID');
      this.tempReady = true;
    }
    const tx = this.db.transaction(() => this.applyComplete(table, args));
    return tx.immediate();
  }

  drop(stream: string, scanId: string): void {
    this.sql<[string, string]>('DELETE FROM syncline_scan_keys WHERE stream = ? AND scan_id = ?').run(
      stream,
      scanId,
    );
  }

  private applyComplete(
    table: SqliteStreamTable,
    args: { scanId: string; runId: string; lease: Lease; at: string },
  ): { deleted: number; sample: string[] } {
    const { stream, table: t } = table;
    const { scanId, runId, lease, at } = args;
    // Inside BEGIN IMMEDIATE we hold the write lock: no take-over can commit before we do.
    const fenced = this.sql<[string, string, number], number>(
      'SELECT count(*) FROM syncline_state WHERE stream = ? AND lease_holder = ? AND lease_epoch = ?',
    )
      .pluck()
      .get(stream, lease.holder, lease.epoch);
    if (!fenced) throw new LeaseLostError(stream, lease.epoch);

    this.sql('DELETE FROM temp.syncline_unseen').run();
    const deleted = this.sql<[string, string]>(
      `INSERT INTO temp.syncline_unseen (key) SELECT t._key FROM ${t} AS t WHERE t._deleted_at IS NULL AND NOT ${SEEN}`,
    ).run(stream, scanId).changes;
    const unseen = 'SELECT key FROM temp.syncline_unseen';
    if (deleted > 0) {
      this.sql<[string, string, string]>(
        `INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
         SELECT ?, t._key, 'delete', t._hash, t._version, ?, ?
         FROM temp.syncline_unseen AS u JOIN ${t} AS t ON t._key = u.key ORDER BY u.key`,
      ).run(stream, runId, at);
      const history = table.history?.table;
      if (history !== undefined) {
        this.sql<[string]>(
          `UPDATE ${history} SET _valid_to = ? WHERE _valid_to IS NULL AND _key IN (${unseen})`,
        ).run(at);
        this.sql<[string, string]>(
          `INSERT INTO ${history} (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
           SELECT t._key, t._data, t._hash, t._version, ?, NULL, ?, 1
           FROM temp.syncline_unseen AS u JOIN ${t} AS t ON t._key = u.key`,
        ).run(at, runId);
      }
      this.sql<[string, string, string]>(
        `UPDATE ${t} SET _deleted_at = ?, _synced_at = ?, _run_id = ? WHERE _key IN (${unseen})`,
      ).run(at, at, runId);
    }
    const counted = this.sql<[number, string, string]>(
      'UPDATE syncline_runs SET deleted = deleted + ? WHERE run_id = ? AND stream = ?',
    ).run(deleted, runId, stream);
    if (counted.changes === 0) {
      const message = `run "${runId}" of stream "${stream}" is not recorded; start the run before completing its scan`;
      throw new FatalError(message, { stream });
    }
    const sample = this.sql<[number], string>(`${unseen} ORDER BY key LIMIT ?`).pluck().all(SAMPLE_SIZE);
    this.sql('DELETE FROM temp.syncline_unseen').run();
    this.drop(stream, scanId);
    return { deleted, sample };
  }
}
