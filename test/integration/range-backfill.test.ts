import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Store } from '../../src/core/store.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger, TimeRange } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { http } from '../../src/sources/http/index.ts';
import { crashingAfter } from '../helpers/crashing-store.ts';
import { diffWithGroundTruth } from '../helpers/ground-truth.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const RANGE: TimeRange = { from: '2019-12-01T00:00:00.000Z', to: '2024-02-01T00:00:00.000Z' };
const YEAR = 365 * 86_400_000;

function customers(sim: SimulatorServer, style: 'keyset' | 'page' = 'keyset'): AnyStreamDefinition {
  return http.stream({
    name: 'customers',
    key: 'id',
    cursor: 'updated_at',
    version: 'version',
    deleted: 'deleted',
    backfill: 'auto',
    request: { baseUrl: sim.url, path: '/v1/customers', query: { style } },
    pagination:
      style === 'keyset'
        ? { type: 'keyset', afterIdParam: 'after_id' }
        : { type: 'page', hasMorePath: 'has_more' },
    pageSize: 200,
    ...(style === 'page'
      ? { pageSizeParam: 'per_page' }
      : { incremental: { param: 'updated_since', lookback: '1h' } }),
  });
}

describe.each(STORE_KINDS)('range backfills on %s', (kind) => {
  let t: TestStore;
  let sim: SimulatorServer;
  beforeEach(async () => {
    t = await makeTestStore(kind);
    sim = await startSimulator({ seed: 31, datasets: { customers: 1500 } });
  });
  afterEach(async () => {
    await sim.close();
    await t.dispose();
  });

  function run(stream: AnyStreamDefinition, mode: 'sync' | 'backfill', store: Store = t.store) {
    return runStream({
      store,
      stream,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
      options: { request: mode === 'sync' ? { mode } : { mode, range: RANGE, windowMs: YEAR } },
    });
  }

  /** Changes that keep an updated_at from years ago: no incremental pass sees them. */
  async function rewriteHistory(): Promise<number> {
    sim.setMutations({ mix: { insert: 0, update: 0, backdate: 1, burst: 0, softDelete: 0, hardDelete: 0 } });
    sim.mutate(200);
    const diff = await diffWithGroundTruth(t.store, 'customers', sim, 'customers');
    return diff.stale.length;
  }

  it('re-reads a range in windows, repairs what incremental syncs could not see, and leaves the main checkpoint alone', async () => {
    await run(customers(sim), 'sync');
    const main = (await t.store.getState('customers'))?.checkpoint;
    expect(await rewriteHistory()).toBeGreaterThan(0);
    expect((await run(customers(sim), 'sync')).status).toBe('ok');
    expect((await diffWithGroundTruth(t.store, 'customers', sim, 'customers')).stale.length).toBeGreaterThan(
      0,
    );
    const mainAfterSync = (await t.store.getState('customers'))?.checkpoint;

    const backfill = await run(customers(sim), 'backfill');
    expect(backfill.status).toBe('ok');
    expect(backfill.counters.updated).toBeGreaterThan(0);
    expect((await diffWithGroundTruth(t.store, 'customers', sim, 'customers')).stale).toEqual([]);
    const state = await t.store.getState('customers');
    expect(state?.checkpoint).toEqual(mainAfterSync);
    expect(state?.backfillCheckpoint).toBeNull();
    expect(main).toBeTruthy();
  });

  it('resumes a killed backfill in the window where it stopped', async () => {
    await run(customers(sim), 'sync');
    await rewriteHistory();
    const killed = await run(customers(sim), 'backfill', crashingAfter(t.store, 4));
    expect(killed.status).toBe('failed');
    const state = await t.store.getState('customers');
    expect(state?.backfillCheckpoint).toMatchObject({ v: 1, range: RANGE, windowMs: YEAR });
    const resumed = await run(customers(sim), 'backfill');
    expect(resumed.status).toBe('ok');
    // 1,500 records; four pages of them (and window boundaries) were committed before the kill.
    expect(resumed.counters.fetched).toBeLessThan(1500);
    expect((await diffWithGroundTruth(t.store, 'customers', sim, 'customers')).stale).toEqual([]);
  });

  it('refuses a range on pagination that cannot start at a time', async () => {
    const result = await run(customers(sim, 'page'), 'backfill');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/pagination "page" cannot start at a time, so it cannot backfill a range/);
  });
});
