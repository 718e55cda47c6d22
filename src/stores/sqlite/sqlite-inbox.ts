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

/** Events per INSERT statement (5 parameters each, far below SQLite's limit). */
const ROWS_PER_INSERT = 200;

/**
 * The events given (one row each, in order, so their ids increase in that order), except those
 * whose `(stream, event_id)` is there already: the rows added come back, in no promised order.
 */
function insertSql(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ');
  return `INSERT INTO syncline_inbox (stream, event_id, received_at, headers, body) VALUES ${values}
  ON CONFLICT (stream, event_id) DO NOTHING RETURNING id, stream, event_id`;
}

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
      const add = s.db.transaction((): Added[] => {
        const ids = new Map<string, number>();
        for (let start = 0; start < events.length; start += ROWS_PER_INSERT) {
          const chunk = events.slice(start, start + ROWS_PER_INSERT);
          const params = chunk.flatMap((e) => [
            e.stream,
            e.eventId,
            e.receivedAt,
            JSON.stringify(e.headers),
            e.body,
          ]);
          const rows = s
            .sql<unknown[], { id: number; stream: string; event_id: string }>(insertSql(chunk.length))
            .all(...params);
          for (const row of rows) ids.set(`${row.stream}\u0000${row.event_id}`, row.id);
        }
        // Each event added answers its id; a later copy of it in this batch, or one the inbox had
        // before, is a duplicate of that row.
        const answered = new Set<string>();
        return events.map((event) => {
          const key = `${event.stream}\u0000${event.eventId}`;
          const added = ids.get(key);
          if (added !== undefined && !answered.has(key)) {
            answered.add(key);
            return { id: added, duplicate: false };
          }
          if (added !== undefined) return { id: added, duplicate: true };
          const existing = s
            .sql<[string, string], { id: number }>(
              'SELECT id FROM syncline_inbox WHERE stream = ? AND event_id = ?',
            )
            .get(event.stream, event.eventId);
          // The conflict and this read are in one write transaction: the row cannot be gone.
          if (!existing) throw new Error(`the inbox lost event "${event.eventId}" between two statements`);
          return { id: existing.id, duplicate: true };
        });
      });
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
