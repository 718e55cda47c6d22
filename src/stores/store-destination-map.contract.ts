import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FatalError } from '../core/errors.ts';
import type { DestinationWrite, Store } from '../core/store.ts';
import { contractSteps, type StoreHandle, T0, T1, T2, T3, write } from './store-contract-support.ts';

const CONSUMER = 'destination:crm';

/** A confirmed write of `key` in `customers`, external id `ext-<key>`, unless told otherwise. */
function confirmed(key: string, over: Partial<DestinationWrite> = {}): DestinationWrite {
  return {
    stream: 'customers',
    key,
    externalId: `ext-${key}`,
    payloadHash: `h-${key}`,
    status: 'synced',
    ...over,
  };
}

/**
 * Destinations' external-ID map (`DestinationMapStore`, issue 22): mappings kept per destination,
 * stream and key, and "confirm then checkpoint": the mappings and the destination's offset in the
 * change log move together, in one transaction, or not at all.
 */
export function describeDestinationMapContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract, destination map: ${title}`, () => {
    let handle: StoreHandle;
    let store: Store;
    /** The seqs of the change log's rows: four changes of `customers`. */
    let seqs: number[];

    const { lease, startedRun, commit } = contractSteps(() => store);

    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
      await store.ensureStream('customers');
      const l = await lease('customers');
      const runId = await startedRun(l, 'r1');
      await store.commitPage(commit(l, runId, { writes: [write('a'), write('b'), write('c'), write('d')] }));
      seqs = (await store.readChanges({ afterSeq: 0, limit: 10 })).map((c) => c.seq);
      expect(seqs).toHaveLength(4);
    });
    afterEach(async () => {
      await handle.dispose();
    });

    const lookup = (keys: readonly string[], destination = 'crm', stream = 'customers') =>
      store.lookupMappings({ destination, stream, keys });

    it('finds nothing for keys never confirmed, nor for an empty batch', async () => {
      expect((await lookup(['a', 'zz'])).size).toBe(0);
      expect((await lookup([])).size).toBe(0);
    });

    it('stores the mappings and moves the offset in one step', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      const offset = await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[1]!,
        at: T1,
        writes: [confirmed('a'), confirmed('b')],
      });
      expect(offset).toEqual({ consumer: CONSUMER, seq: seqs[1], registeredAt: T0, updatedAt: T1 });
      expect(await store.consumerOffset(CONSUMER)).toEqual(offset);
      const found = await lookup(['a', 'b', 'c']);
      expect([...found.keys()].sort()).toEqual(['a', 'b']);
      expect(found.get('a')).toEqual({
        externalId: 'ext-a',
        payloadHash: 'h-a',
        status: 'synced',
        firstSyncedAt: T1,
        syncedAt: T1,
      });
    });

    it('updates the external id, hash, status and synced_at of a key again, keeping first_synced_at', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[0]!,
        at: T1,
        writes: [confirmed('a')],
      });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[2]!,
        at: T2,
        writes: [
          confirmed('a', { externalId: 'ext-a2', payloadHash: 'h-a2' }),
          confirmed('b'),
          confirmed('b', { payloadHash: 'h-b-last', status: 'deleted' }),
        ],
      });
      const found = await lookup(['a', 'b']);
      expect(found.get('a')).toEqual({
        externalId: 'ext-a2',
        payloadHash: 'h-a2',
        status: 'synced',
        firstSyncedAt: T1,
        syncedAt: T2,
      });
      // A key twice in one batch: its last write is kept.
      expect(found.get('b')).toMatchObject({ payloadHash: 'h-b-last', status: 'deleted', firstSyncedAt: T2 });
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: seqs[2], updatedAt: T2 });
    });

    it('never moves the offset backwards, and still stores the writes of a lower seq', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[3]!,
        at: T1,
        writes: [],
      });
      const offset = await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[0]!,
        at: T2,
        writes: [confirmed('a')],
      });
      expect(offset).toMatchObject({ seq: seqs[3], updatedAt: T1 });
      expect((await lookup(['a'])).get('a')).toMatchObject({ externalId: 'ext-a', syncedAt: T2 });
    });

    it('refuses a consumer that is not registered with FatalError, and stores no mapping', async () => {
      const confirm = store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[0]!,
        at: T1,
        writes: [confirmed('a'), confirmed('b')],
      });
      await expect(confirm).rejects.toBeInstanceOf(FatalError);
      await expect(confirm).rejects.toThrow(/not registered/);
      // The mappings are written before the acknowledgement is refused: the rollback undid them.
      expect((await lookup(['a', 'b'])).size).toBe(0);
      const [rows] = await handle.query('SELECT count(*) AS n FROM syncline_destination_map');
      expect(Number(rows!.n)).toBe(0);
      expect(await store.consumerOffset(CONSUMER)).toBeNull();
    });

    it('refuses a seq past the end with FatalError, and moves neither the mappings nor the offset', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[0]!,
        at: T1,
        writes: [confirmed('a')],
      });
      const highest = (await store.changeLogBounds()).highestSeq;
      const confirm = store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: highest + 1,
        at: T2,
        writes: [confirmed('a', { externalId: 'ext-a2' }), confirmed('b')],
      });
      await expect(confirm).rejects.toBeInstanceOf(FatalError);
      await expect(confirm).rejects.toThrow(/cannot acknowledge seq/);
      const found = await lookup(['a', 'b']);
      expect([...found.keys()]).toEqual(['a']);
      expect(found.get('a')).toMatchObject({ externalId: 'ext-a', syncedAt: T1 });
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: seqs[0], updatedAt: T1 });
    });

    it('moves nothing when the database refuses one write of the batch', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      const bad = { ...confirmed('b'), status: 'gone' } as unknown as DestinationWrite;
      await expect(
        store.confirmDestinationWrites({
          destination: 'crm',
          consumer: CONSUMER,
          seq: seqs[1]!,
          at: T1,
          writes: [confirmed('a'), bad],
        }),
      ).rejects.toThrow();
      expect((await lookup(['a', 'b'])).size).toBe(0);
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: 0, updatedAt: T0 });
    });

    it('keeps the keys of other destinations and streams apart', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      await store.registerConsumer({ consumer: 'destination:erp', afterSeq: 0, at: T0 });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[0]!,
        at: T1,
        writes: [confirmed('a'), confirmed('a', { stream: 'orders', externalId: 'crm-order-a' })],
      });
      await store.confirmDestinationWrites({
        destination: 'erp',
        consumer: 'destination:erp',
        seq: seqs[1]!,
        at: T2,
        writes: [confirmed('a', { externalId: 'erp-a' })],
      });
      expect((await lookup(['a'])).get('a')?.externalId).toBe('ext-a');
      expect((await lookup(['a'], 'crm', 'orders')).get('a')?.externalId).toBe('crm-order-a');
      expect((await lookup(['a'], 'erp')).get('a')?.externalId).toBe('erp-a');
      expect((await lookup(['a'], 'erp', 'orders')).size).toBe(0);
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: seqs[0] });
      expect(await store.consumerOffset('destination:erp')).toMatchObject({ seq: seqs[1] });
    });

    it('stores mappings without an offset: the consumer stays where it is, registered or not', async () => {
      await store.storeDestinationMappings({ destination: 'crm', at: T1, writes: [confirmed('a')] });
      expect((await lookup(['a'])).get('a')).toMatchObject({ externalId: 'ext-a', firstSyncedAt: T1 });
      expect(await store.consumerOffset(CONSUMER)).toBeNull();

      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[2]!,
        at: T2,
        writes: [],
      });
      await store.storeDestinationMappings({
        destination: 'crm',
        at: T3,
        writes: [
          confirmed('a', { externalId: 'ext-a2' }),
          confirmed('b'),
          confirmed('b', { payloadHash: 'h-b-last' }),
        ],
      });
      await store.storeDestinationMappings({ destination: 'crm', at: T3, writes: [] });
      const found = await lookup(['a', 'b']);
      expect(found.get('a')).toEqual({
        externalId: 'ext-a2',
        payloadHash: 'h-a',
        status: 'synced',
        firstSyncedAt: T1,
        syncedAt: T3,
      });
      expect(found.get('b')).toMatchObject({ payloadHash: 'h-b-last', firstSyncedAt: T3 });
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: seqs[2], updatedAt: T2 });
    });

    it('stores none of the mappings when the database refuses one of them', async () => {
      const bad = { ...confirmed('b'), status: 'gone' } as unknown as DestinationWrite;
      await expect(
        store.storeDestinationMappings({ destination: 'crm', at: T1, writes: [confirmed('a'), bad] }),
      ).rejects.toThrow();
      expect((await lookup(['a', 'b'])).size).toBe(0);
    });

    it("forgets a destination's mappings, of one stream or all, and leaves the rest and the offset", async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      await store.registerConsumer({ consumer: 'destination:erp', afterSeq: 0, at: T0 });
      await store.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[1]!,
        at: T1,
        writes: [confirmed('a'), confirmed('b'), confirmed('a', { stream: 'orders' })],
      });
      await store.confirmDestinationWrites({
        destination: 'erp',
        consumer: 'destination:erp',
        seq: seqs[1]!,
        at: T1,
        writes: [confirmed('a')],
      });
      expect(await store.forgetMappings({ destination: 'crm', stream: 'orders' })).toBe(1);
      expect((await lookup(['a'], 'crm', 'orders')).size).toBe(0);
      expect((await lookup(['a', 'b'])).size).toBe(2);
      expect(await store.forgetMappings({ destination: 'crm' })).toBe(2);
      expect((await lookup(['a', 'b'])).size).toBe(0);
      expect(await store.forgetMappings({ destination: 'crm' })).toBe(0);
      expect((await lookup(['a'], 'erp')).size).toBe(1);
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: seqs[1], updatedAt: T1 });
    });

    it('reads the mappings another instance confirmed', async () => {
      await store.registerConsumer({ consumer: CONSUMER, afterSeq: 0, at: T0 });
      const other = await handle.another();
      await other.confirmDestinationWrites({
        destination: 'crm',
        consumer: CONSUMER,
        seq: seqs[3]!,
        at: T3,
        writes: [confirmed('d')],
      });
      expect((await lookup(['d'])).get('d')).toMatchObject({ externalId: 'ext-d', firstSyncedAt: T3 });
      expect(await store.consumerOffset(CONSUMER)).toMatchObject({ seq: seqs[3], updatedAt: T3 });
    });
  });
}
