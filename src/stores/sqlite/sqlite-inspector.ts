import type { RecordVersion, StoreInspector } from '../../core/store.ts';
import type { StoredRecord, StreamStatus } from '../../core/types.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import { quoteHistory, SqliteHistory } from './sqlite-history.ts';
import { type StateRow, toRunRecord, toStoredRecord, toStreamState } from './sqlite-rows.ts';
import { selectRuns } from './sqlite-run-log.ts';
import type { SqliteSession } from './sqlite-session.ts';

/** What the CLI and the server read: streams with their status, a stream's rows. */
export class SqliteInspector implements StoreInspector {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async listStreams(): Promise<StreamStatus[]> {
    return this.#runtime.guard('list streams', undefined, (s) => {
      // One read transaction: every line of the status comes from the same snapshot.
      const read = s.db.transaction((): StreamStatus[] =>
        s
          .sql<[], StateRow>('SELECT * FROM syncline_state ORDER BY stream')
          .all()
          .map((row) => {
            const [lastRun] = selectRuns(s.sql, { stream: row.stream, limit: 1 });
            return {
              stream: row.stream,
              checkpoint: toStreamState(row).checkpoint,
              newestCursor: row.newest_cursor,
              records: s.table(row.stream).countLive(),
              openFailures:
                s
                  .sql<[string], number>(
                    "SELECT count(*) FROM syncline_failed WHERE stream = ? AND status = 'open'",
                  )
                  .pluck()
                  .get(row.stream) ?? 0,
              lastRun: lastRun ? toRunRecord(lastRun) : null,
            };
          }),
      );
      return read.deferred();
    });
  }

  async scanRecords(stream: string, args: { afterKey?: string; limit: number }): Promise<StoredRecord[]> {
    const table = this.#runtime.connection.table(stream);
    return this.#runtime
      .guard('scan records', stream, () => table.scan(args.afterKey, args.limit))
      .map(toStoredRecord);
  }

  async readHistory(stream: string, key: string, limit: number): Promise<RecordVersion[] | null> {
    return this.#runtime.guard('read the history of a record', stream, (s) => {
      if (!SqliteHistory.exists(s.db, stream)) return null;
      return s
        .sql<[string, number], SqliteVersionRow>(
          `SELECT _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted FROM ${quoteHistory(stream)}
          WHERE _key = ? ORDER BY _valid_from DESC, _valid_to IS NULL DESC, _valid_to DESC, rowid DESC LIMIT ?`,
        )
        .all(key, limit)
        .map((r) => ({
          validFrom: new Date(r._valid_from).toISOString(),
          validTo: r._valid_to === null ? null : new Date(r._valid_to).toISOString(),
          data: JSON.parse(r._data),
          hash: r._hash,
          version: r._version,
          runId: r._run_id,
          deleted: r._deleted === 1,
        }));
    });
  }
}

interface SqliteVersionRow {
  readonly _data: string;
  readonly _hash: string;
  readonly _version: string | null;
  readonly _valid_from: string;
  readonly _valid_to: string | null;
  readonly _run_id: string;
  readonly _deleted: number;
}
