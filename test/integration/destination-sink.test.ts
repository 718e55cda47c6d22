import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import type { DestinationWrite } from '../../src/core/sink.ts';
import { sync } from '../../src/runtime/sync.ts';
import {
  createDestinationSink,
  type DestinationMode,
  type KnownMapping,
} from '../../src/sinks/destinations/destination-sink.ts';
import { createHttpDestinationClient } from '../../src/sinks/destinations/http-destination-client.ts';
import { compileRecordMap } from '../../src/sinks/destinations/record-map.ts';
import type { RejectedEvent } from '../../src/sinks/sink-runner.ts';
import { FakeCrm } from '../helpers/fake-crm.ts';
import { useDeliveryRig } from '../helpers/sink-rig.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';

/** `items` with `n` records; every record with id divisible by `noEmailEvery` has no email. */
function config(n: number, rev = 0, noEmailEvery = 0): SynclineConfig {
  return testStreamConfig(
    Array.from({ length: n }, (_, i) => ({
      ...testRecord(i, rev),
      ...(noEmailEvery > 0 && i % noEmailEvery === 0 && i > 0 ? {} : { email: `p${i}@example.com` }),
    })),
  );
}

describe('a destination over the sink runner: the change log into a CRM over loopback', () => {
  const rig = useDeliveryRig('destination:crm');
  let crm: FakeCrm;
  /** The external-ID map, as the store will keep it (kept here until the store role lands). */
  let map: Map<string, DestinationWrite>;
  let confirms: number;
  beforeEach(async () => {
    crm = await new FakeCrm().start();
    map = new Map();
    confirms = 0;
  });
  afterEach(async () => {
    await crm.stop();
  });

  const destination = async (mode: DestinationMode = 'upsert') =>
    createDestinationSink({
      name: 'crm',
      mode,
      map: compileRecordMap(
        { email: 'email', name: 'name', external_id: { template: '{id}' } },
        'destination "crm"',
      ),
      client: await createHttpDestinationClient({
        name: 'crm',
        baseUrl: crm.url,
        headers: { authorization: `Bearer ${crm.token}` },
        operations: {
          create: { path: '/contacts' },
          update: { path: '/contacts/{externalId}' },
          find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
          delete: { path: '/contacts/{externalId}' },
        },
        timeoutMs: 2000,
        allowPrivateTargets: true,
      }),
      lookup: async (stream, keys) => {
        const found = new Map<string, KnownMapping>();
        for (const key of keys) {
          const row = map.get(`${stream}/${key}`);
          if (row) found.set(key, row);
        }
        return found;
      },
    });
  const start = async (mode?: DestinationMode, rejected: RejectedEvent[] = []) =>
    rig.start(await destination(mode), {
      confirm: async ({ seq, writes, at }) => {
        confirms += 1;
        for (const w of writes) map.set(`${w.stream}/${w.key}`, w);
        return rig.t.store.ackChanges({ consumer: 'destination:crm', seq, at });
      },
      onRejected: async (r) => {
        rejected.push(...r);
      },
    });

  it('creates every record once, then sends only what changed, and never a second object after a lost map', async () => {
    await sync(config(25), { store: rig.t.location });
    let runner = await start();
    await rig.until(() => runner.status().offset === 25);
    expect(crm.contacts.size).toBe(25);
    expect(map.get('items/3')).toMatchObject({
      externalId: expect.stringMatching(/^c_\d+$/),
      status: 'synced',
    });
    const posts = crm.requests.filter((r) => r.method === 'POST').length;
    expect(posts).toBe(25);

    // Two records change in a way the mapping sees, one only outside it (no request for that one).
    rig.stop();
    await runner.done;
    await rig.t.store.resetCheckpoint('items', new Date().toISOString());
    const changed = config(25).streams; // same records...
    void changed;
    await sync(
      testStreamConfig(
        Array.from({ length: 3 }, (_, i) => ({
          ...testRecord(i, 1),
          email: i === 2 ? `p${i}@example.com` : `new${i}@example.com`,
        })),
      ),
      { store: rig.t.location },
    );
    const before = crm.requests.length;
    runner = await start();
    const last = await rig.highestSeq();
    await rig.until(() => runner.status().offset === last);
    const after = crm.requests.slice(before);
    // Records 0 and 1: new email and name (PATCH); record 2: only its name changed... and name is mapped.
    expect(after.filter((r) => r.method === 'PATCH').map((r) => r.path)).toEqual([
      `/contacts/${map.get('items/0')!.externalId}`,
      `/contacts/${map.get('items/1')!.externalId}`,
      `/contacts/${map.get('items/2')!.externalId}`,
    ]);
    expect(after.filter((r) => r.method === 'POST')).toHaveLength(0);
    expect(crm.contacts.get(map.get('items/0')!.externalId)?.email).toBe('new0@example.com');

    // The map is lost (a restored store): the next change finds the object instead of creating one.
    rig.stop();
    await runner.done;
    map.clear();
    await rig.t.store.resetCheckpoint('items', new Date().toISOString());
    await sync(testStreamConfig([{ ...testRecord(5, 2), email: 'five@example.com' }]), {
      store: rig.t.location,
    });
    runner = await start();
    const end = await rig.highestSeq();
    await rig.until(() => runner.status().offset === end);
    expect(crm.contacts.size).toBe(25);
    expect(map.get('items/5')?.externalId).toBe(
      [...crm.contacts.values()].find((c) => c.external_id === '5')?.id,
    );
  });

  it('dead-letters a record the API refuses (422) and goes on; update-only creates nothing', async () => {
    await sync(config(12, 0, 5), { store: rig.t.location }); // records 5 and 10 have no email
    const rejected: RejectedEvent[] = [];
    const runner = await start('upsert', rejected);
    await rig.until(() => runner.status().offset === 12);
    expect(rejected.map((r) => r.event.key)).toEqual(['5', '10']);
    expect(rejected[0]!.reason).toMatch(
      /^sink crm: 422 from 127\.0\.0\.1:\d+\/contacts: .*email is required/,
    );
    expect(crm.contacts.size).toBe(10);
    expect(confirms).toBeGreaterThan(0);
  });

  it('retries a batch after a 503 without creating anything twice (idempotency keys and find)', async () => {
    await sync(config(10), { store: rig.t.location });
    crm.failNext(503, 2);
    const runner = await start();
    await rig.until(() => runner.status().offset === 10);
    expect(crm.contacts.size).toBe(10);
    expect(new Set([...crm.contacts.values()].map((c) => c.external_id)).size).toBe(10);
  });
});
