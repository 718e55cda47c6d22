import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FatalError, LeaseLostError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import type { RecordWrite } from '../core/types.ts';
import { contractSteps, type StoreHandle, T0, T1, T2, T3, write } from './store-contract-support.ts';

/**
 * The store's part of backfills, reconciliation and history (issue 6): checkpoint slots, run
 * evidence and the `paused_backfill` status, approval, the `flagged` counter, full scans
 * (`ScanStore`) and history tables. Called by `describeStoreContract`, so both stores run it.
 */
export function describeReconciliationContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract (backfills, scans, history): ${title}`, () => {
    let handle: StoreHandle;
    let store: Store;

    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
      await store.ensureStream('customers');
    });
    afterEach(async () => {
      await handle.dispose();
    });

    const { lease, startedRun, commit } = contractSteps(() => store);

    /** Keys of the stream's rows that are soft-deleted, sorted. */
    async function deletedKeys(stream = 'customers'): Promise<string[]> {
      const rows = await store.scanRecords(stream, { limit: 1000 });
      return rows.filter((r) => r.deletedAt !== null).map((r) => r.key);
    }

    it('starts a stream with no backfill checkpoint and no approval', async () => {
      const state = await store.getState('customers');
      expect(state).toMatchObject({ checkpoint: null, backfillCheckpoint: null, approved: false });
    });

    it('moves the backfill checkpoint without touching the main one, and finishRun picks the slot', async () => {
      const l = await lease();
      await startedRun(l, 'main-run');
      await store.commitPage(commit(l, 'main-run', { checkpoint: { main: 1 }, newestCursor: '5' }));
      await store.finishRun({ runId: 'main-run', status: 'ok', at: T1, error: null, counters: {} });

      await store.startRun({ runId: 'bf', stream: 'customers', lease: l, at: T2, checkpointBefore: null });
      await store.commitPage(
        commit(l, 'bf', { slot: 'backfill', checkpoint: { window: 1 }, newestCursor: '9', at: T2 }),
      );
      await store.commitPage(commit(l, 'bf', { slot: 'backfill', checkpoint: { window: 2 }, at: T2 }));
      let state = await store.getState('customers');
      expect(state).toMatchObject({ checkpoint: { main: 1 }, backfillCheckpoint: { window: 2 } });
      // The newest cursor is handled as for any page: it moves forward, and null leaves it.
      expect(state?.newestCursor).toBe('9');
      await store.finishRun({
        runId: 'bf',
        status: 'partial',
        at: T3,
        error: null,
        counters: {},
        slot: 'backfill',
      });

      const runs = await store.listRuns({ stream: 'customers', limit: 10 });
      expect(runs.find((r) => r.runId === 'bf')?.checkpointAfter).toEqual({ window: 2 });
      expect(runs.find((r) => r.runId === 'main-run')?.checkpointAfter).toEqual({ main: 1 });

      // A main-slot page leaves the backfill checkpoint alone.
      await store.commitPage(commit(l, 'bf', { checkpoint: { main: 2 }, at: T3 }));
      state = await store.getState('customers');
      expect(state).toMatchObject({ checkpoint: { main: 2 }, backfillCheckpoint: { window: 2 } });
    });

    it('resets one checkpoint slot at a time, and refuses an unknown stream', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { checkpoint: { main: 1 } }));
      await store.commitPage(commit(l, runId, { checkpoint: { window: 1 }, slot: 'backfill' }));
      await store.resetCheckpoint('customers', T2, 'backfill');
      expect(await store.getState('customers')).toMatchObject({
        checkpoint: { main: 1 },
        backfillCheckpoint: null,
      });
      await store.commitPage(commit(l, runId, { checkpoint: { window: 2 }, slot: 'backfill' }));
      await store.resetCheckpoint('customers', T2);
      expect(await store.getState('customers')).toMatchObject({
        checkpoint: null,
        backfillCheckpoint: { window: 2 },
      });
      await expect(store.resetCheckpoint('nope', T2)).rejects.toBeInstanceOf(FatalError);
    });

    it('sets and clears the approval, visible in the state; refuses an unknown stream', async () => {
      await store.setApproval('customers', true, T1);
      const approved = await store.getState('customers');
      expect(approved?.approved).toBe(true);
      expect(Date.parse(approved!.updatedAt)).toBe(Date.parse(T1));
      await store.setApproval('customers', false, T2);
      expect((await store.getState('customers'))?.approved).toBe(false);
      await expect(store.setApproval('nope', true, T2)).rejects.toBeInstanceOf(FatalError);
    });

    it('round-trips run evidence and the paused_backfill status', async () => {
      const l = await lease();
      await startedRun(l, 'paused');
      const evidence = {
        reason: 'backfill',
        counts: { update: 120, insert: 0 },
        oldestCursor: '2020-01-01T00:00:00Z',
        sampleKeys: ['a', '["x",1]', 'ünï'],
        ratio: 12.5,
        nested: [null, true, { deep: 'é"\'' }],
      };
      await store.finishRun({
        runId: 'paused',
        status: 'paused_backfill',
        at: T1,
        error: null,
        counters: {},
        evidence,
      });
      await store.startRun({ runId: 'plain', stream: 'customers', lease: l, at: T2, checkpointBefore: null });
      expect((await store.listRuns({ limit: 1 }))[0]).toMatchObject({ runId: 'plain', evidence: null });
      await store.finishRun({ runId: 'plain', status: 'ok', at: T3, error: null, counters: {} });

      const runs = await store.listRuns({ stream: 'customers', limit: 10 });
      expect(runs.map((r) => [r.runId, r.status, r.evidence])).toEqual([
        ['plain', 'ok', null],
        ['paused', 'paused_backfill', evidence],
      ]);
      const [status] = await store.listStreams();
      expect(status?.lastRun?.evidence).toBeNull();
    });

    it('adds up the flagged counter across pages and the end of the run', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { counters: { flagged: 2, updated: 2 } }));
      await store.commitPage(commit(l, runId, { counters: { flagged: 3 } }));
      await store.finishRun({ runId, status: 'ok', at: T2, error: null, counters: { flagged: 1 } });
      const [run] = await store.listRuns({ limit: 1 });
      expect(run?.counters).toMatchObject({ flagged: 6, updated: 2 });
    });

    describe('full scans', () => {
      /** a, b, c, d live (versioned); x soft-deleted at T0. Returns the lease and run `r1`. */
      async function seeded() {
        const l = await lease();
        const runId = await startedRun(l);
        await store.commitPage(
          commit(l, runId, {
            writes: [
              ...['a', 'b', 'c', 'd'].map((k) => write(k, { version: '3' })),
              write('x', { kind: 'delete', deleted: true }),
            ],
            at: T0,
          }),
        );
        return { l, runId };
      }

      it('deletes exactly the live rows the scan did not see, with change-log rows and the run counter', async () => {
        const { l, runId } = await seeded();
        const seqBefore = (await store.readChanges({ afterSeq: 0, limit: 100 })).at(-1)!.seq;
        // Page 1 writes a new key and sees it; keys seen in two pages of one scan count once.
        await store.commitPage(
          commit(l, runId, { writes: [write('e')], scan: { id: 's1', seenKeys: ['a', 'e'] } }),
        );
        await store.commitPage(commit(l, runId, { scan: { id: 's1', seenKeys: ['a', 'b', 'b'] } }));
        // Another scan's keys do not count for this one.
        await store.commitPage(commit(l, runId, { scan: { id: 'other', seenKeys: ['c'] } }));
        expect(await store.countUnseen('customers', 's1')).toEqual({ live: 5, unseen: 2 });

        const done = await store.completeScan({ stream: 'customers', scanId: 's1', runId, lease: l, at: T2 });
        expect(done).toEqual({ deleted: 2, sample: ['c', 'd'] });
        expect(await deletedKeys()).toEqual(['c', 'd', 'x']);
        const rows = new Map((await store.scanRecords('customers', { limit: 10 })).map((r) => [r.key, r]));
        for (const key of ['c', 'd']) {
          const row = rows.get(key)!;
          expect(Date.parse(row.deletedAt!)).toBe(Date.parse(T2));
          expect(Date.parse(row.syncedAt)).toBe(Date.parse(T2));
          expect(row).toMatchObject({ runId, hash: write(key).hash, version: '3' });
        }
        // The row deleted earlier keeps its own deletion.
        expect(Date.parse(rows.get('x')!.deletedAt!)).toBe(Date.parse(T0));

        const changes = (await store.readChanges({ afterSeq: seqBefore, limit: 100 })).filter(
          (c) => c.kind === 'delete',
        );
        expect(changes.map((c) => [c.key, c.hash, c.version, c.runId])).toEqual([
          ['c', write('c').hash, '3', runId],
          ['d', write('d').hash, '3', runId],
        ]);
        expect(changes.every((c) => Date.parse(c.at) === Date.parse(T2))).toBe(true);
        expect((await store.listRuns({ limit: 1 }))[0]?.counters.deleted).toBe(2);

        // The scan's keys are forgotten: every live row is now unseen by it; other scans stay.
        expect(await store.countUnseen('customers', 's1')).toEqual({ live: 3, unseen: 3 });
        expect(await store.countUnseen('customers', 'other')).toEqual({ live: 3, unseen: 3 });
        await store.commitPage(commit(l, runId, { scan: { id: 'other', seenKeys: ['a'] } }));
        expect(await store.countUnseen('customers', 'other')).toEqual({ live: 3, unseen: 2 });
      });

      it('samples at most 10 keys, sorted, and counts all of them', async () => {
        const l = await lease();
        const runId = await startedRun(l);
        const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
        await store.commitPage(commit(l, runId, { writes: keys.map((k) => write(k)) }));
        await store.commitPage(commit(l, runId, { scan: { id: 's', seenKeys: ['k00'] } }));
        const done = await store.completeScan({ stream: 'customers', scanId: 's', runId, lease: l, at: T2 });
        expect(done.deleted).toBe(24);
        expect(done.sample).toEqual(keys.slice(1, 11));
      });

      it('deletes nothing when the scan saw every live row', async () => {
        const { l, runId } = await seeded();
        await store.commitPage(commit(l, runId, { scan: { id: 's', seenKeys: ['a', 'b', 'c', 'd', 'zz'] } }));
        expect(await store.countUnseen('customers', 's')).toEqual({ live: 4, unseen: 0 });
        const done = await store.completeScan({ stream: 'customers', scanId: 's', runId, lease: l, at: T2 });
        expect(done).toEqual({ deleted: 0, sample: [] });
        expect(await deletedKeys()).toEqual(['x']);
        expect((await store.listRuns({ limit: 1 }))[0]?.counters.deleted).toBe(0);
      });

      it('is fenced: a stale lease writes nothing and keeps the scan', async () => {
        const { l, runId } = await seeded();
        await store.commitPage(commit(l, runId, { scan: { id: 's', seenKeys: ['a'] } }));
        const seqBefore = (await store.readChanges({ afterSeq: 0, limit: 100 })).at(-1)!.seq;
        const other = await handle.another();
        const got = await other.acquireLease({
          stream: 'customers',
          holder: 'two',
          ttlMs: 60_000,
          at: T1,
          takeOverFrom: l.holder,
        });
        if (!('lease' in got)) throw new Error('take-over refused');
        await expect(
          store.completeScan({ stream: 'customers', scanId: 's', runId, lease: l, at: T2 }),
        ).rejects.toBeInstanceOf(LeaseLostError);
        expect(await deletedKeys()).toEqual(['x']);
        expect(await store.readChanges({ afterSeq: seqBefore, limit: 10 })).toEqual([]);
        expect((await store.listRuns({ limit: 1 }))[0]?.counters.deleted).toBe(0);
        expect(await store.countUnseen('customers', 's')).toEqual({ live: 4, unseen: 3 });
        // A stale lease cannot record seen keys either.
        await expect(
          store.commitPage(commit(l, runId, { scan: { id: 's', seenKeys: ['b'] } })),
        ).rejects.toBeInstanceOf(LeaseLostError);
        expect(await store.countUnseen('customers', 's')).toEqual({ live: 4, unseen: 3 });
      });

      it('writes nothing when the run is not recorded', async () => {
        const { l } = await seeded();
        await expect(
          store.completeScan({ stream: 'customers', scanId: 's', runId: 'ghost', lease: l, at: T2 }),
        ).rejects.toBeInstanceOf(FatalError);
        expect(await deletedKeys()).toEqual(['x']);
      });

      it('records no seen keys when the page fails', async () => {
        const { l, runId } = await seeded();
        await expect(
          store.commitPage(
            commit(l, runId, { writes: [write('a')], scan: { id: 's', seenKeys: ['a', 'b'] } }),
          ),
        ).rejects.toThrow();
        expect(await store.countUnseen('customers', 's')).toEqual({ live: 4, unseen: 4 });
      });

      it('drops a scan without deleting anything', async () => {
        const { l, runId } = await seeded();
        await store.commitPage(commit(l, runId, { scan: { id: 's', seenKeys: ['a', 'b'] } }));
        await store.commitPage(commit(l, runId, { scan: { id: 'keep', seenKeys: ['a'] } }));
        await store.dropScan('customers', 's');
        expect(await store.countUnseen('customers', 's')).toEqual({ live: 4, unseen: 4 });
        expect(await store.countUnseen('customers', 'keep')).toEqual({ live: 4, unseen: 3 });
        expect(await deletedKeys()).toEqual(['x']);
        await store.dropScan('customers', 'never-started');
      });
    });

    describe('history', () => {
      it('opens and closes history rows across insert, update, delete and restore', async () => {
        await store.ensureStream('orders', { history: true });
        const l = await lease('orders');
        const runId = await startedRun(l);
        const v2 = JSON.stringify({ id: 'a', name: 'changed' });
        await store.commitPage(
          commit(l, runId, { writes: [write('a', { version: '1' }), write('b')], at: T0 }),
        );
        await store.commitPage(
          commit(l, runId, {
            writes: [write('a', { kind: 'update', existed: true, data: v2, hash: 'h2', version: '2' })],
            at: T1,
          }),
        );
        await store.commitPage(
          commit(l, runId, {
            writes: [
              write('a', {
                kind: 'delete',
                existed: true,
                deleted: true,
                data: v2,
                hash: 'h2',
                version: '2',
              }),
            ],
            at: T2,
          }),
        );
        await store.commitPage(
          commit(l, runId, {
            writes: [write('a', { kind: 'update', existed: true, hash: 'h4', version: '3' })],
            at: T3,
          }),
        );
        const history = await handle.readHistory('orders');
        expect(
          history.map((h) => [h.key, h.hash, h.version, h.validFrom, h.validTo, h.deleted, h.runId]),
        ).toEqual([
          ['a', write('a').hash, '1', T0, T1, false, runId],
          ['a', 'h2', '2', T1, T2, false, runId],
          ['a', 'h2', '2', T2, T3, true, runId],
          ['a', 'h4', '3', T3, null, false, runId],
          ['b', write('b').hash, null, T0, null, false, runId],
        ]);
        expect(history[1]?.data).toEqual(JSON.parse(v2));
        // The current table stays as it is.
        expect((await store.scanRecords('orders', { limit: 10 })).map((r) => r.hash)).toEqual([
          'h4',
          write('b').hash,
        ]);
      });

      it('keeps history for rows a completed scan deleted', async () => {
        await store.ensureStream('orders', { history: true });
        const l = await lease('orders');
        const runId = await startedRun(l);
        await store.commitPage(commit(l, runId, { writes: [write('a'), write('b')], at: T0 }));
        await store.commitPage(commit(l, runId, { scan: { id: 's', seenKeys: ['a'] }, at: T1 }));
        await store.completeScan({ stream: 'orders', scanId: 's', runId, lease: l, at: T2 });
        const history = await handle.readHistory('orders');
        expect(history.map((h) => [h.key, h.validFrom, h.validTo, h.deleted])).toEqual([
          ['a', T0, null, false],
          ['b', T0, T2, false],
          ['b', T2, null, true],
        ]);
        expect(history[2]?.data).toEqual(JSON.parse(write('b').data));
      });

      it('soft-deletes a tombstoned row keeping its last data, in the change log and the history', async () => {
        await store.ensureStream('orders', { history: true });
        const l = await lease('orders');
        const runId = await startedRun(l);
        const a = write('a', { version: '4', cursor: '2026-01-01T00:00:00.000Z' });
        await store.commitPage(commit(l, runId, { writes: [a, write('b')], at: T0 }));
        const tombstone: RecordWrite = {
          kind: 'delete',
          existed: true,
          keepData: true,
          key: 'a',
          data: '',
          hash: a.hash,
          version: '4',
          cursor: a.cursor,
          deleted: true,
        };
        await store.commitPage(commit(l, runId, { writes: [tombstone], at: T1 }));
        const [row] = await store.scanRecords('orders', { limit: 1 });
        expect(row).toMatchObject({ key: 'a', hash: a.hash, version: '4', cursor: a.cursor, deletedAt: T1 });
        expect(row?.data).toEqual(JSON.parse(a.data));
        expect((await store.lookup('orders', ['a'])).get('a')).toMatchObject({ deleted: true, hash: a.hash });
        const changes = await store.readChanges({ afterSeq: 0, limit: 10, stream: 'orders' });
        expect(changes.at(-1)).toMatchObject({ key: 'a', kind: 'delete', hash: a.hash, version: '4' });
        const history = (await handle.readHistory('orders')).filter((h) => h.key === 'a');
        expect(history.map((h) => [h.validFrom, h.validTo, h.deleted])).toEqual([
          [T0, T1, false],
          [T1, null, true],
        ]);
        expect(history[1]?.data).toEqual(JSON.parse(a.data));
        // A tombstone for a key the table does not have means the engine's view is wrong: nothing commits.
        await expect(
          store.commitPage(
            commit(l, runId, { writes: [{ ...tombstone, key: 'zz' }], checkpoint: { page: 9 }, at: T2 }),
          ),
        ).rejects.toThrow(/not/);
        expect((await store.getState('orders'))?.checkpoint).not.toEqual({ page: 9 });
      });

      it('adds history to an existing stream, starting from the stored rows, and every instance writes it', async () => {
        const l = await lease();
        const runId = await startedRun(l);
        await store.commitPage(
          commit(l, runId, {
            writes: [write('a'), write('gone', { kind: 'delete', deleted: true })],
            at: T0,
          }),
        );
        const other = await handle.another();
        await other.ensureStream('customers', { history: true });
        await store.ensureStream('customers', { history: true });
        expect(
          (await handle.readHistory('customers')).map((h) => [h.key, h.validFrom, h.validTo, h.deleted]),
        ).toEqual([
          ['a', T0, null, false],
          ['gone', T0, null, true],
        ]);
        await store.commitPage(
          commit(l, runId, { writes: [write('a', { kind: 'update', existed: true, hash: 'h2' })], at: T2 }),
        );
        // A plain ensureStream neither drops the history table nor stops history.
        const third = await handle.another();
        await third.ensureStream('customers');
        await third.commitPage(
          commit(l, runId, { writes: [write('a', { kind: 'update', existed: true, hash: 'h3' })], at: T3 }),
        );
        expect(
          (await handle.readHistory('customers'))
            .filter((h) => h.key === 'a')
            .map((h) => [h.hash, h.validTo]),
        ).toEqual([
          [write('a').hash, T2],
          ['h2', T3],
          ['h3', null],
        ]);
      });

      it('refuses history for a name too long for its table, or whose table is another stream', async () => {
        const long = `s${'x'.repeat(55)}`;
        await expect(store.ensureStream(long, { history: true })).rejects.toThrow(/cannot keep history/);
        await store.ensureStream(long);
        await store.ensureStream('orders_history');
        await expect(store.ensureStream('orders', { history: true })).rejects.toThrow(/another stream/);
      });

      it('does not take a stream named <stream>_history for the history of <stream>', async () => {
        await store.ensureStream('orders_history');
        await store.ensureStream('orders');
        const l = await lease('orders');
        const runId = await startedRun(l);
        await store.commitPage(commit(l, runId, { writes: [write('a')] }));
        await store.commitPage(
          commit(l, runId, { writes: [write('a', { existed: true, kind: 'update', hash: 'h2' })] }),
        );
        expect(await store.scanRecords('orders_history', { limit: 10 })).toEqual([]);
        expect((await store.lookup('orders', ['a'])).get('a')?.hash).toBe('h2');
      });

      it('reads the versions of one key newest first (readHistory), and null for a stream without history', async () => {
        await store.ensureStream('orders', { history: true });
        const l = await lease('orders');
        const runId = await startedRun(l);
        const v2 = JSON.stringify({ id: 'a', name: '<b>changed</b>', tags: ['x'] });
        await store.commitPage(
          commit(l, runId, { writes: [write('a', { version: '1' }), write('b')], at: T0 }),
        );
        await store.commitPage(
          commit(l, runId, {
            writes: [write('a', { kind: 'update', existed: true, data: v2, hash: 'h2', version: '2' })],
            at: T1,
          }),
        );
        await store.commitPage(
          commit(l, runId, {
            writes: [write('a', { kind: 'delete', existed: true, deleted: true, data: v2, hash: 'h2' })],
            at: T2,
          }),
        );
        const versions = await store.readHistory('orders', 'a', 10);
        expect(versions?.map((v) => [v.validFrom, v.validTo, v.hash, v.deleted, v.runId])).toEqual([
          [T2, null, 'h2', true, runId],
          [T1, T2, 'h2', false, runId],
          [T0, T1, write('a').hash, false, runId],
        ]);
        expect(versions?.[1]?.data).toEqual(JSON.parse(v2));
        expect(versions?.[2]).toMatchObject({ version: '1', data: JSON.parse(write('a').data) });
        expect((await store.readHistory('orders', 'a', 2))?.map((v) => v.validFrom)).toEqual([T2, T1]);
        expect(await store.readHistory('orders', 'nope', 10)).toEqual([]);
        expect(await store.readHistory('customers', 'a', 10)).toBeNull();
      });

      it('writes no history for a stream without it', async () => {
        const l = await lease();
        const runId = await startedRun(l);
        await store.commitPage(commit(l, runId, { writes: [write('a')] }));
        await expect(handle.readHistory('customers')).rejects.toThrow();
      });
    });
  });
}
