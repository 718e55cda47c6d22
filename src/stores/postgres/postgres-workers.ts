import type { PoolClient } from 'pg';
import type { RunningJob, WorkerBeat, WorkerRegistration, WorkerView } from '../../core/store.ts';
import { newestSchemaVersion } from './postgres-migrations.ts';
import type { PostgresQueries } from './postgres-queries.ts';

/**
 * The job queue's schema beside a store's schema: `syncline_jobs` beside `public`, else
 * `<schema>_jobs`, so two stores in one database never share (or steal) each other's jobs.
 */
export function jobQueueSchema(schema: string): string {
  return schema === 'public' ? 'syncline_jobs' : `${schema}_jobs`;
}

/** Whether a worker's heartbeat is within its timeout, by the database's clock now. */
const LIVE = `heartbeat_at + timeout_ms * interval '1 millisecond' >= clock_timestamp()`;

/**
 * The cluster's workers in `syncline_workers` (see migration 010): registration, heartbeats judged
 * by the database's clock, and taking dead workers (their leases released and their jobs unlocked
 * in one transaction).
 */
export class PostgresWorkers {
  readonly #db: PostgresQueries;
  readonly #queueSchema: string;

  constructor(db: PostgresQueries, queueSchema: string) {
    this.#db = db;
    this.#queueSchema = queueSchema;
  }

  async registerWorker(worker: WorkerRegistration): Promise<void> {
    await this.#db.query(
      'registering the worker',
      undefined,
      `INSERT INTO syncline_workers
         (id, host, pid, version, schema_version, concurrency, started_at, heartbeat_at, timeout_ms)
       VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp(), clock_timestamp(), $7)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp(), timeout_ms = EXCLUDED.timeout_ms`,
      [
        worker.id,
        worker.host,
        worker.pid,
        worker.version,
        await newestSchemaVersion(),
        worker.concurrency,
        worker.timeoutMs,
      ],
    );
  }

  async heartbeat(id: string, state: WorkerBeat): Promise<boolean> {
    const rows = await this.#db.query(
      'beating the worker heartbeat',
      undefined,
      `UPDATE syncline_workers SET heartbeat_at = clock_timestamp(), queue_workers = $2::text[], running = $3::jsonb
        WHERE id = $1 RETURNING id`,
      [id, state.queueWorkers, JSON.stringify(state.running)],
    );
    return rows.length > 0;
  }

  async takeDeadWorkers(gone: readonly string[] = []): Promise<string[]> {
    return this.#db.withClient('taking dead workers', undefined, async (client) => {
      await client.query('BEGIN');
      try {
        const dead = await client.query<{ id: string; queue_workers: string[] }>(
          `DELETE FROM syncline_workers WHERE NOT (${LIVE}) OR id = ANY($1::text[]) RETURNING id, queue_workers`,
          [gone],
        );
        if (dead.rows.length > 0) {
          const ids = dead.rows.map((row) => row.id);
          // A lease without a holder is granted to the next asker with a new epoch: whatever the
          // dead worker still writes (it may only be paused) is refused at its next commit.
          await client.query(
            `UPDATE syncline_state SET lease_holder = NULL, lease_expires_at = NULL
              WHERE lease_holder = ANY($1::text[])`,
            [ids],
          );
          await this.#unlockJobs(
            client,
            dead.rows.flatMap((row) => row.queue_workers),
          );
        }
        await this.#unlockOrphans(client);
        await client.query('COMMIT');
        return dead.rows.map((row) => row.id);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  async removeWorker(id: string): Promise<void> {
    await this.#db.query('removing the worker', undefined, 'DELETE FROM syncline_workers WHERE id = $1', [
      id,
    ]);
  }

  async listWorkers(): Promise<WorkerView[]> {
    const rows = await this.#db.query<{
      id: string;
      host: string;
      pid: number;
      version: string;
      schema_version: number;
      concurrency: number;
      timeout_ms: number;
      started_at: Date;
      heartbeat_at: Date;
      live: boolean;
      running: RunningJob[];
    }>(
      'listing the workers',
      undefined,
      `SELECT id, host, pid, version, schema_version, concurrency, timeout_ms, started_at, heartbeat_at,
              ${LIVE} AS live, running
         FROM syncline_workers ORDER BY started_at, id`,
    );
    return rows.map((row) => ({
      id: row.id,
      host: row.host,
      pid: row.pid,
      version: row.version,
      schemaVersion: row.schema_version,
      concurrency: row.concurrency,
      timeoutMs: row.timeout_ms,
      startedAt: row.started_at.toISOString(),
      heartbeatAt: row.heartbeat_at.toISOString(),
      live: row.live,
      running: row.running,
    }));
  }

  /** The queue's jobs locked by these runners go back to the queue; no queue yet, nothing to do. */
  async #unlockJobs(client: PoolClient, queueWorkers: readonly string[]): Promise<void> {
    if (queueWorkers.length === 0 || !(await this.#queueExists(client))) return;
    await client.query(`SELECT "${this.#queueSchema}".force_unlock_workers($1::text[])`, [queueWorkers]);
  }

  /**
   * Jobs locked by a runner no registered worker names, for longer than the longest worker timeout:
   * a worker killed before its first heartbeat named its runners. Unlocked like a dead worker's.
   */
  async #unlockOrphans(client: PoolClient): Promise<void> {
    if (!(await this.#queueExists(client))) return;
    await client.query(
      `SELECT "${this.#queueSchema}".force_unlock_workers(array_agg(DISTINCT j.locked_by))
         FROM "${this.#queueSchema}".jobs j
        WHERE j.locked_by IS NOT NULL
          AND j.locked_at < clock_timestamp()
              - (SELECT coalesce(max(timeout_ms), 30000) FROM syncline_workers) * interval '1 millisecond'
          AND NOT EXISTS (SELECT 1 FROM syncline_workers w WHERE j.locked_by = ANY(w.queue_workers))
       HAVING count(*) > 0`,
    );
  }

  /** Whether the queue is installed (by the first worker's runners): its view and its function. */
  async #queueExists(client: PoolClient): Promise<boolean> {
    const { rows } = await client.query<{ present: boolean }>(
      'SELECT to_regprocedure($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS present',
      [`"${this.#queueSchema}".force_unlock_workers(text[])`, `"${this.#queueSchema}".jobs`],
    );
    return rows[0]?.present === true;
  }
}

/**
 * The live workers that know an older store schema than `newest`: a worker about to migrate the
 * store to `newest` must not do so beside them (they would write tables whose shape they do not
 * know). Empty when the table does not exist yet.
 */
export async function olderLiveWorkers(
  client: PoolClient,
  schema: string,
  newest: number,
): Promise<{ host: string; pid: number; version: string; schemaVersion: number }[]> {
  const { rows: present } = await client.query<{ present: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS present',
    [`"${schema}".syncline_workers`],
  );
  if (!present[0]?.present) return [];
  const { rows } = await client.query<{ host: string; pid: number; version: string; schema_version: number }>(
    `SELECT host, pid, version, schema_version FROM "${schema}".syncline_workers
      WHERE ${LIVE} AND schema_version < $1 ORDER BY started_at`,
    [newest],
  );
  return rows.map((r) => ({ host: r.host, pid: r.pid, version: r.version, schemaVersion: r.schema_version }));
}
