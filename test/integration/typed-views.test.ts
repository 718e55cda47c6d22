import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveConfig } from '../../src/config/load-config.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import { defineStream } from '../../src/core/stream-definition.ts';
import type { Logger } from '../../src/core/types.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { withPgClient } from '../helpers/postgres.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Rows of `sql` in the test store's location, read on a connection of their own. */
async function query(t: TestStore, sql: string): Promise<Record<string, unknown>[]> {
  if (t.kind === 'sqlite') {
    const db = new Database(t.location, { readonly: true });
    try {
      return db.prepare<[], Record<string, unknown>>(sql).all();
    } finally {
      db.close();
    }
  }
  const schema = new URL(t.location).searchParams.get('schema');
  return withPgClient(async (c) => {
    await c.query(`SET search_path TO "${schema}"`);
    return (await c.query<Record<string, unknown>>(sql)).rows;
  });
}

describe.each(STORE_KINDS)('typed views on %s', (kind) => {
  let t: TestStore;
  let sim: SimulatorServer | null = null;
  let dir: string | null = null;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await sim?.close();
    await t.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
    sim = null;
    dir = null;
  });

  it('derives the view of a TypeScript stream from its zod schema, and dead-letters what does not fit', async () => {
    const config = resolveConfig({
      streams: [
        defineStream({
          name: 'people',
          key: 'id',
          schema: z.object({
            id: z.number().int(),
            email: z.email(),
            amount: z.union([z.number(), z.string()]),
            joined_at: z.iso.datetime(),
            active: z.boolean(),
          }),
          async *source() {
            yield {
              records: [
                {
                  id: 1,
                  email: 'a@example.com',
                  amount: 12.5,
                  joined_at: '2026-01-05T10:00:00Z',
                  active: true,
                },
                {
                  id: 2,
                  email: 'b@example.com',
                  amount: 3,
                  joined_at: '2026-02-05T10:00:00Z',
                  active: false,
                },
              ],
              checkpoint: null,
            };
          },
        }),
        defineStream({
          name: 'plain',
          key: 'id',
          columns: { id: 'integer', amount: 'numeric' },
          async *source() {
            yield {
              records: [
                { id: 1, amount: '7.25' },
                { id: 2, amount: 'a lot' },
              ],
              checkpoint: null,
            };
          },
        }),
      ],
    });
    const outcomes = await runStreams({ config, store: t.store, events: new SyncEventBus(), log: silent });
    expect(outcomes.map((o) => [o.stream, o.status, o.counters.inserted, o.counters.failed])).toEqual([
      ['people', 'ok', 2, 0],
      ['plain', 'ok', 1, 1],
    ]);
    const [row] = await query(t, "SELECT email, id FROM people_v WHERE active AND joined_at < '2026-02-01'");
    expect(row).toMatchObject({ email: 'a@example.com' });
    expect(Number(row?.id)).toBe(1);
    const [{ total } = {}] = await query(t, 'SELECT sum(amount) AS total FROM plain_v');
    expect(Number(total)).toBe(7.25);
    const [letter] = await t.store.listDeadLetters({ stream: 'plain', limit: 5 });
    expect(letter?.reason).toBe('amount: expected a number, got "a lot" (column amount, numeric)');
  });

  it('keeps the view of a YAML stream with columns, following the columns when they change', async () => {
    sim = await startSimulator({ seed: 3, datasets: { customers: 120 } });
    dir = mkdtempSync(join(tmpdir(), 'syncline-views-'));
    const file = join(dir, 'syncline.config.yaml');
    const yaml = (columns: string) => `streams:
  - name: customers
    key: id
    cursor: updated_at
    version: version
    deleted: deleted
    columns: { ${columns} }
    request: { baseUrl: "${sim!.url}", path: /v1/customers, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
`;
    writeFileSync(file, yaml('email: text, plan: text, created_at: timestamp, address.city: text'));
    const sync = async () => {
      const config = await loadProjectConfig({ file, store: t.location });
      return runStreams({ config, store: t.store, events: new SyncEventBus(), log: silent });
    };
    expect((await sync())[0]).toMatchObject({
      status: 'ok',
      counters: expect.objectContaining({ failed: 0 }),
    });
    const live = (await t.store.listStreams())[0]?.records;
    const rows = await query(t, 'SELECT * FROM customers_v ORDER BY _key');
    expect(rows).toHaveLength(live!);
    expect(Object.keys(rows[0]!)).toEqual([
      '_key',
      'email',
      'plan',
      'created_at',
      'address_city',
      '_synced_at',
      '_deleted_at',
    ]);
    expect(rows.every((r) => typeof r.email === 'string' && typeof r.address_city === 'string')).toBe(true);
    writeFileSync(file, yaml('email: text, version: integer'));
    await sync();
    const [changed] = await query(t, 'SELECT * FROM customers_v ORDER BY _key LIMIT 1');
    expect(Object.keys(changed!)).toEqual(['_key', 'email', 'version', '_synced_at', '_deleted_at']);
  });

  it('says which column name is wrong, naming the file', async () => {
    expect(() =>
      resolveConfig(
        {
          streams: [
            defineStream({
              name: 'people',
              key: 'id',
              columns: { 'first-name': 'text' },
              async *source() {},
            }),
          ],
        },
        'syncline.config.ts',
      ),
    ).toThrow(ConfigError);
  });
});
