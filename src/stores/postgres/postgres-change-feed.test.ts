import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { freshPgSchema, withPgClient } from '../../../test/helpers/postgres.ts';
import { contractSteps, T1, write } from '../store-contract-support.ts';
import { PostgresStore } from './postgres-store.ts';

// The change log's order on PostgreSQL: `seq` comes from an identity, drawn when a row is written,
// not when its transaction commits. Commits append under an advisory lock held to COMMIT, so the
// order of seqs is the order of commits and a reader tailing `seq > offset` never passes a seq
// that commits late.

describe('PostgreSQL change log order', () => {
  it('holds a commit back while a change-log transaction that drew a lower seq is in flight, so a tailing reader passes nothing', async () => {
    const fresh = await freshPgSchema();
    const writer = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    const reader = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    try {
      await writer.open();
      await reader.open();
      await writer.ensureStream('orders');
      const steps = contractSteps(() => writer);
      const lease = await steps.lease('orders', 'writer');
      await steps.startedRun(lease, 'r1');
      await withPgClient(async (late) => {
        // Another process's page, between its change-log COPY and its COMMIT: it holds the lock and
        // has drawn the next seq.
        await late.query(`SET search_path TO "${fresh.schema}"`);
        await late.query('BEGIN');
        await late.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `syncline:changes:${fresh.schema}`,
        ]);
        const { rows } = await late.query<{ seq: string }>(
          `INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
          VALUES ('customers', 'late', 'insert', 'h', NULL, 'r0', now()) RETURNING seq`,
        );
        const lateSeq = Number(rows[0]!.seq);
        let settled = false;
        const commit = writer
          .commitPage(steps.commit(lease, 'r1', { writes: [write('a'), write('b')], at: T1 }))
          .finally(() => {
            settled = true;
          });
        // Until the page either waits for the lock or has committed (which it must not do).
        const waiting = async () =>
          (
            await late.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            )
          ).rows[0]!.n > 0;
        while (!settled && !(await waiting())) await sleep(10);
        // A reader now sees nothing past the late row: it cannot step over it.
        const before = await reader.readChanges({ afterSeq: 0, limit: 100 });
        expect(before).toEqual([]);
        await late.query('COMMIT');
        await commit;
        const after = await reader.readChanges({ afterSeq: before.at(-1)?.seq ?? 0, limit: 100 });
        expect(after.map((c) => [c.seq, c.key])).toEqual([
          [lateSeq, 'late'],
          [lateSeq + 1, 'a'],
          [lateSeq + 2, 'b'],
        ]);
      });
    } finally {
      await writer.close();
      await reader.close();
      await fresh.drop();
    }
  });
});
