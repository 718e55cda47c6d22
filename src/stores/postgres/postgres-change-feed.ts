import { setTimeout as sleep } from 'node:timers/promises';
import type { QueryResultRow } from 'pg';
import type {
  ChangeFeed,
  ChangeLogBounds,
  ConsumerOffset,
  PruneChanges,
  ReadChanges,
} from '../../core/store.ts';
import { assertStreamName } from '../../core/stream-name.ts';
import type { ChangeRow, Json, LogRow, RunRecord } from '../../core/types.ts';
import { ackPastTheEnd, consumerNotRegistered } from '../change-feed-errors.ts';
import { keysByStream } from '../keys-by-stream.ts';
import { mergeRunRows } from '../run-log-rows.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import { type ChangeLogRow, iso, type RunRow, toChangeRow, toRunRecord } from './postgres-rows.ts';

/** A `syncline_consumers` row. */
interface ConsumerRow {
  name: string;
  acked_seq: string;
  registered_at: Date;
  updated_at: Date;
}

function toConsumerOffset(row: ConsumerRow): ConsumerOffset {
  return {
    consumer: row.name,
    seq: Number(row.acked_seq),
    registeredAt: iso(row.registered_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The highest seq the change log's identity ever handed out (0 before the first). */
const HIGHEST_SEQ = "coalesce(pg_sequence_last_value(pg_get_serial_sequence('syncline_changes', 'seq')), 0)";

/**
 * The appends in flight: transactions holding the schema's append lock (`$1`, taken shared by the
 * change log's trigger before a statement draws a seq and held to its end, migration 012). An
 * advisory lock on a bigint shows in pg_locks as (classid, objid) = its high and low 32 bits.
 */
const APPEND_LOCK = `l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid = ((hashtextextended($1, 0) >> 32) & 4294967295)::oid
    AND l.objid = (hashtextextended($1, 0) & 4294967295)::oid`;

/**
 * The newest seq drawn, then the appends in flight: read in this order (the lock list depends on
 * the seq row), so an append that drew a seq up to it either holds the lock still or has ended.
 */
const NEWEST_AND_APPENDS_SQL = `WITH q AS MATERIALIZED (SELECT ${HIGHEST_SEQ} AS seq)
  SELECT q.seq AS newest,
    ARRAY(SELECT l.virtualtransaction FROM pg_locks AS l WHERE ${APPEND_LOCK} AND q.seq IS NOT NULL) AS appends
  FROM q`;

/** How many of the appends `$2` (virtual transaction ids) still hold the lock. */
const STILL_APPENDING_SQL = `SELECT count(*)::int AS n FROM pg_locks AS l
  WHERE ${APPEND_LOCK} AND l.virtualtransaction = ANY($2::text[])`;

/**
 * How long a read waits for the appends in flight to end before it answers with the seqs settled
 * so far (a page's commit takes milliseconds; one stuck in a long transaction must not hold a
 * reader), and how often it looks: after 1 ms, then twice as long each time up to the last.
 */
const SETTLE_WAIT_MS = 250;
const SETTLE_POLL_MAX_MS = 32;

/**
 * Moves the offset forward, and only to a seq the log assigned; no row comes back when the
 * consumer is not registered or the seq is past the end, and a lower seq leaves the row as it was.
 */
const ACK_SQL = `UPDATE syncline_consumers
  SET acked_seq = greatest(acked_seq, $2::bigint),
    updated_at = CASE WHEN $2::bigint > acked_seq THEN $3::timestamptz ELSE updated_at END
  WHERE name = $1 AND ($2::bigint <= acked_seq OR $2::bigint <= ${HIGHEST_SEQ})
  RETURNING *`;

/**
 * The oldest rows every consumer has passed (every row, with none registered), up to `$2`, as long
 * as they were committed before `$1`: a prefix of the log, so the first row too young stops it. Rows
 * follow `seq` order and `at` nearly so (two processes' clocks may disagree a little); a prefix keeps
 * a row behind a younger one longer, never shorter. One statement: no lock is held past it, and a
 * consumer acknowledges only seqs it read, which were settled (`settledSeq`): rows of commits still
 * in flight all have seqs above every acknowledged one, so none of them is below the bound.
 */
const PRUNE_SQL = `WITH head AS (
    SELECT seq, at < $1::timestamptz AS old FROM syncline_changes
    WHERE seq <= coalesce((SELECT min(acked_seq) FROM syncline_consumers), 9223372036854775807)
    ORDER BY seq LIMIT $2
  ), upto AS (
    SELECT coalesce((SELECT min(seq) FROM head WHERE NOT old) - 1, (SELECT max(seq) FROM head), 0) AS seq
  ), gone AS (
    DELETE FROM syncline_changes WHERE seq <= (SELECT seq FROM upto) RETURNING 1
  )
  SELECT count(*)::int AS deleted FROM gone`;

/** Runs one statement and returns its rows: on a pooled connection, or on a transaction's client. */
export type RunStatement = <R extends QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

/**
 * `ackChanges` with `run`: on the pool (`PostgresChangeFeed`), or on the client of a transaction
 * that moves the offset with other writes (a destination's confirmation). It throws, so that
 * transaction rolls back, for an unregistered consumer or a seq past the end.
 */
export async function acknowledge(
  run: RunStatement,
  args: { consumer: string; seq: number; at: string },
): Promise<ConsumerOffset> {
  const [row] = await run<ConsumerRow>(ACK_SQL, [args.consumer, args.seq, args.at]);
  if (row) return toConsumerOffset(row);
  const [known] = await run<{ name: string }>('SELECT name FROM syncline_consumers WHERE name = $1', [
    args.consumer,
  ]);
  if (!known) throw consumerNotRegistered(args.consumer);
  const [end] = await run<{ highest: string }>(`SELECT ${HIGHEST_SEQ} AS highest`, []);
  throw ackPastTheEnd(args.consumer, args.seq, Number(end?.highest ?? 0));
}

/**
 * The change feed of the PostgreSQL store (`ChangeFeed` in core/store.ts): reading the change log
 * with each key's latest data, consumers' offsets and retention. Each method is a few statements
 * on pooled connections.
 *
 * Reads stop at the newest settled seq (`settledSeq`): `seq` is drawn when a row is written, not
 * when it commits, and appends do not wait on each other (postgres-page-commit.ts, step 4), so a
 * transaction may still commit a row below rows already visible; a reader that passed them would
 * never see it.
 */
export class PostgresChangeFeed implements ChangeFeed {
  readonly #db: PostgresQueries;
  /** The key of the schema's append lock. */
  readonly #lockKey: string;
  /** Below or at this seq nothing can commit any more. */
  #settled = 0;
  /** A newest seq whose appends in flight had not ended when a read stopped waiting for them. */
  #pending: { readonly seq: number; readonly appends: readonly string[] } | null = null;

  constructor(db: PostgresQueries, schema: string) {
    this.#db = db;
    this.#lockKey = `syncline:changes:${schema}`;
  }

  /**
   * The newest seq below or at which no row can commit any more. Every statement that appends takes
   * the append lock before it draws a seq and holds it until its transaction has ended (its rows
   * visible, or gone), so once the appends that held the lock when `newest` was the newest seq drawn
   * have ended, every seq up to it is final, and a read after that sees all of them. A read waits
   * for them briefly (commits in flight end within milliseconds); past `SETTLE_WAIT_MS` it answers
   * with what was settled before, and later reads look again at the same appends without waiting
   * until they have ended, so neither a steady stream of commits nor one stuck append stalls every
   * read.
   */
  async #settledSeq(): Promise<number> {
    const pending = this.#pending;
    if (pending !== null) {
      if ((await this.#stillAppending(pending.appends)) > 0) return this.#settled;
      this.#settle(pending.seq);
    }
    const [row] = await this.#query<{ newest: string; appends: string[] }>(
      'reading the change log',
      NEWEST_AND_APPENDS_SQL,
      [this.#lockKey],
    );
    const newest = Number(row?.newest ?? 0);
    const appends = row?.appends ?? [];
    if (newest <= this.#settled) return this.#settled;
    const until = performance.now() + SETTLE_WAIT_MS;
    let delay = 1;
    for (let n = appends.length; n > 0; n = await this.#stillAppending(appends)) {
      if (performance.now() >= until) {
        this.#pending = { seq: newest, appends };
        return this.#settled;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, SETTLE_POLL_MAX_MS);
    }
    this.#settle(newest);
    return this.#settled;
  }

  #settle(seq: number): void {
    this.#settled = Math.max(this.#settled, seq);
    if (this.#pending !== null && this.#pending.seq <= this.#settled) this.#pending = null;
  }

  async #stillAppending(appends: readonly string[]): Promise<number> {
    const [row] = await this.#query<{ n: number }>('reading the change log', STILL_APPENDING_SQL, [
      this.#lockKey,
      appends,
    ]);
    return row?.n ?? 0;
  }

  /** One statement on a pooled connection; its errors name `stream` when there is one. */
  #query<R extends QueryResultRow>(
    what: string,
    text: string,
    values: unknown[],
    stream?: string,
  ): Promise<R[]> {
    return this.#db.query<R>(what, stream, text, values);
  }

  /**
   * The rows after `afterSeq` and, `withData`, each key's data as its stream's table holds it when
   * read: always at least as new as the row, whose data committed with it.
   */
  async readChanges(args: ReadChanges): Promise<ChangeRow[]> {
    const rows = (await this.#rows(args, false)).map(toChangeRow);
    return args.withData ? this.withData(rows) : rows;
  }

  async readEvents(args: ReadChanges): Promise<LogRow[]> {
    const rows = await this.#rows(args, true);
    const changes = rows.filter((r) => r.kind !== 'run').map(toChangeRow);
    const withData = args.withData ? await this.withData(changes) : changes;
    const runIds = rows.filter((r) => r.kind === 'run').map((r) => r.run_id);
    const runs = new Map<string, RunRecord>();
    if (runIds.length > 0) {
      const found = await this.#query<RunRow>(
        'reading the runs of the change log',
        'SELECT * FROM syncline_runs WHERE run_id = ANY($1::text[])',
        [runIds],
      );
      for (const run of found) runs.set(run.run_id, toRunRecord(run));
    }
    return mergeRunRows(rows, withData, runs);
  }

  /** The log's rows after `afterSeq`, the run rows only when `runs`. */
  async #rows(args: ReadChanges, runs: boolean): Promise<ChangeLogRow[]> {
    const named = typeof args.stream === 'string' ? args.stream : undefined;
    const streams =
      args.stream === undefined ? null : typeof args.stream === 'string' ? [args.stream] : args.stream;
    const settled = await this.#settledSeq();
    if (settled <= args.afterSeq) return [];
    return this.#query<ChangeLogRow>(
      'reading the change log',
      `SELECT seq, stream, key, kind, hash, version, run_id, at FROM syncline_changes
      WHERE seq > $1::bigint AND seq <= $4::bigint AND ($3::text[] IS NULL OR stream = ANY($3::text[]))${runs ? '' : " AND kind <> 'run'"}
      ORDER BY seq LIMIT $2`,
      [args.afterSeq, args.limit, streams, settled],
      named,
    );
  }

  /** `rows` with the data of their keys: one lookup per stream of the batch. */
  private async withData(rows: ChangeRow[]): Promise<ChangeRow[]> {
    const data = new Map<string, Map<string, Json>>();
    for (const [stream, keys] of keysByStream(rows)) data.set(stream, await this.latestData(stream, keys));
    return rows.map((row) => ({ ...row, data: data.get(row.stream)?.get(row.key) ?? null }));
  }

  /** The data of live rows among `keys` (deleted rows and missing keys are absent). */
  private async latestData(stream: string, keys: string[]): Promise<Map<string, Json>> {
    const found = new Map<string, Json>();
    const table = `"${assertStreamName(stream)}"`;
    const [present] = await this.#query<{ present: boolean }>(
      'reading the data of changes',
      'SELECT to_regclass($1) IS NOT NULL AS present',
      [table],
    );
    if (present?.present !== true) return found;
    const live = await this.#query<{ _key: string; _data: Json }>(
      'reading the data of changes',
      `SELECT _key, _data FROM ${table} WHERE _key = ANY($1::text[]) AND _deleted_at IS NULL`,
      [keys],
    );
    for (const row of live) found.set(row._key, row._data);
    return found;
  }

  /**
   * The bounds as of the newest settled seq: a reader starting after the newest ("from now") misses
   * none, and a seq drawn by an append still in flight counts neither as the highest nor as a gap
   * below the oldest (else a reader at 0 would take the in-flight seq 1 for a pruned row).
   */
  async changeLogBounds(): Promise<ChangeLogBounds> {
    const settled = await this.#settledSeq();
    const [row] = await this.#query<{ oldest: string | null; newest: string | null }>(
      'reading the bounds of the change log',
      `SELECT (SELECT min(seq) FROM syncline_changes WHERE seq <= $1::bigint) AS oldest,
      (SELECT max(seq) FROM syncline_changes WHERE seq <= $1::bigint) AS newest`,
      [settled],
    );
    return {
      oldestSeq: row?.oldest == null ? null : Number(row.oldest),
      newestSeq: row?.newest == null ? null : Number(row.newest),
      highestSeq: settled,
    };
  }

  async consumerOffset(consumer: string): Promise<ConsumerOffset | null> {
    const [row] = await this.#query<ConsumerRow>(
      'reading a consumer offset',
      'SELECT * FROM syncline_consumers WHERE name = $1',
      [consumer],
    );
    return row ? toConsumerOffset(row) : null;
  }

  async registerConsumer(args: { consumer: string; afterSeq: number; at: string }): Promise<ConsumerOffset> {
    // The no-op update makes RETURNING give the existing row too, in the same statement.
    const [row] = await this.#query<ConsumerRow>(
      'registering a consumer',
      `INSERT INTO syncline_consumers (name, acked_seq, registered_at, updated_at)
      VALUES ($1, $2::bigint, $3::timestamptz, $3::timestamptz)
      ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING *`,
      [args.consumer, args.afterSeq, args.at],
    );
    return toConsumerOffset(row!);
  }

  async ackChanges(args: { consumer: string; seq: number; at: string }): Promise<ConsumerOffset> {
    return acknowledge((text, values) => this.#query('acknowledging changes', text, values), args);
  }

  async pruneChanges(args: PruneChanges): Promise<number> {
    // At the end of most syncs the oldest row is not a window old yet: one index step says so,
    // where the prune would read up to `limit` rows to find nothing.
    const [oldest] = await this.#query<{ old: boolean }>(
      'pruning the change log',
      'SELECT at < $1::timestamptz AS old FROM syncline_changes ORDER BY seq LIMIT 1',
      [args.olderThan],
    );
    if (oldest?.old !== true) return 0;
    const [row] = await this.#query<{ deleted: number }>('pruning the change log', PRUNE_SQL, [
      args.olderThan,
      args.limit,
    ]);
    return row?.deleted ?? 0;
  }
}
