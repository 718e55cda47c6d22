import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../core/store.ts';
import type { DeadLetter } from '../core/types.ts';
import { contractSteps, type StoreHandle, T0, T1, T2, T3, write } from './store-contract-support.ts';

/**
 * The store's part of dead letters that can be settled (issue 17): one open letter per record with
 * a count, letters resolved when their key commits, replayed or ignored, and runs recorded with
 * their mode. Called by `describeStoreContract`, so both stores run it.
 */
export function describeDeadLetterContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract (dead letters, run modes): ${title}`, () => {
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
    const letter = (key: string | null, payload: string, reason = 'email: invalid'): DeadLetter => ({
      key,
      reason,
      payload,
    });

    it('keeps one open letter per record, counting each time it fails again', async () => {
      const l = await lease();
      await startedRun(l, 'r1');
      await store.commitPage(
        commit(l, 'r1', {
          deadLetters: [letter('7', '{"id":7}'), letter('7', '{"id":7}'), letter(null, '{"x":1}')],
          at: T1,
        }),
      );
      await startedRun(l, 'r2');
      await store.commitPage(
        commit(l, 'r2', {
          deadLetters: [letter('7', '{"id":7}', 'email: still invalid'), letter(null, '{"x":1}')],
          at: T2,
        }),
      );
      // Another payload for the same key is another letter.
      await store.commitPage(commit(l, 'r2', { deadLetters: [letter('7', '{"id":7,"v":2}')], at: T3 }));
      const letters = await store.listDeadLetters({ stream: 'customers', limit: 10 });
      expect(letters).toHaveLength(3);
      const seven = letters.find((d) => d.payload === '{"id":7}');
      expect(seven).toMatchObject({ key: '7', occurrences: 3, runId: 'r2', reason: 'email: still invalid' });
      expect(Date.parse(seven!.createdAt)).toBe(Date.parse(T1));
      expect(Date.parse(seven!.lastSeenAt)).toBe(Date.parse(T2));
      expect(letters.find((d) => d.key === null)).toMatchObject({ occurrences: 2, status: 'open' });
      expect((await store.listStreams())[0]?.openFailures).toBe(3);
    });

    it("resolves a key's open letters when a commit says the key applied, and only those", async () => {
      await store.ensureStream('orders');
      const l = await lease();
      const o = await lease('orders');
      await startedRun(l, 'r1');
      await startedRun(o, 'ro');
      await store.commitPage(
        commit(l, 'r1', { deadLetters: [letter('7', '{"id":7}'), letter('8', '{"id":8}')], at: T1 }),
      );
      await store.commitPage(commit(o, 'ro', { deadLetters: [letter('7', '{"id":7}')], at: T1 }));
      await startedRun(l, 'r2');
      await store.commitPage(
        commit(l, 'r2', { writes: [write('7')], resolve: { keys: ['7'], replayed: [] }, at: T2 }),
      );
      const all = await store.listDeadLetters({ all: true, limit: 10 });
      expect(all.find((d) => d.stream === 'customers' && d.key === '7')).toMatchObject({
        status: 'resolved',
        resolvedRunId: 'r2',
      });
      expect(Date.parse(all.find((d) => d.status === 'resolved')!.resolvedAt!)).toBe(Date.parse(T2));
      expect(all.find((d) => d.key === '8')?.status).toBe('open');
      expect(all.find((d) => d.stream === 'orders')?.status).toBe('open');
      expect(await store.listDeadLetters({ stream: 'customers', limit: 10 })).toHaveLength(1);
      // A resolved record that fails again opens a new letter.
      await store.commitPage(commit(l, 'r2', { deadLetters: [letter('7', '{"id":7}')], at: T3 }));
      const open = await store.listDeadLetters({ stream: 'customers', limit: 10 });
      expect(open.map((d) => [d.key, d.occurrences]).sort()).toEqual([
        ['7', 1],
        ['8', 1],
      ]);
    });

    it("keeps a sink's refused events as letters that replays and key resolution leave alone", async () => {
      const l = await lease();
      await startedRun(l, 'r1');
      const event = (seq: number, key: string) => ({
        stream: 'customers',
        key,
        eventId: `customers:${seq}`,
        runId: 'r1',
        reason: 'sink hooks: 400 from example.com/hook',
        payload: JSON.stringify({ id: `customers:${seq}`, key }),
      });
      await store.addSinkDeadLetters({ sink: 'hooks', letters: [event(1, '7'), event(2, '8')], at: T1 });
      // Refused again (at least once): the same letter, one more occurrence.
      await store.addSinkDeadLetters({ sink: 'hooks', letters: [event(1, '7')], at: T2 });
      await store.addSinkDeadLetters({ sink: 'other', letters: [event(1, '7')], at: T2 });
      await store.addSinkDeadLetters({ sink: 'hooks', letters: [], at: T2 });
      const letters = await store.listDeadLetters({ stream: 'customers', limit: 10 });
      expect(letters).toHaveLength(3);
      expect(letters.find((d) => d.sink === 'hooks' && d.key === '7')).toMatchObject({
        occurrences: 2,
        status: 'open',
        runId: 'r1',
        reason: 'sink hooks: 400 from example.com/hook',
        payload: '{"id":"customers:1","key":"7"}',
      });
      expect(Date.parse(letters.find((d) => d.sink === 'hooks' && d.key === '7')!.lastSeenAt)).toBe(
        Date.parse(T2),
      );
      // Not a record: no replay reads it, no commit of the key resolves it.
      expect(await store.openDeadLetters({ stream: 'customers', afterId: 0, limit: 10 })).toEqual([]);
      expect(await store.openDeadLetterKeys('customers', 10)).toEqual([]);
      await store.commitPage(
        commit(l, 'r1', { writes: [write('7')], resolve: { keys: ['7'], replayed: [] }, at: T3 }),
      );
      expect(await store.listDeadLetters({ stream: 'customers', limit: 10 })).toHaveLength(3);
      // An operator can set them aside like any letter.
      const ids = letters.filter((d) => d.sink === 'other').map((d) => d.id);
      expect(await store.ignoreDeadLetters({ ids, at: T3 })).toBe(1);
    });

    it("reads a sink's open letters oldest first and marks the redelivered ones replayed, only those", async () => {
      const event = (seq: number, reason = 'sink hooks: 400') => ({
        stream: 'customers',
        key: String(seq),
        eventId: `customers:${seq}`,
        runId: 'r1',
        reason,
        payload: JSON.stringify({ id: `customers:${seq}` }),
      });
      await store.addSinkDeadLetters({ sink: 'hooks', letters: [event(1), event(2), event(3)], at: T1 });
      await store.addSinkDeadLetters({ sink: 'other', letters: [event(1)], at: T1 });
      const open = await store.openSinkDeadLetters({ sink: 'hooks', afterId: 0, limit: 10 });
      expect(open.map((d) => d.key)).toEqual(['1', '2', '3']);
      expect(open.every((d) => d.sink === 'hooks')).toBe(true);
      const [first, second, third] = open;
      expect(
        (await store.openSinkDeadLetters({ sink: 'hooks', afterId: first!.id, limit: 1 })).map((d) => d.id),
      ).toEqual([second!.id]);
      expect(
        (
          await store.openSinkDeadLetters({ sink: 'hooks', afterId: 0, limit: 10, ids: [third!.id, 999] })
        ).map((d) => d.id),
      ).toEqual([third!.id]);
      // Another sink's letter is not this sink's to mark.
      const otherId = (await store.openSinkDeadLetters({ sink: 'other', afterId: 0, limit: 10 }))[0]!.id;
      expect(
        await store.markSinkDeadLettersRedelivered({ sink: 'hooks', ids: [first!.id, otherId], at: T2 }),
      ).toBe(1);
      expect(await store.markSinkDeadLettersRedelivered({ sink: 'hooks', ids: [first!.id], at: T2 })).toBe(0);
      expect(await store.markSinkDeadLettersRedelivered({ sink: 'hooks', ids: [], at: T2 })).toBe(0);
      // Refused again: the open letter counts it and says why now.
      await store.addSinkDeadLetters({ sink: 'hooks', letters: [event(2, 'sink hooks: 410')], at: T3 });
      const all = await store.listDeadLetters({ all: true, limit: 10 });
      const byId = (id: number) => all.find((d) => d.id === id)!;
      expect(byId(first!.id)).toMatchObject({ status: 'replayed', resolvedRunId: null });
      expect(Date.parse(byId(first!.id).resolvedAt!)).toBe(Date.parse(T2));
      expect(byId(second!.id)).toMatchObject({ status: 'open', occurrences: 2, reason: 'sink hooks: 410' });
      expect(byId(otherId).status).toBe('open');
      expect(
        (await store.openSinkDeadLetters({ sink: 'hooks', afterId: 0, limit: 10 })).map((d) => d.id),
      ).toEqual([second!.id, third!.id]);
    });

    it('reads open letters oldest first for a replay, marks replayed ones, and counts failed replays', async () => {
      const l = await lease();
      await startedRun(l, 'r1');
      await store.commitPage(
        commit(l, 'r1', {
          deadLetters: [letter(null, '{"a":1}'), letter(null, '{"a":2}'), letter('3', '{"a":3}')],
        }),
      );
      const [first, second, third] = await store.openDeadLetters({
        stream: 'customers',
        afterId: 0,
        limit: 10,
      });
      expect([first?.payload, second?.payload, third?.payload]).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
      expect(
        (await store.openDeadLetters({ stream: 'customers', afterId: first!.id, limit: 1 })).map((d) => d.id),
      ).toEqual([second!.id]);
      expect(
        (await store.openDeadLetters({ stream: 'customers', afterId: 0, limit: 10, ids: [third!.id] })).map(
          (d) => d.id,
        ),
      ).toEqual([third!.id]);
      await startedRun(l, 'replay');
      await store.commitPage(
        commit(l, 'replay', {
          writes: [write('1')],
          deadLetters: [{ key: '2', reason: 'name: required', payload: '{"a":2}', replayOf: second!.id }],
          resolve: { keys: [], replayed: [first!.id] },
          at: T2,
        }),
      );
      const letters = await store.listDeadLetters({ stream: 'customers', all: true, limit: 10 });
      const byId = new Map(letters.map((d) => [d.id, d]));
      expect(byId.get(first!.id)).toMatchObject({ status: 'replayed', resolvedRunId: 'replay' });
      // A replay that failed again updates its letter: no new one.
      expect(letters).toHaveLength(3);
      expect(byId.get(second!.id)).toMatchObject({
        status: 'open',
        occurrences: 2,
        reason: 'name: required',
        key: null,
        runId: 'replay',
      });
      expect(byId.get(third!.id)?.status).toBe('open');
    });

    it('lists letters by id, names the keys of open ones, and ignores them on request', async () => {
      await store.ensureStream('orders');
      const l = await lease();
      const o = await lease('orders');
      await startedRun(l, 'r1');
      await startedRun(o, 'ro');
      await store.commitPage(
        commit(l, 'r1', {
          deadLetters: [letter('1', '{"a":1}'), letter('1', '{"a":1,"b":2}'), letter('2', '{"a":2}')],
        }),
      );
      await store.commitPage(commit(o, 'ro', { deadLetters: [letter('9', '{"a":9}')] }));
      expect((await store.openDeadLetterKeys('customers', 10))?.sort()).toEqual(['1', '2']);
      expect(await store.openDeadLetterKeys('customers', 1)).toBeNull();
      const [newest] = await store.listDeadLetters({ stream: 'customers', limit: 1 });
      expect((await store.listDeadLetters({ ids: [newest!.id], limit: 10 })).map((d) => d.payload)).toEqual([
        '{"a":2}',
      ]);
      expect(await store.ignoreDeadLetters({ ids: [newest!.id], at: T2 })).toBe(1);
      expect(await store.ignoreDeadLetters({ ids: [newest!.id], at: T2 })).toBe(0);
      expect((await store.listDeadLetters({ ids: [newest!.id], all: true, limit: 1 }))[0]).toMatchObject({
        status: 'ignored',
        resolvedRunId: null,
      });
      expect(await store.ignoreDeadLetters({ stream: 'customers', at: T3 })).toBe(2);
      expect(await store.listDeadLetters({ stream: 'customers', limit: 10 })).toEqual([]);
      expect(await store.openDeadLetterKeys('customers', 10)).toEqual([]);
      expect(await store.listDeadLetters({ stream: 'orders', limit: 10 })).toHaveLength(1);
    });

    it('writes no letter and settles none when the commit lost its lease', async () => {
      const l = await lease();
      await startedRun(l, 'r1');
      await store.commitPage(commit(l, 'r1', { deadLetters: [letter('7', '{"id":7}')] }));
      const stale = { ...l, epoch: l.epoch - 1 };
      await expect(
        store.commitPage(
          commit(stale, 'r1', {
            deadLetters: [letter('8', '{"id":8}')],
            resolve: { keys: ['7'], replayed: [] },
          }),
        ),
      ).rejects.toThrow(/lost the lease/);
      const open = await store.listDeadLetters({ stream: 'customers', limit: 10 });
      expect(open.map((d) => d.key)).toEqual(['7']);
    });

    it('records each run with its mode and filters runs by mode and status', async () => {
      const l = await lease();
      await store.startRun({ runId: 'r1', stream: 'customers', lease: l, at: T0, checkpointBefore: null });
      await store.finishRun({ runId: 'r1', status: 'ok', at: T1, error: null, counters: {} });
      await store.startRun({
        runId: 'r2',
        stream: 'customers',
        mode: 'reconcile',
        lease: l,
        at: T1,
        checkpointBefore: null,
      });
      await store.finishRun({ runId: 'r2', status: 'failed', at: T2, error: 'x', counters: {} });
      await store.startRun({
        runId: 'r3',
        stream: 'customers',
        mode: 'reconcile',
        lease: l,
        at: T2,
        checkpointBefore: null,
      });
      await store.finishRun({ runId: 'r3', status: 'ok', at: T3, error: null, counters: {} });
      expect(
        (await store.listRuns({ stream: 'customers', limit: 10 })).map((r) => [r.runId, r.mode]),
      ).toEqual([
        ['r3', 'reconcile'],
        ['r2', 'reconcile'],
        ['r1', 'sync'],
      ]);
      const reconciled = await store.listRuns({
        stream: 'customers',
        mode: 'reconcile',
        status: 'ok',
        limit: 1,
      });
      expect(reconciled.map((r) => r.runId)).toEqual(['r3']);
      expect((await store.listRuns({ mode: 'sync', limit: 10 })).map((r) => r.runId)).toEqual(['r1']);
      expect(await store.listRuns({ mode: 'replay', limit: 10 })).toEqual([]);
    });
  });
}
