import { FatalError, LeaseLostError } from '../../core/errors.ts';
import type { CompleteScan, ScanStore } from '../../core/store.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import type { SqliteSession } from './sqlite-session.ts';
import type { SqliteStreamTable } from './sqlite-stream-table.ts';

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
export class SqliteScans implements ScanStore {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async countUnseen(stream: string, scanId: string): Promise<{ live: number; unseen: number }> {
    const table = this.#runtime.connection.table(stream);
    return this.#runtime.guard('count rows a scan did not see', stream, (s) => {
      const row = s
        .sql<[string, string], [number, number]>(
          `SELECT count(*), total(NOT ${SEEN}) FROM ${table.table} AS t WHERE t._deleted_at IS NULL`,
        )
        .raw(true)
        .get(table.stream, scanId);
      return { live: row?.[0] ?? 0, unseen: row?.[1] ?? 0 };
    });
  }

  /** One `BEGIN IMMEDIATE` transaction, fenced by the lease like a page. */
  async completeScan(args: CompleteScan): Promise<{ deleted: number; sample: string[] }> {
    const table = this.#runtime.connection.table(args.stream);
    return this.#runtime.guard('complete a scan', args.stream, (s) => {
      if (!s.unseenTableReady) {
        // Outside the transaction: a rollback would drop it again while we think it exists.
        s.db.exec('CREATE TEMP TABLE IF NOT EXISTS syncline_unseen (key TEXT PRIMARY KEY) WITHOUT ROWID');
        s.unseenTableReady = true;
      }
      return s.db.transaction(() => complete(s, table, args)).immediate();
    });
  }

  async dropScan(stream: string, scanId: string): Promise<void> {
    this.#runtime.guard('drop a scan', stream, (s) => drop(s, stream, scanId));
  }
}

function drop(s: SqliteSession, stream: string, scanId: string): void {
  s.sql<[string, string]>('DELETE FROM syncline_scan_keys WHERE stream = ? AND scan_id = ?').run(
    stream,
    scanId,
  );
}

function complete(
  s: SqliteSession,
  table: SqliteStreamTable,
  args: CompleteScan,
): { deleted: number; sample: string[] } {
  const { sql } = s;
  const { stream, table: t } = table;
  const { scanId, runId, lease, at } = args;
  // Inside BEGIN IMMEDIATE we hold the write lock: no take-over can commit before we do.
  const fenced = sql<[string, string, number], number>(
    'SELECT count(*) FROM syncline_state WHERE stream = ? AND lease_holder = ? AND lease_epoch = ?',
  )
    .pluck()
    .get(stream, lease.holder, lease.epoch);
  if (!fenced) throw new LeaseLostError(stream, lease.epoch);

  sql('DELETE FROM temp.syncline_unseen').run();
  const deleted = sql<[string, string]>(
    `INSERT INTO temp.syncline_unseen (key) SELECT t._key FROM ${t} AS t WHERE t._deleted_at IS NULL AND NOT ${SEEN}`,
  ).run(stream, scanId).changes;
  const unseen = 'SELECT key FROM temp.syncline_unseen';
  if (deleted > 0) {
    sql<[string, string, string]>(
      `INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
       SELECT ?, t._key, 'delete', t._hash, t._version, ?, ?
       FROM temp.syncline_unseen AS u JOIN ${t} AS t ON t._key = u.key ORDER BY u.key`,
    ).run(stream, runId, at);
    const history = table.history?.table;
    if (history !== undefined) {
      sql<[string]>(
        `UPDATE ${history} SET _valid_to = ? WHERE _valid_to IS NULL AND _key IN (${unseen})`,
      ).run(at);
      sql<[string, string]>(
        `INSERT INTO ${history} (_key, _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted)
         SELECT t._key, t._data, t._hash, t._version, ?, NULL, ?, 1
         FROM temp.syncline_unseen AS u JOIN ${t} AS t ON t._key = u.key`,
      ).run(at, runId);
    }
    sql<[string, string, string]>(
      `UPDATE ${t} SET _deleted_at = ?, _synced_at = ?, _run_id = ? WHERE _key IN (${unseen})`,
    ).run(at, at, runId);
  }
  const counted = sql<[number, string, string]>(
    'UPDATE syncline_runs SET deleted = deleted + ? WHERE run_id = ? AND stream = ?',
  ).run(deleted, runId, stream);
  if (counted.changes === 0) {
    const message = `run "${runId}" of stream "${stream}" is not recorded; start the run before completing its scan`;
    throw new FatalError(message, { stream });
  }
  const sample = sql<[number], string>(`${unseen} ORDER BY key LIMIT ?`).pluck().all(SAMPLE_SIZE);
  sql('DELETE FROM temp.syncline_unseen').run();
  drop(s, stream, scanId);
  return { deleted, sample };
}
