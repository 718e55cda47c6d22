import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InboxEvent, Store, StoredInboxEvent } from '../core/store.ts';
import { type StoreHandle, T0, T1, T2, T3 } from './store-contract-support.ts';

/** An event of `hooks` with id `eventId`, received at T0, unless told otherwise. */
function event(eventId: string, over: Partial<InboxEvent> = {}): InboxEvent {
  return {
    stream: 'hooks',
    eventId,
    receivedAt: T0,
    headers: { 'x-event-type': 'order.created' },
    body: JSON.stringify({ id: eventId }),
    ...over,
  };
}

/**
 * The durable inbox of push sources (`InboxStore`, issue 23): events appended once per
 * `(stream, eventId)`, read per stream in id order after a checkpoint, counted, and pruned once
 * applied and old enough.
 */
export function describeInboxContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract, inbox: ${title}`, () => {
    let handle: StoreHandle;
    let store: Store;

    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.dispose();
    });

    const read = (afterId = 0, limit = 100, stream = 'hooks') => store.readInbox({ stream, afterId, limit });
    const backlog = (afterId = 0, limit = 100, stream = 'hooks') =>
      store.inboxBacklog({ stream, afterId, limit });

    it('reads nothing from an empty inbox', async () => {
      expect(await read()).toEqual([]);
      expect(await backlog()).toBe(0);
      expect(await store.pruneInbox({ stream: 'hooks', appliedUpTo: 100, receivedBefore: T3 })).toBe(0);
    });

    it('appends events and reads them back whole, oldest first, with increasing ids', async () => {
      const added = [];
      for (const id of ['e1', 'e2', 'e3']) added.push(await store.addInboxEvent(event(id)));
      expect(added.map((a) => a.duplicate)).toEqual([false, false, false]);
      const ids = added.map((a) => a.id);
      expect(ids[0]).toBeLessThan(ids[1]!);
      expect(ids[1]).toBeLessThan(ids[2]!);
      const events = await read();
      expect(events).toEqual(
        ['e1', 'e2', 'e3'].map((eventId, i): StoredInboxEvent => ({ id: ids[i]!, ...event(eventId) })),
      );
    });

    it('gives events appended at once (one batch) ids in the order they were given, a duplicate among them its first copy', async () => {
      const names = Array.from({ length: 300 }, (_, i) => `b${(i * 7919) % 1000}`);
      const added = await Promise.all([...names, 'b0'].map((id) => store.addInboxEvent(event(id))));
      const ids = added.slice(0, -1).map((a) => a.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(300);
      expect(added.at(-1)).toEqual({ id: ids[0], duplicate: true });
      expect((await read(0, 1000)).map((e) => e.eventId)).toEqual(names);
    });

    it('pages after an id, at most `limit` at a time', async () => {
      for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) await store.addInboxEvent(event(id));
      const seen: string[] = [];
      let afterId = 0;
      for (;;) {
        const page = await read(afterId, 2);
        expect(page.length).toBeLessThanOrEqual(2);
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.eventId));
        afterId = page.at(-1)!.id;
      }
      expect(seen).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
      const all = await read();
      expect((await read(all[2]!.id)).map((e) => e.eventId)).toEqual(['e4', 'e5']);
      expect(await read(all[4]!.id)).toEqual([]);
    });

    it('keeps streams apart: reading, counting, pruning, and the same event id in two streams', async () => {
      const a = await store.addInboxEvent(event('e1'));
      const b = await store.addInboxEvent(event('e1', { stream: 'other', body: 'other body' }));
      expect(b.duplicate).toBe(false);
      expect(b.id).not.toBe(a.id);
      await store.addInboxEvent(event('e2'));
      expect((await read()).map((e) => e.eventId)).toEqual(['e1', 'e2']);
      expect(await read(0, 100, 'other')).toEqual([
        { id: b.id, ...event('e1', { stream: 'other', body: 'other body' }) },
      ]);
      expect(await backlog(0, 100, 'other')).toBe(1);
      expect(await backlog(0, 100, 'nothing')).toBe(0);
      expect(await store.pruneInbox({ stream: 'other', appliedUpTo: b.id, receivedBefore: T3 })).toBe(1);
      expect(await read()).toHaveLength(2);
    });

    it('detects a redelivery: the first row kept, its id returned, nothing appended', async () => {
      const first = await store.addInboxEvent(event('e1'));
      const again = await store.addInboxEvent(event('e1', { receivedAt: T1, body: 'changed', headers: {} }));
      expect(again).toEqual({ id: first.id, duplicate: true });
      expect(await read()).toEqual([{ id: first.id, ...event('e1') }]);
      const next = await store.addInboxEvent(event('e2'));
      expect(next.duplicate).toBe(false);
      expect(next.id).toBeGreaterThan(first.id);
    });

    it('stores two identical events sent at once as one row: one new, one duplicate of it', async () => {
      const results = await Promise.all([store.addInboxEvent(event('e1')), store.addInboxEvent(event('e1'))]);
      expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
      expect(results[0]!.id).toBe(results[1]!.id);
      expect(await read()).toHaveLength(1);
    });

    it('stores identical events sent at once by two store instances as one row', async () => {
      const other = await handle.another();
      const results = await Promise.all(
        ['e1', 'e2', 'e3', 'e4'].flatMap((id) => [
          store.addInboxEvent(event(id)),
          other.addInboxEvent(event(id)),
        ]),
      );
      for (let i = 0; i < results.length; i += 2) {
        expect([results[i]!.duplicate, results[i + 1]!.duplicate].sort()).toEqual([false, true]);
        expect(results[i]!.id).toBe(results[i + 1]!.id);
      }
      expect((await read()).map((e) => e.eventId).sort()).toEqual(['e1', 'e2', 'e3', 'e4']);
    });

    it('lets a reader tailing after the last id it read see every event appended concurrently', async () => {
      const writers = [store, await handle.another(), await handle.another()];
      const reader = await handle.another();
      const seen: number[] = [];
      let done = false;
      const tail = async () => {
        let afterId = 0;
        for (;;) {
          const last = done; // read once more after the appends all resolved
          const page = await reader.readInbox({ stream: 'hooks', afterId, limit: 7 });
          for (const e of page) seen.push(e.id);
          if (page.length > 0) afterId = page.at(-1)!.id;
          else if (last) return;
          else await sleep(2);
        }
      };
      const tailing = tail();
      const added = await Promise.all(
        Array.from({ length: 60 }, (_, i) => writers[i % writers.length]!.addInboxEvent(event(`e${i}`))),
      );
      done = true;
      await tailing;
      expect(added.every((a) => !a.duplicate)).toBe(true);
      expect(seen).toEqual(added.map((a) => a.id).sort((x, y) => x - y));
    });

    it('counts the backlog after an id, up to `limit`', async () => {
      const ids = [];
      for (const id of ['e1', 'e2', 'e3', 'e4', 'e5']) ids.push((await store.addInboxEvent(event(id))).id);
      expect(await backlog()).toBe(5);
      expect(await backlog(0, 3)).toBe(3);
      expect(await backlog(ids[1]!)).toBe(3);
      expect(await backlog(ids[1]!, 2)).toBe(2);
      expect(await backlog(ids[4]!)).toBe(0);
      expect(await backlog(0, 0)).toBe(0);
    });

    it('prunes only events applied and received before the cutoff; a pruned event id is new again', async () => {
      const e1 = await store.addInboxEvent(event('e1', { receivedAt: T0 }));
      const e2 = await store.addInboxEvent(event('e2', { receivedAt: T1 }));
      const e3 = await store.addInboxEvent(event('e3', { receivedAt: T2 }));
      const e4 = await store.addInboxEvent(event('e4', { receivedAt: T0 }));
      // Applied up to e3: e4 (unapplied) stays, though old; e3 was received at the cutoff: stays.
      expect(await store.pruneInbox({ stream: 'hooks', appliedUpTo: e3.id, receivedBefore: T2 })).toBe(2);
      expect((await read()).map((e) => e.eventId)).toEqual(['e3', 'e4']);
      // Still deduplicated while kept; forgotten once pruned.
      expect(await store.addInboxEvent(event('e3'))).toEqual({ id: e3.id, duplicate: true });
      const again = await store.addInboxEvent(event('e1', { receivedAt: T3 }));
      expect(again.duplicate).toBe(false);
      expect(again.id).toBeGreaterThan(e4.id);
      expect(again.id).not.toBe(e1.id);
      expect(e2.id).toBeLessThan(e3.id);
      expect(await store.pruneInbox({ stream: 'hooks', appliedUpTo: e4.id, receivedBefore: T3 })).toBe(2);
      expect((await read()).map((e) => e.eventId)).toEqual(['e1']);
    });

    it('round-trips headers as an object, a body with unicode, and a 1 MB body', async () => {
      const headers = { 'content-type': 'application/json', 'x-event-type': 'ticket.updated', 'x-empty': '' };
      const unicode = '{"name":"Zoë 日本語 🎉","quote":"\\"x\\"\\n"}\u2028';
      const big = `${'a'.repeat(512 * 1024)}${'é'.repeat(256 * 1024)}`;
      const a = await store.addInboxEvent(event('u', { headers, body: unicode }));
      const b = await store.addInboxEvent(event('big', { headers: {}, body: big }));
      const [u, large] = await read();
      expect(u).toEqual({ id: a.id, ...event('u', { headers, body: unicode }) });
      expect(large!.id).toBe(b.id);
      expect(large!.headers).toEqual({});
      expect(large!.body.length).toBe(big.length);
      expect(large!.body === big).toBe(true);
    });
  });
}
