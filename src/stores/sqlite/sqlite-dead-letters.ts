import { foldDeadLetters } from '../../core/dead-letter-fold.ts';
import type {
  AddSinkDeadLetters,
  DeadLetterStore,
  IgnoreDeadLetters,
  ListDeadLetters,
  OpenDeadLetters,
  OpenSinkDeadLetters,
  PageCommit,
  RedeliveredSinkDeadLetters,
} from '../../core/store.ts';
import type { DeadLetterStatus, StoredDeadLetter } from '../../core/types.ts';
import { sinkFingerprint } from '../sink-fingerprint.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import type { SqliteSession } from './sqlite-session.ts';
import type { SqlValue, WriteStep } from './sqlite-write-program.ts';

/** A row of `syncline_failed`, the dead letters' table. */
export interface DeadLetterRow {
  id: number;
  stream: string;
  run_id: string;
  key: string | null;
  reason: string;
  payload: string;
  status: string;
  created_at: string;
  occurrences: number;
  last_seen_at: string | null;
  resolved_at: string | null;
  resolved_run_id: string | null;
  tombstone: number;
  sink: string | null;
}

export function toStoredDeadLetter(row: DeadLetterRow): StoredDeadLetter {
  return {
    id: row.id,
    stream: row.stream,
    runId: row.run_id,
    key: row.key,
    reason: row.reason,
    payload: row.payload,
    ...(row.tombstone ? { tombstone: true } : {}),
    status: row.status as DeadLetterStatus,
    createdAt: row.created_at,
    occurrences: row.occurrences,
    lastSeenAt: row.last_seen_at ?? row.created_at,
    resolvedAt: row.resolved_at,
    resolvedRunId: row.resolved_run_id,
    ...(row.sink ? { sink: row.sink } : {}),
  };
}

/**
 * A new occurrence of a record's failure: a letter, or one more occurrence of the open letter with
 * the same fingerprint (the partial unique index keeps one open letter per record).
 */
const ADD_SQL = `INSERT INTO syncline_failed
    (stream, run_id, key, reason, payload, tombstone, fingerprint, occurrences, created_at, last_seen_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (stream, fingerprint) WHERE status = 'open' DO UPDATE SET
    occurrences = occurrences + excluded.occurrences, reason = excluded.reason,
    run_id = excluded.run_id, last_seen_at = excluded.last_seen_at`;

/** An event a sink's target refused: a letter, or one more occurrence of its open one. */
const ADD_SINK_SQL = `INSERT INTO syncline_failed
    (stream, run_id, key, reason, payload, tombstone, fingerprint, occurrences, created_at, last_seen_at, sink)
  VALUES (?, ?, ?, ?, ?, 0, ?, 1, ?, ?, ?)
  ON CONFLICT (stream, fingerprint) WHERE status = 'open' DO UPDATE SET
    occurrences = occurrences + 1, reason = excluded.reason, last_seen_at = excluded.last_seen_at`;

/** A replayed record failed again: its letter counts it and says why now. */
const REPLAY_FAILED_SQL = `UPDATE syncline_failed SET occurrences = occurrences + ?, reason = ?, run_id = ?,
    last_seen_at = ? WHERE id = ? AND stream = ?`;

const REPLAYED_SQL = `UPDATE syncline_failed SET status = 'replayed', resolved_at = ?, resolved_run_id = ?
  WHERE id = ? AND stream = ? AND status = 'open'`;

const RESOLVED_SQL = `UPDATE syncline_failed SET status = 'resolved', resolved_at = ?, resolved_run_id = ?
  WHERE stream = ? AND key = ? AND status = 'open' AND sink IS NULL`;

/** The steps of a page commit that write its dead letters and settle those it resolves. */
export function deadLetterSteps(c: PageCommit): WriteStep[] {
  const { stream, runId, at } = c;
  const { fresh, replays } = foldDeadLetters(c.deadLetters);
  const step = (sql: string, rows: SqlValue[][]): WriteStep => ({
    role: 'other',
    sql,
    rows,
    mustChange: false,
  });
  return [
    step(
      ADD_SQL,
      fresh.map((d) => [
        stream,
        runId,
        d.key,
        d.reason,
        d.payload,
        d.tombstone ? 1 : 0,
        d.fingerprint,
        d.occurrences,
        at,
        at,
      ]),
    ),
    step(
      REPLAY_FAILED_SQL,
      replays.map((r) => [r.occurrences, r.reason, runId, at, r.id, stream]),
    ),
    step(
      REPLAYED_SQL,
      (c.resolve?.replayed ?? []).map((id) => [at, runId, id, stream]),
    ),
    step(
      RESOLVED_SQL,
      (c.resolve?.keys ?? []).map((key) => [at, runId, stream, key]),
    ),
  ].filter((s) => 'rows' in s && s.rows.length > 0);
}

/** Reading and settling dead letters outside commits (the CLI, a replay's source). */
export class SqliteDeadLetters implements DeadLetterStore {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async listDeadLetters(args: ListDeadLetters): Promise<StoredDeadLetter[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (args.stream !== undefined) {
      where.push('stream = ?');
      params.push(args.stream);
    }
    if (!args.all) where.push("status = 'open'");
    if (args.ids) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(args.ids));
    }
    return this.#runtime.guard('list dead letters', args.stream, (s) =>
      s
        .sql<SqlValue[], DeadLetterRow>(
          `SELECT * FROM syncline_failed ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...params, args.limit)
        .map(toStoredDeadLetter),
    );
  }

  async openDeadLetters(args: OpenDeadLetters): Promise<StoredDeadLetter[]> {
    const only = args.ids ? 'AND id IN (SELECT value FROM json_each(?))' : '';
    const params: SqlValue[] = [args.stream, args.afterId, ...(args.ids ? [JSON.stringify(args.ids)] : [])];
    return this.#runtime.guard('read open dead letters', args.stream, (s) =>
      s
        .sql<SqlValue[], DeadLetterRow>(
          `SELECT * FROM syncline_failed WHERE stream = ? AND status = 'open' AND sink IS NULL AND id > ? ${only} ORDER BY id LIMIT ?`,
        )
        .all(...params, args.limit)
        .map(toStoredDeadLetter),
    );
  }

  async openDeadLetterKeys(stream: string, max: number): Promise<string[] | null> {
    const keys = this.#runtime.guard('read the keys of open dead letters', stream, (s) =>
      s
        .sql<[string, number], string>(
          "SELECT DISTINCT key FROM syncline_failed WHERE stream = ? AND status = 'open' AND sink IS NULL AND key IS NOT NULL LIMIT ?",
        )
        .pluck()
        .all(stream, max + 1),
    );
    return keys.length > max ? null : keys;
  }

  async addSinkDeadLetters(args: AddSinkDeadLetters): Promise<void> {
    if (args.letters.length === 0) return;
    this.#runtime.guard('dead-lettering refused events', undefined, (s) => {
      const add = s.sql<SqlValue[]>(ADD_SINK_SQL);
      s.db.transaction(() => {
        for (const l of args.letters) {
          add.run(
            l.stream,
            l.runId,
            l.key,
            l.reason,
            l.payload,
            sinkFingerprint(args.sink, l.eventId),
            args.at,
            args.at,
            args.sink,
          );
        }
      })();
    });
  }

  async openSinkDeadLetters(args: OpenSinkDeadLetters): Promise<StoredDeadLetter[]> {
    const only = args.ids ? 'AND id IN (SELECT value FROM json_each(?))' : '';
    const params: SqlValue[] = [args.sink, args.afterId, ...(args.ids ? [JSON.stringify(args.ids)] : [])];
    return this.#runtime.guard('read open dead letters of a sink', undefined, (s) =>
      s
        .sql<SqlValue[], DeadLetterRow>(
          `SELECT * FROM syncline_failed WHERE sink = ? AND status = 'open' AND id > ? ${only} ORDER BY id LIMIT ?`,
        )
        .all(...params, args.limit)
        .map(toStoredDeadLetter),
    );
  }

  async markSinkDeadLettersRedelivered(args: RedeliveredSinkDeadLetters): Promise<number> {
    if (args.ids.length === 0) return 0;
    return this.#runtime.guard(
      'mark redelivered dead letters',
      undefined,
      (s) =>
        s
          .sql<SqlValue[]>(
            `UPDATE syncline_failed SET status = 'replayed', resolved_at = ?, resolved_run_id = NULL
            WHERE sink = ? AND status = 'open' AND id IN (SELECT value FROM json_each(?))`,
          )
          .run(args.at, args.sink, JSON.stringify(args.ids)).changes,
    );
  }

  async ignoreDeadLetters(args: IgnoreDeadLetters): Promise<number> {
    const where = ["status = 'open'"];
    const params: SqlValue[] = [args.at];
    if (args.stream !== undefined) {
      where.push('stream = ?');
      params.push(args.stream);
    }
    if (args.ids) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(args.ids));
    }
    return this.#runtime.guard(
      'ignore dead letters',
      args.stream,
      (s) =>
        s
          .sql<SqlValue[]>(
            `UPDATE syncline_failed SET status = 'ignored', resolved_at = ? WHERE ${where.join(' AND ')}`,
          )
          .run(...params).changes,
    );
  }
}
