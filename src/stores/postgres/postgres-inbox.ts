import type { InboxEvent, InboxStore, StoredInboxEvent } from '../../core/store.ts';
import { GroupCommit } from '../group-commit.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import { iso } from './postgres-rows.ts';

/** What an append answers. */
type Added = { readonly id: number; readonly duplicate: boolean };

/** A `syncline_inbox` row, as `readInbox` reads it (`bigint` comes back as text). */
interface InboxRow {
  id: string;
  stream: string;
  event_id: string;
  received_at: Date;
  headers: Record<string, string>;
  body: string;
}

/**
 * The events, each new one or the id of the row that has its `(stream, event_id)` already, in one
 * statement, answered in the order given; new rows draw their ids in that order. Run after the
 * streams' inbox locks: a concurrent append of the same event has then committed, so this
 * statement's snapshot sees its row (without the lock, ON CONFLICT would wait for it but the
 * lookup, on a snapshot taken before, would not see it). An event given twice in one batch is added
 * once; the later copy is answered as a duplicate by the caller.
 */
const INSERT_SQL = `WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::text[])
      WITH ORDINALITY AS i (stream, event_id, received_at, headers, body, ord)
  ), added AS (
    INSERT INTO syncline_inbox (stream, event_id, received_at, headers, body)
    SELECT stream, event_id, received_at, headers, body FROM input ORDER BY ord
    ON CONFLICT (stream, event_id) DO NOTHING RETURNING id, stream, event_id
  )
  SELECT COALESCE(a.id, x.id) AS id, a.id IS NULL AS duplicate
    FROM input i
    LEFT JOIN added a ON a.stream = i.stream AND a.event_id = i.event_id
    LEFT JOIN syncline_inbox x ON a.id IS NULL AND x.stream = i.stream AND x.event_id = i.event_id
   ORDER BY i.ord`;

/**
 * The durable inbox of push sources in the PostgreSQL store (`InboxStore` in core/store.ts).
 *
 * Ids come from a sequence, drawn when a row is written, not when it commits: two appends could
 * draw 10 and 11 and commit 11 first, and a run reading `id > afterId` then would checkpoint 11 and
 * never see 10. So an append holds an advisory lock of its stream (and schema) from before it draws
 * its id until COMMIT, as commits do for the change log's `seq` (postgres-page-commit.ts): within a
 * stream, ids increase in commit order, and a reader never passes an id that commits later. The
 * lock is per stream, since a reader reads one stream: appends to other streams do not wait. It is
 * released only after the commit is visible, so the next append's id is higher than every
 * committed one. Each append commits before it resolves (`synchronous_commit` as the server has it,
 * on by default): durable then.
 */
export class PostgresInbox implements InboxStore {
  readonly #db: PostgresQueries;
  readonly #schema: string;

  constructor(db: PostgresQueries, schema: string) {
    this.#db = db;
    this.#schema = schema;
  }

  /** Appends arriving while one commits share the next transaction (see `GroupCommit`). */
  readonly #appends = new GroupCommit<InboxEvent, Added>((events) => this.#append(events));

  addInboxEvent(event: InboxEvent): Promise<Added> {
    return this.#appends.add(event);
  }

  #append(events: readonly InboxEvent[]): Promise<Added[]> {
    const first = events[0]!;
    const what =
      events.length === 1
        ? `adding event "${first.eventId}" to the inbox`
        : `adding ${events.length} events to the inbox`;
    return this.#db.transaction(what, first.stream, async (client) => {
      // Every stream of the batch locked first, in one order (two batches never wait on each other
      // in a cycle), held to COMMIT.
      for (const stream of [...new Set(events.map((e) => e.stream))].sort()) {
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `syncline:inbox:${this.#schema}:${stream}`,
        ]);
      }
      const { rows } = await client.query<{ id: string | null; duplicate: boolean }>(INSERT_SQL, [
        events.map((e) => e.stream),
        events.map((e) => e.eventId),
        events.map((e) => e.receivedAt),
        events.map((e) => JSON.stringify(e.headers)),
        events.map((e) => e.body),
      ]);
      const seen = new Set<string>();
      const added: Added[] = rows.map((row, i) => {
        // Under the lock the duplicate's row is visible (committed before, or written by this
        // statement); a prune in between would leave it to this snapshot still (MVCC).
        if (row.id === null) {
          throw new Error(`the inbox found neither a new row nor a duplicate for "${events[i]!.eventId}"`);
        }
        const again = !row.duplicate && seen.has(row.id);
        seen.add(row.id);
        return { id: Number(row.id), duplicate: row.duplicate || again };
      });
      return added;
    });
  }

  async readInbox(args: { stream: string; afterId: number; limit: number }): Promise<StoredInboxEvent[]> {
    const rows = await this.#db.query<InboxRow>(
      'reading the inbox',
      args.stream,
      `SELECT id, stream, event_id, received_at, headers, body FROM syncline_inbox
      WHERE stream = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [args.stream, args.afterId, args.limit],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      stream: row.stream,
      eventId: row.event_id,
      receivedAt: iso(row.received_at),
      headers: row.headers,
      body: row.body,
    }));
  }

  async inboxBacklog(args: { stream: string; afterId: number; limit: number }): Promise<number> {
    const [row] = await this.#db.query<{ n: number }>(
      'counting the inbox backlog',
      args.stream,
      // The LIMIT inside: a long backlog is counted up to `limit`, not walked whole.
      `SELECT count(*)::int AS n FROM (
        SELECT 1 FROM syncline_inbox WHERE stream = $1 AND id > $2 LIMIT $3
      ) AS backlog`,
      [args.stream, args.afterId, args.limit],
    );
    return row?.n ?? 0;
  }

  async pruneInbox(args: { stream: string; appliedUpTo: number; receivedBefore: string }): Promise<number> {
    const [row] = await this.#db.query<{ deleted: number }>(
      'pruning the inbox',
      args.stream,
      `WITH gone AS (
        DELETE FROM syncline_inbox WHERE stream = $1 AND id <= $2 AND received_at < $3::timestamptz
        RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`,
      [args.stream, args.appliedUpTo, args.receivedBefore],
    );
    return row?.deleted ?? 0;
  }
}
