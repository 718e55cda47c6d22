import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/core/errors.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import type { ServiceControl } from '../../src/runtime/service-types.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { people, serviceConfig, syncPeople } from '../helpers/service-fixture.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

describe.each(STORE_KINDS)('service control on %s', (kind) => {
  let t: TestStore;
  let scheduler: FakeScheduler;
  let control: ServiceControl;
  // An hour ahead, so runs that end while the test runs are in the past of the control's clock.
  let nowMs = 0;

  beforeEach(async () => {
    t = await makeTestStore(kind);
    nowMs = Date.now() + 3_600_000;
    scheduler = new FakeScheduler(['people', 'orders']);
    control = createServiceControl({
      store: t.store,
      config: serviceConfig(),
      scheduler,
      metrics: fakeMetrics(),
      now: () => nowMs,
    });
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('lists the streams of the store, the scheduler and the config, with lag and freshness', async () => {
    const run = await syncPeople(t.store);
    scheduler.statuses[0] = { ...scheduler.statuses[0]!, state: 'backing_off', consecutiveFailures: 2 };
    const streams = await control.streams();
    expect(streams.map((s) => s.stream)).toEqual(['orders', 'people']);
    expect(streams[0]).toMatchObject({
      stream: 'orders',
      state: 'idle',
      schedule: 'every 30s',
      lastRun: null,
      records: 0,
      freshnessSeconds: null,
      lagSeconds: null,
      checkpoint: null,
    });
    expect(streams[1]).toMatchObject({
      stream: 'people',
      state: 'backing_off',
      consecutiveFailures: 2,
      records: 2,
      failedRecords: 1,
      checkpoint: { since: '2026-01-01T00:00:03.000Z' },
      lagSeconds: Math.round((nowMs - Date.parse('2026-01-01T00:00:03.000Z')) / 1000),
      lastRun: { id: run.runId, mode: 'sync', status: 'ok', endedAt: run.endedAt },
      freshnessSeconds: Math.round((nowMs - Date.parse(run.endedAt!)) / 1000),
    });
  });

  it('takes freshness from the last successful run when later ones failed', async () => {
    const ok = await syncPeople(t.store);
    const failed = await syncPeople(t.store, people, {
      // biome-ignore lint/correctness/useYield: a source that fails before its first page.
      source: async function* () {
        throw new Error('the source is down');
      },
    });
    expect(failed.status).toBe('failed');
    const [, view] = await control.streams();
    expect(view?.lastRun?.status).toBe('failed');
    expect(view?.freshnessSeconds).toBe(Math.round((nowMs - Date.parse(ok.endedAt!)) / 1000));
  });

  it('lists runs and dead letters; unknown streams are NotFoundError', async () => {
    await syncPeople(t.store);
    expect((await control.runs('people', 5)).map((r) => r.status)).toEqual(['ok']);
    expect(await control.runs('orders', 5)).toEqual([]);
    await expect(control.runs('nope', 5)).rejects.toBeInstanceOf(NotFoundError);
    const letters = await control.failed({ limit: 10 });
    expect(letters).toEqual([expect.objectContaining({ stream: 'people', key: '2', status: 'open' })]);
    expect(await control.failed({ stream: 'people', limit: 10, all: true })).toHaveLength(1);
    await expect(control.failed({ stream: 'nope', limit: 10 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('triggers runs of configured streams only', async () => {
    expect(await control.trigger('people', 'reconcile')).toEqual({
      state: 'queued',
      stream: 'people',
      mode: 'reconcile',
    });
    expect(scheduler.triggered).toEqual([{ stream: 'people', request: { mode: 'reconcile' } }]);
    await expect(control.trigger('nope', 'sync')).rejects.toThrow(
      /unknown stream "nope"; <code> defines: people, orders/,
    );
  });

  it('approves (resuming the scheduler) and resets through the stream operations', async () => {
    await syncPeople(t.store);
    expect(await control.approve('people')).toEqual({
      approved: false,
      message: 'stream "people" is not paused; nothing to approve',
    });
    expect(scheduler.resumed).toEqual(['people']);
    await expect(control.approve('orders')).rejects.toBeInstanceOf(NotFoundError);
    expect((await control.reset('people')).message).toMatch(/^reset "people": its next run starts/);
    expect((await t.store.getState('people'))?.checkpoint).toBeNull();
    await expect(control.reset('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('queues replays of the streams with open letters, or of given letters', async () => {
    await syncPeople(t.store);
    const [letter] = await t.store.listDeadLetters({ limit: 10 });
    expect(await control.replay({})).toEqual({
      queued: [{ state: 'queued', stream: 'people', mode: 'replay' }],
    });
    await control.replay({ ids: [letter!.id] });
    expect(scheduler.triggered).toEqual([
      { stream: 'people', request: { mode: 'replay' } },
      { stream: 'people', request: { mode: 'replay', letters: [letter!.id] } },
    ]);
    await expect(control.replay({ ids: [letter!.id + 1000] })).rejects.toThrow(
      `no open dead letter with id ${letter!.id + 1000}; see \`syncline failed\``,
    );
    await expect(control.replay({ stream: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(scheduler.triggered).toHaveLength(2);
  });

  it('is ready with a reachable store and a running scheduler, and says which is not', async () => {
    expect(await control.ready()).toEqual({ ready: true, checks: { store: 'ok', scheduler: 'ok' } });
    scheduler.running = false;
    expect(await control.ready()).toEqual({
      ready: false,
      checks: { store: 'ok', scheduler: 'not running' },
    });
    scheduler.running = true;
    await t.store.close();
    const closed = await control.ready();
    expect(closed.ready).toBe(false);
    expect(closed.checks['store']).toMatch(/is not open/);
  });

  it('renders the metrics', async () => {
    expect((await control.metrics()).body).toContain('syncline_up 1');
  });
});
