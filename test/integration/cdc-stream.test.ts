import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnvSecret } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { cdcStream } from '../../src/sources/cdc/cdc-stream.ts';
import { lsnToBigInt } from '../../src/sources/cdc/lsn.ts';
import { pgTextToJson } from '../../src/sources/cdc/pg-text-values.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-postgres.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The table as the stream should hold it: every row, its values mapped the way the capture maps them. */
async function sourceRows(sql: pg.Client, table: string, keys: string[]): Promise<Map<string, unknown>> {
  const result = await sql.query({
    text: `SELECT * FROM ${table}`,
    types: { getTypeParser: () => (v: string) => v } as never,
  });
  const out = new Map<string, unknown>();
  for (const raw of result.rows as Record<string, string | null>[]) {
    const row: Record<string, unknown> = {};
    for (const f of result.fields) row[f.name] = pgTextToJson(f.dataTypeID, raw[f.name] ?? null);
    out.set(keys.length === 1 ? String(row[keys[0]!]) : JSON.stringify(keys.map((k) => row[k])), row);
  }
  return out;
}

async function storedRows(t: TestStore, stream: string): Promise<Map<string, unknown>> {
  const rows = await t.store.scanRecords(stream, { limit: 1_000_000 });
  return new Map(rows.filter((r) => r.deletedAt === null).map((r) => [r.key, r.data]));
}

describe.each(STORE_KINDS)('cdc streams on %s', (kind) => {
  let cluster: PrivatePostgres;
  let sql: pg.Client;
  let t: TestStore;
  const env = `CDC_TEST_URL_${kind.toUpperCase()}`;
  const slot = `cdc_test_${kind}`;

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    process.env[env] = cluster.url;
    sql = new pg.Client({ connectionString: cluster.url });
    await sql.connect();
    await sql.query(`CREATE TABLE orders (
      id int PRIMARY KEY, amount numeric(12,2), note text, at timestamptz, day date,
      data jsonb, blob bytea, tags text[], big bigint, ok boolean, ratio float8, doc text)`);
    await sql.query('CREATE TABLE lines (order_id int, n int, qty int, PRIMARY KEY (order_id, n))');
    await sql.query(`INSERT INTO orders
      SELECT i, i * 1.25, 'note ' || i, timestamptz '2024-05-01 10:00:00.123456+00' + i * interval '1 minute',
             date '2024-05-01' + i, jsonb_build_object('i', i, 'nested', jsonb_build_array(i, 'x')),
             decode('deadbeef', 'hex'), ARRAY['a', 'b"c', NULL], 9007199254740993 + i, i % 2 = 0, i / 3.0,
             CASE WHEN i = 2 THEN (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 400) g) END
        FROM generate_series(1, 120) i`);
    await sql.query('INSERT INTO lines SELECT i % 40, i, i FROM generate_series(1, 90) i');
    t = await makeTestStore(kind);
  }, 60_000);

  afterAll(async () => {
    await t?.dispose();
    await sql?.end();
    await cluster?.stop();
    delete process.env[env];
  });

  const streams = (): AnyStreamDefinition[] => [
    cdcStream({
      name: `orders_${kind}`,
      key: 'id',
      cdc: { urlEnv: env, table: 'orders', slot, snapshotPageSize: 50 },
    }),
    cdcStream({
      name: `lines_${kind}`,
      key: ['order_id', 'n'],
      cdc: { urlEnv: env, table: 'public.lines', slot, snapshotPageSize: 50 },
    }),
  ];

  async function sync(stream: AnyStreamDefinition) {
    const result = await runStream({
      store: t.store,
      stream,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
      secret: readEnvSecret,
      options: { maxPagesInFlight: 4 },
    });
    expect(result.error).toBeNull();
    expect(result.status).toBe('ok');
    return result;
  }

  /** A column added to the table appears in the records changed since; the others keep their shape. */
  const withoutNullExtra = (rows: Map<string, unknown>) => {
    for (const row of rows.values())
      if ((row as { extra?: unknown }).extra === null) delete (row as { extra?: unknown }).extra;
    return rows;
  };

  async function expectEqual() {
    expect(withoutNullExtra(await storedRows(t, `orders_${kind}`))).toEqual(
      withoutNullExtra(await sourceRows(sql, 'orders', ['id'])),
    );
    // A dropped column stops appearing in the records changed since (asserted below); the others keep it.
    const stored = await storedRows(t, `lines_${kind}`);
    const source = await sourceRows(sql, 'lines', ['order_id', 'n']);
    expect([...stored.keys()].sort()).toEqual([...source.keys()].sort());
    for (const [key, row] of source) expect(stored.get(key)).toMatchObject(row as object);
  }

  it('reads every table in one snapshot, then every change from the slot: types, deletes, key changes, rollbacks, truncates', async () => {
    const [orders, lines] = streams();
    const first = await sync(orders!);
    expect(first.counters.inserted).toBe(120);
    await sync(lines!);
    await expectEqual();
    const [sample] = (await t.store.scanRecords(`orders_${kind}`, { limit: 1 })).map((r) => r.data);
    expect(sample).toMatchObject({
      id: 1,
      amount: '1.25',
      at: '2024-05-01T10:01:00.123456Z',
      day: '2024-05-02',
      data: { i: 1, nested: [1, 'x'] },
      blob: Buffer.from('deadbeef', 'hex').toString('base64'),
      tags: ['a', 'b"c', null],
      big: '9007199254740994',
      ok: false,
    });

    // A large (TOAST) value an update leaves alone is not in the slot's row: read from the table.
    await sql.query("UPDATE orders SET note = 'toast kept' WHERE id = 2");
    await sql.query("INSERT INTO orders (id, note) VALUES (500, 'new')");
    await sql.query("UPDATE orders SET note = 'changed', amount = 99.99 WHERE id <= 5");
    await sql.query('DELETE FROM orders WHERE id BETWEEN 10 AND 14');
    await sql.query('BEGIN');
    await sql.query("INSERT INTO orders (id, note) VALUES (600, 'in a transaction')");
    await sql.query('UPDATE lines SET qty = qty + 1000 WHERE order_id = 1');
    await sql.query('DELETE FROM lines WHERE order_id = 2');
    await sql.query('COMMIT');
    await sql.query('BEGIN');
    await sql.query("INSERT INTO orders (id, note) VALUES (700, 'rolled back')");
    await sql.query('DELETE FROM orders WHERE id = 20');
    await sql.query('ROLLBACK');
    await sql.query('UPDATE orders SET id = 1000 WHERE id = 30'); // the primary key changes
    await sql.query("INSERT INTO orders (id, note) VALUES (30, 'made again')");
    await sql.query('ALTER TABLE orders ADD COLUMN extra text');
    await sql.query("UPDATE orders SET extra = 'new column' WHERE id = 40");
    await sql.query('ALTER TABLE lines DROP COLUMN qty');
    await sql.query('UPDATE lines SET n = n WHERE order_id = 3');
    await sync(orders!);
    await sync(lines!);
    await expectEqual();
    const rows = await storedRows(t, `orders_${kind}`);
    expect(rows.has('700')).toBe(false);
    expect(rows.get('20')).toBeDefined();
    expect(rows.get('40')).toMatchObject({ extra: 'new column' });
    expect((rows.get('2') as { doc: string }).doc).toHaveLength(400 * 32);
    expect(Object.keys((await storedRows(t, `lines_${kind}`)).get('[3,3]') as object).sort()).toEqual([
      'n',
      'order_id',
    ]);

    await sql.query('TRUNCATE lines');
    await sql.query('INSERT INTO lines VALUES (7, 7)');
    await sync(lines!);
    expect([...(await storedRows(t, `lines_${kind}`)).keys()]).toEqual(['[7,7]']);
    await expectEqual();

    // The slot confirms what the store holds: nothing is left to read.
    const slotRow = await sql.query(
      'SELECT confirmed_flush_lsn::text AS lsn, pg_current_wal_lsn()::text AS now FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    expect(slotRow.rows).toHaveLength(1);
    const again = await sync(orders!);
    expect(again.counters.inserted + again.counters.updated + again.counters.deleted).toBe(0);
  }, 60_000);

  it('never lets the slot confirm past what the store holds: a failed inbox write is read again', async () => {
    const [orders] = streams();
    await sync(orders!);
    const lsn = async (query: string) => (await sql.query(query)).rows[0].lsn as string;
    await sql.query("INSERT INTO orders (id, note) VALUES (900, 'stored')");
    const afterStored = await lsn('SELECT pg_current_wal_lsn()::text AS lsn');
    await sql.query("INSERT INTO orders (id, note) VALUES (901, 'poison')");
    // A store that fails to write the second transaction's event into the inbox.
    const failing = new Proxy(t.store, {
      get(target, property, receiver) {
        if (property === 'addInboxEvent') {
          return (event: { body: string }) =>
            event.body.includes('poison')
              ? Promise.reject(new Error('disk full'))
              : target.addInboxEvent(event as never);
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const failed = await runStream({
      store: failing,
      stream: orders!,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
      secret: readEnvSecret,
      options: {},
    });
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('disk full');
    const confirmed = await lsn(
      `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = '${slot}'`,
    );
    expect(lsnToBigInt(confirmed)).toBeLessThanOrEqual(lsnToBigInt(afterStored));
    await sync(orders!);
    const rows = await storedRows(t, `orders_${kind}`);
    expect(rows.get('900')).toMatchObject({ note: 'stored' });
    expect(rows.get('901')).toMatchObject({ note: 'poison' });
  }, 60_000);

  it('reads the tables again in a new snapshot when the slot is gone, deleting what was removed meanwhile', async () => {
    const [orders, lines] = streams();
    expect(await orders!.capture!.drop((name) => process.env[name]!)).toBe(true);
    await sql.query('DELETE FROM orders WHERE id BETWEEN 50 AND 59'); // no slot sees these
    await sql.query("UPDATE orders SET note = 'while no slot' WHERE id = 60");
    await sync(orders!);
    await sync(lines!);
    await expectEqual();
    const status = await orders!.capture!.status((name) => process.env[name]!);
    expect(status).toMatchObject({ slot, exists: true, active: false, warning: null });
    expect(status.lagBytes).toBeGreaterThanOrEqual(0);
  }, 60_000);
});

describe('cdc streams against a database without logical replication', () => {
  it('fail with one line saying what to set', async () => {
    process.env.CDC_TEST_SHARED_URL = 'postgres://postgres@127.0.0.1:5432/test';
    const t = await makeTestStore('sqlite');
    try {
      const result = await runStream({
        store: t.store,
        stream: cdcStream({
          name: 'shared',
          key: 'id',
          cdc: { urlEnv: 'CDC_TEST_SHARED_URL', table: 'nope', slot: 'never' },
        }),
        holder: newHolderId(),
        events: new SyncEventBus(),
        log: silent,
        secret: readEnvSecret,
        options: {},
      });
      expect(result.status).toBe('failed');
      expect(result.error).toMatch(
        /wal_level=replica; change data capture needs wal_level=logical: run ALTER SYSTEM SET wal_level = logical/,
      );
    } finally {
      await t.dispose();
      delete process.env.CDC_TEST_SHARED_URL;
    }
  });
});
