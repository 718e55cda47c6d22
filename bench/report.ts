import { SIM_EPOCH_MS, SIM_HISTORY_END_MS } from '../src/simulator/record-kind.ts';
import type { Sizes } from './bench-options.ts';
import type { CdcScenario } from './cdc-scenario.ts';
import { type ChangelogScenario, changelogSection } from './changelog-scenario.ts';
import { type ClusterScenario, clusterSection } from './cluster-scenario.ts';
import { LOOKBACK_MS } from './customers-stream.ts';
import { type DestinationsScenario, serviceRate } from './destinations-scenario.ts';
import type { DeliveryRate } from './events-child.ts';
import type { LatencyStats } from './events-latency-child.ts';
import type { EventsScenario } from './events-scenario.ts';
import { type FilesScenario, filesSection } from './files-scenario.ts';
import { int, rate, shortCount, storeName } from './format.ts';
import type { MachineInfo } from './machine.ts';
import { PAGE_SIZE } from './page-walk.ts';
import type { Bar, BarKind } from './png-chart.ts';
import type { RawResults } from './raw-runs.ts';
import type { ServiceScenario } from './service-scenario.ts';
import type { SyncMeasurement, SyncScenario } from './sync-scenario.ts';
import { evaluateTargets, type TargetLine } from './targets.ts';
import type { WebhooksScenario } from './webhooks-scenario.ts';

/**
 * RESULTS.md: every figure of one bench run, and the targets judged on them. Nothing here is a
 * constant result: tables are filled from the measurements, rows not measured are left out.
 */

export interface BenchResults {
  readonly machine: MachineInfo;
  readonly sizeName: string;
  readonly sizes: Sizes;
  readonly raw: RawResults;
  readonly scenarios: readonly SyncScenario[];
  /** The service section (`syncline run`), when it ran. */
  readonly service: ServiceScenario | null;
  /** The events section (sinks), when it ran. */
  readonly events: EventsScenario | null;
  /** The destinations section (pushing into the CRM), when it ran. */
  readonly destinations: DestinationsScenario | null;
  /** The webhooks section (receiving and applying pushed events), when it ran. */
  readonly webhooks: WebhooksScenario | null;
  /** The cdc section (change data capture under a write load), when it ran. */
  readonly cdc: CdcScenario | null;
  /** The files section (a CSV file source against raw csv-parse), when it ran. */
  readonly files: FilesScenario | null;
  /** The changelog section (page commits of 1, 2, 4 writer processes on one PostgreSQL store), when it ran. */
  readonly changelog: ChangelogScenario | null;
  /** The cluster section (`syncline run` as several workers of one PostgreSQL store), when it ran. */
  readonly cluster: ClusterScenario | null;
  readonly totalMs: number;
  /** 1-minute load average when the measurements ended. */
  readonly loadAtEnd: number;
}

/** One row of the throughput table (and, with `chart`, one bar). */
export interface ThroughputRow {
  readonly label: string;
  readonly kind: BarKind;
  readonly records: number;
  readonly ms: number;
  readonly requests: number | null;
  /** CPU seconds of the measured process and of the simulator, when known. */
  readonly cpu: string;
  readonly chart: boolean;
}

const sec = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const mb = (n: number): string => n.toFixed(0);
const pct = (ratio: number): string => `${(ratio * 100).toFixed(ratio < 0.1 ? 2 : 1)}%`;

function syncCpu(run: SyncMeasurement): string {
  return `${run.cpuSeconds.toFixed(1)} / ${run.simCpuSeconds === null ? '?' : run.simCpuSeconds.toFixed(1)}`;
}

export function throughputRows(results: BenchResults): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  const { limits, baseline } = results.raw;
  const none = { requests: null, cpu: '', chart: true } as const;
  if (limits) {
    rows.push({
      label: 'raw fetch + JSON.parse',
      kind: 'limit',
      records: limits.fetch.rows,
      ms: limits.fetch.ms,
      ...none,
      requests: Math.ceil(limits.fetch.rows / PAGE_SIZE),
    });
    if (limits.pgCopy)
      rows.push({
        label: 'raw PostgreSQL COPY',
        kind: 'limit',
        records: limits.pgCopy.rows,
        ms: limits.pgCopy.ms,
        ...none,
      });
    if (limits.sqliteInsert) {
      rows.push({
        label: 'raw SQLite INSERT',
        kind: 'limit',
        records: limits.sqliteInsert.rows,
        ms: limits.sqliteInsert.ms,
        ...none,
      });
    }
  }
  if (baseline?.pg)
    rows.push({
      label: 'hand-written, PostgreSQL',
      kind: 'baseline',
      records: baseline.pg.rows,
      ms: baseline.pg.ms,
      ...none,
    });
  if (baseline?.sqlite) {
    rows.push({
      label: 'hand-written, SQLite',
      kind: 'baseline',
      records: baseline.sqlite.rows,
      ms: baseline.sqlite.ms,
      ...none,
    });
  }
  for (const s of results.scenarios) {
    const main = s.records === results.sizes.records;
    rows.push({
      label: `Syncline, ${storeName(s.store)}${main ? '' : ` (${shortCount(s.records)})`}`,
      kind: 'syncline',
      records: s.full.counters.fetched,
      ms: s.full.wallMs,
      requests: s.full.traffic.requests,
      cpu: syncCpu(s.full),
      chart: main,
    });
  }
  return rows;
}

export function chartBars(results: BenchResults): Bar[] {
  return throughputRows(results)
    .filter((r) => r.chart)
    .map((r) => ({ label: r.label, value: rate(r.records, r.ms), kind: r.kind }));
}

function machineSection(results: BenchResults): string[] {
  const m = results.machine;
  return [
    '## Machine',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${m.cpu} |`,
    `| cores | ${m.cores} |`,
    `| RAM | ${m.ramGb.toFixed(1)} GB |`,
    `| Node | ${m.node} |`,
    `| PostgreSQL | ${m.postgres} |`,
    `| date | ${m.date} |`,
    `| commit | ${m.commit} |`,
    `| size | ${results.sizeName}: ${int(results.sizes.records)} records (medium ${int(results.sizes.medium)}, large ${int(results.sizes.large)}, baseline ${int(results.sizes.baseline)}) |`,
    `| load average (1 min) at start / end | ${m.loadAtStart.toFixed(2)} / ${results.loadAtEnd.toFixed(2)} |`,
    `| bench wall time | ${(results.totalMs / 60_000).toFixed(1)} min |`,
    '',
  ];
}

function throughputSection(results: BenchResults): string[] {
  const lines = [
    '## Throughput',
    '',
    '![records per second](results.png)',
    '',
    '| measurement | records | wall s | records/s | API requests | CPU s (sync / simulator) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of throughputRows(results)) {
    lines.push(
      `| ${r.label} | ${int(r.records)} | ${sec(r.ms)} | ${int(rate(r.records, r.ms))} | ${r.requests === null ? '' : int(r.requests)} | ${r.cpu} |`,
    );
  }
  lines.push('');
  return lines;
}

function incrementalSection(results: BenchResults): string[] {
  const lines = [
    '## Incremental sync and unchanged polls',
    '',
    '| store | records | run | wall s | % of full sync | requests (Syncline) | requests (simulator) | 304s | fetched | rows written |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of results.scenarios) {
    if (!s.incremental) continue;
    const runs: [string, SyncMeasurement][] = [
      ['full sync', s.full],
      ['incremental', s.incremental.run],
      ['poll 1 (unchanged)', s.incremental.polls[0]],
      ['poll 2 (unchanged)', s.incremental.polls[1]],
    ];
    for (const [name, run] of runs) {
      const c = run.counters;
      lines.push(
        `| ${storeName(s.store)} | ${int(s.records)} | ${name} | ${sec(run.wallMs)} | ${pct(run.wallMs / s.full.wallMs)} | ${int(c.apiCalls)} | ${int(run.traffic.requests)} | ${int(run.traffic.notModified)} | ${int(c.fetched)} | ${int(c.inserted + c.updated + c.deleted)} |`,
      );
    }
  }
  lines.push('');
  return lines;
}

/** The span of the simulator's initial `updated_at` values, and the stream's lookback, in seconds. */
const HISTORY_S = (SIM_HISTORY_END_MS - SIM_EPOCH_MS) / 1000;
const LOOKBACK_S = LOOKBACK_MS / 1000;

function lookbackSection(results: BenchResults): string[] {
  const lines = [
    '## The lookback window',
    '',
    'What the incremental run re-reads, and what it can see (counted by walking the API from the window start):',
    '',
    '- The simulator gives each initial record `updated_at = created_at + uniform(rest of the history)`, the',
    '  history being 2020-2024 (`baseUpdatedSec` in `src/simulator/customer-kind.ts`), so initial records',
    '  crowd towards its end: the hour before the newest holds about N x (h/S) x ln(S/h) of them',
    `  (h = 1 h, S = 4 years: ${int(1_000_000 * (LOOKBACK_S / HISTORY_S) * Math.log(HISTORY_S / LOOKBACK_S))} per million) where an even spread would hold ${int(1_000_000 * (LOOKBACK_S / HISTORY_S))}.`,
    '  The full sync leaves the watermark at the newest initial `updated_at`, so the first incremental run',
    '  re-reads that hour: the "lookback pages" of the target. Later runs start an hour before the newest',
    '  change, past all initial records.',
    '- The changes are half updates (`updated_at` = now) and half backdates. The simulator lands half of the',
    '  backdates up to 30 min behind the newest `updated_at` (inside the window) and leaves the other half',
    '  at their old `updated_at`, years back: no incremental read can see those; `syncline reconcile` finds',
    '  them. "Visible changes" is the window after minus before (a changed record that was already in the',
    '  window is not counted there, but is written).',
    '- Polls: the incremental run moved the watermark to the newest change, so the first poll starts at a',
    '  new place (an hour before it) and has no validators for that request: it reads the changed records',
    '  again, writes nothing, and keeps the ETag of its one-page pass; the second poll repeats the request',
    '  with `If-None-Match` and gets a 304. The incremental run starts more than the safety lag (2 s) after',
    '  the changes, as a scheduled run would: sooner, the watermark stops at now - 2 s and moves again at',
    '  each poll, so no poll repeats a request until the changes are 2 s old.',
    '',
    '| store | records | watermark after full sync | in window before changes | changes (update / backdate) | in window after | visible changes | written by incremental |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of results.scenarios) {
    if (!s.incremental) continue;
    const { window: w, changes, run } = s.incremental;
    const written = run.counters.inserted + run.counters.updated + run.counters.deleted;
    lines.push(
      `| ${storeName(s.store)} | ${int(s.records)} | ${w.watermark} | ${int(w.before)} | ${int(changes.update)} / ${int(changes.backdate)} | ${int(w.after)} | ${int(w.after - w.before)} | ${int(written)} |`,
    );
  }
  lines.push('');
  return lines;
}

function memorySection(results: BenchResults): string[] {
  const lines = [
    '## Memory',
    '',
    'Peak RSS of each Syncline process (one process per run, like a scheduled `syncline sync`).',
    '',
    '| store | records | full sync MB | incremental MB | poll 1 MB | poll 2 MB |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of results.scenarios) {
    const later = s.incremental
      ? [s.incremental.run, ...s.incremental.polls].map((r) => mb(r.peakRssMb))
      : ['', '', ''];
    lines.push(
      `| ${storeName(s.store)} | ${int(s.records)} | ${mb(s.full.peakRssMb)} | ${later.join(' | ')} |`,
    );
  }
  lines.push('');
  return lines;
}

function serviceSection(results: BenchResults): string[] {
  const s = results.service;
  if (!s) return [];
  return [
    '## The service',
    '',
    `\`syncline run\` (no HTTP API) keeping ${int(s.streams)} streams of ${int(s.records)} customers fresh every ` +
      `${s.everyMs / 1000} s (default jitter: 10% of the interval), ${s.concurrency} runs at once, on SQLite, for ` +
      `${s.durationMs / 1000} s after the first full syncs. Lateness: when a run started minus when it was due ` +
      '(jitter included in the due time). Idle CPU: CPU of the process over the 250 ms slices in which no run ' +
      'was in progress, as a share of one core.',
    '',
    '| runs judged | lateness p50 ms | lateness p95 ms | lateness max ms | runs not ok | idle s | idle CPU % | CPU % overall | peak RSS MB |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${int(s.runs)} | ${int(s.latenessMs.p50)} | ${int(s.latenessMs.p95)} | ${int(s.latenessMs.max)} | ${int(s.notOk)} | ${s.idleSeconds.toFixed(1)} | ${s.idleCpuPercent.toFixed(2)} | ${s.totalCpuPercent.toFixed(1)} | ${mb(s.peakRssMb)} |`,
    '',
  ];
}

const perSec = (r: DeliveryRate): number => rate(r.events, r.ms);

function eventsSection(results: BenchResults): string[] {
  const e = results.events;
  if (!e) return [];
  const t = e.throughput;
  const l = e.latency;
  const row = (target: string, client: string, sink: DeliveryRate, raw: DeliveryRate) =>
    `| ${target} | ${int(sink.events)} | ${int(perSec(sink))} | ${sink.cpuSeconds.toFixed(1)} | ${client} | ${int(perSec(raw))} | ${raw.cpuSeconds.toFixed(1)} | ${pct(perSec(sink) / perSec(raw))} |`;
  const latencyRow = (where: string, s: LatencyStats) =>
    `| ${where} | ${int(s.events)} | ${int(s.p50)} | ${int(s.p95)} | ${int(s.p99)} | ${int(s.max)} |`;
  return [
    '## Events',
    '',
    `Delivery of the change log of a ${int(e.shape.records)}-record SQLite sync (full sync ${sec(e.sync.wallMs)} s; ` +
      `${int(t.events)} insert events of ${int(t.eventBytes)} bytes on average, \`data\` included) by a sink runner ` +
      `in batches of ${e.shape.batchSize}, against the same client publishing as many pre-built payloads of the same ` +
      'size in the same process (no store read, no JSON). CPU: seconds of the delivering process.',
    '',
    '| target | events | sink events/s | sink CPU s | raw client | raw events/s | raw CPU s | sink / raw |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
    row('NATS JetStream', 'publish with msgID, acks awaited per batch', t.nats.sink, t.nats.raw),
    row('webhook (local receiver)', 'signed undici POST per batch', t.webhook.sink, t.webhook.raw),
    '',
    `Latency, commit -> receiver: ${int(l.changes)} changes committed at ${int(l.committedRate)}/s in pages of ` +
      `${l.pageSize} (one commit each), after ${int(l.warmupChanges)} not judged (warm-up), delivered by a webhook sink in batches of at most ${e.shape.batchSize}. ` +
      "From the writer's clock when the page's commit returned to the receiver's clock when the request's body " +
      `arrived (same machine). Writer process CPU: ${l.cpuPercent.toFixed(0)}% of a core.`,
    '',
    '| sink | events | p50 ms | p95 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    latencyRow("in the writer's process (woken by page:committed)", l.inProcess),
    ...(l.crossProcess ? [latencyRow('in another process (500 ms poll)', l.crossProcess)] : []),
    '',
  ];
}

function cdcSection(results: BenchResults): string[] {
  const c = results.cdc;
  if (!c) return [];
  return [
    '## Change data capture',
    '',
    `A private PostgreSQL cluster (wal_level=logical) with a pgbench-style \`accounts\` table, read by a cdc stream. The ` +
      'source alone: 4 connections committing transactions of 10 updates for 5 s with nothing reading. Then the same load ' +
      'for 15 s (1 s and 2 s at sizes below 100,000) while syncs run back to back in the bench process, until the slot is read to its end. Applied/s counts ' +
      "from the load's start to caught up. Lag: per changed row, the store's `_synced_at` of its last version minus the " +
      "`clock_timestamp()` the writer stamped it with (both clocks this machine's).",
    '',
    '| store | rows | snapshot rows/s | source alone changes/s | written during the load /s | applied/s | drain s | syncs | lag p50 ms | lag p99 ms | lag max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...c.runs.map(
      (r) =>
        `| ${r.store} | ${int(r.rows)} | ${int(r.snapshotRowsPerSecond)} | ${int(r.sourceAlonePerSecond)} | ${int(r.loadWrittenPerSecond)} | ${int(r.appliedPerSecond)} | ${r.drainSeconds.toFixed(1)} | ${r.syncs} | ${int(r.lag.p50)} | ${int(r.lag.p99)} | ${int(r.lag.max)} |`,
    ),
    '',
  ];
}

function webhooksSection(results: BenchResults): string[] {
  const w = results.webhooks;
  if (!w) return [];
  const ms = (n: number) => n.toFixed(1);
  return [
    '## Webhooks in',
    '',
    'A `syncline run` child with one webhook stream (Standard Webhooks signatures); the bench process is the ' +
      'provider. An answer means the event is in the inbox, durable; the stream then applies it. Latency is the ' +
      "provider's, request to answer, over loopback.",
    '',
    '| store | deliveries | in flight | p50 ms | p95 ms | p99 ms | max ms | answered/s | applied/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...w.runs.flatMap((r) => [
      `| ${r.store} | ${int(r.sequential.events)} | 1 | ${ms(r.sequential.p50)} | ${ms(r.sequential.p95)} | ${ms(r.sequential.p99)} | ${ms(r.sequential.max)} | | |`,
      `| ${r.store} | ${int(r.burst.events)} | ${r.burst.inFlight} | ${ms(r.burst.p50)} | ${ms(r.burst.p95)} | ${ms(r.burst.p99)} | ${ms(r.burst.max)} | ${int(r.burst.acceptedPerSecond)} | ${int(r.appliedPerSecond)} |`,
    ]),
    '',
    "A provider's burst: deliveries sent at a fixed rate whatever is in flight (open loop, at most 512), each tried " +
      'again on a failure (5 tries); latency from the first try to the 2xx.',
    '',
    '| store | rate asked | seconds | answered | answered/s | p50 ms | p99 ms | max ms | retries | lost | peak in flight |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...w.runs.map(
      (r) =>
        `| ${r.store} | ${int(r.paced.targetPerSecond)}/s | ${r.paced.seconds} | ${int(r.paced.events)} | ${int(r.paced.answeredPerSecond)} | ${ms(r.paced.p50)} | ${ms(r.paced.p99)} | ${ms(r.paced.max)} | ${int(r.paced.retries)} | ${int(r.paced.lost)} | ${r.paced.peakInFlight} |`,
    ),
    '',
  ];
}

function destinationsSection(results: BenchResults): string[] {
  const d = results.destinations;
  if (!d) return [];
  const { latencyMs, records } = d.shape;
  const row = (
    what: string,
    flight: number,
    batch: string,
    ms: number,
    requests: number,
    peak: number | null,
    cpu: number,
  ) => {
    const service = serviceRate(flight, latencyMs);
    const reqRate = rate(requests, ms);
    return (
      `| ${what} | ${flight} | ${batch} | ${sec(ms)} | ${int(rate(records, ms))} | ${int(requests)} | ` +
      `${(requests / records).toFixed(2)} | ${int(reqRate)} | ${peak === null ? '' : int(peak)} | ${int(service)} | ` +
      `${pct(reqRate / service)} | ${int(service / (requests / records))} | ${cpu.toFixed(1)} |`
    );
  };
  const b = d.baseline;
  return [
    '## Destinations',
    '',
    `${int(records)} customers synced into SQLite (full sync ${sec(d.sync.wallMs)} s), then pushed into the ` +
      `simulator's CRM, which answers every request ${latencyMs} ms after it arrived (no faults, idempotency on), ` +
      'each run from a fresh CRM and a fresh copy of the store (no map, offset 0), through the library as ' +
      '`syncline push` drives it (`prepareSinks` over the open store), timed until the last change was confirmed. ' +
      `Every run left exactly ${int(records)} contacts, one per customer (the CRM's ground truth). ` +
      `*Service rate*: what the CRM can answer with that many requests in flight (in flight x 1000 / ${latencyMs}); ` +
      '*ceiling*: the records/s that rate allows at the requests per record the push needed. ' +
      'CPU: seconds of the pushing process.',
    '',
    '| push | in flight | batch | s | records/s | CRM requests | requests/record | requests/s | CRM max req in 1 s | service rate req/s | of service rate | ceiling records/s | CPU s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...d.runs.map((r) =>
      row(
        `destination, ${r.plan.label}`,
        r.inFlight,
        String(r.plan.batchSize),
        r.push.wallMs,
        r.requests,
        r.maxRequestsPerSecond,
        r.push.cpuSeconds,
      ),
    ),
    row(
      'hand-written fetch loop (GET, then POST)',
      1,
      '',
      b.result.wallMs,
      b.requests,
      null,
      b.result.cpuSeconds,
    ),
    '',
  ];
}

function targetsSection(targets: readonly TargetLine[]): string[] {
  const lines = ['## Targets', ''];
  for (const t of targets) lines.push(`- **${t.verdict}** ${t.text}`);
  lines.push('');
  return lines;
}

export function renderResults(results: BenchResults): string {
  return [
    '# Syncline benchmark',
    '',
    `\`npm run bench\`, ${results.sizeName} size. What each row measures and how: [README.md](README.md).`,
    '',
    ...machineSection(results),
    ...throughputSection(results),
    ...incrementalSection(results),
    ...lookbackSection(results),
    ...memorySection(results),
    ...serviceSection(results),
    ...eventsSection(results),
    ...destinationsSection(results),
    ...webhooksSection(results),
    ...cdcSection(results),
    ...filesSection(results.files),
    ...changelogSection(results.changelog),
    ...clusterSection(results.cluster),
    ...targetsSection(evaluateTargets(results)),
  ].join('\n');
}
