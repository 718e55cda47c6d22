import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncEventBus, SyncEvents } from '../core/events.ts';
import type { RunCounters, StreamStatus } from '../core/types.ts';
import type { DestinationTally } from './destination-tally.ts';
import { lagMs } from './lag.ts';
import type { MetricsHandle } from './service-types.ts';

export interface MetricsOptions {
  /** The bus the service's runs tell; the metrics observe nothing else (no table reads per scrape). */
  readonly events: SyncEventBus;
  /** Streams due but not started (the scheduler's `queueDepth`), read at each scrape. Default: 0. */
  readonly queueDepth?: () => number;
  /** The clock, epoch ms, for lag and freshness at scrape time. Default `Date.now`. */
  readonly now?: () => number;
  /** The names' prefix; one value for now, so the documented names hold. */
  readonly prefix?: 'syncline_';
  /** Process metrics (CPU, memory, event loop, GC) beside ours. Default true. */
  readonly processMetrics?: boolean;
  /**
   * The config's destination names: their runners' `sink:*` events feed
   * `syncline_destination_lag_events` instead of `syncline_sink_lag_events`. Default none.
   */
  readonly destinations?: readonly string[];
  /** Feeds `syncline_destination_error_ratio`; without it the gauge is not exported. */
  readonly destinationTally?: DestinationTally;
}

/**
 * `syncline_records_total`'s `outcome` for each run counter that counts records. `flagged`
 * (same version, other content) and `regressed` (a version regression applied) are also counted in
 * `updated` or `deleted`: they are marks on outcomes, not outcomes of their own, so summing every
 * outcome double-counts them. `failed` records are dead-lettered.
 */
const RECORD_OUTCOMES = {
  fetched: 'fetched',
  inserted: 'inserted',
  updated: 'updated',
  unchanged: 'unchanged',
  stale: 'stale',
  deleted: 'deleted',
  failed: 'dead_lettered',
  flagged: 'flagged',
  regressed: 'regressed',
} as const satisfies Partial<Record<keyof RunCounters, string>>;

const OUTCOME_COUNTERS = Object.keys(RECORD_OUTCOMES) as (keyof typeof RECORD_OUTCOMES)[];

/**
 * Why a request waited (`syncline_throttled_waits_total`'s `cause`):
 * - `rate_limit`: pacing to the configured `rateLimit` or the rate learned from `X-RateLimit-*`
 *   (`rate:waiting`, cause `rate`);
 * - `budget`: the API said its budget is spent until its reset, `X-RateLimit-Remaining: 0`
 *   (`rate:waiting`, cause `budget`);
 * - `throttled`: a retry after the API said "slow down" (HTTP 429), whatever the wait's origin;
 * - `retry_after`: a retry of another failure (a 503...) that waits the `Retry-After` the API asked.
 * A retry after a plain failure, waiting our own backoff, is not a throttled wait: it is counted in
 * `syncline_retries_total` only.
 */
export type ThrottleCause = 'rate_limit' | 'budget' | 'throttled' | 'retry_after';

/**
 * Run durations from a quick incremental poll (tens of ms) to a long backfill (an hour and more):
 * roughly 1-2.5-5 steps, so both ends keep some resolution.
 */
const RUN_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/** The metrics of `syncline run`, served at `GET /metrics`. */
export interface Metrics extends MetricsHandle {
  /**
   * Sets what the metrics cannot learn from events until each stream runs again: its newest cursor
   * (lag) and the end of its last successful run (freshness, `lastOk`: stream -> ISO time), from one
   * store read at start-up. Known streams also get their counters at 0, so `rate()` sees them start.
   */
  seed(streams: readonly StreamStatus[], lastOk: ReadonlyMap<string, string>): void;
  /** A cluster job started `delayMs` after it was due (`syncline_job_start_delay_seconds`). */
  observeJobStart(task: 'run' | 'deliver', delayMs: number): void;
  /** Stops observing the bus (the registry keeps what it had). */
  close(): void;
  /** The registry (its own, not prom-client's global one). */
  readonly registry: Registry;
}

/**
 * Prometheus metrics fed from the engine's events as they happen. Counters add what each event
 * says; lag and freshness are gauges computed at scrape time from the last newest cursor and the
 * last successful run's end, so they grow between runs as they should.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { events } = options;
  const now = options.now ?? Date.now;
  const p = options.prefix ?? 'syncline_';
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });

  /** What scrape-time gauges read, per stream. */
  const newestCursor = new Map<string, string>();
  const lastOkMs = new Map<string, number>();
  const known = new Set<string>();
  /** Streams with a run finished since the metrics started: the seed's older store read yields to them. */
  const finished = new Set<string>();

  const records = new Counter({
    name: `${p}records_total`,
    help: 'Records by what applying them did (fetched, inserted, updated, unchanged, stale, deleted, dead_lettered; flagged and regressed also count in updated/deleted), per stream; committed pages only.',
    labelNames: ['stream', 'outcome'] as const,
    registers,
  });
  const pages = new Counter({
    name: `${p}pages_total`,
    help: 'Source pages committed, per stream.',
    labelNames: ['stream'] as const,
    registers,
  });
  const runs = new Counter({
    name: `${p}runs_total`,
    help: 'Runs finished, by mode (sync, reconcile, backfill, refresh, replay) and status (ok, failed, interrupted, partial, paused_backfill).',
    labelNames: ['stream', 'mode', 'status'] as const,
    registers,
  });
  const runDuration = new Histogram({
    name: `${p}run_duration_seconds`,
    help: 'How long runs took, by mode and status.',
    labelNames: ['stream', 'mode', 'status'] as const,
    buckets: RUN_DURATION_BUCKETS,
    registers,
  });
  const jobStartDelay = new Histogram({
    name: `${p}job_start_delay_seconds`,
    help: 'In a cluster (PostgreSQL store): how late jobs started after they were due, by task (run, deliver).',
    labelNames: ['task'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const lastRun = new Gauge({
    name: `${p}last_run_timestamp_seconds`,
    help: 'When the last run of each status ended (Unix time), per stream.',
    labelNames: ['stream', 'status'] as const,
    registers,
  });
  const retries = new Counter({
    name: `${p}retries_total`,
    help: 'Operations retried after a transient failure (requests, or reading a custom source again), per stream.',
    labelNames: ['stream'] as const,
    registers,
  });
  const throttledWaits = new Counter({
    name: `${p}throttled_waits_total`,
    help: 'Waits the API imposed or the rate limit needed, by cause: rate_limit (pacing to a rate), budget (X-RateLimit-Remaining: 0), throttled (retry after a 429), retry_after (retry of another failure waiting its Retry-After).',
    labelNames: ['stream', 'cause'] as const,
    registers,
  });
  const throttledSeconds = new Counter({
    name: `${p}throttled_wait_seconds_total`,
    help: 'Seconds spent in the waits of syncline_throttled_waits_total, per stream.',
    labelNames: ['stream'] as const,
    registers,
  });
  const requests = new Counter({
    name: `${p}api_requests_total`,
    help: 'Requests to source APIs, retried ones included, by HTTP status ("error" when no answer came).',
    labelNames: ['stream', 'status'] as const,
    registers,
  });
  const bytes = new Counter({
    name: `${p}response_bytes_total`,
    help: 'Bytes of response bodies read from source APIs, per stream.',
    labelNames: ['stream'] as const,
    registers,
  });
  const leaseLosses = new Counter({
    name: `${p}lease_losses_total`,
    help: "Runs that found their stream's lease taken over by another worker, per stream.",
    labelNames: ['stream'] as const,
    registers,
  });
  new Gauge({
    name: `${p}lag_seconds`,
    help: "Now minus the stream's newest committed cursor value, when that value reads as a time.",
    labelNames: ['stream'] as const,
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const [stream, cursor] of newestCursor) {
        const ms = lagMs(cursor, at);
        if (ms !== null) this.set({ stream }, ms / 1000);
      }
    },
  });
  new Gauge({
    name: `${p}freshness_seconds`,
    help: 'Now minus the end of the last run that ended ok or partial, per stream.',
    labelNames: ['stream'] as const,
    registers,
    collect() {
      this.reset();
      const at = now();
      for (const [stream, ms] of lastOkMs) this.set({ stream }, Math.max(0, at - ms) / 1000);
    },
  });
  new Gauge({
    name: `${p}scheduler_queue_depth`,
    help: 'Streams due but not started (waiting for a slot).',
    registers,
    collect() {
      this.set(options.queueDepth?.() ?? 0);
    },
  });

  const sinkDelivered = new Counter({
    name: `${p}sink_delivered_total`,
    help: 'Events a sink delivered and its target confirmed, per sink.',
    labelNames: ['sink'] as const,
    registers,
  });
  const sinkFailures = new Counter({
    name: `${p}sink_failures_total`,
    help: 'Failed deliveries of a sink (each is retried, or pauses the sink), per sink.',
    labelNames: ['sink'] as const,
    registers,
  });
  /** Per sink: change-log rows its last read found beyond its offset, less those delivered since. */
  const sinkLag = new Map<string, number>();
  /** The same per destination (its runner tells the same `sink:*` events under its name). */
  const destinationLag = new Map<string, number>();
  const destinationNames = new Set(options.destinations ?? []);
  const lagOf = (name: string) => (destinationNames.has(name) ? destinationLag : sinkLag);
  const destinationRequests = new Counter({
    name: `${p}destination_requests_total`,
    help: 'Records a destination handled, per outcome: ok (written), unchanged (nothing to send), skipped, retry (tried again with its batch), fail (refused: dead-lettered).',
    labelNames: ['destination', 'outcome'] as const,
    registers,
  });
  for (const destination of destinationNames) {
    for (const outcome of ['ok', 'unchanged', 'skipped', 'retry', 'fail'] as const)
      destinationRequests.inc({ destination, outcome }, 0);
  }
  const tally = options.destinationTally;
  if (tally) {
    new Gauge({
      name: `${p}destination_error_ratio`,
      help: 'Share of the records a destination attempted in the last 5 minutes that were retried or refused, per destination (absent: none attempted).',
      labelNames: ['destination'] as const,
      registers,
      collect() {
        this.reset();
        for (const destination of destinationNames) {
          const rate = tally.errorRate(destination);
          if (rate !== null) this.set({ destination }, rate);
        }
      },
    });
  }
  new Gauge({
    name: `${p}destination_lag_events`,
    help: "Change-log rows beyond a destination's offset, as of its last read (at most one read's worth, 500), per destination.",
    labelNames: ['destination'] as const,
    registers,
    collect() {
      this.reset();
      for (const [destination, lag] of destinationLag) this.set({ destination }, lag);
    },
  });
  /** Per replication slot: bytes of WAL it keeps on its source, as the service last read it. */
  const slotLag = new Map<string, number>();
  events.on('capture:slot', (e) => {
    if (e.lagBytes === null) slotLag.delete(e.slot);
    else slotLag.set(e.slot, e.lagBytes);
  });
  new Gauge({
    name: `${p}cdc_slot_lag_bytes`,
    help: "Bytes of WAL a cdc stream's replication slot keeps on the source database (its confirmed position to the WAL's end), per slot, read every 15 s.",
    labelNames: ['slot'] as const,
    registers,
    collect() {
      this.reset();
      for (const [slot, lag] of slotLag) this.set({ slot }, lag);
    },
  });
  new Gauge({
    name: `${p}sink_lag_events`,
    help: "Change-log rows beyond a sink's offset, as of its last read (at most one read's worth, 500), per sink.",
    labelNames: ['sink'] as const,
    registers,
    collect() {
      this.reset();
      for (const [sink, lag] of sinkLag) this.set({ sink }, lag);
    },
  });

  /** A stream seen for the first time: its counters start at 0 (a series that appears at 5 hides its first 5). */
  function know(stream: string): void {
    if (known.has(stream)) return;
    known.add(stream);
    for (const name of OUTCOME_COUNTERS) records.inc({ stream, outcome: RECORD_OUTCOMES[name] }, 0);
    pages.inc({ stream }, 0);
    retries.inc({ stream }, 0);
    throttledSeconds.inc({ stream }, 0);
    bytes.inc({ stream }, 0);
    leaseLosses.inc({ stream }, 0);
  }

  function throttle(stream: string, cause: ThrottleCause, delayMs: number): void {
    throttledWaits.inc({ stream, cause });
    throttledSeconds.inc({ stream }, delayMs / 1000);
  }

  const listeners = [
    events.on('run:started', ({ stream }) => know(stream)),
    events.on('page:committed', (e: SyncEvents['page:committed']) => {
      know(e.stream);
      for (const name of OUTCOME_COUNTERS) {
        const n = e.page[name];
        if (n) records.inc({ stream: e.stream, outcome: RECORD_OUTCOMES[name] }, n);
      }
      if (e.page.pages) pages.inc({ stream: e.stream }, e.page.pages);
      if (e.newestCursor !== null) newestCursor.set(e.stream, e.newestCursor);
    }),
    events.on('request:completed', (e) => {
      know(e.stream);
      requests.inc({ stream: e.stream, status: e.status === null ? 'error' : String(e.status) });
      if (e.bytes > 0) bytes.inc({ stream: e.stream }, e.bytes);
    }),
    events.on('request:retrying', (e) => {
      know(e.stream);
      retries.inc({ stream: e.stream });
      if (e.throttled) throttle(e.stream, 'throttled', e.delayMs);
      else if (e.retryAfter) throttle(e.stream, 'retry_after', e.delayMs);
    }),
    events.on('rate:waiting', (e) => {
      know(e.stream);
      throttle(e.stream, e.cause === 'budget' ? 'budget' : 'rate_limit', e.delayMs);
    }),
    events.on('lease:lost', ({ stream }) => {
      know(stream);
      leaseLosses.inc({ stream });
    }),
    events.on('sink:read', (e) => {
      const lag = lagOf(e.sink);
      if (!lag.has(e.sink)) {
        sinkDelivered.inc({ sink: e.sink }, 0);
        sinkFailures.inc({ sink: e.sink }, 0);
      }
      lag.set(e.sink, e.lag);
    }),
    events.on('sink:delivered', (e) => {
      sinkDelivered.inc({ sink: e.sink }, e.events);
      const lag = lagOf(e.sink);
      lag.set(e.sink, Math.max(0, (lag.get(e.sink) ?? 0) - e.events));
    }),
    events.on('sink:failed', (e) => sinkFailures.inc({ sink: e.sink })),
    events.on('destination:written', (e) =>
      destinationRequests.inc({ destination: e.destination, outcome: e.outcome }, e.count),
    ),
    events.on('run:finished', (e) => {
      know(e.stream);
      const labels = { stream: e.stream, mode: e.mode, status: e.status };
      runs.inc(labels);
      runDuration.observe(labels, e.durationMs / 1000);
      finished.add(e.stream);
      const at = now();
      lastRun.set({ stream: e.stream, status: e.status }, at / 1000);
      if (e.status === 'ok' || e.status === 'partial') lastOkMs.set(e.stream, at);
    }),
  ];

  return {
    registry,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    seed(streams, lastOk) {
      for (const status of streams) {
        know(status.stream);
        // A run that finished since start-up knows better than the store read before it.
        if (status.newestCursor !== null && !newestCursor.has(status.stream)) {
          newestCursor.set(status.stream, status.newestCursor);
        }
        const run = status.lastRun;
        if (run?.endedAt && run.status !== 'running' && !finished.has(status.stream)) {
          lastRun.set({ stream: status.stream, status: run.status }, Date.parse(run.endedAt) / 1000);
        }
      }
      for (const [stream, endedAt] of lastOk) {
        const ms = Date.parse(endedAt);
        if (!Number.isNaN(ms) && !lastOkMs.has(stream)) lastOkMs.set(stream, ms);
      }
    },
    observeJobStart(task, delayMs) {
      jobStartDelay.observe({ task }, Math.max(0, delayMs) / 1000);
    },
    close() {
      for (const off of listeners.splice(0)) off();
    },
  };
}
