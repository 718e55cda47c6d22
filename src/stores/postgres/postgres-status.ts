import type { QueryResultRow } from 'pg';
import { STREAM_NAME } from '../../core/stream-name.ts';
import type { StreamStatus } from '../../core/types.ts';
import { type RunRow, type StateRow, toRunRecord } from './postgres-rows.ts';

/** Runs one statement and returns its rows (errors already typed, saying `what` failed). */
type Query = <R extends QueryResultRow>(what: string, text: string) => Promise<R[]>;

/**
 * `listStreams`: every stream with a state row, by name (byte order), with its live records, open
 * dead letters and last run. Three statements, whatever the number of streams.
 */
export async function listStreamStatus(query: Query, stateColumns: string): Promise<StreamStatus[]> {
  const states = await query<StateRow & { open_failures: string }>(
    'listing streams',
    `SELECT ${stateColumns},
      (SELECT count(*) FROM syncline_failed AS f WHERE f.stream = s.stream AND f.status = 'open') AS open_failures
    FROM syncline_state AS s ORDER BY stream COLLATE "C"`,
  );
  if (states.length === 0) return [];
  const tables = states.filter((s) => STREAM_NAME.test(s.stream));
  const counts = new Map<string, number>();
  if (tables.length > 0) {
    const rows = await query<{ stream: string; records: string }>(
      'counting records',
      tables
        .map(
          (s) =>
            `SELECT '${s.stream}' AS stream, count(*) AS records FROM "${s.stream}" WHERE _deleted_at IS NULL`,
        )
        .join(' UNION ALL '),
    );
    for (const row of rows) counts.set(row.stream, Number(row.records));
  }
  const runs = await query<RunRow>(
    'listing last runs',
    'SELECT DISTINCT ON (stream) * FROM syncline_runs ORDER BY stream, started_at DESC, run_id DESC',
  );
  const lastRuns = new Map(runs.map((row) => [row.stream, toRunRecord(row)]));
  return states.map((s) => ({
    stream: s.stream,
    checkpoint: s.checkpoint,
    newestCursor: s.newest_cursor,
    records: counts.get(s.stream) ?? 0,
    openFailures: Number(s.open_failures),
    lastRun: lastRuns.get(s.stream) ?? null,
  }));
}
