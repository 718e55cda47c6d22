import type { StreamTableOptions } from '../../core/store.ts';
import { assertStreamName } from '../../core/stream-name.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import { createHistoryTable, hasHistoryTable } from './postgres-history.ts';
import { createStreamTable } from './postgres-migrations.ts';
import { refuseForeignTables } from './postgres-open-checks.ts';
import type { PostgresQueries, PostgresSession } from './postgres-queries.ts';
import { ensurePgView, pgViewCurrent } from './postgres-view.ts';

/**
 * The stream tables of the PostgreSQL store: `ensureStream`'s work, and per stream whether it keeps
 * history (pages and completed scans write history rows only then), asked once and remembered.
 */
export class PostgresStreamTables {
  readonly #runtime: StoreRuntime<PostgresSession>;
  readonly #db: PostgresQueries;
  readonly #schema: string;
  readonly #inlineCommits: boolean;
  /** Per stream: whether it has a history table, looked up once (or set by `ensure`). */
  readonly #history = new Map<string, boolean>();

  constructor(args: {
    readonly runtime: StoreRuntime<PostgresSession>;
    readonly db: PostgresQueries;
    readonly schema: string;
    readonly inlineCommits: boolean;
  }) {
    this.#runtime = args.runtime;
    this.#db = args.db;
    this.#schema = args.schema;
    this.#inlineCommits = args.inlineCommits;
  }

  /** `Store.ensureStream`: only reads when the stream exists as `options` ask, else creates what it lacks. */
  async ensure(stream: string, options: StreamTableOptions): Promise<void> {
    assertStreamName(stream);
    const history = (await this.#existing(stream, options)) ?? (await this.#create(stream, options));
    this.#history.set(stream, history);
  }

  /** Whether the stream keeps history, when known without a query; else null (a commit then asks in its transaction). */
  knownHistory(stream: string): boolean | null {
    return this.#history.get(stream) ?? null;
  }

  /** Whether the stream keeps history: asked once per stream, then remembered. */
  async hasHistory(stream: string): Promise<boolean> {
    let has = this.#history.get(stream);
    if (has === undefined) {
      const query = (text: string, values: unknown[]) =>
        this.#db.query<{ present: boolean }>('looking up the history table', stream, text, values);
      has = await hasHistoryTable(async (text, values) => ({ rows: await query(text, values) }), stream);
      this.#history.set(stream, has);
    }
    return has;
  }

  /**
   * Whether the stream has a history table, when its table and state row exist and nothing is to
   * be created (every run after the first): read without the stream's lock and transaction. Null
   * when something is missing.
   */
  async #existing(stream: string, options: StreamTableOptions): Promise<boolean | null> {
    return this.#db.withClient(`checking the table of stream "${stream}"`, stream, async (client) => {
      // Holding the pool's connection, so the pool opens another.
      this.#openSpareConnection();
      const { rows } = await client.query<{ ready: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AND EXISTS (SELECT 1 FROM syncline_state WHERE stream = $2) AS ready',
        [`"${stream}"`, stream],
      );
      if (rows[0]?.ready !== true) return null;
      if (!(await pgViewCurrent(client, stream, options.view ?? []))) return null;
      const history = await hasHistoryTable((text, values) => client.query(text, values), stream);
      return history || !options.history ? history : null;
    });
  }

  /** Creates what the stream lacks (table, state row, history table) under its lock. */
  #create(stream: string, options: StreamTableOptions): Promise<boolean> {
    return this.#db.transaction(`creating the table of stream "${stream}"`, stream, async (client) => {
      const { where } = this.#runtime.connection;
      // A table of that name is adopted only if it is a stream table: else it is the user's own.
      await refuseForeignTables(client, this.#schema, [stream], where);
      await createStreamTable(client, this.#schema, stream);
      if (options.history) await createHistoryTable(client, stream);
      await ensurePgView(client, stream, options.view ?? [], where);
      return (
        options.history === true ||
        (await hasHistoryTable((text, values) => client.query(text, values), stream))
      );
    });
  }

  /**
   * With inline commits, a run's first commit takes a pooled connection while the next page's
   * lookup holds the other: opened here, while the run starts, instead of when that commit waits for
   * it (20-30 ms of an incremental run's ~0.4 s). Call while holding the pool's only connection, so
   * the pool opens a second one.
   */
  #openSpareConnection(): void {
    if (!this.#inlineCommits || !this.#runtime.isOpen) return;
    const { pool } = this.#runtime.connection;
    if (pool.totalCount >= 2) return;
    pool.connect().then(
      (spare) => spare.release(),
      () => undefined,
    );
  }
}
