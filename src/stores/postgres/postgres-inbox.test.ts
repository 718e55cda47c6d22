import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshPgSchema, withPgClient } from '../../../test/helpers/postgres.ts';
import { T0 } from '../store-contract-support.ts';
import { PostgresStore } from './postgres-store.ts';

// The inbox's order on PostgreSQL: `id` comes from a sequence, drawn when a row is written, not
// when its transaction commits. Appends to a stream hold the stream's advisory lock from before the
// id is drawn to COMMIT, so ids increase in commit order and a reader tailing `id > afterId` never
// passes an id that commits late. Another process's append is played by hand here: it takes the
// lock, draws its id, and holds its COMMIT back.

const event = (stream: string, eventId: string) => ({
  stream,
  eventId,
  receivedAt: T0,
  headers: {},
  body: '{}',
});

/** Until some advisory lock is waited for, or `settled()`. */
async function untilWaiting(client: pg.Client, settled: () => boolean): Promise<void> {
  const waiting = async () =>
    (
      await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      )
    ).rows[0]!.n > 0;
  while (!settled() && !(await waiting())) await sleep(10);
}

describe('PostgreSQL inbox order', () => {
  it('holds an append back while an append of the same stream that drew a lower id is in flight, so a tailing reader passes nothing', async () => {
    const fresh = await freshPgSchema();
    const writer = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    const reader = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    try {
      await writer.open();
      await reader.open();
      await withPgClient(async (late) => {
        await late.query(`SET search_path TO "${fresh.schema}"`);
        await late.query('BEGIN');
        await late.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `syncline:inbox:${fresh.schema}:hooks`,
        ]);
        const { rows } = await late.query<{ id: string }>(
          `INSERT INTO syncline_inbox (stream, event_id, received_at, headers, body)
          VALUES ('hooks', 'late', now(), '{}', '{}') RETURNING id`,
        );
        const lateId = Number(rows[0]!.id);
        let settled = false;
        const append = writer.addInboxEvent(event('hooks', 'e1')).finally(() => {
          settled = true;
        });
        await untilWaiting(late, () => settled);
        // The append waits for the lock (it must not have committed): a reader sees nothing yet.
        expect(await reader.readInbox({ stream: 'hooks', afterId: 0, limit: 10 })).toEqual([]);
        expect(settled).toBe(false);
        await late.query('COMMIT');
        expect(await append).toEqual({ id: lateId + 1, duplicate: false });
        const all = await reader.readInbox({ stream: 'hooks', afterId: 0, limit: 10 });
        expect(all.map((e) => [e.id, e.eventId])).toEqual([
          [lateId, 'late'],
          [lateId + 1, 'e1'],
        ]);
      });
    } finally {
      await writer.close();
      await reader.close();
      await fresh.drop();
    }
  });

  it('does not hold back appends of another stream', async () => {
    const fresh = await freshPgSchema();
    const writer = new PostgresStore({ url: fresh.url, schema: fresh.schema, poolSize: 2 });
    try {
      await writer.open();
      await withPgClient(async (late) => {
        await late.query('BEGIN');
        await late.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `syncline:inbox:${fresh.schema}:hooks`,
        ]);
        const other = await writer.addInboxEvent(event('other', 'e1'));
        expect(other.duplicate).toBe(false);
        await late.query('COMMIT');
      });
      expect(await writer.readInbox({ stream: 'other', afterId: 0, limit: 10 })).toHaveLength(1);
    } finally {
      await writer.close();
      await fresh.drop();
    }
  });
});
