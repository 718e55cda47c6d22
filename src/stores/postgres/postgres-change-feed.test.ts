import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshPgSchema, withPgClient } from '../../../test/helpers/postgres.ts';
import { contractSteps, T1, write } from '../store-contract-support.ts';
import { PostgresStore } from './postgres-store.ts';

// The change log's order on PostgreSQL: `seq` comes from an identity, drawn when a row is written,
// not when its transaction commits. Appends hold the schema's append lock shared (migration 012), so
// they do not wait on each other, and a reader tailing `seq > offset` passes a seq only once the
// appends in flight when it was drawn have ended: it never passes a seq that commits late.

/** Opens another transaction on `client` that appends one change-log row and stays open: its seq. */
async function appendInFlight(client: pg.Client, schema: string, key: string): Promise<number> {
  await client.query(`SET search_path TO "${schema}"`);
  await client.query('BEGIN');
  const { rows } = await client.query<{ seq: string }>(
    `INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
    VALUES ('customers', $1, 'insert', 'h', NULL, 'r0', now()) RETURNING seq`,
    [key],
  );
  return Number(rows[0]!.seq);
}

describe('PostgreSQL change log order', () => {
  it('lets a later commit through while an append with a lower seq is in flight, and its readers pass neither until that one ended', async () => {
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
      await withPgClient(async (early) => {
        await withPgClient(async (aborted) => {
          // Two other processes' appends, between drawing their seqs and COMMIT.
          const earlySeq = await appendInFlight(early, fresh.schema, 'early');
          const abortedSeq = await appendInFlight(aborted, fresh.schema, 'aborted');
          // The page draws higher seqs and commits first: appends do not wait on each other.
          await writer.commitPage(steps.commit(lease, 'r1', { writes: [write('a'), write('b')], at: T1 }));
          const visible = await withPgClient(async (c) => {
            const res = await c.query<{ seq: string }>(
              `SELECT seq FROM "${fresh.schema}".syncline_changes ORDER BY seq`,
            );
            return res.rows.map((r) => Number(r.seq));
          });
          expect(visible).toEqual([earlySeq + 2, earlySeq + 3]);
          expect(abortedSeq).toBe(earlySeq + 1);

          // A reader now: the page's rows are committed, but rows below them may still commit.
          const before = await reader.readChanges({ afterSeq: 0, limit: 100 });
          expect(before).toEqual([]);
          expect((await reader.changeLogBounds()).newestSeq).toBeNull();

          await early.query('COMMIT');
          // One append is still in flight, its seq unknown to readers: they wait for it to end.
          expect(await reader.readChanges({ afterSeq: 0, limit: 100 })).toEqual([]);
          await aborted.query('ROLLBACK');
          const after = await reader.readChanges({ afterSeq: before.at(-1)?.seq ?? 0, limit: 100 });
          expect(after.map((c) => [c.seq, c.key])).toEqual([
            [earlySeq, 'early'],
            [earlySeq + 2, 'a'],
            [earlySeq + 3, 'b'],
          ]);
          expect((await reader.changeLogBounds()).newestSeq).toBe(earlySeq + 3);
        });
      });
    } finally {
      await writer.close();
      await reader.close();
      await fresh.drop();
    }
  });

  it('counts a seq drawn by an append still in flight neither as the highest nor as pruned, so a reader at 0 is not told its changes were lost', async () => {
    const fresh = await freshPgSchema();
    const reader = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    try {
      await reader.open();
      await withPgClient(async (inFlight) => {
        await inFlight.query(`SET search_path TO "${fresh.schema}"`);
        await inFlight.query('BEGIN');
        await inFlight.query(
          `INSERT INTO syncline_changes (stream, key, kind, hash, version, run_id, at)
          VALUES ('customers', 'early', 'insert', 'h', NULL, 'r0', now())`,
        );
        // The SSE sink resets a client whose position is below the highest seq of an empty log.
        expect(await reader.changeLogBounds()).toEqual({ oldestSeq: null, newestSeq: null, highestSeq: 0 });
        await inFlight.query('COMMIT');
      });
      expect(await reader.changeLogBounds()).toEqual({ oldestSeq: 1, newestSeq: 1, highestSeq: 1 });
    } finally {
      await reader.close();
      await fresh.drop();
    }
  });

  it('holds a commit back while a writer of an older binary, which appends under the lock held exclusively, is in flight, so a tailing reader passes nothing', async () => {
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
        // Another process's page, between its change-log COPY and its COMMIT, as binaries before
        // migration 012 wrote it: it holds the lock exclusively and has drawn the next seq.
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
