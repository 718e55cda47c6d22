import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../core/errors.ts';
import type { Store } from '../../core/store.ts';
import { describeStoreContract, type StoreHandle } from '../store.contract.ts';
import { loadSqliteMigrations, migrateSqlite } from './sqlite-migrations.ts';
import { SqliteStore } from './sqlite-store.ts';

/** A fresh directory under the OS temp dir, with `syncline.db` in it; dispose removes it. */
async function makeStore(): Promise<StoreHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'syncline-sqlite-'));
  const path = join(dir, 'syncline.db');
  const opened: Store[] = [];
  async function openOne(): Promise<Store> {
    const store = new SqliteStore({ path });
    await store.open();
    opened.push(store);
    return store;
  }
  const store = await openOne();
  return {
    store,
    another: openOne,
    async dispose() {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeStoreContract('sqlite', makeStore);

describe('SqliteStore', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'syncline-sqlite-'));
    path = join(dir, 'syncline.db');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function schemaRows(): { version: number; applied_at: string }[] {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare<[], { version: number; applied_at: string }>('SELECT * FROM syncline_schema').all();
    } finally {
      db.close();
    }
  }

  it('opens the file in WAL mode', async () => {
    const store = new SqliteStore({ path });
    await store.open();
    await store.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('closes idempotently', async () => {
    const store = new SqliteStore({ path });
    await store.open();
    await store.close();
    await store.close();
  });

  it('refuses a path in a missing directory with one line naming the path', async () => {
    const missing = join(dir, 'no-such-dir', 'syncline.db');
    const error = await new SqliteStore({ path: missing }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(missing);
    expect(message).not.toContain('\n');
  });

  it('refuses a file that is not a database with one line naming the path and the reason', async () => {
    await writeFile(path, 'this is a text file, not an SQLite database\n'.repeat(100));
    const error = await new SqliteStore({ path }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(path);
    expect(message).toMatch(/not a database/);
    expect(message).not.toContain('\n');
  });

  it('does not re-apply migrations when it reopens a file', async () => {
    const first = new SqliteStore({ path });
    await first.open();
    await first.close();
    const before = schemaRows();
    expect(before.map((r) => r.version)).toEqual(loadSqliteMigrations().map((m) => m.version));
    const again = new SqliteStore({ path });
    await again.open();
    await again.close();
    expect(schemaRows()).toEqual(before);
    const db = new Database(path);
    expect(migrateSqlite(db)).toBe(0);
    db.close();
  });

  it('migrates once when several processes open the same new file at the same moment', async () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const storeModule = fileURLToPath(new URL('./sqlite-store.ts', import.meta.url));
    // Each child waits for the same instant, then opens the store and creates the same stream.
    const startAt = Date.now() + 1500;
    const script = `
      const { SqliteStore } = await import(${JSON.stringify(storeModule)});
      while (Date.now() < ${startAt}) {}
      const store = new SqliteStore({ path: ${JSON.stringify(path)} });
      await store.open();
      await store.ensureStream('customers');
      await store.close();
    `;
    const run = promisify(execFile);
    const children = Array.from({ length: 4 }, () =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root }),
    );
    await Promise.all(children);
    expect(schemaRows().map((r) => r.version)).toEqual(loadSqliteMigrations().map((m) => m.version));
    const store = new SqliteStore({ path });
    await store.open();
    expect((await store.listStreams()).map((s) => s.stream)).toEqual(['customers']);
    await store.close();
  });
});
