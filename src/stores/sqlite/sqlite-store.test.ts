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
import {
  contractSteps,
  expectMigratedFromVersion1,
  HISTORY_ORDER,
  type HistoryRow,
  isoOf,
  write,
} from '../store-contract-support.ts';
import { configureConnection, initializeFile } from './sqlite-connection.mjs';
import { loadSqliteMigrations, migrateSqlite } from './sqlite-migrations.ts';
import { SqliteStore } from './sqlite-store.ts';

const T_NEW = '2026-02-01T00:00:00.000Z';

/** A fresh directory under the OS temp dir, with `syncline.db` in it; dispose removes it. */
/** `inlineCommits: false`: every commit goes through the writer thread, as in a long run. */
async function makeStore(inlineCommits = true): Promise<StoreHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'syncline-sqlite-'));
  const path = join(dir, 'syncline.db');
  const opened: Store[] = [];
  async function openOne(): Promise<Store> {
    const store = new SqliteStore({ path, inlineCommits });
    await store.open();
    opened.push(store);
    return store;
  }
  const store = await openOne();
  return {
    store,
    another: openOne,
    unopened() {
      const unopened = new SqliteStore({ path, inlineCommits });
      opened.push(unopened);
      return unopened;
    },
    async dispose() {
      for (const s of opened) await s.close();
      await rm(dir, { recursive: true, force: true });
    },
    readHistory: async (stream) => readSqliteHistory(path, stream),
    query: async (sql) => {
      const db = new Database(path);
      try {
        const statement = db.prepare<[], Record<string, unknown>>(sql);
        if (statement.reader) return statement.all();
        statement.run();
        return [];
      } finally {
        db.close();
      }
    },
  };
}

interface SqliteHistoryRow {
  _key: string;
  _data: string;
  _hash: string;
  _version: string | null;
  _valid_from: string;
  _valid_to: string | null;
  _run_id: string;
  _deleted: number;
}

/** `<stream>_history` read on a connection of its own. */
function readSqliteHistory(path: string, stream: string): HistoryRow[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], SqliteHistoryRow>(`SELECT * FROM "${stream}_history" ${HISTORY_ORDER}`)
      .all()
      .map((r) => ({
        key: r._key,
        data: JSON.parse(r._data),
        hash: r._hash,
        version: r._version,
        validFrom: isoOf(r._valid_from),
        validTo: r._valid_to === null ? null : isoOf(r._valid_to),
        runId: r._run_id,
        deleted: r._deleted === 1,
      }));
  } finally {
    db.close();
  }
}

describeStoreContract('sqlite', () => makeStore());
describeStoreContract('sqlite', () => makeStore(false), 'commits on the writer thread only');

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

  for (const inlineCommits of [true, false]) {
    it(`names the key of the write that failed, wherever it is in the page (${inlineCommits ? 'inline' : 'writer thread'})`, async () => {
      const store = new SqliteStore({ path, inlineCommits });
      await store.open();
      try {
        await store.ensureStream('customers');
        const { lease, startedRun, commit } = contractSteps(() => store);
        const l = await lease();
        const runId = await startedRun(l);
        await store.commitPage(commit(l, runId, { writes: [write('a'), write('b')] }));
        // The failing write is the third of the page and the second of its step.
        const claimedAbsent = [
          write('x'),
          write('y', { kind: 'update', existed: true }),
          write('b'),
          write('z'),
        ];
        await expect(store.commitPage(commit(l, runId, { writes: claimedAbsent }))).rejects.toThrow(
          'key "b" was written as new but is already stored',
        );
        const claimedPresent = [
          write('p'),
          write('a', { kind: 'update', existed: true }),
          write('q', { kind: 'update', existed: true }),
        ];
        await expect(store.commitPage(commit(l, runId, { writes: claimedPresent }))).rejects.toThrow(
          'key "q" was written as stored but is not in the table',
        );
        expect(
          [...(await store.lookup('customers', ['a', 'b', 'p', 'q', 'x', 'y', 'z'])).keys()].sort(),
        ).toEqual(['a', 'b']);
      } finally {
        await store.close();
      }
    });
  }

  it('checkpoints the WAL every 256 MiB, counted in pages of each file', () => {
    for (const pageSize of [4096, 16_384]) {
      const file = join(dir, `pages-${pageSize}.db`);
      const db = new Database(file);
      db.pragma(`page_size = ${pageSize}`);
      initializeFile(db);
      configureConnection(db, { busyTimeoutMs: 100, cacheSizeKiB: 1024 });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe((256 * 1024 * 1024) / pageSize);
      db.close();
    }
  });

  it('migrates a database of schema version 1 to the latest, keeping its data', async () => {
    const old = new Database(path);
    expect(migrateSqlite(old, loadSqliteMigrations().slice(0, 1))).toBe(1);
    // What a store of version 1 wrote: a state row, a stream table with a row, a run, a change.
    old.exec(`
      INSERT INTO syncline_state (stream, checkpoint, newest_cursor, lease_epoch, updated_at)
        VALUES ('customers', '{"page":7}', '2025-12-31', 3, '2026-01-01T00:00:00.000Z');
      CREATE TABLE "customers" (_key TEXT PRIMARY KEY, _data TEXT NOT NULL, _hash TEXT NOT NULL,
        _version TEXT, _cursor TEXT, _first_synced_at TEXT NOT NULL, _synced_at TEXT NOT NULL,
        _deleted_at TEXT, _run_id TEXT NOT NULL);
      INSERT INTO "customers" VALUES ('a', '{"id":"a"}', 'ha', '1', NULL, '2026-01-01T00:00:00.000Z',
        '2026-01-01T00:00:00.000Z', NULL, 'old-run');
      INSERT INTO syncline_runs (run_id, stream, status, started_at, ended_at, checkpoint_after, pages, inserted)
        VALUES ('old-run', 'customers', 'ok', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '{"page":7}', 7, 1);
      INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
        VALUES ('customers', 'a', 'insert', 'ha', '1', 'old-run', '2026-01-01T00:00:00.000Z');
    `);
    old.close();

    const store = new SqliteStore({ path });
    await store.open();
    try {
      expect(schemaRows().map((r) => r.version)).toEqual(loadSqliteMigrations().map((m) => m.version));
      await expectMigratedFromVersion1(store, T_NEW);
    } finally {
      await store.close();
    }
  });

  it('keeps what it wrote with the new columns across close and reopen', async () => {
    const first = new SqliteStore({ path });
    await first.open();
    await first.ensureStream('customers', { history: true });
    await first.setApproval('customers', true, T_NEW);
    await first.close();
    const again = new SqliteStore({ path });
    await again.open();
    try {
      expect((await again.getState('customers'))?.approved).toBe(true);
      expect(await again.countUnseen('customers', 'none')).toEqual({ live: 0, unseen: 0 });
    } finally {
      await again.close();
    }
  });

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

  it("does not adopt the user's own table named like a stream: ensureStream refuses it and creates nothing", async () => {
    const db = new Database(path);
    db.exec(
      "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'mine')",
    );
    db.close();
    const store = new SqliteStore({ path });
    await store.open();
    try {
      const error = await store.ensureStream('customers').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(
        /^table "customers" in ".*" is not a Syncline stream table: it lacks _key/,
      );
      expect(await store.getState('customers')).toBeNull();
    } finally {
      await store.close();
    }
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT * FROM customers').all()).toEqual([{ id: 1, name: 'mine' }]);
    expect(
      after.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'customers%'").pluck().all(),
    ).toEqual(['customers']);
    after.close();
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
