import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPrivatePostgres } from '../helpers/private-postgres.ts';

/**
 * The private cluster CDC tests need (issue 24): logical replication on, without touching the
 * machine's shared server (`wal_level=replica`).
 */
describe('a private PostgreSQL cluster for change data capture tests', () => {
  it('runs with wal_level=logical on its own port, makes a pgoutput slot with an exported snapshot, and is gone after stop', async () => {
    const cluster = await startPrivatePostgres();
    try {
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      try {
        expect((await client.query('SHOW wal_level')).rows[0].wal_level).toBe('logical');
        await client.query('CREATE TABLE t (id int PRIMARY KEY, name text)');
        await client.query('CREATE PUBLICATION syncline_test FOR TABLE t');
        const replication = new pg.Client({
          connectionString: cluster.url,
          replication: 'database',
        } as never);
        await replication.connect();
        try {
          const { rows } = await replication.query(
            "CREATE_REPLICATION_SLOT syncline_test_slot LOGICAL pgoutput (SNAPSHOT 'export')",
          );
          expect(rows[0].snapshot_name).toMatch(/^[0-9A-F-]+$/);
          expect(rows[0].consistent_point).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
        } finally {
          await replication.end();
        }
        await client.query("SELECT pg_drop_replication_slot('syncline_test_slot')");
      } finally {
        await client.end();
      }
    } finally {
      await cluster.stop();
    }
    const probe = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 2000 });
    await expect(probe.connect()).rejects.toThrow();
    expect(existsSync(cluster.dir)).toBe(false);
  }, 60_000);
});
