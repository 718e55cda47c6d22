import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FatalError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import { contractSteps, type StoreHandle, T0, T1, T2, write } from './store-contract-support.ts';

/**
 * Opening and closing (`StoreLifecycle`, kept by `stores/store-runtime.ts` for every store): work
 * asked of a store that is not open is refused with a `FatalError`, as a rejected promise, in every
 * role; opens overlap safely; a closed store opens again on a fresh connection. Called by
 * `describeStoreContract`, so both stores run it.
 */
export function describeLifecycleContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract (opening and closing): ${title}`, () => {
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

    /** One call of each role's methods; each must reject (not throw) when the store is not open. */
    function everyRole(s: Store): Record<string, () => Promise<unknown>> {
      const l = { stream: 'customers', holder: 'h', epoch: 1, expiresAt: T1 };
      return {
        ensureStream: () => s.ensureStream('customers'),
        lookup: () => s.lookup('customers', ['a']),
        hasRecords: () => s.hasRecords('customers'),
        commitPage: () => s.commitPage(commit(l, 'r1', { writes: [write('a')] })),
        acquireLease: () => s.acquireLease({ stream: 'customers', holder: 'h', ttlMs: 1000, at: T0 }),
        renewLease: () => s.renewLease(l, 1000, T0),
        startRun: () =>
          s.startRun({ runId: 'r1', stream: 'customers', lease: l, at: T0, checkpointBefore: null }),
        listRuns: () => s.listRuns({ limit: 1 }),
        countUnseen: () => s.countUnseen('customers', 's'),
        dropScan: () => s.dropScan('customers', 's'),
        getState: () => s.getState('customers'),
        resetCheckpoint: () => s.resetCheckpoint('customers', T0),
        listDeadLetters: () => s.listDeadLetters({ limit: 1 }),
        openDeadLetterKeys: () => s.openDeadLetterKeys('customers', 10),
        ignoreDeadLetters: () => s.ignoreDeadLetters({ stream: 'customers', at: T0 }),
        listStreams: () => s.listStreams(),
        scanRecords: () => s.scanRecords('customers', { limit: 1 }),
        readChanges: () => s.readChanges({ afterSeq: 0, limit: 1 }),
        lookupMappings: () => s.lookupMappings({ destination: 'd', stream: 'customers', keys: ['a'] }),
        confirmDestinationWrites: () =>
          s.confirmDestinationWrites({
            destination: 'd',
            consumer: 'destination:d',
            seq: 0,
            at: T0,
            writes: [],
          }),
        forgetMappings: () => s.forgetMappings({ destination: 'd' }),
        addInboxEvent: () =>
          s.addInboxEvent({ stream: 'customers', eventId: 'e', receivedAt: T0, headers: {}, body: '' }),
        readInbox: () => s.readInbox({ stream: 'customers', afterId: 0, limit: 1 }),
        inboxBacklog: () => s.inboxBacklog({ stream: 'customers', afterId: 0, limit: 1 }),
        pruneInbox: () => s.pruneInbox({ stream: 'customers', appliedUpTo: 0, receivedBefore: T0 }),
      };
    }

    async function expectRefusedEverywhere(s: Store): Promise<void> {
      for (const [method, call] of Object.entries(everyRole(s))) {
        const outcome = await call().then(
          () => 'resolved',
          (error: unknown) => error,
        );
        expect(outcome, method).toBeInstanceOf(FatalError);
        expect((outcome as Error).message, method).toMatch(/is not open: call open\(\) first/);
      }
    }

    it('refuses work in every role before open, with a FatalError that says to call open()', async () => {
      await expectRefusedEverywhere(handle.unopened());
    });

    it('closes idempotently and refuses work in every role once closed', async () => {
      await store.close();
      await store.close();
      await expectRefusedEverywhere(store);
    });

    it('opens once: overlapping opens share one open, a later open changes nothing', async () => {
      const fresh = handle.unopened();
      await Promise.all([fresh.open(), fresh.open(), fresh.open({ mode: 'write' })]);
      await fresh.open();
      expect((await fresh.getState('customers'))?.checkpoint).toBeNull();
      await fresh.close();
      await expect(fresh.getState('customers')).rejects.toBeInstanceOf(FatalError);
    });

    it('opens again after close on a fresh connection, nothing prepared before reused', async () => {
      const l = await lease();
      const runId = await startedRun(l);
      await store.commitPage(
        commit(l, runId, { writes: [write('a'), write('b')], scan: { id: 's', seenKeys: ['a'] } }),
      );
      expect(await store.completeScan({ stream: 'customers', scanId: 's', runId, lease: l, at: T1 })).toEqual(
        {
          deleted: 1,
          sample: ['b'],
        },
      );
      await store.close();
      await store.open();
      // What a scan prepares on its connection (SQLite: a temporary table) is made again.
      await store.commitPage(commit(l, runId, { scan: { id: 's2', seenKeys: [] }, checkpoint: { page: 2 } }));
      expect(
        await store.completeScan({ stream: 'customers', scanId: 's2', runId, lease: l, at: T2 }),
      ).toEqual({
        deleted: 1,
        sample: ['a'],
      });
      expect((await store.lookup('customers', ['a', 'b'])).size).toBe(2);
    });
  });
}
