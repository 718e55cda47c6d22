import { describe, expect, it } from 'vitest';
import { contentHash } from '../core/canonical-json.ts';
import { startSimulator } from './index.ts';
import { rawGet, simulatorsForEachTest, walkCursor, walkKeyset } from './simulator-test-client.ts';

const start = simulatorsForEachTest();

/** A clock that advances 7 ms per reading from 2025-01-01, so mutation times are reproducible. */
function steppingClock(): () => number {
  let now = Date.UTC(2025, 0, 1);
  return () => (now += 7);
}

const sizes = { customers: 800, orders: 600, candles: 900 };

describe('simulator data', () => {
  it('generates the same records and the same mutations from the same seed', async () => {
    const a = await start({ seed: 7, datasets: sizes, clock: steppingClock() });
    const b = await start({ seed: 7, datasets: sizes, clock: steppingClock() });
    const c = await start({ seed: 8, datasets: sizes, clock: steppingClock() });
    for (const sim of [a, b, c]) sim.mutate(60);
    for (const name of ['customers', 'orders', 'candles']) {
      expect([...a.groundTruthEntries(name)]).toEqual([...b.groundTruthEntries(name)]);
      expect([...a.groundTruthEntries(name)]).not.toEqual([...c.groundTruthEntries(name)]);
      const pageA = await rawGet(`${a.url}/v1/${name}?style=keyset&limit=50`);
      const pageB = await rawGet(`${b.url}/v1/${name}?style=keyset&limit=50`);
      expect(pageA.body).toBe(pageB.body);
    }
  });

  it('serves each record as exactly JSON.stringify of the record object, in ASCII', async () => {
    const sim = await start({ seed: 3, datasets: sizes, clock: steppingClock() });
    sim.mutate(100);
    for (const name of ['customers', 'orders', 'candles']) {
      const dataset = sim.dataset(name);
      for (let i = 0; i < dataset.totalCreated; i++) {
        const text = dataset.json(i);
        expect(text).toBe(JSON.stringify(dataset.record(i)));
        expect(/^[\x20-\x7e]*$/.test(text)).toBe(true);
      }
    }
    const one = JSON.parse(sim.dataset('customers').json(0)) as Record<string, unknown>;
    expect(Object.keys(one)).toEqual([
      'id',
      'email',
      'name',
      'address',
      'phone',
      'plan',
      'created_at',
      'updated_at',
      'version',
      'deleted',
    ]);
    expect(sim.dataset('customers').json(0).length).toBeGreaterThan(250);
  });

  it('has a ground truth equal to what a full keyset walk and a cursor walk return when mutations are off', async () => {
    const sim = await start({ seed: 11, datasets: { customers: 2500, candles: 1200 } });
    sim.mutate(300);
    for (const name of ['customers', 'candles']) {
      const truth = sim.groundTruth(name);
      for (const walked of [await walkKeyset(sim.url, name, 1000), await walkCursor(sim.url, name, 333)]) {
        const live = new Map<string, string>();
        const soft = new Set<string>();
        for (const record of walked) {
          const key =
            name === 'candles'
              ? JSON.stringify([record.symbol, record.interval, record.open_time])
              : record.id;
          expect(live.has(key) || soft.has(key)).toBe(false);
          if (record.deleted === true) soft.add(key);
          else live.set(key, contentHash(record));
        }
        expect(live).toEqual(truth.live);
        expect([...soft].sort()).toEqual(
          [...truth.deleted]
            .filter(([, how]) => how === 'soft')
            .map(([key]) => key)
            .sort(),
        );
      }
    }
    const ndjson = await rawGet(`${sim.url}/_admin/ground-truth/customers`);
    const lines = ndjson.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { status: string; hash?: string });
    expect(lines).toHaveLength(sim.dataset('customers').totalCreated);
    expect(lines.filter((l) => l.status === 'live')).toHaveLength(sim.groundTruth('customers').live.size);
  });

  it('keeps a million records lazy: the heap grows by a few MB, not by their JSON', async () => {
    const before = process.memoryUsage();
    const sim = await start({ seed: 1, datasets: { customers: 1_000_000 } });
    sim.mutate(1000);
    const page = await rawGet(`${sim.url}/v1/customers?style=offset&offset=900000&limit=1000`);
    expect(page.status).toBe(200);
    const after = process.memoryUsage();
    // The records as JSON would be ~320 MB; the sorted index is 8 bytes per record.
    expect(after.heapUsed - before.heapUsed).toBeLessThan(80e6);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(40e6);
  });

  it('rejects impossible dataset sizes with a typed error', async () => {
    await expect(startSimulator({ datasets: { customers: -1 } })).rejects.toThrow(
      /customers must be an integer/,
    );
    await expect(startSimulator({ faults: { rateLimit: 0.7, hang: 0.7 } })).rejects.toThrow(/at most 1/);
  });
});
