import pg from 'pg';
import { CONNECT_TIMEOUT_MS } from './postgres-errors.ts';

/**
 * The channel every commit that appends to a change log notifies (`pg_notify`, delivered when the
 * transaction commits), with the store's schema as payload: one channel for the whole server, so
 * listening needs no quoting, and each listener keeps its own schema's notifications.
 */
export const COMMIT_CHANNEL = 'syncline_changes';

/** How long a lost listening connection waits before connecting again, at first and at most. */
const RECONNECT_MS = { first: 500, max: 30_000 };

/** A running commit watch: `close()` ends its connection. */
export interface CommitWatch {
  close(): Promise<void>;
}

/**
 * Calls `onCommit` when any process commits changes to the change log of `schema` (PostgreSQL
 * `LISTEN`), over a connection of its own outside the pool. A lost connection is opened again with
 * backoff, and `onCommit` is called once it is back (notifications sent meanwhile are lost), so a
 * reader that re-reads on each call misses nothing; readers keep polling slowly as the net under it.
 */
export function watchPgCommits(args: {
  readonly url: string;
  readonly schema: string;
  readonly onCommit: () => void;
}): CommitWatch {
  let closed = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delay = RECONNECT_MS.first;

  const connect = async (): Promise<void> => {
    timer = null;
    if (closed) return;
    const next = new pg.Client({
      connectionString: args.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'syncline-listen',
    });
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      next.end().catch(() => undefined);
      if (client === next) client = null;
      if (!closed) {
        timer = setTimeout(() => void connect(), delay);
        delay = Math.min(RECONNECT_MS.max, delay * 2);
      }
    };
    next.on('error', onLost);
    next.on('end', onLost);
    next.on('notification', (message) => {
      if (message.channel === COMMIT_CHANNEL && message.payload === args.schema) args.onCommit();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${COMMIT_CHANNEL}`);
    } catch {
      onLost();
      return;
    }
    if (closed) {
      await next.end().catch(() => undefined);
      return;
    }
    client = next;
    delay = RECONNECT_MS.first;
    args.onCommit(); // anything committed while it was not listening
  };

  void connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const open = client;
      client = null;
      await open?.end().catch(() => undefined);
    },
  };
}
