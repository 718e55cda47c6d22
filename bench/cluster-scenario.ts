import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from './bench-error.ts';
import type { Sizes } from './bench-options.ts';
import { REPO_ROOT } from './child-process.ts';
import { int, rate } from './format.ts';
import { type BenchLocation, type Locations, withPg } from './locations.ts';
import { SimulatorProcess } from './simulator-process.ts';
import { SEED } from './sync-scenario.ts';

/**
 * The cluster section: `syncline run` on one PostgreSQL store as 1, 2 and 4 worker processes (the
 * built CLI, each with its own API port), whose runs are jobs of the queue beside the store.
 *
 * - Throughput: many streams, each a few pages of the simulator answered 50 ms after each request
 *   (the source, not the store, is the bottleneck), all due at start: wall time until every stream
 *   has one successful run (read from `syncline_runs`), records/s, speedup against one worker.
 * - Scheduling latency, on a lightly loaded cluster: streams every 1 s (jitter 0) for a window; how
 *   late their jobs started after they were due, from the workers' own histogram
 *   `syncline_job_start_delay_seconds{task="run"}` (`GET /metrics`, scraped before and after the
 *   window, summed over workers); then runs asked for through `POST /v1/streams/:name/sync`, from
 *   the POST to the run's `started_at` in `syncline_runs` (one machine, one clock).
 */

/** What the simulator does to every API request: answer it after this long. */
const SOURCE_DELAY_MS = 50;
const PAGE_SIZE = 100;
/** `sync.concurrency` of every worker. */
const CONCURRENCY = 4;
const DEADLINE_MS = 300_000;

export interface ClusterShape {
  /** The worker counts of the throughput runs (the first is the one the speedup is against). */
  readonly workerCounts: readonly number[];
  /** Streams of the throughput runs, each reading all `records` customers. */
  readonly streams: number;
  readonly records: number;
  /** The latency phase: workers, streams every 1 s, streams only triggered, the window, trigger rounds. */
  readonly latencyWorkers: number;
  readonly everyStreams: number;
  readonly triggerStreams: number;
  readonly windowMs: number;
  readonly triggerRounds: number;
}

/**
 * 100 streams of 10 pages on 1, 2 and 4 workers at full size (N >= 100,000); below, 8 streams of 2
 * pages on 1 and 2 workers (every code path; each worker's start-up takes seconds).
 */
export function clusterShape(sizes: Sizes): ClusterShape {
  return sizes.records >= 100_000
    ? {
        workerCounts: [1, 2, 4],
        streams: 100,
        records: 1000,
        latencyWorkers: 4,
        everyStreams: 20,
        triggerStreams: 4,
        windowMs: 10_000,
        triggerRounds: 10,
      }
    : {
        workerCounts: [1, 2],
        streams: 8,
        records: 200,
        latencyWorkers: 2,
        everyStreams: 4,
        triggerStreams: 2,
        windowMs: 2000,
        triggerRounds: 3,
      };
}

export interface ClusterThroughputRun {
  readonly workers: number;
  /** Records fetched by the successful runs (streams x records). */
  readonly records: number;
  /** From the first POST asking for the streams until every stream had a successful run. */
  readonly wallMs: number;
  /** Before that: from spawning the workers until every one's API listened (Node, the CLI, the store, the queue). */
  readonly startupMs: number;
  /** From the first run's `started_at` to the last one's `ended_at`: the runs alone. */
  readonly runSpanMs: number;
  readonly runsNotOk: number;
  /** CPU seconds of all workers together, and of the simulator, over the wall time (start-up not included). */
  readonly workerCpuSeconds: number;
  readonly simulatorCpuSeconds: number;
  /** Runs each worker started (from its `/metrics`), to show the spread. */
  readonly runsPerWorker: readonly number[];
}

export interface Quantiles {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface ClusterLatency {
  readonly workers: number;
  /** Scheduled jobs (future `run_at`) started in the window: from the histogram's buckets. */
  readonly scheduled: Quantiles & { readonly under10msShare: number };
  /** POST -> the run's `started_at`, from the run records. */
  readonly triggered: Quantiles;
  /** How long the API took to answer the POST (the job queued). */
  readonly postP50Ms: number;
}

export interface ClusterScenario {
  readonly shape: ClusterShape;
  readonly cores: number;
  readonly runs: readonly ClusterThroughputRun[];
  readonly latency: ClusterLatency;
}

interface Worker {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<void>;
  /** Its last warning and error log lines, for the message of a measurement that failed. */
  readonly problems: string[];
}

/** The workers' last warnings and errors, one line each. */
function problemsOf(workers: readonly Worker[]): string {
  const lines = workers.flatMap((w, i) => w.problems.map((line) => `worker ${i}: ${line.slice(0, 300)}`));
  return lines.length > 0
    ? `; their warnings and errors:\n${lines.join('\n')}`
    : '; no warning or error logged';
}

/** Workers alive now, ended if the bench exits without reaching their `finally` (a signal). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGTERM');
});

export async function runClusterScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<ClusterScenario> {
  const shape = clusterShape(sizes);
  const sim = await SimulatorProcess.start(shape.records, SEED);
  try {
    await sim.setFaults({ slow: 1, slowMs: SOURCE_DELAY_MS });
    const runs: ClusterThroughputRun[] = [];
    for (const workers of shape.workerCounts) {
      const run = await throughput(locations, sim, shape, workers);
      runs.push(run);
      log(
        `cluster: ${workers} worker(s), ${shape.streams} streams x ${shape.records} records: ` +
          `${(run.wallMs / 1000).toFixed(1)} s, ${int(rate(run.records, run.wallMs))} records/s`,
      );
    }
    const latency = await schedulingLatency(locations, sim, shape);
    log(
      `cluster: scheduled jobs started p50 ${latency.scheduled.p50Ms.toFixed(1)} ms / p99 ${latency.scheduled.p99Ms.toFixed(1)} ms late; ` +
        `triggered runs p50 ${latency.triggered.p50Ms.toFixed(0)} ms / p99 ${latency.triggered.p99Ms.toFixed(0)} ms after the POST`,
    );
    return { shape, cores: (await import('node:os')).availableParallelism(), runs, latency };
  } finally {
    await sim.stop();
  }
}

function streamYaml(name: string, apiUrl: string, every: string | null): string {
  return `  - name: ${name}
    key: id
    cursor: updated_at
    version: version
    request: { baseUrl: "${apiUrl}", path: /v1/customers, query: { style: cursor } }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: ${PAGE_SIZE}
    incremental: { param: updated_since, lookback: 10m, safetyLag: 1s }
${every === null ? '' : `    schedule: { every: ${every}, jitter: 0 }\n`}`;
}

/**
 * A project directory whose `syncline.config.yaml` has the given streams (name -> `every`, or null:
 * no schedule, the stream runs only when asked).
 */
function projectDir(
  locations: Locations,
  apiUrl: string,
  streams: ReadonlyMap<string, string | null>,
): string {
  const dir = locations.scratchDir();
  const body = [...streams].map(([name, every]) => streamYaml(name, apiUrl, every)).join('');
  writeFileSync(join(dir, 'syncline.config.yaml'), `sync:\n  concurrency: ${CONCURRENCY}\nstreams:\n${body}`);
  return dir;
}

async function throughput(
  locations: Locations,
  sim: SimulatorProcess,
  shape: ClusterShape,
  workers: number,
): Promise<ClusterThroughputRun> {
  const names = Array.from({ length: shape.streams }, (_, i) => `c_${i}`);
  // No schedule: nothing runs until every worker has started and each stream is asked for once.
  const dir = projectDir(locations, sim.url, new Map(names.map((n) => [n, null])));
  const location = await locations.fresh('postgres');
  const started: Worker[] = [];
  try {
    const spawned = performance.now();
    const starting = Array.from({ length: workers }, () => startWorker(dir, location.location));
    for (const w of starting) w.then((worker) => started.push(worker)).catch(() => undefined);
    await Promise.all(starting);
    const startupMs = performance.now() - spawned;
    const simCpuBefore = sim.cpuSeconds() ?? 0;
    const workerCpuBefore = started.reduce((sum, w) => sum + processCpuSeconds(w.child.pid!), 0);
    // Every stream asked for at once (`POST /v1/streams/:name/sync`), spread over the workers' APIs:
    // a job each in the queue, taken by whichever worker is free.
    const t0 = performance.now();
    await Promise.all(
      names.map(async (name, i) => {
        const worker = started[i % started.length]!;
        await trigger(worker, name);
      }),
    );
    let state: RunsState;
    let idleSince: number | null = null;
    for (;;) {
      state = await runsState(location);
      if (state.doneStreams >= shape.streams) break;
      // Nothing running and nothing queued, yet streams not synced: their jobs were lost.
      idleSince = state.running === 0 && state.queued === 0 ? (idleSince ?? performance.now()) : null;
      if (idleSince !== null && performance.now() - idleSince > 5000) {
        throw new BenchError(
          `cluster: ${workers} worker(s): ${shape.streams - state.doneStreams} of ${shape.streams} streams asked for ` +
            `never ran, and their jobs are no longer in the queue (nothing runs or waits)${problemsOf(started)}`,
        );
      }
      if (performance.now() - t0 > DEADLINE_MS) {
        throw new BenchError(
          `cluster: ${workers} worker(s) synced ${state.doneStreams} of ${shape.streams} streams in ${DEADLINE_MS / 1000} s${problemsOf(started)}`,
        );
      }
      await sleep(100);
    }
    const wallMs = performance.now() - t0;
    const workerCpuSeconds =
      started.reduce((sum, w) => sum + processCpuSeconds(w.child.pid!), 0) - workerCpuBefore;
    const runsPerWorker = await Promise.all(started.map(async (w) => histogramOf(await scrape(w.url)).count));
    return {
      workers,
      records: state.fetched,
      wallMs,
      startupMs,
      runSpanMs: state.spanMs,
      runsNotOk: state.notOk,
      workerCpuSeconds,
      simulatorCpuSeconds: (sim.cpuSeconds() ?? 0) - simCpuBefore,
      runsPerWorker,
    };
  } finally {
    await Promise.all(started.map((w) => stopWorker(w)));
    await locations.drop(location);
  }
}

async function schedulingLatency(
  locations: Locations,
  sim: SimulatorProcess,
  shape: ClusterShape,
): Promise<ClusterLatency> {
  const every = Array.from({ length: shape.everyStreams }, (_, i) => `e_${i}`);
  // No schedule: they run only when asked.
  const triggered = Array.from({ length: shape.triggerStreams }, (_, i) => `t_${i}`);
  const dir = projectDir(
    locations,
    sim.url,
    new Map([...every.map((n) => [n, '1s'] as const), ...triggered.map((n) => [n, null] as const)]),
  );
  const location = await locations.fresh('postgres');
  const workers: Worker[] = [];
  try {
    const starting = Array.from({ length: shape.latencyWorkers }, () => startWorker(dir, location.location));
    for (const w of starting) w.then((worker) => workers.push(worker)).catch(() => undefined);
    await Promise.all(starting);
    // Warm-up, not judged: every stream's first full sync (the scheduled ones due at start; the
    // others asked for once).
    for (const stream of triggered) await trigger(workers[0]!, stream);
    const deadline = performance.now() + DEADLINE_MS;
    while ((await runsState(location)).doneStreams < every.length + triggered.length) {
      if (performance.now() > deadline)
        throw new BenchError(`cluster: the latency warm-up did not end${problemsOf(workers)}`);
      await sleep(100);
    }
    await sleep(1500);

    const before = await scrapeAll(workers);
    await sleep(shape.windowMs);
    const after = await scrapeAll(workers);
    const window = subtract(after, before);

    const delays: number[] = [];
    const posts: number[] = [];
    for (let round = 0; round < shape.triggerRounds; round++) {
      await Promise.all(
        triggered.map(async (stream, i) => {
          const worker = workers[(round + i) % workers.length]!;
          const at = Date.now();
          await trigger(worker, stream);
          posts.push(Date.now() - at);
          const startedAt = await runStartedAfter(location, stream, at);
          delays.push(startedAt - at);
        }),
      );
    }
    delays.sort((a, b) => a - b);
    posts.sort((a, b) => a - b);
    const at = (sorted: readonly number[], q: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
    return {
      workers: workers.length,
      scheduled: {
        count: window.count,
        p50Ms: quantile(window, 0.5) * 1000,
        p99Ms: quantile(window, 0.99) * 1000,
        maxMs: highestBucket(window) * 1000,
        under10msShare: window.count > 0 ? cumulativeAt(window, 0.01) / window.count : 0,
      },
      triggered: {
        count: delays.length,
        p50Ms: at(delays, 0.5),
        p99Ms: at(delays, 0.99),
        maxMs: delays.at(-1) ?? 0,
      },
      postP50Ms: at(posts, 0.5),
    };
  } finally {
    await Promise.all(workers.map((w) => stopWorker(w)));
    await locations.drop(location);
  }
}

/** `syncline run` (the built CLI) in `dir` on a free loopback port; resolves once its API listens. */
async function startWorker(dir: string, store: string): Promise<Worker> {
  const child = spawn(
    process.execPath,
    // The option of bin/syncline.mjs's shebang line.
    [
      '--max-semi-space-size=8',
      resolve(REPO_ROOT, 'bin', 'syncline.mjs'),
      'run',
      '--store',
      store,
      '--listen',
      '127.0.0.1:0',
    ],
    { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  live.add(child);
  const exited = new Promise<void>((done) =>
    child.once('close', () => {
      live.delete(child);
      done();
    }),
  );
  let seen = '';
  const problems: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!/"level":(40|50|60)/.test(line)) return;
    problems.push(line);
    if (problems.length > 20) problems.shift();
  });
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(
        () => reject(new BenchError(`cluster: syncline run did not start: ${seen.slice(-500)}`)),
        60_000,
      );
      child.stderr!.on('data', (d: Buffer) => {
        seen = (seen + d.toString()).slice(-4000);
        const match = /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]!);
        }
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        reject(new BenchError(`cluster: syncline run exited ${code}: ${seen.slice(-500)}`));
      });
    });
    return { child, url, exited, problems };
  } catch (error) {
    child.kill('SIGTERM');
    await exited;
    throw error;
  }
}

/** Asks the worker for a sync of the stream (`POST /v1/streams/:name/sync`): queued, 202. */
async function trigger(worker: Worker, stream: string): Promise<void> {
  const res = await fetch(`${worker.url}/v1/streams/${stream}/sync`, { method: 'POST' });
  if (res.status !== 202)
    throw new BenchError(`cluster: POST sync ${stream}: ${res.status} ${await res.text()}`);
}

async function stopWorker(worker: Worker): Promise<void> {
  worker.child.kill('SIGTERM');
  await worker.exited;
}

interface RunsState {
  /** Streams with at least one successful run. */
  readonly doneStreams: number;
  readonly notOk: number;
  /** Runs in progress, and jobs in the queue (waiting or running). */
  readonly running: number;
  readonly queued: number;
  /** Records fetched by the successful runs. */
  readonly fetched: number;
  readonly spanMs: number;
}

async function runsState(location: BenchLocation): Promise<RunsState> {
  const { url, schema } = location.pg!;
  return withPg(url, async (client) => {
    try {
      const { rows } = await client.query<{
        done: number;
        not_ok: number;
        running: number;
        queued: number;
        fetched: string;
        span_ms: number | null;
      }>(
        `SELECT count(DISTINCT stream) FILTER (WHERE status = 'ok')::int AS done,
                count(*) FILTER (WHERE status NOT IN ('ok', 'running'))::int AS not_ok,
                count(*) FILTER (WHERE status = 'running')::int AS running,
                (SELECT count(*) FROM "${schema}_jobs"._private_jobs)::int AS queued,
                coalesce(sum(fetched) FILTER (WHERE status = 'ok'), 0) AS fetched,
                extract(epoch FROM max(ended_at) - min(started_at)) * 1000 AS span_ms
           FROM "${schema}".syncline_runs`,
      );
      const row = rows[0]!;
      return {
        doneStreams: row.done,
        notOk: row.not_ok,
        running: row.running,
        queued: row.queued,
        fetched: Number(row.fetched),
        spanMs: Number(row.span_ms ?? 0),
      };
    } catch (error) {
      // Before the first worker created the store's tables.
      if ((error as { code?: string }).code === '42P01')
        return { doneStreams: 0, notOk: 0, running: 0, queued: 1, fetched: 0, spanMs: 0 };
      throw error;
    }
  });
}

/** The `started_at` (epoch ms) of the stream's first run started at or after `at`, once that run ended. */
async function runStartedAfter(location: BenchLocation, stream: string, at: number): Promise<number> {
  const { url, schema } = location.pg!;
  const deadline = Date.now() + 60_000;
  return withPg(url, async (client) => {
    for (;;) {
      const { rows } = await client.query<{ started_ms: number; status: string }>(
        `SELECT extract(epoch FROM started_at) * 1000 AS started_ms, status FROM "${schema}".syncline_runs
          WHERE stream = $1 AND started_at >= to_timestamp($2::double precision / 1000)
          ORDER BY started_at LIMIT 1`,
        [stream, at],
      );
      const row = rows[0];
      if (row && row.status !== 'running') return Number(row.started_ms);
      if (Date.now() > deadline) {
        const runs = await client.query(
          `SELECT status, started_at, ended_at FROM "${schema}".syncline_runs WHERE stream = $1 ORDER BY started_at`,
          [stream],
        );
        const jobs = await client.query(
          `SELECT key, run_at, locked_at, attempts, last_error FROM "${schema}_jobs"._private_jobs WHERE key LIKE $1`,
          [`%:${stream}%`],
        );
        throw new BenchError(
          `cluster: the run of ${stream} asked for at ${new Date(at).toISOString()} did not end; its runs: ` +
            `${JSON.stringify(runs.rows)}; its jobs: ${JSON.stringify(jobs.rows)}`,
        );
      }
      await sleep(20);
    }
  });
}

/** Cumulative bucket counts of `syncline_job_start_delay_seconds{task="run"}`: upper bound (s) -> count. */
interface Histogram {
  readonly buckets: ReadonlyMap<number, number>;
  readonly count: number;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new BenchError(`cluster: GET /metrics: ${res.status}`);
  return res.text();
}

function histogramOf(text: string): Histogram {
  const buckets = new Map<number, number>();
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('syncline_job_start_delay_seconds') || !line.includes('task="run"')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('syncline_job_start_delay_seconds_count')) count = value;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (line.startsWith('syncline_job_start_delay_seconds_bucket') && le !== undefined) {
      buckets.set(le === '+Inf' ? Infinity : Number(le), value);
    }
  }
  return { buckets, count };
}

/** Every worker's histogram, summed bucket by bucket. */
async function scrapeAll(workers: readonly Worker[]): Promise<Histogram> {
  const all = await Promise.all(workers.map(async (w) => histogramOf(await scrape(w.url))));
  const buckets = new Map<number, number>();
  for (const h of all) for (const [le, n] of h.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  return { buckets, count: all.reduce((sum, h) => sum + h.count, 0) };
}

function subtract(after: Histogram, before: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets) buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return { buckets, count: after.count - before.count };
}

/** As PromQL's `histogram_quantile`: linear within the bucket the rank falls in (seconds). */
export function quantile(h: Histogram, q: number): number {
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  if (h.count === 0) return 0;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const cum = h.buckets.get(le)!;
    if (cum >= rank) {
      if (le === Infinity) return lower;
      return cum === below ? le : lower + ((le - lower) * (rank - below)) / (cum - below);
    }
    lower = le;
    below = cum;
  }
  return lower;
}

function cumulativeAt(h: Histogram, le: number): number {
  return h.buckets.get(le) ?? 0;
}

/** The upper bound of the highest bucket that holds a job: the largest delay, at bucket resolution. */
function highestBucket(h: Histogram): number {
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  let below = 0;
  let highest = 0;
  for (const le of bounds) {
    const cum = h.buckets.get(le)!;
    if (cum > below) highest = le;
    below = cum;
  }
  return highest;
}

/** CPU seconds a process has used (`/proc/<pid>/stat`); 0 where `/proc` does not exist. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const ms = (n: number) => (n < 10 ? n.toFixed(1) : int(n));

/** The least wall time the source allows: every request answered after 50 ms, `sync.concurrency` per worker at once. */
function sourceFloorMs(s: ClusterShape, workers: number): number {
  return (s.streams * Math.ceil(s.records / PAGE_SIZE) * SOURCE_DELAY_MS) / (CONCURRENCY * workers);
}

/** The RESULTS.md section. */
export function clusterSection(c: ClusterScenario | null): string[] {
  if (!c) return [];
  const s = c.shape;
  const one = c.runs.find((r) => r.workers === 1)!;
  const four = c.runs.find((r) => r.workers === 4);
  const speedup = (r: ClusterThroughputRun) => one.wallMs / r.wallMs;
  const lat = c.latency;
  return [
    '## Cluster',
    '',
    `\`syncline run\` on one PostgreSQL store as ${s.workerCounts.join(', ')} worker processes (the built CLI, each with its own API port, ` +
      `\`sync.concurrency\` ${CONCURRENCY} each), runs spread by the job queue beside the store. ${s.streams} streams, each ` +
      `${int(s.records)} customers in pages of ${PAGE_SIZE}, the simulator answering every request after ${SOURCE_DELAY_MS} ms: ` +
      'with a fast store the source would be the bottleneck (*source floor*: every request of the streams, 50 ms each, ' +
      `${CONCURRENCY} per worker at once). ` +
      'The streams have no schedule: once every worker listens (start-up), each stream is ' +
      'asked for once (`POST /v1/streams/:name/sync`, all at once, round-robin over the workers); wall time from the first ' +
      'POST until every stream has a successful run in `syncline_runs` (polled every 100 ms), records/s and the speedup on ' +
      "it; the runs alone: first `started_at` to last `ended_at`; runs per worker from each one's `/metrics`. This machine " +
      `has ${c.cores} cores for the workers, the simulator and PostgreSQL (see the load average above).`,
    '',
    '| workers | records | start-up s | source floor s | wall s | runs alone s | records/s | speedup | wall + start-up s | speedup with start-up | runs per worker | runs not ok | CPU s (workers / simulator) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
    ...c.runs.map(
      (r) =>
        `| ${r.workers} | ${int(r.records)} | ${seconds(r.startupMs)} | ${seconds(sourceFloorMs(s, r.workers))} | ${seconds(r.wallMs)} | ${seconds(r.runSpanMs)} | ` +
        `${int(rate(r.records, r.wallMs))} | ${speedup(r).toFixed(2)}x | ${seconds(r.startupMs + r.wallMs)} | ` +
        `${((one.startupMs + one.wallMs) / (r.startupMs + r.wallMs)).toFixed(2)}x | ${r.runsPerWorker.join(' / ')} | ` +
        `${r.runsNotOk} | ${r.workerCpuSeconds.toFixed(1)} / ${r.simulatorCpuSeconds.toFixed(1)} |`,
    ),
    '',
    four
      ? `Expectation (3-4 workers at least 2x one): 4 workers ${speedup(four) >= 2 ? 'reach' : 'do not reach'} 2x ` +
        `(${speedup(four).toFixed(2)}x).`
      : '',
    '',
    `Scheduling latency on ${lat.workers} workers, lightly loaded: ${s.everyStreams} streams every 1 s (jitter 0) for ` +
      `${s.windowMs / 1000} s after their first syncs. *Scheduled* (a future \`run_at\`): the workers' histogram ` +
      '`syncline_job_start_delay_seconds{task="run"}` (job start minus `run_at`), scraped before and after the window and ' +
      'summed over workers; quantiles interpolated within buckets as `histogram_quantile` does (first bucket 5 ms), max at ' +
      `bucket resolution. *Triggered*: ${s.triggerRounds} rounds of \`POST /v1/streams/:name/sync\` on ${s.triggerStreams} ` +
      "otherwise idle streams, round-robin over the workers: the run's `started_at` in `syncline_runs` minus the time the " +
      'POST was sent (lease taken and run recorded included).',
    '',
    '| jobs | count | p50 ms | p99 ms | max ms | source |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    `| scheduled (every 1 s) | ${lat.scheduled.count} | ${ms(lat.scheduled.p50Ms)} | ${ms(lat.scheduled.p99Ms)} | <= ${ms(lat.scheduled.maxMs)} | histogram (${(lat.scheduled.under10msShare * 100).toFixed(0)}% <= 10 ms) |`,
    `| triggered (POST -> run started) | ${lat.triggered.count} | ${ms(lat.triggered.p50Ms)} | ${ms(lat.triggered.p99Ms)} | ${ms(lat.triggered.maxMs)} | run records (the POST answered in ${ms(lat.postP50Ms)} ms, p50) |`,
    '',
  ];
}
