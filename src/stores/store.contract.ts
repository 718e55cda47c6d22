import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import { describeChangeFeedContract } from './store-change-feed.contract.ts';
import { contractSteps, type StoreHandle, T0, T1, T2, T3, write } from './store-contract-support.ts';
import { describeDeadLetterContract } from './store-dead-letters.contract.ts';
import { describeDestinationMapContract } from './store-destination-map.contract.ts';
import { describeInboxContract } from './store-inbox.contract.ts';
import { describeLifecycleContract } from './store-lifecycle.contract.ts';
import { describeReconciliationContract } from './store-reconcile.contract.ts';
import { describeTypedViewContract } from './store-typed-view.contract.ts';

export type { HistoryRow, StoreHandle } from './store-contract-support.ts';
export { write } from './store-contract-support.ts';

/**
 * The behaviour every store must have. Each test gets a fresh location from `makeStore`.
 * Run it from `<kind>-store.test.ts`: `describeStoreContract('sqlite', () => ...)`; `variant` names
 * a configuration of the same kind that runs it again.
 */
export function describeStoreContract(
  kind: string,
  makeStore: () => Promise<StoreHandle>,
  variant?: string,
): void {
  const title = variant ? `${kind}, ${variant}` : kind;
  describe(`Store contract: ${title}`, () => {
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

    it('declares its kind', () => {
      expect(store.capabilities.kind).toBe(kind);
    });

    it('creates a stream with a null checkpoint, idempotently', async () => {
      await store.ensureStream('customers');
      const state = await store.getState('customers');
      expect(state?.checkpoint).toBeNull();
      expect(state?.leaseEpoch).toBe(0);
      expect(await store.getState('nope')).toBeNull();
    });

    it('reopens an existing location without re-running migrations or losing data', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { writes: [write('a')] }));
      const other = await handle.another();
      await other.ensureStream('customers');
      expect((await other.lookup('customers', ['a'])).size).toBe(1);
      expect((await other.getState('customers'))?.checkpoint).toEqual({ page: 1 });
    });

    it('grants a free lease at epoch 1 and refuses a second holder while it is live', async () => {
      const l = await lease();
      expect(l.epoch).toBe(1);
      const other = await store.acquireLease({
        stream: 'customers',
        holder: 'host:2:b',
        ttlMs: 60_000,
        at: T1,
      });
      expect(other).toEqual({
        conflict: { stream: 'customers', holder: 'host:1:a', expiresAt: l.expiresAt },
      });
    });

    it('re-grants a live lease to its own holder without changing the epoch', async () => {
      const l = await lease();
      const again = await lease();
      expect(again.epoch).toBe(l.epoch);
    });

    it('hands an expired lease to a new holder with a higher epoch, and fences the old one', async () => {
      // Expiry is the store's clock: a lease of 100 ms, then a real wait past it.
      const l = await store.acquireLease({ stream: 'customers', holder: 'old', ttlMs: 100, at: T0 });
      if (!('lease' in l)) throw new Error('no lease');
      const runId = await startedRun(l.lease);
      await sleep(300);
      const n = await store.acquireLease({ stream: 'customers', holder: 'new', ttlMs: 60_000, at: T0 });
      if (!('lease' in n)) throw new Error('expired lease not granted');
      expect(n.lease.epoch).toBe(l.lease.epoch + 1);
      await expect(store.commitPage(commit(l.lease, runId, { writes: [write('x')] }))).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      expect((await store.lookup('customers', ['x'])).size).toBe(0);
      expect((await store.getState('customers'))?.checkpoint).toBeNull();
      await expect(store.renewLease(l.lease, 1000, T1)).rejects.toBeInstanceOf(LeaseLostError);
    });

    it("judges expiry by the store's clock: a caller whose clock runs far ahead cannot take a live lease", async () => {
      const l = await lease();
      const dayAhead = new Date(Date.now() + 86_400_000).toISOString();
      const skewed = await store.acquireLease({
        stream: 'customers',
        holder: 'ahead',
        ttlMs: 60_000,
        at: dayAhead,
      });
      expect(skewed).toEqual({ conflict: { stream: 'customers', holder: l.holder, expiresAt: l.expiresAt } });
    });

    it("gives a caller whose clock is behind a lease and a renewal that live their TTL by the store's clock", async () => {
      const dayBehind = new Date(Date.now() - 86_400_000).toISOString();
      const got = await store.acquireLease({
        stream: 'customers',
        holder: 'behind',
        ttlMs: 60_000,
        at: dayBehind,
      });
      if (!('lease' in got)) throw new Error('no lease');
      const other = { stream: 'customers', holder: 'other', ttlMs: 60_000, at: new Date().toISOString() };
      expect(await store.acquireLease(other)).toEqual({
        conflict: { stream: 'customers', holder: 'behind', expiresAt: got.lease.expiresAt },
      });
      const renewed = await store.renewLease(got.lease, 60_000, dayBehind);
      expect(Date.parse(renewed.expiresAt)).toBeGreaterThanOrEqual(Date.parse(got.lease.expiresAt));
      expect(await store.acquireLease(other)).toEqual({
        conflict: { stream: 'customers', holder: 'behind', expiresAt: renewed.expiresAt },
      });
    });

    it('lets a holder take over from a named dead holder before expiry', async () => {
      const l = await lease('customers', 'dead');
      const got = await store.acquireLease({
        stream: 'customers',
        holder: 'alive',
        ttlMs: 60_000,
        at: T1,
        takeOverFrom: 'dead',
      });
      if (!('lease' in got)) throw new Error('take-over refused');
      expect(got.lease.epoch).toBe(l.epoch + 1);
      const wrong = await store.acquireLease({
        stream: 'customers',
        holder: 'third',
        ttlMs: 60_000,
        at: T1,
        takeOverFrom: 'dead',
      });
      expect('conflict' in wrong).toBe(true);
    });

    it('renews and releases a lease', async () => {
      const l = await lease();
      const renewed = await store.renewLease(l, 120_000, T1);
      expect(renewed.epoch).toBe(l.epoch);
      // Taken 60 s, renewed later for 120 s: it now ends at least 60 s later (generous upper bound).
      const longer = Date.parse(renewed.expiresAt) - Date.parse(l.expiresAt);
      expect(longer).toBeGreaterThanOrEqual(60_000);
      expect(longer).toBeLessThan(60_000 + 30_000);
      expect((await store.getState('customers'))?.leaseExpiresAt).toBe(renewed.expiresAt);
      await store.releaseLease(renewed);
      const n = await store.acquireLease({ stream: 'customers', holder: 'next', ttlMs: 1000, at: T1 });
      expect('lease' in n && n.lease.epoch).toBe(l.epoch + 1);
    });

    it('fences commits across two store instances on the same location', async () => {
      const other = await handle.another();
      const l = await lease('customers', 'one');
      const runId = await startedRun(l);
      const got = await other.acquireLease({
        stream: 'customers',
        holder: 'two',
        ttlMs: 60_000,
        at: T1,
        takeOverFrom: 'one',
      });
      if (!('lease' in got)) throw new Error('no lease');
      await expect(store.commitPage(commit(l, runId, { writes: [write('a')] }))).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      await other.startRun({
        runId: 'r2',
        stream: 'customers',
        lease: got.lease,
        at: T1,
        checkpointBefore: null,
      });
      await other.commitPage(commit(got.lease, 'r2', { writes: [write('b')] }));
      expect([...(await store.lookup('customers', ['a', 'b'])).keys()]).toEqual(['b']);
    });

    it('commits rows, change log, checkpoint, newest cursor and counters together', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(
        commit(l, runId, {
          writes: [
            write('a', { version: '1', cursor: '2026-01-01T00:00:00Z' }),
            write('b', { version: '2', cursor: '2026-01-02T00:00:00Z' }),
          ],
          checkpoint: { after: 'b' },
          newestCursor: '2026-01-02T00:00:00Z',
          counters: { pages: 1, fetched: 2, inserted: 2, apiCalls: 3, bytes: 100 },
        }),
      );
      const found = await store.lookup('customers', ['a', 'b', 'zz']);
      expect(found.size).toBe(2);
      expect(found.get('a')).toEqual({
        hash: write('a').hash,
        version: '1',
        deleted: false,
        cursor: '2026-01-01T00:00:00Z',
      });
      const state = await store.getState('customers');
      expect(state?.checkpoint).toEqual({ after: 'b' });
      expect(state?.newestCursor).toBe('2026-01-02T00:00:00Z');
      const changes = await store.readChanges({ afterSeq: 0, limit: 10 });
      expect(changes.map((c) => [c.key, c.kind, c.runId])).toEqual([
        ['a', 'insert', runId],
        ['b', 'insert', runId],
      ]);
      expect(changes[1]!.seq).toBeGreaterThan(changes[0]!.seq);
      const [run] = await store.listRuns({ stream: 'customers', limit: 10 });
      expect(run?.status).toBe('running');
      expect(run?.counters).toMatchObject({ pages: 1, fetched: 2, inserted: 2, apiCalls: 3, bytes: 100 });
    });

    it('says whether a stream table holds any row, soft-deleted ones included', async () => {
      expect(await store.hasRecords('customers')).toBe(false);
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(
        commit(l, runId, { writes: [write('gone', { kind: 'delete', deleted: true })] }),
      );
      expect((await store.listStreams())[0]?.records).toBe(0);
      expect(await store.hasRecords('customers')).toBe(true);
    });

    it('applies commits handed over before the last one resolved, in call order', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      const first = store.commitPage(
        commit(l, runId, {
          writes: [write('a'), write('b')],
          checkpoint: { page: 1 },
          counters: { inserted: 2 },
        }),
      );
      const second = store.commitPage(
        commit(l, runId, {
          writes: [write('a', { kind: 'update', existed: true, hash: 'h2' }), write('c')],
          checkpoint: { page: 2 },
          counters: { inserted: 1, updated: 1 },
        }),
      );
      const settled: number[] = [];
      await Promise.all([first.then(() => settled.push(1)), second.then(() => settled.push(2))]);
      expect(settled).toEqual([1, 2]);
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 2 });
      expect((await store.lookup('customers', ['a'])).get('a')?.hash).toBe('h2');
      const changes = await store.readChanges({ afterSeq: 0, limit: 10 });
      expect(changes.map((c) => [c.key, c.kind])).toEqual([
        ['a', 'insert'],
        ['b', 'insert'],
        ['a', 'update'],
        ['c', 'insert'],
      ]);
      expect((await store.listRuns({ limit: 1 }))[0]?.counters).toMatchObject({ inserted: 3, updated: 1 });
    });

    it('logs the changes of a large page in write order, one row a write', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      const keys = Array.from({ length: 250 }, (_, i) => `k${String((i * 37) % 250).padStart(3, '0')}`);
      await store.commitPage(commit(l, runId, { writes: keys.map((k) => write(k)) }));
      // Updates of stored keys interleaved with inserts of new ones, 201 writes: the last statement
      // of the change log is partly filled.
      const second = Array.from({ length: 201 }, (_, i) =>
        i % 2 === 0
          ? write(keys[i]!, { kind: 'update', existed: true, hash: `h2-${i}` })
          : write(`n${String(i).padStart(3, '0')}`),
      );
      await store.commitPage(commit(l, runId, { writes: second, checkpoint: { page: 2 } }));
      const changes = await store.readChanges({ afterSeq: 0, limit: 1000 });
      expect(changes.map((c) => [c.key, c.kind, c.hash])).toEqual(
        [...keys.map((k) => write(k)), ...second].map((w) => [w.key, w.kind, w.hash]),
      );
    });

    it('refuses a commit handed over while an earlier one that fails was unresolved', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { writes: [write('a')], checkpoint: { page: 1 } }));
      // 'a' claimed absent although it exists: this commit fails...
      const failing = store.commitPage(commit(l, runId, { writes: [write('a')], checkpoint: { page: 2 } }));
      // ...so this one, handed over behind it, must not be applied although it is valid.
      const behind = store.commitPage(commit(l, runId, { writes: [write('b')], checkpoint: { page: 3 } }));
      await expect(failing).rejects.toThrow();
      await expect(behind).rejects.toThrow();
      expect((await store.lookup('customers', ['b'])).size).toBe(0);
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 1 });
      // A commit handed over after the failure resolved is applied as usual.
      await store.commitPage(commit(l, runId, { writes: [write('b')], checkpoint: { page: 4 } }));
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 4 });
    });

    it('commits what was handed over before a failing commit, and nothing behind it', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { writes: [write('a')], checkpoint: { page: 1 } }));
      // Handed over together, so a store that commits queued commits as a group gets all three.
      const before = store.commitPage(commit(l, runId, { writes: [write('b')], checkpoint: { page: 2 } }));
      const failing = store.commitPage(commit(l, runId, { writes: [write('a')], checkpoint: { page: 3 } }));
      const behind = store.commitPage(commit(l, runId, { writes: [write('c')], checkpoint: { page: 4 } }));
      await before;
      await expect(failing).rejects.toThrow(/already/);
      await expect(behind).rejects.toThrow(/not applied because the one handed over before it failed/);
      expect([...(await store.lookup('customers', ['a', 'b', 'c'])).keys()].sort()).toEqual(['a', 'b']);
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 2 });
      const changes = await store.readChanges({ afterSeq: 0, limit: 10 });
      expect(changes.map((c) => c.key)).toEqual(['a', 'b']);
    });

    it('keeps the newest cursor when a page passes null', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { newestCursor: '5' }));
      await store.commitPage(commit(l, runId, { newestCursor: null, checkpoint: { page: 2 } }));
      expect((await store.getState('customers'))?.newestCursor).toBe('5');
    });

    it('updates rows in place, keeps first-synced time, and soft-deletes and restores', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { writes: [write('a', { version: '1' })], at: T0 }));
      const v2 = JSON.stringify({ id: 'a', name: 'changed', nested: { x: [1, 2], s: 'é"\'' } });
      await store.commitPage(
        commit(l, runId, {
          writes: [write('a', { kind: 'update', existed: true, data: v2, hash: 'h2', version: '2' })],
          at: T1,
        }),
      );
      let [row] = await store.scanRecords('customers', { limit: 10 });
      expect(row).toMatchObject({ key: 'a', hash: 'h2', version: '2', deletedAt: null, runId });
      expect(row?.data).toEqual(JSON.parse(v2));
      expect(Date.parse(row!.firstSyncedAt)).toBe(Date.parse(T0));
      expect(Date.parse(row!.syncedAt)).toBe(Date.parse(T1));

      await store.commitPage(
        commit(l, runId, {
          writes: [write('a', { kind: 'delete', existed: true, deleted: true, hash: 'h3' })],
          at: T2,
        }),
      );
      [row] = await store.scanRecords('customers', { limit: 10 });
      expect(Date.parse(row!.deletedAt!)).toBe(Date.parse(T2));
      expect((await store.lookup('customers', ['a'])).get('a')?.deleted).toBe(true);
      expect((await store.listStreams())[0]?.records).toBe(0);

      await store.commitPage(
        commit(l, runId, { writes: [write('a', { kind: 'update', existed: true, hash: 'h4' })] }),
      );
      [row] = await store.scanRecords('customers', { limit: 10 });
      expect(row?.deletedAt).toBeNull();
      const kinds = (await store.readChanges({ afterSeq: 0, limit: 10 })).map((c) => c.kind);
      expect(kinds).toEqual(['insert', 'update', 'delete', 'update']);
    });

    it('inserts a tombstone for a key it never had', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(
        commit(l, runId, { writes: [write('gone', { kind: 'delete', deleted: true })] }),
      );
      const [row] = await store.scanRecords('customers', { limit: 10 });
      expect(row?.deletedAt).not.toBeNull();
    });

    it('writes nothing at all when one part of a page fails', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { writes: [write('a')], counters: { inserted: 1 } }));
      // 'a' claimed absent although it exists: the insert must fail, and with it the whole page.
      await expect(
        store.commitPage(
          commit(l, runId, {
            writes: [write('b'), write('a')],
            checkpoint: { page: 2 },
            counters: { inserted: 2 },
            deadLetters: [{ key: null, reason: 'bad', payload: '{}' }],
          }),
        ),
      ).rejects.toThrow();
      expect((await store.lookup('customers', ['b'])).size).toBe(0);
      expect((await store.getState('customers'))?.checkpoint).toEqual({ page: 1 });
      expect((await store.readChanges({ afterSeq: 0, limit: 10 })).length).toBe(1);
      expect((await store.listDeadLetters({ limit: 10 })).length).toBe(0);
      expect((await store.listRuns({ limit: 1 }))[0]?.counters.inserted).toBe(1);
    });

    it('commits a large page and looks up thousands of keys at once', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
      await store.commitPage(commit(l, runId, { writes: keys.map((k) => write(k, { cursor: k })) }));
      const probe = [
        ...keys.filter((_, i) => i % 2 === 0),
        ...Array.from({ length: 2000 }, (_, i) => `no${i}`),
      ];
      const found = await store.lookup('customers', probe);
      expect(found.size).toBe(2500);
      const first = await store.scanRecords('customers', { limit: 3 });
      expect(first.map((r) => r.key)).toEqual(['k0', 'k1', 'k10']);
      const next = await store.scanRecords('customers', { afterKey: 'k10', limit: 2 });
      expect(next.map((r) => r.key)).toEqual(['k100', 'k1000']);
      expect((await store.listStreams())[0]?.records).toBe(5000);
    });

    it('stores keys and data with quotes, unicode and composite keys exactly', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      const keys = [`it's "quoted"`, 'ünïcødé ✓', '["BTC","1h",1700000000000]', 'tab\there'];
      await store.commitPage(
        commit(l, runId, { writes: keys.map((k) => write(k, { data: JSON.stringify({ k, emoji: '🚀' }) })) }),
      );
      const found = await store.lookup('customers', keys);
      expect([...found.keys()].sort()).toEqual([...keys].sort());
      const rows = await store.scanRecords('customers', { limit: 10 });
      for (const row of rows) expect(row.data).toEqual({ k: row.key, emoji: '🚀' });
    });

    it('keeps dead letters with reason and payload, counted per stream', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(
        commit(l, runId, {
          deadLetters: [
            { key: null, reason: 'key field "id" is missing', payload: '{"name":"x"}' },
            { key: '7', reason: 'email: invalid', payload: '{"id":7}' },
          ],
          counters: { failed: 2 },
        }),
      );
      const letters = await store.listDeadLetters({ stream: 'customers', limit: 10 });
      expect(letters).toHaveLength(2);
      expect(letters.map((d) => d.reason).sort()).toEqual(['email: invalid', 'key field "id" is missing']);
      expect(letters.every((d) => d.status === 'open' && d.runId === runId && d.stream === 'customers')).toBe(
        true,
      );
      expect(letters.find((d) => d.key === '7')?.payload).toBe('{"id":7}');
      const [status] = await store.listStreams();
      expect(status?.openFailures).toBe(2);
      expect(await store.listDeadLetters({ stream: 'other', limit: 10 })).toEqual([]);
    });

    it('records runs from start to finish with checkpoints before and after, newest first', async () => {
      const l = await lease();
      await store.startRun({ runId: 'r1', stream: 'customers', lease: l, at: T0, checkpointBefore: null });
      await store.commitPage(commit(l, 'r1', { checkpoint: { n: 1 }, counters: { pages: 1, fetched: 5 } }));
      await store.finishRun({ runId: 'r1', status: 'ok', at: T1, error: null, counters: { apiCalls: 1 } });
      await store.startRun({
        runId: 'r2',
        stream: 'customers',
        lease: l,
        at: T1,
        checkpointBefore: { n: 1 },
      });
      await store.finishRun({ runId: 'r2', status: 'failed', at: T2, error: 'boom', counters: {} });
      const runs = await store.listRuns({ stream: 'customers', limit: 10 });
      expect(runs.map((r) => r.runId)).toEqual(['r2', 'r1']);
      expect(runs[1]).toMatchObject({
        status: 'ok',
        checkpointBefore: null,
        checkpointAfter: { n: 1 },
        error: null,
        counters: expect.objectContaining({ pages: 1, fetched: 5, apiCalls: 1, inserted: 0 }),
      });
      expect(Date.parse(runs[1]!.startedAt)).toBe(Date.parse(T0));
      expect(Date.parse(runs[1]!.endedAt!)).toBe(Date.parse(T1));
      expect(runs[0]).toMatchObject({ status: 'failed', error: 'boom', checkpointBefore: { n: 1 } });
      const [status] = await store.listStreams();
      expect(status?.lastRun?.runId).toBe('r2');
      expect(await store.listRuns({ limit: 1 })).toHaveLength(1);
    });

    it('closes runs abandoned by a dead process as failed', async () => {
      const l = await lease();
      await startedRun(l, 'dead-run');
      expect(await store.closeAbandonedRuns('customers', T1, 'process died')).toBe(1);
      const [run] = await store.listRuns({ limit: 1 });
      expect(run).toMatchObject({ status: 'failed', error: 'process died' });
      expect(await store.closeAbandonedRuns('customers', T1, 'again')).toBe(0);
    });

    it('resets a checkpoint but keeps the records', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(commit(l, runId, { writes: [write('a')] }));
      await store.resetCheckpoint('customers', T2);
      expect((await store.getState('customers'))?.checkpoint).toBeNull();
      expect((await store.lookup('customers', ['a'])).size).toBe(1);
    });

    it('records operator actions and lists them newest first, per stream or all', async () => {
      expect(await store.listActions({ limit: 10 })).toEqual([]);
      await store.recordAction({
        at: T1,
        stream: 'customers',
        target: null,
        action: 'sync',
        origin: 'api',
        detail: 'queued a sync of "customers"',
      });
      await store.recordAction({
        at: T2,
        stream: null,
        target: 'hooks',
        action: 'resume_sink',
        origin: 'dashboard',
        detail: 'resumed sink "hooks"',
      });
      await store.recordAction({
        at: T3,
        stream: 'customers',
        target: null,
        action: 'reset',
        origin: 'cli',
        detail: 'reset "customers" <b>',
      });
      const all = await store.listActions({ limit: 10 });
      expect(all.map((a) => a.action)).toEqual(['reset', 'resume_sink', 'sync']);
      expect(all[0]!.id).toBeGreaterThan(all[1]!.id);
      expect(all[1]).toEqual({
        id: all[1]!.id,
        at: T2,
        stream: null,
        target: 'hooks',
        action: 'resume_sink',
        origin: 'dashboard',
        detail: 'resumed sink "hooks"',
      });
      const mine = await store.listActions({ stream: 'customers', limit: 10 });
      expect(mine.map((a) => [a.action, a.origin, a.at, a.detail])).toEqual([
        ['reset', 'cli', T3, 'reset "customers" <b>'],
        ['sync', 'api', T1, 'queued a sync of "customers"'],
      ]);
      expect(await store.listActions({ stream: 'customers', limit: 1 })).toHaveLength(1);
      expect(await store.listActions({ stream: 'orders', limit: 10 })).toEqual([]);
    });

    it('keeps streams apart and filters the change log by stream', async () => {
      await store.ensureStream('orders');
      const a = await lease('customers');
      const b = await lease('orders');
      await startedRun(a, 'ra');
      await startedRun(b, 'rb');
      await store.commitPage(commit(a, 'ra', { writes: [write('1')] }));
      await store.commitPage(commit(b, 'rb', { writes: [write('1'), write('2')] }));
      expect((await store.lookup('customers', ['1', '2'])).size).toBe(1);
      expect(await store.readChanges({ afterSeq: 0, limit: 10, stream: 'orders' })).toHaveLength(2);
      expect((await store.readChanges({ afterSeq: 0, limit: 1 })).length).toBe(1);
      const names = (await store.listStreams()).map((s) => s.stream);
      expect(names).toEqual(['customers', 'orders']);
    });
  });
  describeLifecycleContract(title, makeStore);
  describeReconciliationContract(title, makeStore);
  describeDeadLetterContract(title, makeStore);
  describeTypedViewContract(title, makeStore);
  describeChangeFeedContract(title, makeStore);
  describeDestinationMapContract(title, makeStore);
  describeInboxContract(title, makeStore);
}
