import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { type RunResult, runStream } from '../../src/engine/stream-runner.ts';
import { createMetrics, type Metrics } from '../../src/runtime/metrics.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { http } from '../../src/sources/http/index.ts';
import {
  type MetricFamily,
  parsePrometheusText,
  sampleValue,
  sumSamples,
} from '../helpers/prometheus-text.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

/** Every name the lead documents for `GET /metrics`, with its type. */
const DOCUMENTED = {
  syncline_records_total: 'counter',
  syncline_runs_total: 'counter',
  syncline_run_duration_seconds: 'histogram',
  syncline_retries_total: 'counter',
  syncline_throttled_waits_total: 'counter',
  syncline_throttled_wait_seconds_total: 'counter',
  syncline_api_requests_total: 'counter',
  syncline_response_bytes_total: 'counter',
  syncline_lag_seconds: 'gauge',
  syncline_freshness_seconds: 'gauge',
  syncline_lease_losses_total: 'counter',
  syncline_scheduler_queue_depth: 'gauge',
  syncline_last_run_timestamp_seconds: 'gauge',
} as const;

describe('metrics of real syncs (SQLite, the simulator with 429s and 503s)', () => {
  let t: TestStore;
  let sim: SimulatorServer;
  let events: SyncEventBus;
  let metrics: Metrics;
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
    sim = await startSimulator({
      seed: 5,
      datasets: { customers: 1500 },
      // Answers only (no resets or hangs), so every request has a status the simulator counted.
      faults: { rateLimit: 0.08, retryAfterSeconds: 0, serverError: 0.08 },
    });
    events = new SyncEventBus();
    metrics = createMetrics({ events, queueDepth: () => 2 });
  });
  afterEach(async () => {
    metrics.close();
    await sim.close();
    await t.dispose();
  });

  function run(): Promise<RunResult> {
    return runStream({
      store: t.store,
      stream: http.stream({
        name: 'customers',
        key: 'id',
        cursor: 'updated_at',
        version: 'version',
        deleted: 'deleted',
        request: { baseUrl: sim.url, path: '/v1/customers', query: { style: 'keyset' }, timeoutMs: 2000 },
        pagination: { type: 'keyset', afterIdParam: 'after_id' },
        pageSize: 200,
        incremental: { param: 'updated_since', lookback: '2h' },
        // Pacing at a rate: waits for the limiter are throttled waits too. 10/s, so that even a
        // loaded machine sends some requests sooner than 100 ms apart.
        rateLimit: { requestsPerSecond: 10, burst: 1 },
      }),
      holder: newHolderId(),
      events,
      log: SILENT_LOGGER,
      options: { retry: { baseDelayMs: 5, maxDelayMs: 50, minDelayMs: 1, maxAttempts: 12 } },
    });
  }

  async function scrape(): Promise<Map<string, MetricFamily>> {
    const { contentType, body } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(body);
  }

  const records = (m: Map<string, MetricFamily>, outcome: string) =>
    sampleValue(m, 'syncline_records_total', { stream: 'customers', outcome });

  it('counts what the runs did, as the run records and the simulator saw it', async () => {
    const first = await run();
    expect(first.error).toBeNull();
    let m = await scrape();
    for (const [name, type] of Object.entries(DOCUMENTED)) {
      expect(m.get(name)?.type, name).toBe(type);
      expect(m.get(name)?.help, name).toBeTruthy();
    }
    expect(m.has('syncline_process_cpu_seconds_total')).toBe(true);

    // Records: what the run committed.
    expect(first.counters.inserted).toBe(1500);
    expect(records(m, 'inserted')).toBe(1500);
    expect(records(m, 'fetched')).toBe(first.counters.fetched);
    expect(records(m, 'updated')).toBe(0);
    expect(records(m, 'dead_lettered')).toBe(0);

    // Requests: one sample per status, each what the simulator answered with it.
    const stats = sim.stats();
    const answered = Object.values(stats.statuses).reduce((a, b) => a + b, 0);
    const requested = Object.values(stats.requests).reduce((a, b) => a + b, 0);
    expect(answered).toBe(requested);
    expect(sumSamples(m, 'syncline_api_requests_total', { stream: 'customers' })).toBe(requested);
    expect(sumSamples(m, 'syncline_api_requests_total', { stream: 'customers' })).toBe(
      first.counters.apiCalls,
    );
    for (const [status, n] of Object.entries(stats.statuses)) {
      expect(sampleValue(m, 'syncline_api_requests_total', { stream: 'customers', status }), status).toBe(n);
    }
    expect(stats.statuses['429']).toBeGreaterThan(0);
    expect(stats.statuses['503'] ?? stats.statuses['500'] ?? 0).toBeGreaterThan(0);
    // Bytes of every answer, the failed ones too (the run record counts only the answers it used).
    const bytes = sampleValue(m, 'syncline_response_bytes_total', { stream: 'customers' });
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeGreaterThanOrEqual(first.counters.bytes);

    // Retries and throttled waits.
    const retries = sampleValue(m, 'syncline_retries_total', { stream: 'customers' });
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBe(first.counters.retries);
    const throttled = sampleValue(m, 'syncline_throttled_waits_total', {
      stream: 'customers',
      cause: 'throttled',
    });
    expect(throttled).toBe(first.counters.throttled);
    expect(throttled).toBe(stats.statuses['429']);
    expect(sumSamples(m, 'syncline_throttled_waits_total', { cause: 'rate_limit' })).toBeGreaterThan(0);
    expect(sampleValue(m, 'syncline_throttled_wait_seconds_total', { stream: 'customers' })).toBeGreaterThan(
      0,
    );

    // The run, its duration, lag and freshness, the queue and the lease.
    const ok = { stream: 'customers', mode: 'sync', status: 'ok' };
    expect(sampleValue(m, 'syncline_runs_total', ok)).toBe(1);
    expect(sampleValue(m, 'syncline_run_duration_seconds', ok, 'syncline_run_duration_seconds_count')).toBe(
      1,
    );
    expect(
      sampleValue(m, 'syncline_run_duration_seconds', ok, 'syncline_run_duration_seconds_sum'),
    ).toBeGreaterThan(0);
    const newest = (await t.store.getState('customers'))!.newestCursor!;
    const lag = sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' });
    expect(lag).toBeGreaterThanOrEqual((Date.now() - Date.parse(newest)) / 1000 - 5);
    expect(lag).toBeLessThanOrEqual((Date.now() - Date.parse(newest)) / 1000 + 1);
    expect(sampleValue(m, 'syncline_freshness_seconds', { stream: 'customers' })).toBeLessThan(5);
    expect(sampleValue(m, 'syncline_scheduler_queue_depth')).toBe(2);
    expect(sampleValue(m, 'syncline_lease_losses_total', { stream: 'customers' })).toBe(0);
    expect(
      sampleValue(m, 'syncline_last_run_timestamp_seconds', { stream: 'customers', status: 'ok' }),
    ).toBeGreaterThan(Date.now() / 1000 - 60);

    // Updates at the source: the second run adds updates, no inserts; its requests are counted too.
    sim.setMutations({ mix: { insert: 0, update: 1, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0 } });
    sim.mutate(40);
    await sleep(5);
    const second = await run();
    expect(second.error).toBeNull();
    expect(second.counters.updated).toBeGreaterThan(0);
    m = await scrape();
    expect(records(m, 'inserted')).toBe(1500);
    expect(records(m, 'updated')).toBe(second.counters.updated);
    expect(records(m, 'fetched')).toBe(first.counters.fetched + second.counters.fetched);
    expect(sampleValue(m, 'syncline_runs_total', ok)).toBe(2);
    const requestedNow = Object.values(sim.stats().requests).reduce((a, b) => a + b, 0);
    expect(sumSamples(m, 'syncline_api_requests_total', { stream: 'customers' })).toBe(requestedNow);
    expect(requestedNow).toBe(first.counters.apiCalls + second.counters.apiCalls);
    expect(sampleValue(m, 'syncline_retries_total', { stream: 'customers' })).toBe(
      first.counters.retries + second.counters.retries,
    );
    // The mutations stamped updated_at with now: the lag fell to about nothing.
    expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' })).toBeLessThan(60);
  });

  it('starts lag and freshness from one store read, before any run of this process', async () => {
    await run();
    // A process starting later: a new bus and metrics, seeded from the store.
    const fresh = new SyncEventBus();
    const later = createMetrics({ events: fresh, processMetrics: false });
    try {
      const streams = await t.store.listStreams();
      const [last] = await t.store.listRuns({ limit: 1 });
      later.seed(streams, new Map([['customers', last!.endedAt!]]));
      const m = parsePrometheusText((await later.render()).body);
      const newest = streams[0]!.newestCursor!;
      expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' })).toBeCloseTo(
        (Date.now() - Date.parse(newest)) / 1000,
        -1,
      );
      expect(sampleValue(m, 'syncline_freshness_seconds', { stream: 'customers' })).toBeLessThan(30);
      expect(records(m, 'inserted')).toBe(0);
    } finally {
      later.close();
    }
  });
});
