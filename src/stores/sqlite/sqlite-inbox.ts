import type { InboxEvent, InboxStore, StoredInboxEvent } from '../../core/store.ts';
import { GroupCommit } from '../group-commit.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import type { SqliteSession } from './sqlite-session.ts';

/** What an append answers. */
type Added = { readonly id: number; readonly duplicate: boolean };

/** A `syncline_inbox` row, as `readInbox` reads it. */
interface InboxRow {
  id: number;
  stream: string;
  event_id: string;
  received_at: string;
  headers: string;
  body: string;
}

/** The event, unless `(stream, event_id)` is there already: then no row comes back. */
const INSERT_SQL = `INSERT INTO syncline_inbox (stream, event_id, received_at, headers, body)
  VALUES (@stream, @eventId, @receivedAt, @headers, @body)
  ON CONFLICT (stream, event_id) DO NOTHING RETURNING id`;

/**
 * The durable inbox of push sources in the SQLite store (`InboxStore` in core/store.ts). Appends
 * go through the main connection, as the other role modules' writes: one `BEGIN IMMEDIATE`
 * transaction holds SQLite's single write lock, so ids increase in commit order (across processes
 * too) and the insert and the read of a duplicate's id see the same inbox.
 */
export class SqliteInbox implements InboxStore {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  /** Appends arriving together share a transaction and its sync (see `GroupCommit`). */
  readonly #appends = new GroupCommit<InboxEvent, Added>(async (events) => this.#append(events));

  addInboxEvent(event: InboxEvent): Promise<Added> {
    return this.#appends.add(event);
  }

  #append(events: readonly InboxEvent[]): Added[] {
    const first = events[0]!;
    const what =
      events.length === 1
        ? `add event "${first.eventId}" to the inbox`
        : `add ${events.length} events to the inbox`;
    return this.#runtime.guard(what, first.stream, (s) => {
      const add = s.db.transaction((): Added[] =>
        events.map((event) => {
          const inserted = s.sql<[Record<string, string>], { id: number }>(INSERT_SQL).get({
            stream: event.stream,
            eventId: event.eventId,
            receivedAt: event.receivedAt,
            headers: JSON.stringify(event.headers),
            body: event.body,
          });
          if (inserted) return { id: inserted.id, duplicate: false };
          const existing = s
            .sql<[string, string], { id: number }>(
              'SELECT id FROM syncline_inbox WHERE stream = ? AND event_id = ?',
            )
            .get(event.stream, event.eventId);
          // The conflict and this read are in one write transaction: the row cannot be gone.
          if (!existing) throw new Error(`the inbox lost event "${event.eventId}" between two statements`);
          return { id: existing.id, duplicate: true };
        }),
      );
      // Durable when it resolves: the event is answered 2xx after this, and the provider will not
      // send it again. The store's connections run `synchronous = NORMAL` (a commit survives kill -9,
      // not power loss); an inbox append must survive both, so it syncs the WAL at its commit
      // (FULL), and the connection goes back to NORMAL for the commits of pages.
      s.db.pragma('synchronous = FULL');
      try {
        return add.immediate();
      } finally {
        s.db.pragma('synchronous = NORMAL');
      }
    });
  }

  async readInbox(args: { stream: string; afterId: number; limit: number }): Promise<StoredInboxEvent[]> {
    const rows = this.#runtime.guard('read the inbox', args.stream, (s) =>
      s
        .sql<[string, number, number], InboxRow>(
          `SELECT id, stream, event_id, received_at, headers, body FROM syncline_inbox
          WHERE stream = ? AND id > ? ORDER BY id LIMIT ?`,
        )
        .all(args.stream, args.afterId, args.limit),
    );
    return rows.map((row) => ({
      id: row.id,
      stream: row.stream,
      eventId: row.event_id,
      receivedAt: row.received_at,
      headers: JSON.parse(row.headers) as Record<string, string>,
      body: row.body,
    }));
  }

  async inboxBacklog(args: { stream: string; afterId: number; limit: number }): Promise<number> {
    return this.#runtime.guard('count the inbox backlog', args.stream, (s) =>
      s
        .sql<[string, number, number], { n: number }>(
          // The LIMIT inside: a long backlog is counted up to `limit`, not walked whole.
          `SELECT count(*) AS n FROM (
            SELECT 1 FROM syncline_inbox WHERE stream = ? AND id > ? LIMIT ?
          )`,
        )
        .get(args.stream, args.afterId, args.limit),
    )!.n;
  }

  async pruneInbox(args: { stream: string; appliedUpTo: number; receivedBefore: string }): Promise<number> {
    return this.#runtime.guard(
      'prune the inbox',
      args.stream,
      (s) =>
        s
          .sql<[string, number, string]>(
            'DELETE FROM syncline_inbox WHERE stream = ? AND id <= ? AND received_at < ?',
          )
          .run(args.stream, args.appliedUpTo, args.receivedBefore).changes,
    );
  }
}
