import { describe, expect, it } from 'vitest';
import {
  type MetricFamily,
  PrometheusParseError,
  parsePrometheusText,
  sampleValue,
  sumSamples,
} from '../../test/helpers/prometheus-text.ts';
import { SyncEventBus } from '../core/events.ts';
import { emptyCounters, type RunRecord, type StreamStatus } from '../core/types.ts';
import { createMetrics } from './metrics.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');

function setup(queueDepth?: () => number, destinations?: readonly string[]) {
  const events = new SyncEventBus();
  let clock = T0;
  const metrics = createMetrics({
    events,
    now: () => clock,
    processMetrics: false,
    ...(queueDepth ? { queueDepth } : {}),
    ...(destinations ? { destinations } : {}),
  });
  return {
    events,
    metrics,
    advance(ms: number) {
      clock += ms;
    },
    async scrape(): Promise<Map<string, MetricFamily>> {
      const { contentType, body } = await metrics.render();
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheusText(body);
    },
  };
}

function committed(
  stream: string,
  page: Partial<ReturnType<typeof emptyCounters>>,
  newestCursor: string | null,
) {
  return { stream, runId: 'r1', page, totals: emptyCounters(), checkpoint: null, newestCursor };
}

function retrying(stream: string, over: { throttled?: boolean; retryAfter?: boolean; delayMs?: number }) {
  return {
    stream,
    runId: 'r1',
    what: 'GET http://127.0.0.1/v1/customers',
    attempt: 1,
    maxAttempts: 5,
    delayMs: over.delayMs ?? 100,
    reason: '503 from 127.0.0.1',
    retryAfter: over.retryAfter ?? false,
    throttled: over.throttled ?? false,
  };
}

describe('createMetrics', () => {
  it('counts records by outcome from committed pages, and pages', async () => {
    const t = setup();
    t.events.emit('run:started', { stream: 'customers', runId: 'r1', mode: 'sync', checkpoint: null });
    t.events.emit(
      'page:committed',
      committed(
        'customers',
        { pages: 2, fetched: 10, inserted: 6, updated: 2, unchanged: 1, stale: 1, failed: 1 },
        null,
      ),
    );
    t.events.emit(
      'page:committed',
      committed(
        'customers',
        { pages: 1, fetched: 5, inserted: 1, deleted: 2, flagged: 1, regressed: 1 },
        null,
      ),
    );
    const m = await t.scrape();
    const outcome = (o: string) =>
      sampleValue(m, 'syncline_records_total', { stream: 'customers', outcome: o });
    expect(
      Object.fromEntries(
        [
          'fetched',
          'inserted',
          'updated',
          'unchanged',
          'stale',
          'deleted',
          'dead_lettered',
          'flagged',
          'regressed',
        ].map((o) => [o, outcome(o)]),
      ),
    ).toEqual({
      fetched: 15,
      inserted: 7,
      updated: 2,
      unchanged: 1,
      stale: 1,
      deleted: 2,
      dead_lettered: 1,
      flagged: 1,
      regressed: 1,
    });
    expect(sampleValue(m, 'syncline_pages_total', { stream: 'customers' })).toBe(3);
    expect(m.get('syncline_records_total')?.type).toBe('counter');
  });

  it('counts requests by status, bytes, retries and throttled waits by cause', async () => {
    const t = setup();
    const request = (status: number | null, bytes: number) =>
      t.events.emit('request:completed', {
        stream: 'orders',
        runId: 'r1',
        what: 'GET http://127.0.0.1/v1/orders',
        status,
        bytes,
        durationMs: 3,
      });
    request(200, 1000);
    request(200, 500);
    request(429, 40);
    request(503, 20);
    request(null, 0);
    t.events.emit(
      'request:retrying',
      retrying('orders', { throttled: true, retryAfter: true, delayMs: 1000 }),
    );
    t.events.emit('request:retrying', retrying('orders', { retryAfter: true, delayMs: 2000 }));
    t.events.emit('request:retrying', retrying('orders', { delayMs: 50 }));
    t.events.emit('rate:waiting', {
      stream: 'orders',
      runId: 'r1',
      what: 'GET x',
      limiter: '127.0.0.1',
      delayMs: 250,
      cause: 'rate',
      reason: 'r',
    });
    t.events.emit('rate:waiting', {
      stream: 'orders',
      runId: 'r1',
      what: 'GET x',
      limiter: '127.0.0.1',
      delayMs: 500,
      cause: 'budget',
      reason: 'r',
    });
    const m = await t.scrape();
    const req = (status: string) =>
      sampleValue(m, 'syncline_api_requests_total', { stream: 'orders', status });
    expect([req('200'), req('429'), req('503'), req('error')]).toEqual([2, 1, 1, 1]);
    expect(sampleValue(m, 'syncline_response_bytes_total', { stream: 'orders' })).toBe(1560);
    expect(sampleValue(m, 'syncline_retries_total', { stream: 'orders' })).toBe(3);
    const waits = (cause: string) =>
      sampleValue(m, 'syncline_throttled_waits_total', { stream: 'orders', cause });
    // The plain backoff (50 ms) is a retry, not a throttled wait.
    expect([waits('throttled'), waits('retry_after'), waits('rate_limit'), waits('budget')]).toEqual([
      1, 1, 1, 1,
    ]);
    expect(sampleValue(m, 'syncline_throttled_wait_seconds_total', { stream: 'orders' })).toBeCloseTo(3.75);
  });

  it('counts runs and their durations by mode and status, and lease losses', async () => {
    const t = setup();
    const finished = (status: 'ok' | 'failed', mode: 'sync' | 'reconcile', durationMs: number) =>
      t.events.emit('run:finished', {
        stream: 'customers',
        runId: 'r',
        mode,
        status,
        totals: emptyCounters(),
        error: null,
        durationMs,
      });
    finished('ok', 'sync', 30);
    finished('ok', 'sync', 2_000);
    finished('ok', 'reconcile', 4_000_000);
    t.events.emit('lease:lost', { stream: 'customers', runId: 'r', holder: 'h', reason: 'lost the lease' });
    finished('failed', 'sync', 700);
    const m = await t.scrape();
    const labels = { stream: 'customers', mode: 'sync', status: 'ok' };
    expect(sampleValue(m, 'syncline_runs_total', labels)).toBe(2);
    expect(sampleValue(m, 'syncline_runs_total', { ...labels, status: 'failed' })).toBe(1);
    expect(sampleValue(m, 'syncline_runs_total', { ...labels, mode: 'reconcile' })).toBe(1);
    const d = 'syncline_run_duration_seconds';
    expect(m.get(d)?.type).toBe('histogram');
    expect(sampleValue(m, d, labels, `${d}_count`)).toBe(2);
    expect(sampleValue(m, d, labels, `${d}_sum`)).toBeCloseTo(2.03);
    expect(sampleValue(m, d, { ...labels, le: '0.05' }, `${d}_bucket`)).toBe(1);
    expect(sampleValue(m, d, { ...labels, le: '2.5' }, `${d}_bucket`)).toBe(2);
    // An hour-long reconciliation lands past the last finite bucket.
    const reconcile = { ...labels, mode: 'reconcile' };
    expect(sampleValue(m, d, { ...reconcile, le: '3600' }, `${d}_bucket`)).toBe(0);
    expect(sampleValue(m, d, { ...reconcile, le: '+Inf' }, `${d}_bucket`)).toBe(1);
    expect(sampleValue(m, 'syncline_lease_losses_total', { stream: 'customers' })).toBe(1);
    expect(
      sampleValue(m, 'syncline_last_run_timestamp_seconds', { stream: 'customers', status: 'failed' }),
    ).toBe(T0 / 1000);
  });

  it('computes lag and freshness at scrape time, from the seed and then from events', async () => {
    const t = setup();
    const lastRun: RunRecord = {
      runId: 'old',
      stream: 'customers',
      mode: 'sync',
      status: 'failed',
      startedAt: '2026-03-01T11:00:00Z',
      endedAt: '2026-03-01T11:00:05Z',
      checkpointBefore: null,
      checkpointAfter: null,
      error: 'boom',
      counters: emptyCounters(),
      evidence: null,
    };
    const status = (
      stream: string,
      newestCursor: string | null,
      run: RunRecord | null = null,
    ): StreamStatus => ({
      stream,
      checkpoint: null,
      newestCursor,
      records: 10,
      openFailures: 0,
      lastRun: run,
    });
    t.metrics.seed(
      [
        status('customers', '2026-03-01T11:00:00Z', lastRun),
        // Epoch seconds read as a time; an opaque sequence does not.
        status('candles', String((T0 - 30_000) / 1000)),
        status('events', '42'),
        status('empty', null),
      ],
      new Map([['customers', '2026-03-01T10:00:00Z']]),
    );
    let m = await t.scrape();
    expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' })).toBe(3600);
    expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'candles' })).toBe(30);
    expect(sumSamples(m, 'syncline_lag_seconds', { stream: 'events' })).toBe(0);
    expect(
      m
        .get('syncline_lag_seconds')!
        .samples.map((s) => s.labels['stream'])
        .sort(),
    ).toEqual(['candles', 'customers']);
    expect(sampleValue(m, 'syncline_freshness_seconds', { stream: 'customers' })).toBe(7200);
    expect(m.get('syncline_freshness_seconds')!.samples).toHaveLength(1);
    expect(
      sampleValue(m, 'syncline_last_run_timestamp_seconds', { stream: 'customers', status: 'failed' }),
    ).toBe(Date.parse('2026-03-01T11:00:05Z') / 1000);
    // Known streams start at 0, so their first increments are not lost to rate().
    expect(sampleValue(m, 'syncline_records_total', { stream: 'empty', outcome: 'inserted' })).toBe(0);
    expect(sampleValue(m, 'syncline_lease_losses_total', { stream: 'empty' })).toBe(0);

    // Time passes: both gauges grow without any event.
    t.advance(60_000);
    m = await t.scrape();
    expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' })).toBe(3660);
    expect(sampleValue(m, 'syncline_freshness_seconds', { stream: 'customers' })).toBe(7260);

    // A commit moves the newest cursor; a failed run leaves freshness alone, a partial one resets it.
    t.events.emit('page:committed', committed('customers', { inserted: 1 }, '2026-03-01T12:00:50Z'));
    const finish = (status: 'failed' | 'partial') =>
      t.events.emit('run:finished', {
        stream: 'customers',
        runId: 'r',
        mode: 'sync',
        status,
        totals: emptyCounters(),
        error: null,
        durationMs: 10,
      });
    finish('failed');
    m = await t.scrape();
    expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' })).toBe(10);
    expect(sampleValue(m, 'syncline_freshness_seconds', { stream: 'customers' })).toBe(7260);
    finish('partial');
    t.advance(5_000);
    m = await t.scrape();
    expect(sampleValue(m, 'syncline_freshness_seconds', { stream: 'customers' })).toBe(5);
    // A page without a cursor value keeps the last one.
    t.events.emit('page:committed', committed('customers', { unchanged: 1 }, null));
    m = await t.scrape();
    expect(sampleValue(m, 'syncline_lag_seconds', { stream: 'customers' })).toBe(15);
  });

  it('reads the queue depth at each scrape, and stops observing once closed', async () => {
    let depth = 3;
    const t = setup(() => depth);
    let m = await t.scrape();
    expect(sampleValue(m, 'syncline_scheduler_queue_depth')).toBe(3);
    depth = 0;
    m = await t.scrape();
    expect(sampleValue(m, 'syncline_scheduler_queue_depth')).toBe(0);
    t.metrics.close();
    t.events.emit('lease:lost', { stream: 's', runId: 'r', holder: 'h', reason: 'x' });
    m = await t.scrape();
    expect(m.get('syncline_lease_losses_total')!.samples).toEqual([]);
  });

  it('escapes label values and keeps a registry of its own, with process metrics when asked', async () => {
    const events = new SyncEventBus();
    const a = createMetrics({ events });
    const b = createMetrics({ events, processMetrics: false });
    events.emit('lease:lost', { stream: 'we"ird\\name\nx', runId: 'r', holder: 'h', reason: 'x' });
    const ma = parsePrometheusText((await a.render()).body);
    const mb = parsePrometheusText((await b.render()).body);
    expect(sampleValue(ma, 'syncline_lease_losses_total', { stream: 'we"ird\\name\nx' })).toBe(1);
    expect(sampleValue(mb, 'syncline_lease_losses_total', { stream: 'we"ird\\name\nx' })).toBe(1);
    expect(ma.has('syncline_process_cpu_seconds_total')).toBe(true);
    expect(ma.has('syncline_nodejs_eventloop_lag_seconds')).toBe(true);
    expect(mb.has('syncline_process_cpu_seconds_total')).toBe(false);
    a.close();
    b.close();
  });
});

describe('parsePrometheusText', () => {
  it('reads HELP, TYPE, labels with escapes, special values and timestamps', () => {
    const m = parsePrometheusText(
      [
        '# HELP x_total Things\\ncounted \\\\ here.',
        '# TYPE x_total counter',
        'x_total{a="1",b="q\\"\\\\\\n"} 3 1700000000000',
        'x_total 1e3',
        '# a plain comment',
        '',
        '# TYPE h histogram',
        'h_bucket{le="+Inf"} 2',
        'h_sum 0.5',
        'h_count 2',
        '# TYPE g gauge',
        'g NaN',
        '',
      ].join('\n'),
    );
    expect(m.get('x_total')).toMatchObject({ help: 'Things\ncounted \\ here.', type: 'counter' });
    expect(m.get('x_total')!.samples).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'q"\\\n' }, value: 3, timestampMs: 1_700_000_000_000 },
      { name: 'x_total', labels: {}, value: 1000, timestampMs: null },
    ]);
    expect(sampleValue(m, 'h', { le: '+Inf' }, 'h_bucket')).toBe(2);
    expect(sampleValue(m, 'g')).toBeNaN();
  });

  it.each([
    ['a sample of no family', 'y 1\n'],
    ['a bad label escape', '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ['an unterminated label value', '# TYPE x gauge\nx{a="1} 1\n'],
    ['a bad label name', '# TYPE x gauge\nx{1a="1"} 1\n'],
    ['a missing value', '# TYPE x gauge\nx{a="1"}\n'],
    ['a bad value', '# TYPE x gauge\nx 1.2.3\n'],
    ['a duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['an unknown type', '# TYPE x thing\n'],
    ['TYPE after samples', '# TYPE x gauge\nx 1\n# TYPE x counter\n'],
    ['a bucket without le', '# TYPE h histogram\nh_bucket 1\n'],
    ['no final newline', '# TYPE x gauge\nx 1'],
    ['a label given twice', '# TYPE x gauge\nx{a="1",a="2"} 1\n'],
  ])('throws on %s', (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow(PrometheusParseError);
  });
});

describe('sink metrics', () => {
  it('counts delivered events and failures per sink, and shows the lag of its last read', async () => {
    const { events, scrape } = setup();
    events.emit('sink:read', { sink: 'hooks', offset: 0, lag: 30 });
    let m = await scrape();
    expect(sampleValue(m, 'syncline_sink_delivered_total', { sink: 'hooks' })).toBe(0);
    expect(sampleValue(m, 'syncline_sink_failures_total', { sink: 'hooks' })).toBe(0);
    expect(sampleValue(m, 'syncline_sink_lag_events', { sink: 'hooks' })).toBe(30);
    events.emit('sink:failed', { sink: 'hooks', reason: '503 from x', attempt: 1, delayMs: 10 });
    events.emit('sink:delivered', { sink: 'hooks', events: 10, lastSeq: 10 });
    m = await scrape();
    expect(sampleValue(m, 'syncline_sink_delivered_total', { sink: 'hooks' })).toBe(10);
    expect(sampleValue(m, 'syncline_sink_failures_total', { sink: 'hooks' })).toBe(1);
    expect(sampleValue(m, 'syncline_sink_lag_events', { sink: 'hooks' })).toBe(20);
  });

  it("shows a destination's lag as syncline_destination_lag_events, not as a sink's", async () => {
    const { events, scrape } = setup(undefined, ['crm']);
    events.emit('sink:read', { sink: 'hooks', offset: 0, lag: 5 });
    events.emit('sink:read', { sink: 'crm', offset: 0, lag: 12 });
    let m = await scrape();
    expect(sampleValue(m, 'syncline_destination_lag_events', { destination: 'crm' })).toBe(12);
    expect(sampleValue(m, 'syncline_sink_lag_events', { sink: 'hooks' })).toBe(5);
    expect(m.get('syncline_sink_lag_events')!.samples.map((x) => x.labels.sink)).toEqual(['hooks']);
    expect(m.get('syncline_destination_lag_events')!.type).toBe('gauge');
    events.emit('sink:delivered', { sink: 'crm', events: 12, lastSeq: 12 });
    m = await scrape();
    expect(sampleValue(m, 'syncline_destination_lag_events', { destination: 'crm' })).toBe(0);
    expect(sampleValue(m, 'syncline_sink_delivered_total', { sink: 'crm' })).toBe(12);
    expect(sampleValue(m, 'syncline_sink_lag_events', { sink: 'hooks' })).toBe(5);
  });
});
