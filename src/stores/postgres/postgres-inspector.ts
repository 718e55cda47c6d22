import type { RecordVersion, StoreInspector } from '../../core/store.ts';
import { assertStreamName, STREAM_NAME } from '../../core/stream-name.ts';
import type { Json, StoredRecord, StreamStatus } from '../../core/types.ts';
import { hasHistoryTable } from './postgres-history.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import {
  type RecordRow,
  type RunRow,
  STATE_COLUMNS,
  type StateRow,
  toRunRecord,
  toStoredRecord,
} from './postgres-rows.ts';

/** What the CLI and the server read: streams with their status, a stream's rows, the change log. */
export class PostgresInspector implements StoreInspector {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  /**
   * Every stream with a state row, by name (byte order), with its live records, open dead letters
   * and last run. Three statements, whatever the number of streams.
   */
  async listStreams(): Promise<StreamStatus[]> {
    const states = await this.#db.query<StateRow & { open_dead_letters: string }>(
      'listing streams',
      undefined,
      `SELECT ${STATE_COLUMNS},
      (SELECT count(*) FROM syncline_failed AS f WHERE f.stream = s.stream AND f.status = 'open') AS open_dead_letters
    FROM syncline_state AS s ORDER BY stream COLLATE "C"`,
    );
    if (states.length === 0) return [];
    const tables = states.filter((s) => STREAM_NAME.test(s.stream));
    const counts = new Map<string, number>();
    if (tables.length > 0) {
      const rows = await this.#db.query<{ stream: string; records: string }>(
        'counting records',
        undefined,
        tables
          .map(
            (s) =>
              `SELECT '${s.stream}' AS stream, count(*) AS records FROM "${s.stream}" WHERE _deleted_at IS NULL`,
          )
          .join(' UNION ALL '),
      );
      for (const row of rows) counts.set(row.stream, Number(row.records));
    }
    const runs = await this.#db.query<RunRow>(
      'listing last runs',
      undefined,
      'SELECT DISTINCT ON (stream) * FROM syncline_runs ORDER BY stream, started_at DESC, run_id DESC',
    );
    const lastRuns = new Map(runs.map((row) => [row.stream, toRunRecord(row)]));
    return states.map((s) => ({
      stream: s.stream,
      checkpoint: s.checkpoint,
      newestCursor: s.newest_cursor,
      records: counts.get(s.stream) ?? 0,
      openFailures: Number(s.open_dead_letters),
      lastRun: lastRuns.get(s.stream) ?? null,
    }));
  }

  async scanRecords(stream: string, args: { afterKey?: string; limit: number }): Promise<StoredRecord[]> {
    const rows = await this.#db.query<RecordRow>(
      'scanning records',
      stream,
      `SELECT * FROM "${assertStreamName(stream)}" WHERE ($1::text IS NULL OR _key > $1 COLLATE "C")
      ORDER BY _key COLLATE "C" LIMIT $2`,
      [args.afterKey ?? null, args.limit],
    );
    return rows.map(toStoredRecord);
  }

  async readHistory(stream: string, key: string, limit: number): Promise<RecordVersion[] | null> {
    assertStreamName(stream);
    const what = 'reading the history of a record';
    if (
      !(await hasHistoryTable(
        (text, values) =>
          this.#db
            .query(what, stream, text, values)
            .then((rows) => ({ rows: rows as { present: boolean }[] })),
        stream,
      ))
    ) {
      return null;
    }
    const rows = await this.#db.query<{
      _data: Json;
      _hash: string;
      _version: string | null;
      _valid_from: Date;
      _valid_to: Date | null;
      _run_id: string;
      _deleted: boolean;
    }>(
      what,
      stream,
      `SELECT _data, _hash, _version, _valid_from, _valid_to, _run_id, _deleted FROM "${stream}_history"
      WHERE _key = $1 ORDER BY _valid_from DESC, _valid_to IS NULL DESC, _valid_to DESC, ctid DESC LIMIT $2`,
      [key, limit],
    );
    return rows.map((r) => ({
      validFrom: new Date(r._valid_from).toISOString(),
      validTo: r._valid_to === null ? null : new Date(r._valid_to).toISOString(),
      data: r._data,
      hash: r._hash,
      version: r._version,
      runId: r._run_id,
      deleted: r._deleted,
    }));
  }
}
