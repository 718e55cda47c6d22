import type Database from 'better-sqlite3';
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
import type { StoreRuntime } from '../store-runtime.ts';
import { type ChangeLogRow, type RunRow, toChangeRow, toRunRecord } from './sqlite-rows.ts';
import type { SqlCache, SqliteSession } from './sqlite-session.ts';

/** A `syncline_consumers` row. */
interface ConsumerRow {
  name: string;
  acked_seq: number;
  registered_at: string;
  updated_at: string;
}

function toConsumerOffset(row: ConsumerRow): ConsumerOffset {
  return {
    consumer: row.name,
    seq: row.acked_seq,
    registeredAt: row.registered_at,
    updatedAt: row.updated_at,
  };
}

const CONSUMER_SQL = 'SELECT * FROM syncline_consumers WHERE name = ?';

/**
 * The oldest rows every consumer has passed (every row, with none registered), up to `@limit` of them,
 * as long as they were committed before `@olderThan`: a prefix of the log, so the first row too young stops it.
 * Rows follow `seq` order and `at` nearly so (two processes' clocks may disagree a little); a
 * prefix keeps a row behind a younger one longer, never shorter.
 */
const PRUNE_SQL = `DELETE FROM syncline_changes WHERE seq <= (
  WITH head AS (
    SELECT seq, at < @olderThan AS old FROM syncline_changes
    WHERE seq <= coalesce((SELECT min(acked_seq) FROM syncline_consumers), 9223372036854775807)
    ORDER BY seq LIMIT @limit
  )
  SELECT coalesce((SELECT min(seq) FROM head WHERE NOT old) - 1, (SELECT max(seq) FROM head), 0)
)`;

/**
 * The change feed of the SQLite store (`ChangeFeed` in core/store.ts): reading the change log with
 * each key's latest data, consumers' offsets and retention. Built per call on the store's
 * connection and statement cache; it keeps nothing itself.
 */
export class SqliteChangeFeed {
  constructor(
    private readonly db: Database.Database,
    private readonly sql: SqlCache,
  ) {}

  /**
   * The rows after `afterSeq` and, `withData`, each key's data as its stream's table holds it now:
   * read in one transaction, so the data is at least as new as the rows (a change's row commits
   * with its data).
   */
  read(args: ReadChanges): ChangeRow[] {
    const read = this.db.transaction((): ChangeRow[] => {
      const rows = this.rows(args, false).map(toChangeRow);
      return args.withData ? this.withData(rows) : rows;
    });
    return read.deferred();
  }

  /** As `read`, with the run rows, each with its run's record. */
  readEvents(args: ReadChanges): LogRow[] {
    const read = this.db.transaction((): LogRow[] => {
      const rows = this.rows(args, true);
      const changes = rows.filter((r) => r.kind !== 'run').map(toChangeRow);
      const withData = args.withData ? this.withData(changes) : changes;
      const runIds = rows.filter((r) => r.kind === 'run').map((r) => r.run_id);
      const runs = new Map<string, RunRecord>();
      if (runIds.length > 0) {
        const found = this.sql<[string], RunRow>(
          'SELECT * FROM syncline_runs WHERE run_id IN (SELECT value FROM json_each(?))',
        ).all(JSON.stringify(runIds));
        for (const run of found) runs.set(run.run_id, toRunRecord(run));
      }
      return mergeRunRows(rows, withData, runs);
    });
    return read.deferred();
  }

  private rows({ afterSeq, limit, stream }: ReadChanges, runs: boolean): ChangeLogRow[] {
    const kind = runs ? '' : " AND kind <> 'run'";
    if (stream === undefined) {
      return this.sql<[number, number], ChangeLogRow>(
        `SELECT * FROM syncline_changes WHERE seq > ?${kind} ORDER BY seq LIMIT ?`,
      ).all(afterSeq, limit);
    }
    if (typeof stream === 'string') {
      return this.sql<[number, string, number], ChangeLogRow>(
        `SELECT * FROM syncline_changes WHERE seq > ? AND stream = ?${kind} ORDER BY seq LIMIT ?`,
      ).all(afterSeq, stream, limit);
    }
    return this.sql<[number, string, number], ChangeLogRow>(
      `SELECT * FROM syncline_changes WHERE seq > ? AND stream IN (SELECT value FROM json_each(?))${kind}
      ORDER BY seq LIMIT ?`,
    ).all(afterSeq, JSON.stringify(stream), limit);
  }

  /** `rows` with the data of their keys: one lookup per stream of the batch. */
  private withData(rows: ChangeRow[]): ChangeRow[] {
    const data = new Map<string, Map<string, Json | null>>();
    for (const [stream, keys] of keysByStream(rows)) data.set(stream, this.latestData(stream, keys));
    return rows.map((row) => ({ ...row, data: data.get(row.stream)?.get(row.key) ?? null }));
  }

  /** The data of live rows among `keys` (deleted rows and missing keys are absent). */
  private latestData(stream: string, keys: string[]): Map<string, Json | null> {
    const found = new Map<string, Json | null>();
    const table = this.sql<[string], number>(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?",
    )
      .pluck()
      .get(stream);
    if (!table) return found;
    const live = this.sql<[string], { _key: string; _data: string }>(
      `SELECT _key, _data FROM "${assertStreamName(stream)}"
      WHERE _key IN (SELECT value FROM json_each(?)) AND _deleted_at IS NULL`,
    ).all(JSON.stringify(keys));
    for (const row of live) found.set(row._key, JSON.parse(row._data) as Json);
    return found;
  }

  bounds(): ChangeLogBounds {
    // Three index steps (a lone min or max is one seek; AUTOINCREMENT's counter is one row).
    const row = this.sql<[], { oldest: number | null; newest: number | null; highest: number | null }>(
      `SELECT (SELECT min(seq) FROM syncline_changes) AS oldest, (SELECT max(seq) FROM syncline_changes) AS newest,
      (SELECT seq FROM sqlite_sequence WHERE name = 'syncline_changes') AS highest`,
    ).get();
    return { oldestSeq: row?.oldest ?? null, newestSeq: row?.newest ?? null, highestSeq: row?.highest ?? 0 };
  }

  offset(consumer: string): ConsumerOffset | null {
    const row = this.sql<[string], ConsumerRow>(CONSUMER_SQL).get(consumer);
    return row ? toConsumerOffset(row) : null;
  }

  register(args: { consumer: string; afterSeq: number; at: string }): ConsumerOffset {
    const register = this.db.transaction((): ConsumerOffset => {
      this.sql<[string, number, string, string]>(
        `INSERT INTO syncline_consumers (name, acked_seq, registered_at, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (name) DO NOTHING`,
      ).run(args.consumer, args.afterSeq, args.at, args.at);
      return this.mustExist(args.consumer);
    });
    return register.immediate();
  }

  ack(args: { consumer: string; seq: number; at: string }): ConsumerOffset {
    return this.db.transaction(() => this.ackWithin(args)).immediate();
  }

  /**
   * The acknowledgement's statements, to run inside a write transaction the caller holds (`ack`'s
   * own, or a destination's confirmation, which moves the offset with its mappings): throws, and
   * so rolls the caller's transaction back, for an unregistered consumer or a seq past the end.
   */
  ackWithin(args: { consumer: string; seq: number; at: string }): ConsumerOffset {
    const current = this.mustExist(args.consumer);
    if (args.seq <= current.seq) return current;
    // AUTOINCREMENT's counter: the highest seq ever assigned, kept when rows are deleted.
    const highest =
      this.sql<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'syncline_changes'").pluck().get() ??
      0;
    if (args.seq > highest) throw ackPastTheEnd(args.consumer, args.seq, highest);
    this.sql<[number, string, string]>(
      'UPDATE syncline_consumers SET acked_seq = ?, updated_at = ? WHERE name = ?',
    ).run(args.seq, args.at, args.consumer);
    return this.mustExist(args.consumer);
  }

  prune(args: PruneChanges): number {
    // At the end of most syncs the oldest row is not a window old yet: one index step says so,
    // where the prune would read up to `limit` rows to find nothing (2-3 ms per 10,000).
    const oldest = this.sql<[string], number>('SELECT at < ? FROM syncline_changes ORDER BY seq LIMIT 1')
      .pluck()
      .get(args.olderThan);
    if (!oldest) return 0;
    return this.sql<[PruneChanges]>(PRUNE_SQL).run({ olderThan: args.olderThan, limit: args.limit }).changes;
  }

  private mustExist(consumer: string): ConsumerOffset {
    const found = this.offset(consumer);
    if (!found) throw consumerNotRegistered(consumer);
    return found;
  }
}

/** The change feed as a store role: each call on the open connection, its errors typed. */
export class SqliteChanges implements ChangeFeed {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async readChanges(args: ReadChanges): Promise<ChangeRow[]> {
    const stream = typeof args.stream === 'string' ? args.stream : undefined;
    return this.#runtime.guard('read the change log', stream, (s) => feed(s).read(args));
  }

  async readEvents(args: ReadChanges): Promise<LogRow[]> {
    const stream = typeof args.stream === 'string' ? args.stream : undefined;
    return this.#runtime.guard('read the change log', stream, (s) => feed(s).readEvents(args));
  }

  async changeLogBounds(): Promise<ChangeLogBounds> {
    return this.#runtime.guard('read the bounds of the change log', undefined, (s) => feed(s).bounds());
  }

  async consumerOffset(consumer: string): Promise<ConsumerOffset | null> {
    return this.#runtime.guard(`read the offset of consumer "${consumer}"`, undefined, (s) =>
      feed(s).offset(consumer),
    );
  }

  async registerConsumer(args: { consumer: string; afterSeq: number; at: string }): Promise<ConsumerOffset> {
    return this.#runtime.guard(`register consumer "${args.consumer}"`, undefined, (s) =>
      feed(s).register(args),
    );
  }

  async ackChanges(args: { consumer: string; seq: number; at: string }): Promise<ConsumerOffset> {
    return this.#runtime.guard(`acknowledge changes for consumer "${args.consumer}"`, undefined, (s) =>
      feed(s).ack(args),
    );
  }

  async pruneChanges(args: PruneChanges): Promise<number> {
    return this.#runtime.guard('prune the change log', undefined, (s) => feed(s).prune(args));
  }
}

/** The change feed's statements on an open connection (prepared once, in its statement cache). */
export function feed(session: SqliteSession): SqliteChangeFeed {
  return new SqliteChangeFeed(session.db, session.sql);
}
