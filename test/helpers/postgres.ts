import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl, scrubSecret } from '../../src/core/redact-url.ts';

/**
 * PostgreSQL for tests: every test gets its own schema in one shared database, so tests run in
 * parallel and leave nothing behind. A missing server fails the tests loudly; it never skips them.
 */

/** The server tests use: `SYNCLINE_TEST_PG`, else the local one (trust auth, database `test`). */
export function pgTestUrl(): string {
  return process.env.SYNCLINE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export interface FreshPgSchema {
  readonly url: string;
  /** `t_<pid>_<random>`: unique per call, a plain identifier. */
  readonly schema: string;
  /** Drops the schema and everything in it, and its job queue's schema (idempotent). */
  drop(): Promise<void>;
}

/**
 * A new, empty schema on the test server. With `create: false` only the name is reserved (for tests
 * of creating it); `drop()` removes it either way.
 */
export async function freshPgSchema(options: { create?: boolean } = {}): Promise<FreshPgSchema> {
  const url = pgTestUrl();
  const schema = `t_${process.pid}_${randomBytes(5).toString('hex')}`;
  await withPgClient(async (client) => {
    if (options.create !== false) await client.query(`CREATE SCHEMA "${schema}"`);
  });
  return {
    url,
    schema,
    drop: () =>
      withPgClient((client) =>
        // Its job queue too, which a service on this schema creates beside it (`<schema>_jobs`).
        client
          .query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`)
          .then(() => undefined),
      ),
  };
}

/** Runs `fn` with a connected client on the test server; throws how to start it if unreachable. */
export async function withPgClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = pgTestUrl();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const message =
      error instanceof Error ? error.message || String((error as { code?: string }).code) : String(error);
    const reason = scrubSecret(message, passwordOf(url));
    throw new Error(
      `PostgreSQL is not reachable at ${redactUrl(url)}: ${reason}. Start it with: ` +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or point SYNCLINE_TEST_PG at a server.',
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function passwordOf(url: string): string {
  try {
    return new URL(url).password;
  } catch {
    return '';
  }
}
