import { LeaseLostError } from '../../core/errors.ts';
import type { FinishRun, ListRuns, RunLog, StartRun } from '../../core/store.ts';
import type { RunRecord } from '../../core/types.ts';
import { counterValues } from '../run-counters.ts';
import { COMMIT_CHANNEL } from './postgres-commit-watch.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import { counterIncrements, jsonParam, type RunRow, SLOT_COLUMN, toRunRecord } from './postgres-rows.ts';

/** The run log in PostgreSQL: one `syncline_runs` row per run. */
export class PostgresRunLog implements RunLog {
  readonly #db: PostgresQueries;
  readonly #schema: string;

  constructor(db: PostgresQueries, schema: string) {
    this.#db = db;
    this.#schema = schema;
  }

  async startRun(args: StartRun): Promise<void> {
    const { runId, stream, lease, at, checkpointBefore } = args;
    // Fenced like a commit: a worker that lost its lease cannot record a new run.
    const rows = await this.#db.query(
      'starting a run',
      stream,
      `INSERT INTO syncline_runs (run_id, stream, mode, status, started_at, checkpoint_before)
      SELECT $1, $2, $7, 'running', $5::timestamptz, $6::jsonb FROM syncline_state
      WHERE stream = $2 AND lease_holder = $3 AND lease_epoch = $4::bigint
      RETURNING run_id`,
      [runId, stream, lease.holder, lease.epoch, at, jsonParam(checkpointBefore), args.mode ?? 'sync'],
    );
    if (rows.length === 0) throw new LeaseLostError(stream, lease.epoch);
  }

  async finishRun(args: FinishRun): Promise<void> {
    // One statement, so one transaction: the run's end, and (`logRun`) its row in the change log
    // (see RunLogRow), appended under the table's shared lock that lets readers keep seqs in commit
    // order (migration 012, postgres-change-feed.ts).
    const counters = counterValues(args.counters);
    const update = `UPDATE syncline_runs AS r SET status = $2, ended_at = $3::timestamptz, error = $4, evidence = $5::jsonb,
          checkpoint_after = (SELECT s.${SLOT_COLUMN[args.slot ?? 'main']} FROM syncline_state AS s WHERE s.stream = r.stream),
          ${counterIncrements(6)}
        WHERE run_id = $1`;
    const values = [
      args.runId,
      args.status,
      args.at,
      args.error,
      jsonParam(args.evidence ?? null),
      ...counters,
    ];
    if (!args.logRun) {
      await this.#db.query('finishing a run', undefined, update, values);
      return;
    }
    await this.#db.query(
      'finishing a run',
      undefined,
      `WITH r AS (
        ${update}
        RETURNING r.stream, r.run_id, r.status, r.inserted, r.updated, r.deleted
      ), evented AS (
        SELECT * FROM r WHERE r.status <> 'ok' OR r.inserted + r.updated + r.deleted > 0
      ), l AS MATERIALIZED (
        SELECT pg_notify('${COMMIT_CHANNEL}', $${values.length + 1}) FROM evented
      )
      INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
      SELECT e.stream, e.run_id, 'run', '', NULL, e.run_id, $3::timestamptz FROM evented AS e, l`,
      [...values, this.#schema],
    );
  }

  async closeAbandonedRuns(stream: string, at: string, error: string): Promise<number> {
    const rows = await this.#db.query(
      'closing abandoned runs',
      stream,
      `UPDATE syncline_runs AS r SET status = 'failed', ended_at = $2::timestamptz, error = $3,
        checkpoint_after = (SELECT s.checkpoint FROM syncline_state AS s WHERE s.stream = r.stream)
      WHERE stream = $1 AND status = 'running' RETURNING run_id`,
      [stream, at, error],
    );
    return rows.length;
  }

  async listRuns(args: ListRuns): Promise<RunRecord[]> {
    const rows = await this.#db.query<RunRow>(
      'listing runs',
      args.stream,
      `SELECT * FROM syncline_runs WHERE ($1::text IS NULL OR stream = $1) AND ($2::text IS NULL OR mode = $2)
        AND ($3::text IS NULL OR status = $3)
      ORDER BY started_at DESC, run_id DESC LIMIT $4`,
      [args.stream ?? null, args.mode ?? null, args.status ?? null, args.limit],
    );
    return rows.map(toRunRecord);
  }
}
