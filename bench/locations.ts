import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Fresh, empty places to write for every measurement: a PostgreSQL schema `bench_<pid>_<random>`
 * or a SQLite file in a temp directory `syncline-bench-<pid>-...`. Each is removed after its
 * measurement, and whatever is left when the bench stops (an error, a signal) is removed by
 * `dropAll`. The pid in the names lets a harness that killed the bench clean up after it.
 */

/** The PostgreSQL server: `SYNCLINE_TEST_PG` (as the tests), else the local one. */
export function benchPgUrl(): string {
  return process.env.SYNCLINE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export type StoreKind = 'sqlite' | 'postgres';

export interface BenchLocation {
  readonly kind: StoreKind;
  /** What Syncline's `store` option takes. */
  readonly location: string;
  /** For raw clients: the server and schema, or the SQLite file. */
  readonly pg: { readonly url: string; readonly schema: string } | null;
  readonly sqlitePath: string | null;
}

/** Runs `fn` with a client connected to `url`. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export class Locations {
  readonly pgUrl: string;
  private readonly dir: string;
  private readonly live = new Set<BenchLocation>();
  private counter = 0;

  constructor(pgUrl: string) {
    this.pgUrl = pgUrl;
    this.dir = mkdtempSync(join(tmpdir(), `syncline-bench-${process.pid}-`));
  }

  async fresh(kind: StoreKind): Promise<BenchLocation> {
    await this.settle();
    let location: BenchLocation;
    if (kind === 'sqlite') {
      const path = join(this.dir, `bench-${++this.counter}.db`);
      location = { kind, location: path, pg: null, sqlitePath: path };
    } else {
      const schema = `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
      await withPg(this.pgUrl, (client) => client.query(`CREATE SCHEMA "${schema}"`));
      const separator = this.pgUrl.includes('?') ? '&' : '?';
      location = {
        kind,
        location: `${this.pgUrl}${separator}schema=${schema}`,
        pg: { url: this.pgUrl, schema },
        sqlitePath: null,
      };
    }
    this.live.add(location);
    return location;
  }

  /** A new empty folder under the bench's own (removed with it): a project directory for a child. */
  scratchDir(): string {
    const dir = join(this.dir, `scratch-${++this.counter}`);
    mkdirSync(dir);
    return dir;
  }

  /**
   * Has PostgreSQL write out what the measurement before left (a COPY of a million rows leaves
   * a checkpoint's worth of WAL, which it would otherwise write while the next one runs: an
   * incremental run right after a full sync measured 1.0 s during that checkpoint, 0.4-0.6 s
   * without). A server that refuses CHECKPOINT (no superuser, no pg_checkpoint role) is measured
   * as it is.
   */
  async settle(): Promise<void> {
    await withPg(this.pgUrl, (client) => client.query('CHECKPOINT')).catch(() => undefined);
  }

  /** Removes one location (the schema with everything in it and its job queue, or the file and its WAL). */
  async drop(location: BenchLocation): Promise<void> {
    this.live.delete(location);
    if (location.pg !== null) {
      const { schema } = location.pg;
      // And the job queue a `syncline run` on it creates beside it (`<schema>_jobs`).
      await withPg(this.pgUrl, (client) =>
        client.query(
          `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_jobs" CASCADE`,
        ),
      );
    }
    if (location.sqlitePath !== null) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${location.sqlitePath}${suffix}`, { force: true });
    }
  }

  /** Removes every location still there and the temp directory. */
  async dropAll(): Promise<void> {
    for (const location of [...this.live]) await this.drop(location).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The PostgreSQL server's version, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
export async function pgServerVersion(url: string): Promise<string> {
  return withPg(url, async (client) => {
    const res = await client.query<{ server_version: string }>('SHOW server_version');
    return res.rows[0]!.server_version;
  });
}
