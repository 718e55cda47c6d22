import { describe, expect, it } from 'vitest';
import { contentHash } from '../core/canonical-json.ts';
import type { GroundTruthEntry } from './dataset.ts';
import type { SimulatorServer } from './index.ts';
import { orderStatus } from './order-kind.ts';
import { DEFAULT_MUTATIONS } from './simulator-options.ts';
import {
  getJson,
  type ListedRecord,
  rawGet,
  simulatorsForEachTest,
  walkCursor,
  walkKeyset,
} from './simulator-test-client.ts';

const start = simulatorsForEachTest();

const NONE = { insert: 0, update: 0, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0, regress: 0 };
const ONLY_REGRESS = { mix: { ...NONE, regress: 1 } };
const START = Date.UTC(2025, 0, 1);

/** A clock that advances `step` ms per reading from 2025-01-01 (0: it never moves). */
function steppingClock(step = 7): () => number {
  let now = START;
  return () => (now += step);
}

function truthById(sim: SimulatorServer, dataset: string): Map<string, GroundTruthEntry> {
  return new Map([...sim.groundTruthEntries(dataset)].map((e) => [e.id, e]));
}

describe('simulator version regressions (mutation kind regress)', () => {
  it('is off by default', () => {
    expect(DEFAULT_MUTATIONS.mix.regress).toBe(0);
  });

  it('serves a record again with a lower version, that version content and a new updated_at', async () => {
    const sim = await start({
      seed: 21,
      datasets: { customers: 300, orders: 300 },
      mutations: ONLY_REGRESS,
      clock: steppingClock(),
    });
    const before = { customers: truthById(sim, 'customers'), orders: truthById(sim, 'orders') };
    const counts = sim.mutate(40);
    expect(counts.regress).toBe(40);
    expect(counts.records).toBe(40);
    expect(sim.stats().mutations.regress).toBe(40);
    let regressed = 0;
    for (const name of ['customers', 'orders'] as const) {
      const dataset = sim.dataset(name);
      for (const after of sim.groundTruthEntries(name)) {
        const old = before[name].get(after.id)!;
        if (after.version === old.version) {
          expect(after).toEqual(old);
          continue;
        }
        regressed++;
        expect(after.version).toBeLessThan(old.version);
        expect(after.version).toBeGreaterThanOrEqual(1);
        expect(after.status).toBe('live');
        expect(Date.parse(after.updatedAt)).toBeGreaterThan(START);
        expect(after.hash).not.toBe(old.hash);
        const index = dataset.find(after.id)!;
        if (name === 'orders')
          expect(dataset.record(index).status).toBe(orderStatus(21, index, after.version));
      }
    }
    expect(regressed).toBeGreaterThan(30); // a record may be drawn twice
  });

  it('restores exactly the content the record had at the older version', async () => {
    const sim = await start({ seed: 20, datasets: { customers: 0 }, clock: steppingClock() });
    const get = () => getJson<ListedRecord>(`${sim.url}/v1/customers/cus_000000000`);
    const apply = (kind: keyof typeof NONE) => {
      sim.setMutations({ mix: { ...NONE, [kind]: 1 } });
      expect(sim.mutate(1)[kind]).toBe(1);
    };
    apply('insert');
    const v1 = await get();
    apply('update');
    const v2 = await get();
    expect(v2.version).toBe(2);
    apply('regress'); // the only record below version 2 it can go to is 1
    const restored = await get();
    expect(restored.version).toBe(1);
    expect(restored.updated_at > v2.updated_at).toBe(true);
    expect({ ...restored, updated_at: v1.updated_at }).toEqual(v1);
    apply('update');
    expect({ ...(await get()), updated_at: v2.updated_at }).toEqual(v2);
  });

  it('shows the regressed records to an updated_since query, and GET by id serves the ground truth', async () => {
    const sim = await start({ seed: 22, datasets: { customers: 2000 }, mutations: ONLY_REGRESS });
    const since = new Date(Date.now() - 1).toISOString();
    const before = truthById(sim, 'customers');
    sim.mutate(25);
    const truth = truthById(sim, 'customers');
    const changed = [...truth.values()].filter((e) => e.version !== before.get(e.id)!.version);
    expect(changed.length).toBeGreaterThan(20);
    const body = await getJson<{ data: ListedRecord[] }>(
      `${sim.url}/v1/customers?style=keyset&limit=1000&updated_since=${since}`,
    );
    expect(body.data.map((r) => r.id).sort()).toEqual(changed.map((e) => e.id).sort());
    for (const record of body.data) {
      const entry = truth.get(record.id)!;
      expect(record.version).toBe(entry.version);
      expect(record.version).toBeLessThan(before.get(record.id)!.version);
      expect(contentHash(record)).toBe(entry.hash);
      const one = await getJson<ListedRecord>(`${sim.url}/v1/customers/${record.id}`);
      expect(one).toEqual(record);
      expect(contentHash(one)).toBe(entry.hash);
      expect(one.updated_at).toBe(entry.updatedAt);
    }
    // The admin NDJSON says the same.
    const ndjson = await rawGet(`${sim.url}/_admin/ground-truth/customers`);
    const lines = ndjson.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as GroundTruthEntry);
    expect(lines).toEqual([...truth.values()]);
    // And a full walk holds each record once, as the ground truth has it.
    for (const walked of [
      await walkKeyset(sim.url, 'customers', 500),
      await walkCursor(sim.url, 'customers', 700),
    ]) {
      expect(new Map(walked.map((r) => [r.id, contentHash(r)]))).toEqual(sim.groundTruth('customers').live);
    }
  });

  it('regresses only live records above version 1, falls back to an update, and never rolls candles back', async () => {
    const sim = await start({
      seed: 23,
      datasets: { customers: 200, candles: 300 },
      mutations: { ...ONLY_REGRESS, datasets: ['candles'] },
      clock: steppingClock(),
    });
    // Candles (all at version 1, and never rolled back) get corrections instead.
    const counts = sim.mutate(30);
    expect(counts).toMatchObject({ regress: 0, update: 30 });
    expect([...sim.groundTruthEntries('candles')].filter((e) => e.version === 2).length).toBeGreaterThan(25);
    // Customers: soft-delete some, then regress; soft-deleted and version-1 records stay as they are.
    sim.setMutations({ datasets: ['customers'], mix: { ...NONE, softDelete: 1 } });
    sim.mutate(30);
    const before = truthById(sim, 'customers');
    sim.setMutations({ mix: { ...NONE, regress: 1 } });
    sim.mutate(100);
    for (const after of sim.groundTruthEntries('customers')) {
      const old = before.get(after.id)!;
      if (old.status !== 'live' || old.version === 1) expect(after).toEqual(old);
    }
    // A dataset with no record above version 1 gets updates instead.
    const fresh = await start({
      seed: 24,
      datasets: { customers: 0 },
      mutations: { mix: { ...NONE, insert: 1 } },
      clock: steppingClock(),
    });
    fresh.mutate(5);
    fresh.setMutations({ mix: { ...NONE, regress: 1 } });
    expect(fresh.mutate(1)).toMatchObject({ regress: 0, update: 1 });
  });

  it('makes the regression newer than the state it replaces even when the clock stands still', async () => {
    const sim = await start({
      seed: 25,
      datasets: { customers: 100 },
      mutations: { mix: { ...NONE, update: 1 } },
      clock: () => START,
    });
    sim.mutate(50);
    sim.setMutations({ mix: { ...NONE, regress: 1 } });
    sim.mutate(50);
    const regressedAt = [...sim.groundTruthEntries('customers')]
      .map((e) => Date.parse(e.updatedAt))
      .filter((ms) => ms > START);
    expect(regressedAt.length).toBeGreaterThan(30);
    expect(new Set(regressedAt).size).toBe(regressedAt.length);
  });

  it('only makes histories a reader can order by version and updated_at', async () => {
    // Every mutation kind, regressions and backdates often, on few records so they collide. For
    // any two states of a record, a lower version later must carry a later updated_at: else it
    // is indistinguishable from an out-of-order old copy (the classifier skips those as stale).
    for (const seed of [26, 27, 28]) {
      const sim = await start({
        seed,
        datasets: { customers: 40 },
        mutations: {
          mix: {
            insert: 0.2,
            update: 2,
            backdate: 3,
            burst: 0,
            softDelete: 0.1,
            hardDelete: 0.05,
            regress: 3,
          },
          backdateMaxMs: 60_000,
        },
        clock: steppingClock(3),
      });
      const dataset = sim.dataset('customers');
      const history = new Map<number, { version: number; ms: number }[]>();
      let checked = 0;
      for (let step = 0; step < 1500; step++) {
        sim.mutate(1);
        for (let index = 0; index < dataset.totalCreated; index++) {
          const { version, updatedMs: ms, status } = dataset.stateOf(index);
          if (status === 'hard') continue;
          const states = history.get(index) ?? [];
          const last = states.at(-1);
          if (last?.version === version && last.ms === ms) continue;
          for (const earlier of states) {
            if (version < earlier.version) {
              checked++;
              expect(ms, `record ${index} v${earlier.version} -> v${version}`).toBeGreaterThan(earlier.ms);
            }
          }
          states.push({ version, ms });
          history.set(index, states);
        }
      }
      expect(sim.stats().mutations.regress).toBeGreaterThan(200);
      expect(checked).toBeGreaterThan(500);
    }
  });
});
