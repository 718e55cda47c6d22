import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { freshPgSchema, withPgClient } from '../helpers/postgres.ts';
import { STORE_KINDS } from '../helpers/stores.ts';
import { BIN, type CliResult, collect, makeProject, runCli } from './cli-harness.ts';

// Slow (about a minute): each case runs the real CLI against real files and PostgreSQL schemas,
// some as another user to get a read-only store.

/**
 * How the CLI opens its store: read-only commands never create one, a store that cannot be written
 * is refused at open, and a table named like a stream that is not Syncline's is never adopted.
 * Each failure is exit 2 and one line on stderr.
 */

/** Exit 2 and exactly one line on stderr, `syncline: ...`; returns that line. */
function expectOneLineExit2(result: CliResult): string {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^syncline: /);
  return lines[0]!;
}

/** A location of `kind` that holds nothing yet, how to inspect it, and how to remove it. */
async function emptyLocation(kind: 'sqlite' | 'postgres', dir: string, password = '') {
  if (kind === 'sqlite') {
    const path = join(dir, 'typo.db');
    return {
      location: path,
      shown: 'typo.db',
      /** The tables in it, or null when the file does not exist. */
      tables: async (): Promise<string[] | null> => {
        if (!existsSync(path)) return null;
        const db = new Database(path, { readonly: true });
        try {
          return db
            .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .pluck()
            .all();
        } finally {
          db.close();
        }
      },
      exec: async (sql: string) => {
        const db = new Database(path);
        db.exec(sql);
        db.close();
      },
      rows: async (table: string) => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare(`SELECT * FROM "${table}" ORDER BY 1`).all();
        } finally {
          db.close();
        }
      },
      drop: async () => undefined,
    };
  }
  const pg = await freshPgSchema({ create: false });
  const url = password ? pg.url.replace('postgres@', `postgres:${password}@`) : pg.url;
  return {
    location: `${url}?schema=${pg.schema}`,
    shown: pg.schema,
    tables: () =>
      withPgClient(async (c) => {
        const exists = await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [pg.schema]);
        if (exists.rowCount === 0) return null;
        const { rows } = await c.query<{ name: string }>(
          'SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1',
          [pg.schema],
        );
        return rows.map((r) => r.name);
      }),
    exec: (sql: string) =>
      withPgClient(async (c) => {
        await c.query(
          `CREATE SCHEMA IF NOT EXISTS "${pg.schema}"; SET search_path TO "${pg.schema}"; ${sql}`,
        );
      }),
    rows: (table: string) =>
      withPgClient(async (c) => (await c.query(`SELECT * FROM "${pg.schema}"."${table}" ORDER BY 1`)).rows),
    drop: () => pg.drop(),
  };
}

/** A user's own table that happens to be named like the project's stream. */
const USERS_ITEMS = `CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);
  INSERT INTO items VALUES (1, 'mine'), (2, 'also mine');`;

describe.each(STORE_KINDS)('opening the store from the CLI on %s', (kind) => {
  let project: ReturnType<typeof makeProject> | null = null;
  let drop: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await drop?.();
    project?.cleanup();
    project = null;
    drop = null;
  });

  it('says a store that does not exist does not exist, for every command that needs one, and creates nothing', async () => {
    project = makeProject({ records: 5, delayMs: 0 });
    const where = await emptyLocation(kind, project.dir, 's3cret-pw');
    drop = where.drop;
    for (const command of [
      ['status'],
      ['runs'],
      ['failed'],
      ['reset', 'items', '--yes'],
      ['approve', 'items'],
      ['changes'],
      ['changes', '--consumer', 'c', '--follow'],
    ]) {
      const result = await runCli([...command, '--store', where.location], project.dir);
      const line = expectOneLineExit2(result);
      expect(line).toMatch(/no Syncline store/);
      expect(line).toContain(where.shown);
      expect(line).not.toContain('s3cret-pw');
      expect(await where.tables(), command.join(' ')).toBeNull();
    }
  }, 180_000);

  it('refuses to add Syncline tables where a table named like a stream is not a Syncline table', async () => {
    project = makeProject({ records: 5, delayMs: 0 });
    const where = await emptyLocation(kind, project.dir);
    drop = where.drop;
    await where.exec(USERS_ITEMS);
    const rowsBefore = await where.rows('items');
    const line = expectOneLineExit2(await runCli(['sync', '--store', where.location], project.dir));
    expect(line).toMatch(/table "items" .*is not a Syncline stream table.*lacks _key, _data/);
    expect(await where.tables()).toEqual(['items']);
    expect(await where.rows('items')).toEqual(rowsBefore);
  }, 180_000);

  it('refuses a stream whose table in an existing Syncline store has another shape, naming what it lacks', async () => {
    project = makeProject({ records: 5, delayMs: 0 });
    const where = await emptyLocation(kind, project.dir);
    drop = where.drop;
    await (await openStore(where.location)).close();
    await where.exec(USERS_ITEMS);
    const tablesBefore = await where.tables();
    const rowsBefore = await where.rows('items');
    const line = expectOneLineExit2(await runCli(['sync', '--store', where.location], project.dir));
    expect(line).toMatch(
      /table "items" .*is not a Syncline stream table: it lacks _key, _data, _hash, _version, _cursor, _first_synced_at, _synced_at, _deleted_at, _run_id/,
    );
    expect(await where.tables()).toEqual(tablesBefore);
    expect(await where.rows('items')).toEqual(rowsBefore);
    expect(await where.rows('syncline_state')).toEqual([]);
  }, 180_000);
});

/**
 * Runs the CLI as a user the file permissions apply to: as root (which may write any file), as
 * `nobody`.
 */
function runCliAsUser(args: readonly string[], cwd: string): Promise<CliResult> {
  const asRoot = process.getuid?.() === 0;
  return collect(
    spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, SYNCLINE_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    }),
  );
}

describe('a read-only SQLite store', () => {
  let project: ReturnType<typeof makeProject> | null = null;
  const readOnlyDirs: string[] = [];
  afterEach(() => {
    for (const dir of readOnlyDirs.splice(0)) chmodSync(dir, 0o755);
    project?.cleanup();
    project = null;
  });

  /** A project whose store `syncline.db` has a synced stream, readable and writable by the CLI's user. */
  async function syncedProject(storeDir: string) {
    project = makeProject({ records: 5, delayMs: 0 });
    chmodSync(project.dir, 0o777);
    const dir = join(project.dir, storeDir);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    const path = join(dir, 'syncline.db');
    expect((await runCliAsUser(['sync', '--store', path], project.dir)).code).toBe(0);
    return { dir: project.dir, storeDir: dir, path };
  }

  it('refuses a sync into a read-only file at open: exit 2, one line saying what to do', async () => {
    const { dir, path } = await syncedProject('.');
    chmodSync(path, 0o444);
    const line = expectOneLineExit2(await runCliAsUser(['sync', '--store', path], dir));
    expect(line).toMatch(/cannot write the SQLite store at ".*syncline\.db": .*read-only.*make .*writable/);
  }, 180_000);

  it('still lists a read-only file with the read-only commands', async () => {
    const { dir, path } = await syncedProject('.');
    chmodSync(path, 0o444);
    const status = await runCliAsUser(['status', '--json', '--store', path], dir);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ stream: 'items', records: 5 })]);
    const runs = await runCliAsUser(['runs', '--store', path], dir);
    expect(runs.code, runs.stderr).toBe(0);
  }, 180_000);

  it('refuses a sync into a file whose directory is read-only (no room for the WAL): exit 2, one line', async () => {
    const { dir, storeDir, path } = await syncedProject('store');
    chmodSync(storeDir, 0o555);
    readOnlyDirs.push(storeDir);
    const line = expectOneLineExit2(await runCliAsUser(['sync', '--store', path], dir));
    expect(line).toMatch(
      /cannot write the SQLite store at ".*syncline\.db": its directory is read-only.*-wal/,
    );
  }, 180_000);
});
