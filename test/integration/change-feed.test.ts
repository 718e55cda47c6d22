import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { defineStream } from '../../src/core/stream-definition.ts';
import type { Json } from '../../src/core/types.ts';
import { type ChangesOptions, changes, subscribe } from '../../src/runtime/changes.ts';
import { sync } from '../../src/runtime/sync.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { arraySource, type TestRecord, testRecord } from '../helpers/test-sources.ts';

/** A config of one stream `items` over `records`. */
function config(records: TestRecord[], extra: Partial<SynclineConfig> = {}): SynclineConfig {
  return {
    streams: [
      defineStream<TestRecord>({
        name: 'items',
        key: 'id',
        version: 'version',
        deleted: 'deleted',
        source: arraySource(records, { pageSize: 40 }),
      }),
    ],
    ...extra,
  };
}

const records = (n: number, rev = 0) => Array.from({ length: n }, (_, i) => testRecord(i, rev));

describe.each(STORE_KINDS)('the change feed from code on %s', (kind) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await makeTestStore(kind);
  });
  afterEach(async () => {
    await t.dispose();
  });

  /** Syncs `c` from the beginning of its source (the checkpoint of the sync before is reset). */
  async function run(c: SynclineConfig): Promise<void> {
    if (await t.store.getState('items')) await t.store.resetCheckpoint('items', new Date().toISOString());
    const [outcome] = await sync(c, { store: t.location });
    expect(outcome?.status).toBe('ok');
  }

  /** Every change `changes()` yields with these options, to the end of the log; acknowledges each batch. */
  async function readAll(c: SynclineConfig, options: ChangesOptions = {}): Promise<FeedChange[]> {
    const seen: FeedChange[] = [];
    for await (const batch of changes(c, { store: t.location, ...options })) {
      seen.push(...batch.changes);
      await batch.ack();
    }
    return seen;
  }

  it("yields batches with each key's latest data; a consumer resumes after its last acknowledged batch", async () => {
    const c = config(records(250));
    await run(c);
    const batches: { first: number; last: number }[] = [];
    for await (const batch of changes(c, { store: t.location, consumer: 'indexer', batchSize: 100 })) {
      batches.push({ first: batch.changes[0]!.seq, last: batch.lastSeq });
      expect(batch.changes.every((ch) => ch.id === `items:${ch.seq}`)).toBe(true);
      expect(batch.changes[0]!.data).toEqual(testRecord(Number(batch.changes[0]!.key)));
      // The first batch is acknowledged; the process "dies" while handling the second.
      if (batches.length === 1) await batch.ack();
      else break;
    }
    expect(await t.store.consumerOffset('indexer')).toMatchObject({ seq: batches[0]!.last });
    // At least once: the batch that was not acknowledged comes again, and nothing before it.
    const resumed = await readAll(c, { consumer: 'indexer', batchSize: 100 });
    expect(resumed[0]!.seq).toBe(batches[1]!.first);
    expect(resumed).toHaveLength(150);
    expect(await readAll(c, { consumer: 'indexer' })).toEqual([]);
  });

  it("leaves a consumer that reads to the end holding every key's latest state after updates and deletes", async () => {
    await run(config(records(60)));
    const mirror = new Map<string, Json>();
    const apply = (seen: FeedChange[]) => {
      for (const ch of seen) {
        if (ch.data === null) mirror.delete(ch.key);
        else mirror.set(ch.key, ch.data);
      }
    };
    apply(await readAll(config([]), { consumer: 'mirror', batchSize: 7 }));
    const next = records(60, 1).map((r, i) => (i % 5 === 0 ? { ...r, deleted: true } : r));
    await run(config(next));
    apply(await readAll(config([]), { consumer: 'mirror', batchSize: 7 }));
    const live = (await t.store.scanRecords('items', { limit: 1000 })).filter((r) => r.deletedAt === null);
    expect(mirror).toEqual(new Map(live.map((r) => [r.key, r.data])));
    expect(mirror.size).toBe(48);
  });

  it('registers a new consumer at since, and reads after the later of since and its offset', async () => {
    const c = config(records(20));
    await run(c);
    const seqs = (await t.store.readChanges({ afterSeq: 0, limit: 100 })).map((ch) => ch.seq);
    const from = async (options: ChangesOptions) => (await readAll(c, options)).map((ch) => ch.seq);
    expect(await from({ consumer: 'late', since: seqs[14]!, limit: 2 })).toEqual(seqs.slice(15, 17));
    expect(await t.store.consumerOffset('late')).toMatchObject({ seq: seqs[16] });
    // Its offset is past since: it resumes there.
    expect(await from({ consumer: 'late', since: seqs[2]!, limit: 1 })).toEqual([seqs[17]]);
    // Since past its offset: a floor.
    expect(await from({ consumer: 'late', since: seqs[18]! })).toEqual([seqs[19]]);
  });

  it('follows new changes until the signal aborts, then ends', async () => {
    const c = config(records(30));
    await run(c);
    const stop = new AbortController();
    const seen: number[] = [];
    let synced = false;
    for await (const batch of changes(c, {
      store: t.location,
      follow: true,
      pollMs: 20,
      signal: stop.signal,
    })) {
      seen.push(...batch.changes.map((ch) => Number(ch.key)));
      if (!synced && seen.length === 30) {
        synced = true;
        // Ten more records arrive while it follows.
        await run(config(records(40)));
      }
      if (seen.length === 40) stop.abort();
    }
    expect(seen).toEqual(records(40).map((r) => r.id));
  });

  it('refuses a stream the config does not define', async () => {
    const read = readAll(config(records(1)), { streams: ['itmes'] });
    await expect(read).rejects.toBeInstanceOf(ConfigError);
    await expect(read).rejects.toThrow(/unknown stream "itmes"/);
  });

  it('prunes at the end of a sync only rows every consumer acknowledged and older than the window', async () => {
    // A window of 0: every committed row is old enough, so only the consumers hold rows back.
    const c = config(records(100), { changes: { retention: 0 } });
    await readAll(c, { consumer: 'fast' });
    await readAll(c, { consumer: 'slow' });
    await run(c);
    // Registered at 0, neither has passed anything: nothing goes.
    const all = (await t.store.readChanges({ afterSeq: 0, limit: 1000 })).map((ch) => ch.seq);
    expect(all).toHaveLength(100);
    expect(await readAll(c, { consumer: 'fast' })).toHaveLength(100);
    for await (const batch of changes(c, { store: t.location, consumer: 'slow', batchSize: 30 })) {
      await batch.ack();
      break;
    }
    await run(config(records(100, 1), { changes: { retention: 0 } }));
    const kept = (await t.store.readChanges({ afterSeq: 0, limit: 1000 })).map((ch) => ch.seq);
    // The 30 rows both consumers passed are gone; the 70 the slow one has not read are kept.
    expect(kept.slice(0, 70)).toEqual(all.slice(30));
    expect(kept).toHaveLength(170);
    const slow = await readAll(c, { consumer: 'slow' });
    expect(slow.map((ch) => ch.seq)).toEqual(kept);
  });

  it('prunes nothing younger than the window, consumers or not (default 7 days)', async () => {
    const c = config(records(50));
    await run(c);
    await run(config(records(50, 1)));
    expect(await t.store.readChanges({ afterSeq: 0, limit: 1000 })).toHaveLength(100);
  });

  it('subscribe: a sync in the same process wakes it at once, batches are acknowledged after the handler', async () => {
    const c = config(records(120));
    const events = new SyncEventBus();
    const seen: FeedChange[] = [];
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => {
      resolveAll = r;
    });
    // A poll of a minute: only the in-process commit can wake it in time.
    const subscription = subscribe(
      c,
      { store: t.location, consumer: 'live', events, pollMs: 60_000 },
      (batch) => {
        seen.push(...batch);
        if (seen.length === 120) resolveAll();
      },
    );
    await new Promise((r) => setTimeout(r, 200)); // subscribed, waiting at the end of an empty log
    const [outcome] = await sync(c, { store: t.location, events });
    expect(outcome?.status).toBe('ok');
    await all;
    await subscription.stop();
    await subscription.done;
    expect(seen.map((ch) => ch.key)).toEqual(records(120).map((r) => String(r.id)));
    expect((await t.store.consumerOffset('live'))?.seq).toBe(seen.at(-1)?.seq);
  });

  it('subscribe: a handler that throws ends it unacknowledged, and the batch comes again', async () => {
    const c = config(records(30));
    await run(c);
    const failing = subscribe(c, { store: t.location, consumer: 'flaky', batchSize: 10 }, (batch) => {
      if (batch[0]?.key === String(testRecord(10).id)) throw new Error('index down');
    });
    await expect(failing.done).rejects.toThrow('index down');
    const again: FeedChange[] = [];
    const retry = subscribe(
      c,
      { store: t.location, consumer: 'flaky', batchSize: 10, pollMs: 20 },
      (batch) => {
        again.push(...batch);
      },
    );
    await expect.poll(() => again.length).toBe(20);
    await retry.stop();
    expect(again[0]?.key).toBe(String(testRecord(10).id));
  });
});
