import { afterEach, describe, expect, it } from 'vitest';
import { customersConfig } from '../../bench/customers-stream.ts';
import type { HttpDestinationSettings, SynclineConfig } from '../../src/config/define-config.ts';
import { resolveConfig } from '../../src/config/load-config.ts';
import { FatalError } from '../../src/core/errors.ts';
import { http } from '../../src/index.ts';
import { push } from '../../src/runtime/push.ts';
import { replaySinkLetters } from '../../src/runtime/sink-replay.ts';
import { sync } from '../../src/runtime/sync.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { CRM_OPERATIONS } from '../helpers/crm-operations.ts';
import { CrmClient, crmDestination } from '../helpers/crm-sdk-destination.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const TOKEN = 'push-crm-token';
process.env.PUSH_CRM_TOKEN = TOKEN;

/** What a customer becomes in the CRM. */
const MAP = {
  email: 'email',
  name: 'name',
  plan: 'plan',
  city: 'address.city',
  external_id: { template: '{id}' },
} as const;

/**
 * The simulator's customers, synced into a store and pushed into the simulator's CRM through the
 * public `sync()` and `push()`: the end-to-end path of README "Push to another API".
 */
describe('customers pushed into the simulator CRM', () => {
  let sim: SimulatorServer | undefined;
  let t: TestStore | undefined;
  afterEach(async () => {
    await sim?.close();
    await t?.dispose();
    sim = undefined;
    t = undefined;
  });

  async function setUp(crm: { idempotency?: boolean } = {}, customers = 400) {
    sim = await startSimulator({ seed: 9, datasets: { customers }, crm: { token: TOKEN, ...crm } });
    t = await makeTestStore('sqlite');
  }

  function config(destination: Partial<HttpDestinationSettings> = {}): SynclineConfig {
    return {
      store: t!.location,
      streams: customersConfig(sim!.url, t!.location).streams,
      destinations: [
        http.destination({
          name: 'crm',
          streams: ['customers'],
          baseUrl: `${sim!.url}/crm`,
          tokenEnv: 'PUSH_CRM_TOKEN',
          allowPrivateTargets: true,
          mode: 'mirror',
          map: MAP,
          ...CRM_OPERATIONS,
          timeout: '2s',
          retry: { base: '50ms', max: '500ms' },
          ...destination,
        }),
      ],
    };
  }

  /** Every live customer of the store is exactly one contact with its mapped fields, and nothing else is. */
  async function expectMirrored() {
    const records = new Map<string, Record<string, unknown>>();
    for (const row of await t!.store.scanRecords('customers', { limit: 100_000 })) {
      if (row.deletedAt === null) records.set(row.key, row.data as Record<string, unknown>);
    }
    const contacts = sim!.crm.contacts();
    const byKey = new Map<string, typeof contacts>();
    for (const c of contacts)
      byKey.set(String(c.external_id), [...(byKey.get(String(c.external_id)) ?? []), c]);
    const duplicated = [...byKey].filter(([, list]) => list.length > 1).map(([key]) => key);
    const zombies = [...byKey.keys()].filter((key) => !records.has(key));
    const missing = [...records.keys()].filter((key) => !byKey.has(key));
    const stale = [...records].filter(([key, r]) => {
      const c = byKey.get(key)?.[0];
      const address = r.address as { city: string };
      return c && (c.email !== r.email || c.plan !== r.plan || c.name !== r.name || c.city !== address.city);
    });
    expect({ duplicated, zombies, missing, stale: stale.map(([k]) => k) }).toEqual({
      duplicated: [],
      zombies: [],
      missing: [],
      stale: [],
    });
    expect(contacts.length).toBe(records.size);
    return records.size;
  }

  it('makes every customer one contact, sends only what changed, and mirrors deletes', async () => {
    await setUp();
    const cfg = config();
    await sync(cfg);
    expect(await push(cfg)).toEqual([
      expect.objectContaining({ destination: 'crm', caughtUp: true, refused: 0 }),
    ]);
    expect(await expectMirrored()).toBe(400);
    const first = sim!.crm.stats();

    // Nothing changed: a second push sends nothing at all.
    await sync(cfg);
    await push(cfg);
    expect(sim!.crm.stats().requests).toEqual(first.requests);

    // Updates, inserts and deletes (soft and hard) at the source follow.
    sim!.setMutations({ mix: { burst: 0, regress: 0 } });
    sim!.mutate(150);
    await sync(cfg);
    await push(cfg);
    await expectMirrored();
    expect(sim!.crm.stats().deletes).toBeGreaterThan(0);
  });

  it('makes no duplicate when the CRM lost answers after writing, even without idempotency support', async () => {
    await setUp({ idempotency: false });
    const cfg = config({ concurrency: 8 });
    await sync(cfg);
    sim!.crm.configure({ faults: { lostResponse: 0.1, lostResponse504: 0.1, serverError: 0.05 } });
    const outcomes = await push(cfg);
    expect(outcomes[0]).toMatchObject({ caughtUp: true, refused: 0 });
    const faults = sim!.crm.stats().faults;
    expect(faults.lostResponse + faults.lostResponse504).toBeGreaterThan(10);
    sim!.crm.configure({ faults: { lostResponse: 0, lostResponse504: 0, serverError: 0 } });
    expect(await expectMirrored()).toBe(400);
  });

  it('dead-letters only the record the CRM refuses, and a replay delivers it once the CRM accepts it', async () => {
    await setUp();
    const cfg = config();
    await sync(cfg);
    const [refused] = await t!.store.scanRecords('customers', { limit: 1 });
    sim!.crm.configure({ reject: { emails: [(refused!.data as { email: string }).email] } });
    expect(await push(cfg)).toEqual([expect.objectContaining({ caughtUp: true, refused: 1 })]);
    const letters = await t!.store.openSinkDeadLetters({ sink: 'crm', afterId: 0, limit: 10 });
    expect(letters.map((l) => l.key)).toEqual([refused!.key]);
    expect(letters[0]!.reason).toMatch(/^destination crm: 422 from 127\.0\.0\.1:\d+\/crm\/contacts: /);
    expect(sim!.crm.contacts()).toHaveLength(399);

    // Told to accept it, the CRM gets it from a replay: once, mapped, the letter settled.
    sim!.crm.configure({ reject: { emails: [] } });
    const destination = resolveConfig(cfg).destinations[0]!;
    expect(await replaySinkLetters({ store: t!.store, sink: destination })).toMatchObject({
      redelivered: 1,
      refusedAgain: 0,
      left: 0,
    });
    expect(await expectMirrored()).toBe(400);
    expect(await t!.store.openSinkDeadLetters({ sink: 'crm', afterId: 0, limit: 10 })).toEqual([]);
    const mapped = await t!.store.lookupMappings({
      destination: 'crm',
      stream: 'customers',
      keys: [refused!.key],
    });
    expect(sim!.crm.contacts().find((c) => c.id === mapped.get(refused!.key)?.externalId)).toMatchObject({
      external_id: refused!.key,
    });
  });

  it('settles a letter without a write when a later version of its record was written since', async () => {
    await setUp();
    const cfg = config();
    await sync(cfg);
    const [refused] = await t!.store.scanRecords('customers', { limit: 1 });
    sim!.crm.configure({ reject: { emails: [(refused!.data as { email: string }).email] } });
    await push(cfg);
    sim!.crm.configure({ reject: { emails: [] } });
    // As if a newer version of the record had been written by the live destination since.
    await t!.store.storeDestinationMappings({
      destination: 'crm',
      at: new Date(Date.now() + 60_000).toISOString(),
      writes: [
        { stream: 'customers', key: refused!.key, externalId: 'c_newer', payloadHash: 'h', status: 'synced' },
      ],
    });
    const before = sim!.crm.stats().requests;
    const destination = resolveConfig(cfg).destinations[0]!;
    expect(await replaySinkLetters({ store: t!.store, sink: destination })).toMatchObject({ redelivered: 1 });
    expect(sim!.crm.stats().requests).toEqual(before);
    expect(await t!.store.openSinkDeadLetters({ sink: 'crm', afterId: 0, limit: 10 })).toEqual([]);
  });

  it('keeps under its rateLimit, as the CRM measures it, and waits out the CRM’s own limit', async () => {
    await setUp({}, 100);
    const cfg = config({ rateLimit: 50, concurrency: 8 });
    await sync(cfg);
    // The CRM's own bucket is smaller still at first: its 429s and headers hold every request.
    sim!.crm.configure({ rateLimit: { capacity: 5, refillPerSecond: 60 } });
    await push(cfg);
    const stats = sim!.crm.stats();
    expect(stats.maxRequestsPerSecond).toBeLessThanOrEqual(50);
    expect(stats.maxRequestsPerSecond).toBeGreaterThan(20);
    expect(await expectMirrored()).toBe(100);
  });

  it('writes through a custom destination (a client library behind write) as through the HTTP one', async () => {
    await setUp({ idempotency: false });
    const base = config();
    const cfg: SynclineConfig = {
      ...base,
      destinations: [
        {
          name: 'crm',
          type: 'custom',
          streams: ['customers'],
          mode: 'mirror',
          map: MAP,
          retry: { base: '50ms', max: '500ms' },
          destination: crmDestination(new CrmClient(`${sim!.url}/crm`, TOKEN)),
        },
      ],
    };
    await sync(cfg);
    sim!.crm.configure({ faults: { lostResponse: 0.1 } });
    expect(await push(cfg)).toEqual([expect.objectContaining({ caughtUp: true, refused: 0 })]);
    sim!.crm.configure({ faults: { lostResponse: 0 } });
    expect(await expectMirrored()).toBe(400);
    sim!.setMutations({ mix: { burst: 0, regress: 0 } });
    sim!.mutate(100);
    await sync(cfg);
    await push(cfg);
    await expectMirrored();
  });

  it('re-sends what a changed map changes with a full pass, and nothing once the CRM matches', async () => {
    await setUp({}, 200);
    await sync(config());
    await push(config());
    const remapped = config({ map: { ...MAP, source: { const: 'syncline' } } });
    // The change log holds nothing new: a plain push sends nothing, whatever the map says now.
    const before = sim!.crm.stats().requests;
    await push(remapped);
    expect(sim!.crm.stats().requests).toEqual(before);
    const [outcome] = await push(remapped, { full: true });
    expect(outcome!.full).toEqual({
      destination: 'crm',
      records: 200,
      written: 200,
      unchanged: 0,
      refused: 0,
    });
    expect(sim!.crm.contacts().every((c) => c.source === 'syncline')).toBe(true);
    expect(await expectMirrored()).toBe(200);
    const [again] = await push(remapped, { full: true });
    expect(again!.full).toMatchObject({ written: 0, unchanged: 200 });
  });

  it('stops with one line when the CRM refuses the token', async () => {
    await setUp();
    process.env.PUSH_CRM_BAD = 'wrong';
    const cfg = config({ tokenEnv: 'PUSH_CRM_BAD' });
    await sync(cfg);
    const error = await push(cfg).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect(String((error as Error).message)).toMatch(
      /^destination "crm": (GET|POST) 127\.0\.0\.1:\d+\/crm\/contacts answered 401: the destination refused the credentials/,
    );
    expect(String((error as Error).message)).not.toContain('wrong');
  });
});
