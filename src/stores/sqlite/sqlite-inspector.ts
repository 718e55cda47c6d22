import type { StoreInspector } from '../../core/store.ts';
import type { StoredRecord, StreamStatus } from '../../core/types.ts';
import type { StoreRuntime } from '../store-runtime.ts';
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
}
