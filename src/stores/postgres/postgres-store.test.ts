import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freshPgSchema, withPgClient } from '../../../test/helpers/postgres.ts';
import { FatalError, LeaseLostError, StoreUnavailableError, TransientError } from '../../core/errors.ts';
import type { Lease } from '../../core/types.ts';
import { describeStoreContract, type StoreHandle, write } from '../store.contract.ts';
import {
  expectMigratedFromVersion1,
  HISTORY_ORDER,
  type HistoryRow,
  isoOf,
} from '../store-contract-support.ts';
import { loadMigrations } from './postgres-migrations.ts';
import { COPY_THRESHOLD } from './postgres-page-commit.ts';
import { PostgresStore } from './postgres-store.ts';

// Slow-ish (about 30 s): the store contract twice (inline and threaded commits) on fresh schemas of
// a real PostgreSQL.

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:01:00.000Z';

/** A store on a fresh schema; `another()` opens a second store (own pool) on the same schema. */
/** `inlineCommits: false`: every commit goes through the writer thread, as in a long run. */
async function makeStore(inlineCommits = true): Promise<StoreHandle> {
  const fresh = await freshPgSchema();
  const stores: PostgresStore[] = [];
  const open = async (): Promise<PostgresStore> => {
    const store = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 4, inlineCommits });
    stores.push(store);
    await store.open();
    return store;
  };
  const store = await open();
  return {
    store,
    another: open,
    unopened() {
      const unopened = new PostgresStore({
        url: fresh.url,
        schema: fresh.schema,
        poolSize: 4,
        inlineCommits,
      });
      stores.push(unopened);
      return unopened;
    },
    dispose: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.drop();
    },
    readHistory: (stream) => readPgHistory(fresh.schema, stream),
    query: (sql) =>
      withPgClient(async (c) => {
        await c.query(`SET search_path TO "${fresh.schema}"`);
        return (await c.query<Record<string, unknown>>(sql)).rows;
      }),
  };
}

/** `<stream>_history` of `schema`, read on a connection of its own. */
async function readPgHistory(schema: string, stream: string): Promise<HistoryRow[]> {
  const { rows } = await withPgClient((c) =>
    c.query<{
      _key: string;
      _data: HistoryRow['data'];
      _hash: string;
      _version: string | null;
      _valid_from: Date;
      _valid_to: Date | null;
      _run_id: string;
      _deleted: boolean;
    }>(`SELECT * FROM "${schema}"."${stream}_history" ${HISTORY_ORDER}`),
  );
  return rows.map((r) => ({
    key: r._key,
    data: r._data,
    hash: r._hash,
    version: r._version,
    validFrom: isoOf(r._valid_from),
    validTo: r._valid_to === null ? null : isoOf(r._valid_to),
    runId: r._run_id,
    deleted: r._deleted,
  }));
}

describeStoreContract('postgres', () => makeStore());
describeStoreContract('postgres', () => makeStore(false), 'commits on the writer thread only');

/** Runs `fn` on a fresh store with a leased `customers` stream and a started run `r1`. */
async function withLeasedStream(fn: (store: PostgresStore, lease: Lease, h: StoreHandle) => Promise<void>) {
  const handle = await makeStore();
  try {
    const store = handle.store as PostgresStore;
    await fn(store, await leaseAndStart(store), handle);
  } finally {
    await handle.dispose();
  }
}

/** Ensures `customers` on `store`, takes its lease as `h` and starts run `r1`. */
async function leaseAndStart(store: PostgresStore): Promise<Lease> {
  await store.ensureStream('customers');
  const got = await store.acquireLease({ stream: 'customers', holder: 'h', ttlMs: 60_000, at: T0 });
  if (!('lease' in got)) throw new Error('no lease');
  await store.startRun({
    runId: 'r1',
    stream: 'customers',
    lease: got.lease,
    at: T0,
    checkpointBefore: null,
  });
  return got.lease;
}

function page(lease: Lease, writes: ReturnType<typeof write>[], checkpoint: number) {
  return {
    stream: lease.stream,
    runId: 'r1',
    lease,
    writes,
    deadLetters: [],
    checkpoint: { page: checkpoint },
    newestCursor: null,
    counters: { pages: 1 },
    at: T1,
  };
}

describe('PostgresStore', () => {
  afterAll(async () => {
    const { rows } = await withPgClient((c) =>
      c.query('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`t\\_${process.pid}\\_%`]),
    );
    expect(rows).toEqual([]);
  });

  it.each([
    ['a port that is not a number', 'postgres://u:s3cret@127.0.0.1:notaport/x'],
    ['another scheme', 'mysql://u:s3cret@127.0.0.1:3306/x'],
  ])('refuses a malformed URL (%s) in one line without the password', async (_, url) => {
    const error = await new PostgresStore({ url }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const message = (error as Error).message;
    expect(message).not.toContain('s3cret');
    expect(message).not.toContain('\n');
    expect(message).toContain('malformed');
  });

  it('reports an unreachable server fast, in one line naming host:port/database without the password', async () => {
    const started = Date.now();
    const error = await new PostgresStore({ url: 'postgres://u:s3cret@127.0.0.1:1/x' })
      .open()
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const message = (error as Error).message;
    expect(message).toBe(
      'cannot connect to PostgreSQL at 127.0.0.1:1/x: connection refused (ECONNREFUSED); is the server running?',
    );
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('s3cret');
  });

  it('lets processes open a schema that does not exist yet at the same time, migrating it once', async () => {
    const fresh = await freshPgSchema({ create: false });
    const stores = Array.from(
      { length: 4 },
      () => new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 }),
    );
    try {
      await Promise.all(stores.map((s) => s.open()));
      await Promise.all(stores.map((s) => s.ensureStream('customers')));
      const { rows } = await withPgClient((c) =>
        c.query(`SELECT version FROM "${fresh.schema}".syncline_schema`),
      );
      expect(rows).toEqual((await loadMigrations()).map((m) => ({ version: m.version })));
      expect((await stores[3]!.getState('customers'))?.leaseEpoch).toBe(0);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.drop();
    }
  });

  it('migrates a schema of version 1 to the latest, keeping its data', async () => {
    const OLD = '2025-12-01T00:00:00.000Z';
    const fresh = await freshPgSchema();
    const [first] = await loadMigrations();
    await withPgClient(async (c) => {
      await c.query(`SET search_path TO "${fresh.schema}"`);
      await c.query(
        'CREATE TABLE syncline_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      await c.query(first!.sql);
      await c.query('INSERT INTO syncline_schema (version) VALUES (1)');
      // What a store of version 1 wrote: a state row, a stream table with a row, a run, a change.
      await c.query(`
        INSERT INTO syncline_state (stream, checkpoint, newest_cursor, lease_epoch)
          VALUES ('customers', '{"page":7}', '2025-12-31', 3);
        CREATE TABLE "customers" (_key text COLLATE "C" PRIMARY KEY, _data jsonb NOT NULL, _hash text NOT NULL,
          _version text, _cursor text, _first_synced_at timestamptz NOT NULL, _synced_at timestamptz NOT NULL,
          _deleted_at timestamptz, _run_id text NOT NULL);
        INSERT INTO "customers" VALUES ('a', '{"id":"a"}', 'ha', '1', NULL, '${OLD}', '${OLD}', NULL, 'old-run');
        INSERT INTO syncline_runs (run_id, stream, status, started_at, ended_at, checkpoint_after, pages, inserted)
          VALUES ('old-run', 'customers', 'ok', '${OLD}', '${OLD}', '{"page":7}', 7, 1);
        INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
          VALUES ('customers', 'a', 'insert', 'ha', '1', 'old-run', '${OLD}');`);
    });
    const store = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    try {
      await store.open();
      const { rows } = await withPgClient((c) =>
        c.query(`SELECT version FROM "${fresh.schema}".syncline_schema ORDER BY version`),
      );
      expect(rows).toEqual((await loadMigrations()).map((m) => ({ version: m.version })));
      await expectMigratedFromVersion1(store, T1);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });

  it('round-trips keys and JSON with tabs, newlines, backslashes, quotes and unicode through COPY', async () => {
    await withLeasedStream(async (store, lease) => {
      const nasty = [
        'tab\there',
        'new\nline',
        'back\\slash',
        `"dq" 'sq'`,
        'ünïcødé ✓ 🚀',
        'cr\rlf',
        '\\N',
        'a\\tb',
      ];
      const writes = Array.from({ length: COPY_THRESHOLD * 2 }, (_, i) => {
        const key = `${nasty[i % nasty.length]}#${String(i).padStart(3, '0')}`;
        const data = JSON.stringify({ key, text: nasty, nested: { s: nasty[i % nasty.length], n: i } });
        return write(key, { data, cursor: nasty[i % nasty.length]!, version: `v\t${i}` });
      });
      await store.commitPage(page(lease, writes, 1));
      const rows = await store.scanRecords('customers', { limit: 1000 });
      expect(rows).toHaveLength(writes.length);
      const byKey = new Map(rows.map((r) => [r.key, r]));
      for (const w of writes) {
        const row = byKey.get(w.key);
        expect(row?.data).toEqual(JSON.parse(w.data));
        expect(row).toMatchObject({ hash: w.hash, cursor: w.cursor, version: w.version, deletedAt: null });
      }
      expect(
        (
          await store.lookup(
            'customers',
            writes.map((w) => w.key),
          )
        ).size,
      ).toBe(writes.length);
      const changes = await store.readChanges({ afterSeq: 0, limit: 1000 });
      expect(changes.map((c) => c.key)).toEqual(writes.map((w) => w.key));
    });
  });

  it('stores data as JSON objects, not as a double-encoded JSON string', async () => {
    await withLeasedStream(async (store, lease) => {
      const small = [write('a')];
      const large = Array.from({ length: COPY_THRESHOLD }, (_, i) => write(`b${i}`));
      await store.commitPage(page(lease, small, 1));
      await store.commitPage(page(lease, large, 2));
      await store.commitPage(page(lease, [write('a', { existed: true, kind: 'update', hash: 'h2' })], 3));
      const rows = await store.scanRecords('customers', { limit: 1000 });
      for (const row of rows) expect(typeof row.data).toBe('object');
    });
  });

  it('aborts a COPY page whose keys exist after all, writing nothing', async () => {
    await withLeasedStream(async (store, lease) => {
      await store.commitPage(page(lease, [write('k5')], 1));
      const writes = Array.from({ length: COPY_THRESHOLD + 10 }, (_, i) => write(`k${i}`));
      await expect(store.commitPage(page(lease, writes, 2))).rejects.toThrow(/already exists/);
      expect((await store.lookup('customers', ['k0', 'k70'])).size).toBe(0);
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 1 });
      expect(await store.readChanges({ afterSeq: 0, limit: 100 })).toHaveLength(1);
      // The connection went back to the pool in a usable state.
      await store.commitPage(page(lease, [write('k6')], 3));
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 3 });
    });
  });

  it('aborts a page updating a row that is missing, writing nothing', async () => {
    await withLeasedStream(async (store, lease) => {
      const writes = [write('new'), write('ghost', { existed: true, kind: 'update' })];
      await expect(store.commitPage(page(lease, writes, 1))).rejects.toThrow(/missing/);
      expect((await store.lookup('customers', ['new'])).size).toBe(0);
      expect((await store.getState('customers'))?.checkpoint).toBeNull();
    });
  });

  it('refuses data that is not one JSON value per record instead of shifting rows onto other keys', async () => {
    await withLeasedStream(async (store, lease) => {
      await store.commitPage(page(lease, [write('a'), write('b')], 1));
      const bad = '{"x":1},{"y":2}';
      await expect(store.commitPage(page(lease, [write('c', { data: bad }), write('d')], 2))).rejects.toThrow(
        /one JSON value/,
      );
      const update = (key: string, data = write(key).data) =>
        write(key, { existed: true, kind: 'update', hash: 'h2', data });
      await expect(store.commitPage(page(lease, [update('a', bad), update('b')], 3))).rejects.toThrow(
        /one JSON value/,
      );
      expect((await store.scanRecords('customers', { limit: 10 })).map((r) => r.hash)).toEqual([
        write('a').hash,
        write('b').hash,
      ]);
    });
  });

  it('never grants one lease to two processes racing for it', async () => {
    const handle = await makeStore();
    try {
      const a = handle.store;
      const b = await handle.another();
      await a.ensureStream('customers');
      const ttlMs = 60_000;
      let epoch = 0;
      for (let i = 0; i < 40; i++) {
        // Each round starts with the lease free (the last winner released it), so both are entitled to it.
        const results = await Promise.all([
          a.acquireLease({ stream: 'customers', holder: 'a', ttlMs, at: T0 }),
          b.acquireLease({ stream: 'customers', holder: 'b', ttlMs, at: T0 }),
        ]);
        const winners = results.flatMap((r) => ('lease' in r ? [r.lease] : []));
        expect(winners).toHaveLength(1);
        expect(winners[0]!.epoch).toBe(epoch + 1);
        epoch = winners[0]!.epoch;
        const loser = results.find((r) => 'conflict' in r);
        expect(loser).toEqual({
          conflict: { stream: 'customers', holder: winners[0]!.holder, expiresAt: winners[0]!.expiresAt },
        });
        await (winners[0]!.holder === 'a' ? a : b).releaseLease(winners[0]!);
      }
    } finally {
      await handle.dispose();
    }
  });

  it('fences a commit racing a take-over: either it lands first or it is refused', async () => {
    await withLeasedStream(async (store, lease, handle) => {
      const other = await handle.another();
      const [committed, taken] = await Promise.allSettled([
        store.commitPage(page(lease, [write('x')], 1)),
        other.acquireLease({ stream: 'customers', holder: 'two', ttlMs: 60_000, at: T1, takeOverFrom: 'h' }),
      ]);
      expect(taken.status).toBe('fulfilled');
      if (committed.status === 'rejected') {
        expect(committed.reason).toBeInstanceOf(LeaseLostError);
        expect((await store.lookup('customers', ['x'])).size).toBe(0);
      } else {
        expect((await store.lookup('customers', ['x'])).size).toBe(1);
      }
      await expect(store.commitPage(page(lease, [write('y')], 2))).rejects.toBeInstanceOf(LeaseLostError);
    });
  });

  it('lets a reader tailing the change log by seq miss nothing while processes commit at once', async () => {
    const handle = await makeStore();
    try {
      const stores = [handle.store, await handle.another(), await handle.another()];
      const streams = ['s0', 's1', 's2'];
      const leases = await Promise.all(
        streams.map(async (stream, i) => {
          await stores[i]!.ensureStream(stream);
          const got = await stores[i]!.acquireLease({ stream, holder: `w${i}`, ttlMs: 60_000, at: T0 });
          if (!('lease' in got)) throw new Error('no lease');
          await stores[i]!.startRun({
            runId: `r${i}`,
            stream,
            lease: got.lease,
            at: T0,
            checkpointBefore: null,
          });
          return got.lease;
        }),
      );
      let writing = true;
      const seen: number[] = [];
      const reader = (async () => {
        const tail = await handle.another();
        let after = 0;
        for (;;) {
          const done = !writing;
          const rows = await tail.readChanges({ afterSeq: after, limit: 500 });
          for (const row of rows) seen.push(row.seq);
          after = rows.at(-1)?.seq ?? after;
          if (done && rows.length === 0) return;
        }
      })();
      await Promise.all(
        leases.map(async (lease, i) => {
          for (let p = 0; p < 25; p++) {
            const writes = Array.from({ length: 20 }, (_, j) => write(`${p}-${j}`));
            await stores[i]!.commitPage({ ...page(lease, writes, p), runId: `r${i}` });
          }
        }),
      );
      writing = false;
      await reader;
      expect(seen).toHaveLength(3 * 25 * 20);
      expect(new Set(seen).size).toBe(seen.length);
    } finally {
      await handle.dispose();
    }
  });

  it('opens the second connection of inline commits while a stream is ensured, not at its first commit', async () => {
    const fresh = await freshPgSchema();
    const name = `s_${fresh.schema}`;
    const store = new PostgresStore({ url: `${fresh.url}?application_name=${name}`, schema: fresh.schema });
    const connections = async () =>
      Number(
        (
          await withPgClient((c) =>
            c.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [name]),
          )
        ).rows[0].n,
      );
    try {
      await store.open();
      await store.ensureStream('customers');
      // No writer thread yet (it starts with a run's third commit): the second is the pool's spare.
      let seen = await connections();
      for (let tries = 0; seen < 2 && tries < 40; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen = await connections();
      }
      expect(seen).toBe(2);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });

  it('commits again after the server dropped the connection of its writer thread', async () => {
    const fresh = await freshPgSchema();
    // Its own application_name, so only this store's connections are dropped.
    const name = `w_${fresh.schema}`;
    const store = new PostgresStore({
      url: `${fresh.url}?application_name=${name}`,
      schema: fresh.schema,
      inlineCommits: false,
    });
    try {
      await store.open();
      const lease = await leaseAndStart(store);
      await store.commitPage(page(lease, [write('a')], 1));
      const dropped = await withPgClient((c) =>
        c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]),
      );
      expect(dropped.rowCount).toBeGreaterThan(0);
      // The commit right after may find the connection gone (a transient error, nothing written)...
      const second = await store.commitPage(page(lease, [write('b')], 2)).then(
        () => null,
        (e: unknown) => e,
      );
      if (second !== null) expect(second).toBeInstanceOf(TransientError);
      // ...and the thread opens a new one for the next.
      await store.commitPage(page(lease, [write('c')], 3));
      const rows = await withPgClient((c) =>
        c.query(`SELECT _key FROM "${fresh.schema}".customers ORDER BY _key`),
      );
      expect(rows.rows.map((r) => r._key)).toEqual(second === null ? ['a', 'b', 'c'] : ['a', 'c']);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });

  it("does not adopt the user's own table named like a stream: ensureStream refuses it and creates nothing", async () => {
    const fresh = await freshPgSchema();
    await withPgClient((c) =>
      c.query(`CREATE TABLE "${fresh.schema}".customers (id integer PRIMARY KEY, name text);
        INSERT INTO "${fresh.schema}".customers VALUES (1, 'mine')`),
    );
    const store = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    try {
      await store.open();
      const error = await store.ensureStream('customers').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^table "customers" in schema "${fresh.schema}" at .* is not a Syncline stream table: it lacks _key`,
        ),
      );
      expect(await store.getState('customers')).toBeNull();
      const { rows } = await withPgClient((c) => c.query(`SELECT * FROM "${fresh.schema}".customers`));
      expect(rows).toEqual([{ id: 1, name: 'mine' }]);
    } finally {
      await store.close();
      await fresh.drop();
    }
  });

  it('opens a schema that is already current without waiting for the migration lock', async () => {
    const fresh = await freshPgSchema();
    const first = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    const second = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    const locker = new pg.Client({ connectionString: fresh.url });
    try {
      await first.open();
      await locker.connect();
      // Another process migrating (or about to): it holds the schema's migration lock.
      await locker.query('BEGIN');
      await locker.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `syncline:migrate:${fresh.schema}`,
      ]);
      const opened = await Promise.race([
        second.open().then(() => 'opened'),
        new Promise((resolve) => setTimeout(() => resolve('blocked'), 3000)),
      ]);
      expect(opened).toBe('opened');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await Promise.all([first.close(), second.close()]);
      await fresh.drop();
    }
  });

  it('ensures an existing stream without waiting for the lock of another process creating it', async () => {
    const fresh = await freshPgSchema();
    const store = new PostgresStore({ url: fresh.url, schema: fresh.schema });
    const locker = new pg.Client({ connectionString: fresh.url });
    try {
      await store.open();
      await store.ensureStream('customers');
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `syncline:stream:${fresh.schema}.customers`,
      ]);
      const ensured = await Promise.race([
        store.ensureStream('customers').then(() => 'ensured'),
        new Promise((resolve) => setTimeout(() => resolve('blocked'), 3000)),
      ]);
      expect(ensured).toBe('ensured');
      // A history table to create is still created under the lock: that waits for it.
      const withHistory = store.ensureStream('customers', { history: true }).then(() => 'ensured');
      const first = await Promise.race([
        withHistory,
        new Promise((resolve) => setTimeout(() => resolve('blocked'), 500)),
      ]);
      expect(first).toBe('blocked');
      await locker.query('ROLLBACK');
      expect(await withHistory).toBe('ensured');
      const { rows } = await withPgClient((c) =>
        c.query('SELECT to_regclass($1) IS NOT NULL AS present', [`"${fresh.schema}".customers_history`]),
      );
      expect(rows[0].present).toBe(true);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
      await store.close();
      await fresh.drop();
    }
  });

  it('ensures an existing stream without waiting for a write in flight on its table', async () => {
    const fresh = await freshPgSchema();
    const store = new PostgresStore({ url: fresh.url, schema: fresh.schema });
    const writer = new pg.Client({ connectionString: fresh.url, options: `-c search_path=${fresh.schema}` });
    try {
      await store.open();
      await store.ensureStream('customers');
      await writer.connect();
      // Another process's commit in flight: it holds the table's row-exclusive lock.
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO customers (_key, _data, _hash, _first_synced_at, _synced_at, _run_id)
         VALUES ('k', '{}', 'h', now(), now(), 'r')`,
      );
      // CREATE INDEX IF NOT EXISTS on the existing table would wait for that commit (share lock).
      const ensured = await Promise.race([
        store.ensureStream('customers').then(() => 'ensured'),
        new Promise((resolve) => setTimeout(() => resolve('blocked'), 3000)),
      ]);
      expect(ensured).toBe('ensured');
    } finally {
      await writer.query('ROLLBACK').catch(() => undefined);
      await writer.end();
      await store.close();
      await fresh.drop();
    }
  });

  it("rolls a destination's mappings back when its ack is refused mid-transaction, leaving the pool usable", async () => {
    await withLeasedStream(async (store, lease, handle) => {
      await store.commitPage(page(lease, [write('a'), write('b')], 1));
      const highest = (await store.changeLogBounds()).highestSeq;
      const confirm = (consumer: string, seq: number, externalId: string) =>
        store.confirmDestinationWrites({
          destination: 'crm',
          consumer,
          seq,
          at: T1,
          writes: [{ stream: 'customers', key: 'a', externalId, payloadHash: 'h', status: 'synced' }],
        });
      // More refusals than the pool has clients: each reuses a client whose transaction must have
      // been rolled back, or a later confirm would commit what a refused one wrote.
      for (let i = 0; i < 6; i++) {
        await expect(confirm('destination:crm', highest, 'never')).rejects.toBeInstanceOf(FatalError);
      }
      expect(await handle.query('SELECT * FROM syncline_destination_map')).toEqual([]);
      await store.registerConsumer({ consumer: 'destination:crm', afterSeq: 0, at: T0 });
      for (let i = 0; i < 6; i++) {
        await expect(confirm('destination:crm', highest + 1, 'never')).rejects.toBeInstanceOf(FatalError);
      }
      expect(await handle.query('SELECT * FROM syncline_destination_map')).toEqual([]);
      expect(await store.consumerOffset('destination:crm')).toMatchObject({ seq: 0 });
      expect(await confirm('destination:crm', highest, 'ext-a')).toMatchObject({ seq: highest });
      expect(await handle.query('SELECT key, external_id FROM syncline_destination_map')).toEqual([
        { key: 'a', external_id: 'ext-a' },
      ]);
    });
  });

  it('creates the same stream from two processes at once', async () => {
    const handle = await makeStore();
    try {
      const other = await handle.another();
      await Promise.all([
        ...['s1', 's2', 's3'].map((s) => handle.store.ensureStream(s)),
        ...['s1', 's2', 's3'].map((s) => other.ensureStream(s)),
      ]);
      expect((await other.listStreams()).map((s) => s.stream)).toEqual(
        ['customers', 's1', 's2', 's3'].slice(1),
      );
    } finally {
      await handle.dispose();
    }
  });
});
