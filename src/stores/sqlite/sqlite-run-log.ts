import { FatalError } from '../../core/errors.ts';
import type { CheckpointSlot, FinishRun, ListRuns, RunLog, StartRun } from '../../core/store.ts';
import type { RunRecord } from '../../core/types.ts';
import { counterValues } from '../run-counters.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import { ADD_COUNTERS_SQL, checkpointText, type RunRow, toRunRecord } from './sqlite-rows.ts';
import type { SqlCache, SqliteSession } from './sqlite-session.ts';
import { SLOT_COLUMN } from './sqlite-write-program.ts';

/** A slot's checkpoint at this moment, for `checkpoint_after` in UPDATEs of `syncline_runs`. */
function stateCheckpoint(slot: CheckpointSlot = 'main'): string {
  return `(SELECT s.${SLOT_COLUMN[slot]} FROM syncline_state s WHERE s.stream = syncline_runs.stream)`;
}

/**
 * The run log in SQLite: one `syncline_runs` row per run. Unlike PostgreSQL's, `startRun` is not
 * fenced by the lease: a worker that lost its lease fails at its first commit instead.
 */
export class SqliteRunLog implements RunLog {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async startRun(args: StartRun): Promise<void> {
    this.#runtime.guard('start a run', args.stream, (s) =>
      s
        .sql<[string, string, string, string, string | null]>(
          `INSERT INTO syncline_runs (run_id, stream, mode, status, started_at, checkpoint_before)
         VALUES (?, ?, ?, 'running', ?, ?)`,
        )
        .run(args.runId, args.stream, args.mode ?? 'sync', args.at, checkpointText(args.checkpointBefore)),
    );
  }

  async finishRun(args: FinishRun): Promise<void> {
    // One transaction: the run's end, and (`logRun`) its row in the change log (see RunLogRow).
    const finished = this.#runtime.guard('finish a run', undefined, (s) =>
      s.db
        .transaction(() => {
          const updated = s
            .sql(
              `UPDATE syncline_runs SET status = ?, ended_at = ?, error = ?, evidence = ?,
             checkpoint_after = ${stateCheckpoint(args.slot)}, ${ADD_COUNTERS_SQL} WHERE run_id = ?`,
            )
            .run(
              args.status,
              args.at,
              args.error,
              checkpointText(args.evidence ?? null),
              ...counterValues(args.counters),
              args.runId,
            );
          if (args.logRun) {
            s.sql<[string, string]>(
              `INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
              SELECT stream, run_id, 'run', '', NULL, run_id, ? FROM syncline_runs
              WHERE run_id = ? AND (status <> 'ok' OR inserted + updated + deleted > 0)`,
            ).run(args.at, args.runId);
          }
          return updated;
        })
        .immediate(),
    );
    if (finished.changes === 0)
      throw new FatalError(`run "${args.runId}" is not recorded; it cannot be finished`);
  }

  async closeAbandonedRuns(stream: string, at: string, error: string): Promise<number> {
    const closed = this.#runtime.guard('close abandoned runs', stream, (s) =>
      s
        .sql<[string, string, string]>(
          `UPDATE syncline_runs SET status = 'failed', ended_at = ?, error = ?, checkpoint_after = ${stateCheckpoint()}
         WHERE stream = ? AND status = 'running'`,
        )
        .run(at, error, stream),
    );
    return closed.changes;
  }

  async listRuns(args: ListRuns): Promise<RunRecord[]> {
    return this.#runtime.guard('list runs', args.stream, (s) => selectRuns(s.sql, args)).map(toRunRecord);
  }
}

/** The rows of `listRuns`, newest first; also a stream's last run for `listStreams`. */
export function selectRuns(sql: SqlCache, args: ListRuns): RunRow[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const [column, value] of [
    ['stream', args.stream],
    ['mode', args.mode],
    ['status', args.status],
  ] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  return sql<(string | number)[], RunRow>(
    `SELECT * FROM syncline_runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY started_at DESC, run_id DESC LIMIT ?`,
  ).all(...params, args.limit);
}
