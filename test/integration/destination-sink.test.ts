import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { sync } from '../../src/runtime/sync.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import {
  createDestinationSink,
  type DestinationMode,
} from '../../src/sinks/destinations/destination-sink.ts';
import { createHttpDestination } from '../../src/sinks/destinations/http-destination.ts';
import { compileRecordMap } from '../../src/sinks/destinations/record-map.ts';
import type { RejectedEvent } from '../../src/sinks/sink-runner.ts';
import { CRM_OPERATIONS } from '../helpers/crm-operations.ts';
import { useDeliveryRig } from '../helpers/sink-rig.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';

const TOKEN = 'crm-token';

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
  let sim: SimulatorServer;
  /** The CRM's contact with this id. */
  const contact = (id: string) => sim.crm.contacts().find((c) => c.id === id);
  let confirms: number;
  /** The store's external-ID map row of an `items` key. */
  const mapped = async (key: string) =>
    (await rig.t.store.lookupMappings({ destination: 'crm', stream: 'items', keys: [key] })).get(key);
  beforeEach(async () => {
    sim = await startSimulator({ datasets: {}, crm: { token: TOKEN } });
    confirms = 0;
  });
  afterEach(async () => {
    await sim.close();
  });

  const destination = async (mode: DestinationMode = 'upsert') =>
    createDestinationSink({
      name: 'crm',
      mode,
      map: compileRecordMap(
        { email: 'email', name: 'name', external_id: { template: '{id}' } },
        'destination "crm"',
      ),
      destination: await createHttpDestination({
        name: 'crm',
        baseUrl: `${sim.url}/crm`,
        headers: { authorization: `Bearer ${TOKEN}` },
        operations: CRM_OPERATIONS,
        timeoutMs: 2000,
        allowPrivateTargets: true,
      }),
      lookup: (stream, keys) => rig.t.store.lookupMappings({ destination: 'crm', stream, keys }),
    });
  const start = async (mode?: DestinationMode, rejected: RejectedEvent[] = []) =>
    rig.start(await destination(mode), {
      confirm: async ({ seq, writes, at }) => {
        confirms += 1;
        return rig.t.store.confirmDestinationWrites({
          destination: 'crm',
          consumer: 'destination:crm',
          seq,
          at,
          writes,
        });
      },
      onRejected: async (r) => {
        rejected.push(...r);
      },
    });

  it('creates every record once, then sends only what changed, and never a second object after a lost map', async () => {
    await sync(config(25), { store: rig.t.location });
    let runner = await start();
    await rig.until(() => runner.status().offset === 25);
    expect(sim.crm.contacts()).toHaveLength(25);
    expect(await mapped('3')).toMatchObject({
      externalId: expect.stringMatching(/^c_\d+$/),
      status: 'synced',
    });
    const posts = sim.crm.requests().filter((r) => r.method === 'POST').length;
    expect(posts).toBe(25);

    // Two records change in a way the mapping sees, one only outside it (no request for that one).
    rig.stop();
    await runner.done;
    await rig.t.store.resetCheckpoint('items', new Date().toISOString());
    await sync(
      testStreamConfig(
        Array.from({ length: 3 }, (_, i) => ({
          ...testRecord(i, 1),
          email: i === 2 ? `p${i}@example.com` : `new${i}@example.com`,
        })) as ReturnType<typeof testRecord>[],
      ),
      { store: rig.t.location },
    );
    sim.crm.clearRequests();
    runner = await start();
    const last = await rig.highestSeq();
    await rig.until(() => runner.status().offset === last);
    const after = sim.crm.requests();
    // Every one of the three changed a mapped field (the name holds the revision): three PATCHes.
    const ids = await Promise.all(['0', '1', '2'].map(async (k) => (await mapped(k))!.externalId));
    expect(after.filter((r) => r.method === 'PATCH').map((r) => r.path)).toEqual(
      ids.map((id) => `/crm/contacts/${id}`),
    );
    expect(after.filter((r) => r.method === 'POST')).toHaveLength(0);
    expect(contact(ids[0]!)?.email).toBe('new0@example.com');

    // The map is lost (a restored store): the next change finds the object instead of creating one.
    rig.stop();
    await runner.done;
    expect(await rig.t.store.forgetMappings({ destination: 'crm' })).toBe(25);
    await rig.t.store.resetCheckpoint('items', new Date().toISOString());
    await sync(
      testStreamConfig([{ ...testRecord(5, 2), email: 'five@example.com' } as ReturnType<typeof testRecord>]),
      {
        store: rig.t.location,
      },
    );
    runner = await start();
    const end = await rig.highestSeq();
    await rig.until(() => runner.status().offset === end);
    expect(sim.crm.contacts()).toHaveLength(25);
    expect((await mapped('5'))?.externalId).toBe(sim.crm.contacts().find((c) => c.external_id === '5')?.id);
    expect(
      sim.crm
        .requests()
        .filter((r) => r.method === 'GET')
        .at(-1)?.path,
    ).toBe('/crm/contacts?external_id=5');
  });

  it('dead-letters a record the API refuses (422) and goes on', async () => {
    await sync(config(12, 0, 5), { store: rig.t.location }); // records 5 and 10 have no email
    const rejected: RejectedEvent[] = [];
    const runner = await start('upsert', rejected);
    await rig.until(() => runner.status().offset === 12);
    expect(rejected.map((r) => r.event.key)).toEqual(['5', '10']);
    expect(rejected[0]!.reason).toMatch(
      /^destination crm: 422 from 127\.0\.0\.1:\d+\/crm\/contacts: .*email is required/,
    );
    expect(sim.crm.contacts()).toHaveLength(10);
    expect(confirms).toBeGreaterThan(0);
  });

  it('retries a batch after a 503 without creating anything twice (idempotency keys and find)', async () => {
    await sync(config(10), { store: rig.t.location });
    sim.crm.failNext({ status: 503, times: 2 });
    const runner = await start();
    await rig.until(() => runner.status().offset === 10);
    expect(sim.crm.contacts()).toHaveLength(10);
    expect(new Set(sim.crm.contacts().map((c) => c.external_id)).size).toBe(10);
    expect(sim.crm.stats().faults.injected).toBe(2);
  });

  it('update-only creates nothing; mirror deletes the object of a deleted record', async () => {
    await sync(config(4), { store: rig.t.location });
    let runner = await start('update-only');
    await rig.until(() => runner.status().offset === 4);
    expect(sim.crm.contacts()).toHaveLength(0);
    rig.stop();
    await runner.done;
    // Mirror from the start: creates the four, then follows a delete.
    await rig.t.store.registerConsumer({
      consumer: 'destination:crm2',
      afterSeq: 0,
      at: new Date().toISOString(),
    });
    runner = rig.start(
      await (async () => {
        const sink = await destination('mirror');
        return { ...sink, name: 'crm' };
      })(),
      {
        consumer: 'destination:crm2',
        confirm: ({ seq, writes, at }) =>
          rig.t.store.confirmDestinationWrites({
            destination: 'crm',
            consumer: 'destination:crm2',
            seq,
            at,
            writes,
          }),
      },
    );
    await rig.until(() => runner.status().offset === 4);
    expect(sim.crm.contacts()).toHaveLength(4);
    await rig.t.store.resetCheckpoint('items', new Date().toISOString());
    await sync(testStreamConfig([{ ...testRecord(2, 1), deleted: true } as ReturnType<typeof testRecord>]), {
      store: rig.t.location,
    });
    const last = await rig.highestSeq();
    await rig.until(() => runner.status().offset === last);
    expect(sim.crm.contacts()).toHaveLength(3);
    expect(await mapped('2')).toMatchObject({ status: 'deleted' });
    expect(sim.crm.requests().at(-1)).toMatchObject({ method: 'DELETE' });
  });
});
