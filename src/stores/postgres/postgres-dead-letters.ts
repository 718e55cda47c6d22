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
import type { PostgresQueries } from './postgres-queries.ts';

/** A row of `syncline_failed`, the dead letters' table. */
export interface DeadLetterRow {
  id: string;
  stream: string;
  run_id: string;
  key: string | null;
  reason: string;
  payload: string;
  status: DeadLetterStatus;
  created_at: Date;
  occurrences: string;
  last_seen_at: Date | null;
  resolved_at: Date | null;
  resolved_run_id: string | null;
  tombstone: boolean;
  sink: string | null;
}

export function toDeadLetter(row: DeadLetterRow): StoredDeadLetter {
  return {
    id: Number(row.id),
    stream: row.stream,
    runId: row.run_id,
    key: row.key,
    reason: row.reason,
    payload: row.payload,
    ...(row.tombstone ? { tombstone: true } : {}),
    status: row.status,
    createdAt: row.created_at.toISOString(),
    occurrences: Number(row.occurrences),
    lastSeenAt: (row.last_seen_at ?? row.created_at).toISOString(),
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    resolvedRunId: row.resolved_run_id,
    ...(row.sink ? { sink: row.sink } : {}),
  };
}

const COLUMNS = `id, stream, run_id, key, reason, payload, tombstone, status, created_at, occurrences,
  last_seen_at, resolved_at, resolved_run_id, sink`;

/** One statement of a page commit: `$1` stream, `$2` run, `$3` the commit's time, then its own. */
export interface DeadLetterStatement {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * The statements of a page commit that write its dead letters and settle those it resolves, after
 * the fence (they are in its transaction, so a commit that lost its lease writes none of them).
 * Separate statements, not one: a letter may be settled by id and by key in the same commit, and
 * PostgreSQL refuses two changes of one row in one statement.
 */
export function deadLetterStatements(c: PageCommit): DeadLetterStatement[] {
  const { fresh, replays } = foldDeadLetters(c.deadLetters);
  const base = [c.stream, c.runId, c.at];
  const statements: DeadLetterStatement[] = [];
  if (fresh.length > 0) {
    // A new letter, or one more occurrence of the open letter of the same record.
    statements.push({
      sql: `INSERT INTO syncline_failed
        (stream, run_id, key, reason, payload, tombstone, fingerprint, occurrences, created_at, last_seen_at)
      SELECT $1, $2, u.key, u.reason, u.payload, u.tombstone, u.fingerprint, u.occurrences, $3::timestamptz,
        $3::timestamptz
      FROM unnest($4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[], $9::bigint[])
        WITH ORDINALITY AS u(key, reason, payload, tombstone, fingerprint, occurrences, ord)
      ORDER BY u.ord
      ON CONFLICT (stream, fingerprint) WHERE status = 'open' DO UPDATE SET
        occurrences = syncline_failed.occurrences + EXCLUDED.occurrences, reason = EXCLUDED.reason,
        run_id = EXCLUDED.run_id, last_seen_at = EXCLUDED.last_seen_at`,
      params: [
        ...base,
        fresh.map((d) => d.key),
        fresh.map((d) => d.reason),
        fresh.map((d) => d.payload),
        fresh.map((d) => d.tombstone),
        fresh.map((d) => d.fingerprint),
        fresh.map((d) => d.occurrences),
      ],
    });
  }
  if (replays.length > 0) {
    // Replayed records that failed again: their letters count it and say why now.
    statements.push({
      sql: `UPDATE syncline_failed AS f SET occurrences = f.occurrences + u.occurrences, reason = u.reason,
        run_id = $2, last_seen_at = $3::timestamptz
      FROM unnest($4::bigint[], $5::text[], $6::bigint[]) AS u(id, reason, occurrences)
      WHERE f.id = u.id AND f.stream = $1`,
      params: [
        ...base,
        replays.map((r) => r.id),
        replays.map((r) => r.reason),
        replays.map((r) => r.occurrences),
      ],
    });
  }
  const replayed = c.resolve?.replayed ?? [];
  if (replayed.length > 0) {
    statements.push({
      sql: `UPDATE syncline_failed SET status = 'replayed', resolved_at = $3::timestamptz, resolved_run_id = $2
      WHERE stream = $1 AND status = 'open' AND id = ANY($4::bigint[])`,
      params: [...base, replayed],
    });
  }
  const keys = c.resolve?.keys ?? [];
  if (keys.length > 0) {
    statements.push({
      sql: `UPDATE syncline_failed SET status = 'resolved', resolved_at = $3::timestamptz, resolved_run_id = $2
      WHERE stream = $1 AND status = 'open' AND sink IS NULL AND key = ANY($4::text[])`,
      params: [...base, keys],
    });
  }
  return statements;
}

/** Reading and settling dead letters outside commits (the CLI, a replay's source). */
export class PostgresDeadLetters implements DeadLetterStore {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  async listDeadLetters(args: ListDeadLetters): Promise<StoredDeadLetter[]> {
    const rows = await this.#db.query<DeadLetterRow>(
      'listing dead letters',
      args.stream,
      `SELECT ${COLUMNS} FROM syncline_failed
      WHERE ($1::text IS NULL OR stream = $1) AND ($2 OR status = 'open')
        AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
      ORDER BY id DESC LIMIT $4`,
      [args.stream ?? null, args.all === true, args.ids ?? null, args.limit],
    );
    return rows.map(toDeadLetter);
  }

  async openDeadLetters(args: OpenDeadLetters): Promise<StoredDeadLetter[]> {
    const rows = await this.#db.query<DeadLetterRow>(
      'reading open dead letters',
      args.stream,
      `SELECT ${COLUMNS} FROM syncline_failed
      WHERE stream = $1 AND status = 'open' AND sink IS NULL AND id > $2 AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
      ORDER BY id LIMIT $4`,
      [args.stream, args.afterId, args.ids ?? null, args.limit],
    );
    return rows.map(toDeadLetter);
  }

  async openDeadLetterKeys(stream: string, max: number): Promise<string[] | null> {
    const rows = await this.#db.query<{ key: string }>(
      'reading the keys of open dead letters',
      stream,
      `SELECT DISTINCT key FROM syncline_failed WHERE stream = $1 AND status = 'open' AND sink IS NULL AND key IS NOT NULL
      LIMIT $2`,
      [stream, max + 1],
    );
    return rows.length > max ? null : rows.map((r) => r.key);
  }

  async addSinkDeadLetters(args: AddSinkDeadLetters): Promise<void> {
    if (args.letters.length === 0) return;
    const l = args.letters;
    await this.#db.query(
      'dead-lettering refused events',
      undefined,
      `INSERT INTO syncline_failed
        (stream, run_id, key, reason, payload, tombstone, fingerprint, occurrences, created_at, last_seen_at, sink)
      SELECT u.stream, u.run_id, u.key, u.reason, u.payload, false, u.fingerprint, 1, $6::timestamptz,
        $6::timestamptz, $7
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $8::text[])
        AS u(stream, run_id, key, reason, payload, fingerprint)
      ON CONFLICT (stream, fingerprint) WHERE status = 'open' DO UPDATE SET
        occurrences = syncline_failed.occurrences + 1, reason = EXCLUDED.reason,
        last_seen_at = EXCLUDED.last_seen_at`,
      [
        l.map((x) => x.stream),
        l.map((x) => x.runId),
        l.map((x) => x.key),
        l.map((x) => x.reason),
        l.map((x) => x.payload),
        args.at,
        args.sink,
        l.map((x) => sinkFingerprint(args.sink, x.eventId)),
      ],
    );
  }

  async openSinkDeadLetters(args: OpenSinkDeadLetters): Promise<StoredDeadLetter[]> {
    const rows = await this.#db.query<DeadLetterRow>(
      'reading open dead letters of a sink',
      undefined,
      `SELECT ${COLUMNS} FROM syncline_failed
      WHERE sink = $1 AND status = 'open' AND id > $2 AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
      ORDER BY id LIMIT $4`,
      [args.sink, args.afterId, args.ids ?? null, args.limit],
    );
    return rows.map(toDeadLetter);
  }

  async markSinkDeadLettersRedelivered(args: RedeliveredSinkDeadLetters): Promise<number> {
    if (args.ids.length === 0) return 0;
    const rows = await this.#db.query(
      'marking redelivered dead letters',
      undefined,
      `UPDATE syncline_failed SET status = 'replayed', resolved_at = $1::timestamptz, resolved_run_id = NULL
      WHERE sink = $2 AND status = 'open' AND id = ANY($3::bigint[])
      RETURNING id`,
      [args.at, args.sink, args.ids],
    );
    return rows.length;
  }

  async ignoreDeadLetters(args: IgnoreDeadLetters): Promise<number> {
    const rows = await this.#db.query(
      'ignoring dead letters',
      args.stream,
      `UPDATE syncline_failed SET status = 'ignored', resolved_at = $1::timestamptz
      WHERE status = 'open' AND ($2::text IS NULL OR stream = $2) AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
      RETURNING id`,
      [args.at, args.stream ?? null, args.ids ?? null],
    );
    return rows.length;
  }
}
