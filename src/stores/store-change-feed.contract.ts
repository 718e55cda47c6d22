import { setImmediate } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FatalError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import type { Json, Lease } from '../core/types.ts';
import { contractSteps, type StoreHandle, T0, T1, T2, T3, write } from './store-contract-support.ts';

const data = (key: string, rev: number) => JSON.stringify({ id: key, rev });

/**
 * The change feed (`ChangeFeed`): the change log read with each key's latest data, named consumers'
 * offsets, retention, and readers tailing by `seq` while several processes commit.
 */
export function describeChangeFeedContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract, change feed: ${title}`, () => {
    let handle: StoreHandle;
    let store: Store;

    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
      await store.ensureStream('customers');
      await store.ensureStream('orders');
    });
    afterEach(async () => {
      await handle.dispose();
    });

    const { lease, startedRun, commit } = contractSteps(() => store);

    /** Commits each page as run `r-<stream>` of its stream, in order; pages carry `at` or T1. */
    async function commitPages(
      stream: string,
      pages: readonly { writes: ReturnType<typeof write>[]; at?: string }[],
    ): Promise<void> {
      const l = await lease(stream);
      const runId = await startedRun(l, `r-${stream}`);
      for (const [i, page] of pages.entries()) {
        await store.commitPage(
          commit(l, runId, { writes: page.writes, checkpoint: { page: i }, at: page.at ?? T1 }),
        );
      }
    }

    const seqs = async (afterSeq = 0) =>
      (await store.readChanges({ afterSeq, limit: 1000 })).map((c) => c.seq);

    it("reads the rows after a seq with each key's latest data; a deleted key's data is null", async () => {
      await commitPages('customers', [
        { writes: [write('a', { data: data('a', 1) }), write('b', { data: data('b', 1) })] },
        { writes: [write('a', { kind: 'update', existed: true, data: data('a', 2), hash: 'ha2' })] },
        { writes: [write('b', { kind: 'delete', existed: true, deleted: true, data: data('b', 1) })] },
      ]);
      const rows = await store.readChanges({ afterSeq: 0, limit: 10, withData: true });
      expect(rows.map((r) => [r.key, r.kind, r.hash, r.data])).toEqual([
        // The latest state of the key, whichever change of it the row is.
        ['a', 'insert', write('a', { data: data('a', 1) }).hash, { id: 'a', rev: 2 }],
        ['b', 'insert', write('b', { data: data('b', 1) }).hash, null],
        ['a', 'update', 'ha2', { id: 'a', rev: 2 }],
        ['b', 'delete', write('b', { data: data('b', 1) }).hash, null],
      ]);
      expect(rows.every((r) => r.stream === 'customers' && r.runId === 'r-customers')).toBe(true);
      expect(Date.parse(rows[0]!.at)).toBe(Date.parse(T1));
      const after = await store.readChanges({ afterSeq: rows[1]!.seq, limit: 1, withData: true });
      expect(after.map((r) => [r.seq, r.key, r.kind])).toEqual([[rows[2]!.seq, 'a', 'update']]);
      // Without `withData` the rows carry no data at all, and nothing is read beyond the log.
      const plain = await store.readChanges({ afterSeq: 0, limit: 10 });
      expect(plain.map((r) => 'data' in r)).toEqual([false, false, false, false]);
    });

    it('reads the rows of one stream, or of several', async () => {
      await store.ensureStream('invoices');
      await commitPages('customers', [{ writes: [write('c1')] }]);
      await commitPages('orders', [{ writes: [write('o1'), write('o2')] }]);
      await commitPages('invoices', [{ writes: [write('i1')] }]);
      const keys = async (stream: string | string[]) =>
        (await store.readChanges({ afterSeq: 0, limit: 10, stream, withData: true })).map((r) => r.key);
      expect(await keys('orders')).toEqual(['o1', 'o2']);
      expect(await keys(['invoices', 'customers'])).toEqual(['c1', 'i1']);
      expect(await keys([])).toEqual([]);
    });

    it("leaves a reader that reads to the end holding every key's latest state, read in small batches", async () => {
      await commitPages('customers', [
        { writes: [write('a', { data: data('a', 1) }), write('b', { data: data('b', 1) }), write('c')] },
        {
          writes: [
            write('a', { kind: 'update', existed: true, data: data('a', 2), hash: 'a2' }),
            write('c', { kind: 'delete', existed: true, deleted: true }),
          ],
        },
        // A tombstone keeps the row's data in the table; the key is deleted all the same.
        { writes: [write('b', { kind: 'delete', existed: true, keepData: true, data: '' })] },
        { writes: [write('c', { kind: 'update', existed: true, data: data('c', 3), hash: 'c3' })] },
      ]);
      await commitPages('orders', [
        { writes: [write('a', { data: data('order-a', 1) }), write('z', { data: data('z', 1) })] },
        { writes: [write('z', { kind: 'delete', existed: true, deleted: true })] },
      ]);
      const mirror = new Map<string, Json>();
      let after = 0;
      for (;;) {
        const batch = await store.readChanges({ afterSeq: after, limit: 3, withData: true });
        if (batch.length === 0) break;
        for (const change of batch) {
          const id = `${change.stream}:${change.key}`;
          if (change.data === null || change.data === undefined) mirror.delete(id);
          else mirror.set(id, change.data);
        }
        after = batch.at(-1)!.seq;
      }
      const live = new Map<string, Json>();
      for (const stream of ['customers', 'orders']) {
        for (const row of await store.scanRecords(stream, { limit: 100 })) {
          if (row.deletedAt === null) live.set(`${stream}:${row.key}`, row.data);
        }
      }
      expect(mirror).toEqual(live);
      expect([...mirror.keys()].sort()).toEqual(['customers:a', 'customers:c', 'orders:a']);
    });

    it("gives null data for the changes of a stream whose table is gone, and reads the others' data", async () => {
      await commitPages('customers', [{ writes: [write('c1', { data: data('c1', 1) })] }]);
      await commitPages('orders', [{ writes: [write('o1')] }]);
      await store.readChanges({ afterSeq: 0, limit: 10, withData: true });
      await handle.query('DROP TABLE orders');
      const rows = await store.readChanges({ afterSeq: 0, limit: 10, withData: true });
      expect(rows.map((r) => [r.stream, r.key, r.data])).toEqual([
        ['customers', 'c1', { id: 'c1', rev: 1 }],
        ['orders', 'o1', null],
      ]);
    });

    it('registers a consumer once, and any instance reads its offset back', async () => {
      expect(await store.consumerOffset('mailer')).toBeNull();
      const first = await store.registerConsumer({ consumer: 'mailer', afterSeq: 0, at: T0 });
      expect(first).toEqual({ consumer: 'mailer', seq: 0, registeredAt: T0, updatedAt: T0 });
      // Registering again keeps the stored offset: a restarted consumer resumes where it was.
      await commitPages('customers', [{ writes: [write('a'), write('b')] }]);
      const [, second] = await seqs();
      await store.ackChanges({ consumer: 'mailer', seq: second!, at: T1 });
      const again = await store.registerConsumer({ consumer: 'mailer', afterSeq: 0, at: T2 });
      expect(again).toEqual({ consumer: 'mailer', seq: second, registeredAt: T0, updatedAt: T1 });
      const other = await handle.another();
      expect(await other.consumerOffset('mailer')).toEqual(again);
      // A consumer may start later in the log.
      const late = await store.registerConsumer({ consumer: 'late', afterSeq: 7, at: T2 });
      expect(late.seq).toBe(7);
    });

    it('moves an offset only forward, and only to a seq the log assigned', async () => {
      await store.registerConsumer({ consumer: 'c', afterSeq: 0, at: T0 });
      await commitPages('customers', [{ writes: [write('a'), write('b'), write('c')] }]);
      const [s1, s2, s3] = await seqs();
      expect((await store.ackChanges({ consumer: 'c', seq: s2!, at: T1 })).seq).toBe(s2);
      const back = await store.ackChanges({ consumer: 'c', seq: s1!, at: T2 });
      expect(back).toMatchObject({ seq: s2, updatedAt: T1 });
      await expect(store.ackChanges({ consumer: 'c', seq: s3! + 1, at: T2 })).rejects.toThrow(FatalError);
      await expect(store.ackChanges({ consumer: 'c', seq: s3! + 1, at: T2 })).rejects.toThrow(
        /assigned seqs up to \d+ only/,
      );
      await expect(store.ackChanges({ consumer: 'nobody', seq: s1!, at: T2 })).rejects.toThrow(
        /consumer "nobody" is not registered/,
      );
      expect(await store.consumerOffset('nobody')).toBeNull();
      expect((await store.ackChanges({ consumer: 'c', seq: s3!, at: T3 })).seq).toBe(s3);
      expect(await store.consumerOffset('c')).toMatchObject({ seq: s3, updatedAt: T3 });
    });

    it('never prunes a row a registered consumer has not passed, however old', async () => {
      await commitPages('customers', [
        { writes: [write('a'), write('b')], at: T0 },
        { writes: [write('c'), write('d')], at: T0 },
        { writes: [write('e')], at: T1 },
      ]);
      const all = await seqs();
      await store.registerConsumer({ consumer: 'fast', afterSeq: 0, at: T0 });
      await store.registerConsumer({ consumer: 'slow', afterSeq: 0, at: T0 });
      // Nobody passed anything yet.
      expect(await store.pruneChanges({ olderThan: T3, limit: 100 })).toBe(0);
      await store.ackChanges({ consumer: 'fast', seq: all[4]!, at: T2 });
      await store.ackChanges({ consumer: 'slow', seq: all[1]!, at: T2 });
      // Only what the slower consumer passed goes; the faster one's lead is kept for the slower.
      expect(await store.pruneChanges({ olderThan: T3, limit: 100 })).toBe(2);
      expect(await seqs()).toEqual(all.slice(2));
      await store.ackChanges({ consumer: 'slow', seq: all[4]!, at: T2 });
      // Both passed everything, but the last row is inside the window (committed at T1, not before).
      expect(await store.pruneChanges({ olderThan: T1, limit: 100 })).toBe(2);
      expect(await seqs()).toEqual(all.slice(4));
      // Each consumer reads on from its offset: nothing it has not passed is missing.
      expect(await seqs(all[1]!)).toEqual(all.slice(4));
    });

    it('prunes by the window alone when no consumer is registered, a bounded number of rows per call', async () => {
      await commitPages('customers', [
        { writes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((k) => write(k)), at: T0 },
        { writes: [write('k'), write('l')], at: T2 },
      ]);
      const all = await seqs();
      expect(await store.pruneChanges({ olderThan: T1, limit: 4 })).toBe(4);
      expect(await store.pruneChanges({ olderThan: T1, limit: 4 })).toBe(4);
      expect(await store.pruneChanges({ olderThan: T1, limit: 4 })).toBe(2);
      expect(await store.pruneChanges({ olderThan: T1, limit: 4 })).toBe(0);
      expect(await seqs()).toEqual(all.slice(10));
    });

    it('prunes only a prefix of the log: an old row behind a younger one waits for it', async () => {
      // A process whose clock ran ahead committed first.
      await commitPages('customers', [
        { writes: [write('a')], at: T2 },
        { writes: [write('b')], at: T0 },
      ]);
      expect(await store.pruneChanges({ olderThan: T1, limit: 100 })).toBe(0);
      expect(await store.pruneChanges({ olderThan: T3, limit: 100 })).toBe(2);
    });

    it('never assigns a pruned seq again', async () => {
      await commitPages('customers', [{ writes: [write('a'), write('b')], at: T0 }]);
      const before = await seqs();
      expect(await store.pruneChanges({ olderThan: T3, limit: 100 })).toBe(2);
      await commitPages('orders', [{ writes: [write('c')] }]);
      const [next] = await seqs();
      expect(next).toBeGreaterThan(before.at(-1)!);
      // A consumer may still acknowledge a pruned seq it read.
      await store.registerConsumer({ consumer: 'c', afterSeq: 0, at: T0 });
      expect((await store.ackChanges({ consumer: 'c', seq: before.at(-1)!, at: T1 })).seq).toBe(
        before.at(-1),
      );
    });

    it('tells where the log starts and ends, and the highest seq it assigned, before and after a prune', async () => {
      expect(await store.changeLogBounds()).toEqual({ oldestSeq: null, newestSeq: null, highestSeq: 0 });
      await commitPages('customers', [{ writes: [write('a'), write('b')], at: T0 }]);
      await commitPages('orders', [{ writes: [write('c')], at: T2 }]);
      const all = await seqs();
      expect(await store.changeLogBounds()).toEqual({
        oldestSeq: all[0],
        newestSeq: all[2],
        highestSeq: all[2],
      });
      expect(await store.pruneChanges({ olderThan: T1, limit: 100 })).toBe(2);
      expect(await store.changeLogBounds()).toEqual({
        oldestSeq: all[2],
        newestSeq: all[2],
        highestSeq: all[2],
      });
      expect(await store.pruneChanges({ olderThan: T3, limit: 100 })).toBe(1);
      expect(await store.changeLogBounds()).toEqual({ oldestSeq: null, newestSeq: null, highestSeq: all[2] });
    });

    it('lets a reader tailing by seq see every row in order, none skipped, while two instances commit at once', async () => {
      const writers = [store, await handle.another()];
      const streams = ['customers', 'orders'];
      const leases: Lease[] = [];
      for (const [i, stream] of streams.entries()) {
        const steps = contractSteps(() => writers[i]!);
        const l = await steps.lease(stream, `writer-${i}`);
        await steps.startedRun(l, `r${i}`);
        leases.push(l);
      }
      const pages = 20;
      const perPage = 25;
      let writing = true;
      const seen: number[] = [];
      const tail = await handle.another();
      const reader = (async () => {
        let after = 0;
        for (;;) {
          const done = !writing;
          const rows = await tail.readChanges({ afterSeq: after, limit: 40 });
          for (const row of rows) seen.push(row.seq);
          after = rows.at(-1)?.seq ?? after;
          if (done && rows.length === 0) return;
          // SQLite reads synchronously: let the writers' commits come back between two reads.
          await setImmediate();
        }
      })();
      await Promise.all(
        writers.map(async (writer, i) => {
          const steps = contractSteps(() => writer);
          for (let p = 0; p < pages; p++) {
            const writes = Array.from({ length: perPage }, (_, j) => write(`${p}-${j}`));
            await writer.commitPage(steps.commit(leases[i]!, `r${i}`, { writes, checkpoint: { page: p } }));
          }
        }),
      );
      writing = false;
      await reader;
      const committed = await seqs();
      expect(committed).toHaveLength(2 * pages * perPage);
      // In order and complete: exactly the log's seqs, each once, ascending.
      expect(seen).toEqual(committed);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    });
  });
}
