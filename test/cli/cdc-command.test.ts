import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-postgres.ts';
import { runCli } from './cli-harness.ts';

/**
 * The README's "Change data capture" from the command line: a YAML config of two cdc streams on a
 * private cluster, `syncline sync`, `status` (the slot's lag), `cdc drop-slot`, `reset`, and the
 * password of the source's URL in none of their output.
 */
describe('syncline with cdc streams', () => {
  let cluster: PrivatePostgres;
  let sql: pg.Client;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    sql = new pg.Client({ connectionString: cluster.url });
    await sql.connect();
    await sql.query("CREATE ROLE syncline_reader LOGIN REPLICATION PASSWORD 's3cret-pw' SUPERUSER");
    await sql.query('CREATE TABLE customers (id int PRIMARY KEY, email text, plan text)');
    await sql.query(
      "INSERT INTO customers SELECT i, 'c' || i || '@example.com', 'free' FROM generate_series(1, 300) i",
    );
    await sql.query('CREATE TABLE lines (order_id int, line int, qty int, PRIMARY KEY (order_id, line))');
    await sql.query('INSERT INTO lines SELECT i / 3, i, 1 FROM generate_series(1, 60) i');
    dir = mkdtempSync(join(tmpdir(), 'syncline-cdc-cli-'));
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      `store: syncline.db
streams:
  - name: customers
    type: cdc
    key: id
    cdc: { urlEnv: SOURCE_DATABASE_URL, table: public.customers }
  - name: order_lines
    type: cdc
    key: [order_id, line]
    cdc: { urlEnv: SOURCE_DATABASE_URL, table: lines }
`,
    );
    const url = new URL(cluster.url);
    url.username = 'syncline_reader';
    url.password = 's3cret-pw';
    env = { SOURCE_DATABASE_URL: url.toString() };
  }, 60_000);

  afterAll(async () => {
    await sql?.end();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('syncs, shows the slot, drops it, and re-reads after a reset, never printing the password', async () => {
    const first = await runCli(['sync'], dir, env);
    expect(first.code, first.stderr).toBe(0);
    await sql.query("UPDATE customers SET plan = 'pro' WHERE id <= 10");
    await sql.query('DELETE FROM lines WHERE order_id = 1');
    const second = await runCli(['sync'], dir, env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/"stream":"customers".*"updated":10/);
    expect(second.stderr).toMatch(/"stream":"order_lines".*"deleted":3/);

    const status = await runCli(['status'], dir, env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/CDC SLOT\s+STREAMS\s+LAG\s+CONFIRMED\s+READING/);
    expect(status.stdout).toMatch(
      /syncline\s+customers, order_lines\s+[\d.]+ (B|kB|MB)\s+\d+\/[0-9A-F]+\s+no/,
    );

    const dropped = await runCli(['cdc', 'drop-slot', 'customers'], dir, env);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain('dropped cdc slot syncline (streams customers, order_lines)');
    const again = await runCli(['cdc', 'drop-slot'], dir, env);
    expect(again.stdout).toContain('cdc slot syncline (streams customers, order_lines): there was no slot');
    const wrong = await runCli(['cdc', 'drop-slot', 'nope'], dir, env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('no stream "nope" in the config');

    await sql.query('DELETE FROM customers WHERE id > 290'); // while no slot reads
    const resync = await runCli(['sync'], dir, env);
    expect(resync.code, resync.stderr).toBe(0);
    expect(resync.stderr).toContain('is gone (dropped, or lost in a failover)');
    expect(resync.stderr).toMatch(/"stream":"customers".*"deleted":10/);

    const reset = await runCli(['reset', 'customers', '--yes'], dir, env);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain('dropped cdc slot syncline');
    const afterReset = await runCli(['sync', 'customers'], dir, env);
    expect(afterReset.code, afterReset.stderr).toBe(0);
    expect(afterReset.stderr).toMatch(/"stream":"customers".*"inserted":0,"updated":0/);

    for (const out of [first, second, status, dropped, resync, reset, afterReset]) {
      expect(out.stdout + out.stderr).not.toContain('s3cret-pw');
    }
  }, 120_000);

  it('probes a cdc stream by reading its table, making no slot on the source', async () => {
    writeFileSync(
      join(dir, 'probe.yaml'),
      `streams:
  - name: customers
    type: cdc
    key: id
    cdc: { urlEnv: SOURCE_DATABASE_URL, table: customers, slot: probed }
`,
    );
    const result = await runCli(['check', '--probe', '--config', 'probe.yaml'], dir, env);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/customers/);
    const slots = await sql.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'probed'");
    expect(slots.rowCount).toBe(0);
  }, 60_000);

  it('says what to set when the table has another key', async () => {
    writeFileSync(
      join(dir, 'bad.yaml'),
      `store: ${JSON.stringify(join(dir, 'bad.db'))}
streams:
  - name: customers
    type: cdc
    key: email
    cdc: { urlEnv: SOURCE_DATABASE_URL, table: customers, slot: other }
`,
    );
    const result = await runCli(['sync', '--config', 'bad.yaml'], dir, env);
    expect(result.code).toBe(2); // a ConfigError: the config does not match the table
    expect(result.stderr).toContain(
      'key email is not the key of public.customers (its primary key: id); set key: id',
    );
  }, 60_000);
});
